import { NoticeState, type Notice } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { CONCURRENCY, createItem, eachLimit, getData, queryAttribute, queryPage, saveOrThrow, type Table } from './access.js';
import { keyNames, noticeKey, noticeKeys, noticesInState, noticesOfCampaign, type Item } from './keys.js';

/** The Store methods for notices. */
export type NoticeMethods = Pick<Store, 'putNotices' | 'getNotice' | 'saveNotice' | 'listNotices'> & Required<Pick<Store, 'countNotices'>>;

const STATE_KEY = /^NSTATE#(.+)$/;

/** Notices on the single table: one partition key each, listed per campaign and per state. */
export function dynamoNotices(table: Table): NoticeMethods {
  return {
    async putNotices(notices) {
      await eachLimit(notices, CONCURRENCY, async (notice) => {
        await createItem(table, noticeItem(notice));
      });
    },

    async getNotice(id) {
      return getData<Notice>(table, noticeKey(id));
    },

    async saveNotice(notice) {
      await saveOrThrow(table, noticeItem(notice), 'notice', notice.id);
    },

    async listNotices(by, page) {
      if ('campaignId' in by) return queryPage<Notice>(table, 'gsi1', noticesOfCampaign(by.campaignId), page);
      const found = await queryPage<Notice>(table, 'gsi2', noticesInState(by.state), page);
      // the index may still list a notice under the state it left a moment ago; its record, read from the table, is
      // of now: only the notices in the state asked for are listed
      return { ...found, items: found.items.filter((notice) => notice.state === by.state) };
    },

    async countNotices(campaignId) {
      // each notice's state from its gsi2 key alone: a poll of a big campaign's progress transfers and parses a
      // few bytes a notice, not its JSON
      const counts: Partial<Record<NoticeState, number>> = {};
      for (const key of await queryAttribute(table, 'gsi1', noticesOfCampaign(campaignId), keyNames('gsi2').pk)) {
        const state = NoticeState.parse(STATE_KEY.exec(key)?.[1]);
        counts[state] = (counts[state] ?? 0) + 1;
      }
      return counts;
    },
  };
}

function noticeItem(notice: Notice): Item {
  return { ...noticeKeys(notice), data: JSON.stringify(notice), version: notice.version };
}
