import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { NoticeState, type Notice } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { CONCURRENCY, createItem, eachLimit, getData, queryPage, saveOrThrow, type Table } from './access.js';
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
      return 'campaignId' in by
        ? queryPage<Notice>(table, 'gsi1', noticesOfCampaign(by.campaignId), page)
        : queryPage<Notice>(table, 'gsi2', noticesInState(by.state), page);
    },

    async countNotices(campaignId) {
      // each notice's state from its gsi2 key alone: a poll of a big campaign's progress transfers and parses a
      // few bytes a notice, not its JSON (the query still reads, and is billed for, the whole items)
      const counts: Partial<Record<NoticeState, number>> = {};
      const byCampaign = keyNames('gsi1').pk;
      const state = keyNames('gsi2').pk;
      let start: Record<string, unknown> | undefined;
      do {
        const result = await table.doc.send(
          new QueryCommand({
            TableName: table.tableName,
            IndexName: 'gsi1',
            KeyConditionExpression: '#pk = :pk',
            ProjectionExpression: '#state',
            ExpressionAttributeNames: { '#pk': byCampaign, '#state': state },
            ExpressionAttributeValues: { ':pk': noticesOfCampaign(campaignId) },
            ...(start === undefined ? {} : { ExclusiveStartKey: start }),
          }),
        );
        for (const item of result.Items ?? []) {
          const of = NoticeState.parse(STATE_KEY.exec(String(item[state]))?.[1]);
          counts[of] = (counts[of] ?? 0) + 1;
        }
        start = result.LastEvaluatedKey;
      } while (start !== undefined);
      return counts;
    },
  };
}

function noticeItem(notice: Notice): Item {
  return { ...noticeKeys(notice), data: JSON.stringify(notice), version: notice.version };
}
