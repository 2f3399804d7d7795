import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { Campaign, CampaignIndicator } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import {
  CONCURRENCY,
  createItem,
  createOrThrow,
  decodeCursor,
  eachLimit,
  getData,
  isConditionFailure,
  pageLimit,
  parseAll,
  queryAll,
  queryRange,
  saveOrThrow,
  toPage,
  type Found,
  type Table,
} from './access.js';
import {
  CAMPAIGNS,
  INDICATOR_BLOCK,
  blockOf,
  campaignKey,
  campaignKeys,
  indicatorBlockPk,
  indicatorKey,
  indicatorMarkKey,
  seqKey,
  type Item,
} from './keys.js';

/** The Store methods for campaigns and their indicators. */
export type CampaignMethods = Pick<
  Store,
  'createCampaign' | 'getCampaign' | 'listCampaigns' | 'saveCampaign' | 'putIndicators' | 'listIndicators'
>;

/** Campaigns and their indicators on the single table. */
export function dynamoCampaigns(table: Table): CampaignMethods {
  return {
    async createCampaign(campaign) {
      await createOrThrow(table, campaignItem(campaign), 'campaign', campaign.id);
    },

    async getCampaign(id) {
      return getData<Campaign>(table, campaignKey(id));
    },

    async listCampaigns() {
      return parseAll<Campaign>(await queryAll(table, 'gsi1', CAMPAIGNS, false));
    },

    async saveCampaign(campaign) {
      await saveOrThrow(table, campaignItem(campaign), 'campaign', campaign.id);
    },

    async putIndicators(items) {
      if (items.length === 0) return;
      const highest = new Map<string, number>();
      for (const item of items) highest.set(item.campaignId, Math.max(item.seq, highest.get(item.campaignId) ?? -1));
      // the mark goes first, so every stored indicator is always within it and a listing never stops short
      for (const [campaignId, seq] of highest) await raiseIndicatorMark(table, campaignId, seq);
      // neighbouring seqs share a block (a partition key): interleave so the writes in flight land on many
      const ordered = [...items].sort(
        (a, b) => (a.seq % INDICATOR_BLOCK) - (b.seq % INDICATOR_BLOCK) || a.seq - b.seq,
      );
      await eachLimit(ordered, CONCURRENCY, async (item) => {
        await createItem(table, { ...indicatorKey(item), data: JSON.stringify(item) });
      });
    },

    async listIndicators(campaignId, page) {
      const limit = pageLimit(page);
      const after = page?.after === undefined ? -1 : Number(decodeCursor(page.after, /^\d{10}$/));
      const mark = await indicatorMark(table, campaignId);
      if (mark === undefined) return { items: [] };
      const found: Found[] = [];
      for (let block = blockOf(after + 1); block <= blockOf(mark) && found.length <= limit; block++) {
        const from = after >= block * INDICATOR_BLOCK ? seqKey(after) : undefined;
        found.push(
          ...(await queryRange(table, undefined, indicatorBlockPk(campaignId, block), from, limit + 1 - found.length)),
        );
      }
      return toPage<CampaignIndicator>(found, limit);
    },
  };
}

function campaignItem(campaign: Campaign): Item {
  return { ...campaignKeys(campaign), data: JSON.stringify(campaign), version: campaign.version };
}

async function raiseIndicatorMark(table: Table, campaignId: string, seq: number): Promise<void> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: indicatorMarkKey(campaignId),
        UpdateExpression: 'SET #mark = :seq',
        ConditionExpression: 'attribute_not_exists(#mark) OR #mark < :seq',
        ExpressionAttributeNames: { '#mark': 'maxSeq' },
        ExpressionAttributeValues: { ':seq': seq },
      }),
    );
  } catch (error) {
    // a higher mark is already stored: nothing to raise
    if (!isConditionFailure(error)) throw error;
  }
}

async function indicatorMark(table: Table, campaignId: string): Promise<number | undefined> {
  const result = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: indicatorMarkKey(campaignId),
      ConsistentRead: true,
    }),
  );
  const mark = result.Item?.['maxSeq'];
  return typeof mark === 'number' ? mark : undefined;
}
