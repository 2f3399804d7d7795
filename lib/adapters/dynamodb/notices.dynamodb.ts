import type { Notice } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { CONCURRENCY, createItem, eachLimit, getData, queryPage, saveOrThrow, type Table } from './access.js';
import { noticeKey, noticeKeys, noticesInState, noticesOfCampaign, type Item } from './keys.js';

/** The Store methods for notices. */
export type NoticeMethods = Pick<Store, 'putNotices' | 'getNotice' | 'saveNotice' | 'listNotices'>;

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
      return 'campaignId' in by
        ? queryPage<Notice>(table, 'gsi1', noticesOfCampaign(by.campaignId), page)
        : queryPage<Notice>(table, 'gsi2', noticesInState(by.state), page);
    },
  };
}

function noticeItem(notice: Notice): Item {
  return { ...noticeKeys(notice), data: JSON.stringify(notice), version: notice.version };
}
