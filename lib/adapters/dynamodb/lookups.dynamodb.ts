import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { ContactOverride } from '../../core/model.js';
import type { CachedLookup, Store } from '../../core/ports.js';
import { compareText, getData, parseAll, queryAll, type Table } from './access.js';
import { OVERRIDES, lookupKey, lookupKeys, overrideKeys, rangesOf, ttlOf } from './keys.js';

/** Range entries read per probe: nested ranges are few; a miss past them costs a refetch, never a wrong answer. */
const RANGE_PROBE = 32;

/** The Store methods for where contacts come from: the registry lookup cache and the contact overrides. */
export type LookupMethods = Pick<
  Store,
  'putLookup' | 'getLookup' | 'findRangeLookup' | 'putContactOverride' | 'listContactOverrides'
>;

/** The lookup cache (by key, and by range) and the contact overrides on the single table. */
export function dynamoLookups(table: Table): LookupMethods {
  return {
    async putLookup(entry) {
      await table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: {
            ...lookupKeys(entry),
            data: JSON.stringify(entry),
            expiresAt: entry.expiresAt,
            ttl: ttlOf(entry.expiresAt),
          },
        }),
      );
    },

    async getLookup(kind, key, now) {
      const entry = await getData<CachedLookup>(table, lookupKey(kind, key));
      return entry && entry.expiresAt > now ? entry : undefined;
    },

    async findRangeLookup(kind, key, now) {
      // every sk `<start>#<end>` with start <= key sorts at or below `<key>#~` ('~' is above every hex digit)
      const result = await table.doc.send(
        new QueryCommand({
          TableName: table.tableName,
          KeyConditionExpression: '#pk = :pk AND #sk <= :upto',
          ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
          ExpressionAttributeValues: { ':pk': rangesOf(kind), ':upto': `${key}#~` },
          ScanIndexForward: false,
          Limit: RANGE_PROBE,
          ConsistentRead: true,
        }),
      );
      const found = (result.Items ?? [])
        .map((item) => JSON.parse(String(item['data'])) as CachedLookup)
        .filter(
          (e) =>
            e.rangeStart !== undefined &&
            e.rangeEnd !== undefined &&
            e.rangeStart <= key &&
            e.rangeEnd >= key &&
            e.expiresAt > now,
        );
      // by start descending the first covering range is the narrowest; equal starts: the smaller end
      found.sort((a, b) => compareText(b.rangeStart!, a.rangeStart!) || compareText(a.rangeEnd!, b.rangeEnd!));
      return found[0];
    },

    async putContactOverride(override) {
      await table.doc.send(
        new PutCommand({
          TableName: table.tableName,
          Item: { ...overrideKeys(override), data: JSON.stringify(override) },
        }),
      );
    },

    async listContactOverrides() {
      return parseAll<ContactOverride>(await queryAll(table, 'gsi1', OVERRIDES));
    },
  };
}
