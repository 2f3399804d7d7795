import { createHash } from 'node:crypto';
import {
  CreateTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
  type AttributeDefinition,
} from '@aws-sdk/client-dynamodb';
import type {
  Answer,
  AuditEvent,
  Campaign,
  CampaignIndicator,
  Case,
  ContactOverride,
  Notice,
  NoticeState,
  Outbound,
} from '../../core/model.js';
import type { CachedLookup, StoredRecord } from '../../core/ports.js';
import type { QueuedReview } from '../../core/ports.js';

/**
 * The single table, as the only description of it: `createTable` builds it from this and so does the CDK
 * stack. Every key attribute is a string ('S' is also the value of CDK's AttributeType.STRING; a projection's name
 * that of its ProjectionType).
 *
 * The indexes hold keys (gsi1 also a notice's gsi2 key, which countNotices reads): a listing queries an index for
 * the keys of a page and reads their records from the table, consistently (BatchGetItem), and a save that changes
 * no index key writes no index. With projection ALL every save of a notice or an outbound message wrote its whole
 * item into each of its indexes again: 11.9 -> 10.9 write units an indicator in the AWS bench, the indexes' share
 * 2.67 -> 1.66 (what is left: entries put once, and a notice's state key moving). A table made before
 * has ALL indexes (CloudFormation cannot change a projection in place; the stack's `indexesProjectAll` keeps
 * them): an index row that carries its record is read as it is.
 *
 * Items (every record is a JSON string in `data`; `version` is copied out for the conditional saves):
 * - campaign   pk CMP#<id>                 sk CMP    gsi1 CAMPAIGNS / <createdAt>#<id>
 * - indicators pk IND#<campaignId>#<block> sk <seq, zero-padded>; blocks of 100 seqs spread a 200,000-indicator
 *              campaign over 2,000 partition keys; pk CMP#<campaignId> sk IND holds the highest seq stored
 * - case       pk CASE#<id>                sk CASE   (in no index: its memberships list it)
 *              a case stored before memberships existed is also in gsi1 CMP#<campaignId>#CASE / <id> and
 *              gsi2 NTC#<noticeId>#CASE / <id>, where its campaign's and notice's listings still find it; one
 *              stored before value memberships is in gsi3 VAL#<indicator value> / <id>, where a search by value
 *              still finds it. A save sets only a case's record and version (saveData), so those stay. Each index
 *              a case was in cost a write of its whole size (projection ALL, then) at every save: 25.3 -> 17.3
 *              write units an indicator in the AWS bench without gsi1 and gsi2, 15.3 -> 11.7 without gsi3
 * - membership pk CMPCASES#<campaignId>      sk <caseId>   (written before the case: a campaign's cases)
 *              pk NTCCASES#<noticeId>        sk <caseId>   (written before the case is saved with that notice)
 *              pk VALCASES#<indicator value> sk <caseId>   (written before the case: the cases of one value; a
 *              value over 1 KB is named by its sha-256, VALCASES#sha256#<hex>)
 *              what a workflow sends is decided from these, read consistently: an index may not show a case
 *              written a moment ago. A notice's membership stays when a case moves on; the case's own noticeId
 *              decides, read consistently too
 * - notice     pk NTC#<id>                 sk NTC    gsi1 CMP#<campaignId>#NTC / <id>
 *                                                    gsi2 NSTATE#<state> / <id>
 * - outbound   pk OUT#<id>                 sk OUT    gsi1 NTC#<noticeId>#OUT / <createdAt>#<id>
 * - answer     pk ANS#<id>                 sk ANS    gsi1 NTC#<noticeId>#ANS / <receivedAt>#<id>
 * - event      pk CHAIN#<chain>            sk <seq, zero-padded>: its slot in its hash chain, put only if free
 *                                                    gsi1 CMP#<campaignId>#EVT / <append key>
 *                                                    gsi2 CASE#<caseId>#EVT / <append key>
 *                                                    gsi3 NTC#<noticeId>#EVT / <append key>
 *              one partition key per chain (a case's, a notice's, a campaign's): the head is one query away and
 *              a 20,000-case campaign appends to 20,000 keys
 * - lookup     pk LOOKUP#<kind>#<key>      sk LOOKUP (an RDAP or security.txt answer found by key)
 * - range      pk LRANGE#<kind>            sk <rangeStart>#<rangeEnd> (an RDAP network, found by any key inside;
 *              one partition per kind: read ~once per distinct network of a campaign, written once per network)
 * - override   pk OVR#<target>             sk OVR    gsi1 OVERRIDES / <target>
 * - review     pk REV#<id>                 sk REV    gsi1 REVIEWS / <receivedAt>#<id> (one partition: a queue
 *              people read, tens of items a day)
 * - record     pk REC#<kind>#<key>         sk REC    gsi1 RECS#<kind> / <key> (API keys, secrets, link tokens ...)
 * Lookups and records with an expiry carry `ttl` (epoch seconds) for a table TTL to sweep; lookup reads check
 * `expiresAt` themselves, record readers do.
 * One partition key per case, notice and chain keeps a 20,000-case campaign off a single hot partition; the
 * per-campaign listings go through the GSIs.
 *
 * The builders below are the only place these key shapes are spelled out; the family modules put and query
 * through them.
 */
export const TABLE_DESIGN = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  // epoch seconds: DynamoDB deletes an expired lookup or record within days (readers check expiry themselves)
  timeToLiveAttribute: 'ttl',
  globalSecondaryIndexes: [
    // the indexes hold keys, never records: a listing reads its page's records from the table (BatchGetItem), and
    // a save that changes no index key writes no index at all
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
      // a campaign's notices counted by state (countNotices) from their gsi2 key alone
      projection: 'INCLUDE',
      nonKeyAttributes: ['gsi2pk'],
    },
    {
      indexName: 'gsi2',
      partitionKey: { name: 'gsi2pk', type: 'S' },
      sortKey: { name: 'gsi2sk', type: 'S' },
      projection: 'KEYS_ONLY',
    },
    {
      indexName: 'gsi3',
      partitionKey: { name: 'gsi3pk', type: 'S' },
      sortKey: { name: 'gsi3sk', type: 'S' },
      projection: 'KEYS_ONLY',
    },
  ],
} as const;

/** The name of one of TABLE_DESIGN's global secondary indexes. */
export type IndexName = (typeof TABLE_DESIGN.globalSecondaryIndexes)[number]['indexName'];

/** Creates the store's table from TABLE_DESIGN (on-demand) and waits until it is active. */
export async function createTable(client: DynamoDBClient, tableName: string): Promise<void> {
  const keys: readonly { name: string; type: 'S' }[] = [
    TABLE_DESIGN.partitionKey,
    TABLE_DESIGN.sortKey,
    ...TABLE_DESIGN.globalSecondaryIndexes.flatMap((index) => [index.partitionKey, index.sortKey]),
  ];
  const attributes: AttributeDefinition[] = keys.map((key) => ({ AttributeName: key.name, AttributeType: key.type }));
  await client.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: attributes,
      KeySchema: [
        { AttributeName: TABLE_DESIGN.partitionKey.name, KeyType: 'HASH' },
        { AttributeName: TABLE_DESIGN.sortKey.name, KeyType: 'RANGE' },
      ],
      GlobalSecondaryIndexes: TABLE_DESIGN.globalSecondaryIndexes.map((index) => ({
        IndexName: index.indexName,
        KeySchema: [
          { AttributeName: index.partitionKey.name, KeyType: 'HASH' },
          { AttributeName: index.sortKey.name, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: index.projection, ...('nonKeyAttributes' in index ? { NonKeyAttributes: [...index.nonKeyAttributes] } : {}) },
      })),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: tableName });
}

/** The attribute names of the partition and sort key of the table (`index` undefined) or of one index. */
export function keyNames(index: IndexName | undefined): { pk: string; sk: string } {
  if (index === undefined) return { pk: TABLE_DESIGN.partitionKey.name, sk: TABLE_DESIGN.sortKey.name };
  const design = TABLE_DESIGN.globalSecondaryIndexes.find((candidate) => candidate.indexName === index);
  if (design === undefined) throw new Error(`no index ${index} in TABLE_DESIGN`);
  return { pk: design.partitionKey.name, sk: design.sortKey.name };
}

/** The primary key of one item. */
export interface Key {
  pk: string;
  sk: string;
}

/** Where one item lives: its primary key and its place in each index that lists it. */
export interface Keys extends Key {
  gsi1pk?: string;
  gsi1sk?: string;
  gsi2pk?: string;
  gsi2sk?: string;
  gsi3pk?: string;
  gsi3sk?: string;
}

/** One item as stored. */
export interface Item extends Keys {
  data: string;
  version?: number;
  ttl?: number;
}

/** Seqs per indicator partition key. */
export const INDICATOR_BLOCK = 100;

/** The indicator block (partition key suffix) a seq belongs to. */
export const blockOf = (seq: number): number => Math.floor(seq / INDICATOR_BLOCK);

/** A seq as a sort key: zero-padded, so string order is number order. */
export const seqKey = (seq: number): string => String(seq).padStart(10, '0');

/** The gsi1 partition listing every campaign. */
export const CAMPAIGNS = 'CAMPAIGNS';

/** The key of a campaign. */
export const campaignKey = (id: string): Key => ({ pk: `CMP#${id}`, sk: 'CMP' });

/** Where a campaign lives. */
export function campaignKeys(campaign: Campaign): Keys {
  return { ...campaignKey(campaign.id), gsi1pk: CAMPAIGNS, gsi1sk: `${campaign.createdAt}#${campaign.id}` };
}

/** The key of the item holding a campaign's highest stored indicator seq. */
export const indicatorMarkKey = (campaignId: string): Key => ({ pk: `CMP#${campaignId}`, sk: 'IND' });

/** The partition key of one block of a campaign's indicators. */
export const indicatorBlockPk = (campaignId: string, block: number): string => `IND#${campaignId}#${block}`;

/** Where an indicator lives. */
export function indicatorKey(item: CampaignIndicator): Key {
  return { pk: indicatorBlockPk(item.campaignId, blockOf(item.seq)), sk: seqKey(item.seq) };
}

/** The key of a case. */
export const caseKey = (id: string): Key => ({ pk: `CASE#${id}`, sk: 'CASE' });

/** The gsi1 partition of a campaign's cases stored before memberships (caseKeys no longer puts a case there). */
export const casesOfCampaign = (campaignId: string): string => `CMP#${campaignId}#CASE`;

/** The gsi2 partition of a notice's cases stored before memberships (caseKeys no longer puts a case there). */
export const casesOfNotice = (noticeId: string): string => `NTC#${noticeId}#CASE`;

/** The partition of a campaign's case memberships (base table, read consistently). */
export const caseMembersOfCampaign = (campaignId: string): string => `CMPCASES#${campaignId}`;

/** The partition of a notice's case memberships (base table, read consistently). */
export const caseMembersOfNotice = (noticeId: string): string => `NTCCASES#${noticeId}`;

/** DynamoDB's largest partition key, in bytes (of a table's or an index's). */
const MAX_PARTITION_KEY_BYTES = 2048;

// a value longer than this (a long URL) is named by its sha-256 in a key: no canonical value (an IP address, a
// domain, a URL with its scheme) can start with 'sha256#'
const MAX_VALUE_IN_KEY_BYTES = 1024;

/**
 * The partition of the memberships of the cases of one indicator value (base table, read consistently). A value too
 * long for a key is named by its sha-256 (`VALCASES#sha256#<hex>`); the reader checks the cases' own values.
 */
export function caseMembersOfValue(value: string): string {
  if (Buffer.byteLength(value, 'utf8') <= MAX_VALUE_IN_KEY_BYTES) return `VALCASES#${value}`;
  return `VALCASES#sha256#${createHash('sha256').update(value, 'utf8').digest('hex')}`;
}

/**
 * The gsi3 partition of the cases of one indicator value stored before value memberships; undefined for a value too
 * long for a key, which no case was ever stored under (its write was refused).
 */
export function casesWithValue(value: string): string | undefined {
  const pk = `VAL#${value}`;
  return Buffer.byteLength(pk, 'utf8') <= MAX_PARTITION_KEY_BYTES ? pk : undefined;
}

/** Where a case lives: its key alone (its memberships list it). */
export function caseKeys(c: Case): Keys {
  return caseKey(c.id);
}

/** The key of a notice. */
export const noticeKey = (id: string): Key => ({ pk: `NTC#${id}`, sk: 'NTC' });

/** The gsi1 partition of a campaign's notices. */
export const noticesOfCampaign = (campaignId: string): string => `CMP#${campaignId}#NTC`;

/** The gsi2 partition of the notices in one state. */
export const noticesInState = (state: NoticeState): string => `NSTATE#${state}`;

/** Where a notice lives. */
export function noticeKeys(notice: Notice): Keys {
  return {
    ...noticeKey(notice.id),
    gsi1pk: noticesOfCampaign(notice.campaignId),
    gsi1sk: notice.id,
    gsi2pk: noticesInState(notice.state),
    gsi2sk: notice.id,
  };
}

/** The key of an outbound message. */
export const outboundKey = (id: string): Key => ({ pk: `OUT#${id}`, sk: 'OUT' });

/** The gsi1 partition of a notice's outbound messages. */
export const outboundOfNotice = (noticeId: string): string => `NTC#${noticeId}#OUT`;

/** Where an outbound message lives. */
export function outboundKeys(message: Outbound): Keys {
  return {
    ...outboundKey(message.id),
    gsi1pk: outboundOfNotice(message.noticeId),
    gsi1sk: `${message.createdAt}#${message.id}`,
  };
}

/** The gsi1 partition of a notice's answers. */
export const answersOfNotice = (noticeId: string): string => `NTC#${noticeId}#ANS`;

/** Where an answer lives. */
export function answerKeys(answer: Answer): Keys {
  return {
    pk: `ANS#${answer.id}`,
    sk: 'ANS',
    gsi1pk: answersOfNotice(answer.noticeId),
    gsi1sk: `${answer.receivedAt}#${answer.id}`,
  };
}

/** What every chain's partition key starts with. */
export const CHAIN_PREFIX = 'CHAIN#';

/** The partition key of one audit chain. */
export const chainPk = (chain: string): string => `${CHAIN_PREFIX}${chain}`;

/** The gsi1 partition of a campaign's events. */
export const eventsOfCampaign = (campaignId: string): string => `CMP#${campaignId}#EVT`;

/** The gsi2 partition of a case's events. */
export const eventsOfCase = (caseId: string): string => `CASE#${caseId}#EVT`;

/** The gsi3 partition of a notice's events. */
export const eventsOfNotice = (noticeId: string): string => `NTC#${noticeId}#EVT`;

/** Where an event lives: its chain slot, and `order` (its append key) in each listing. */
export function eventKeys(event: AuditEvent, order: string): Keys {
  return {
    pk: chainPk(event.chain),
    sk: seqKey(event.seq),
    gsi1pk: eventsOfCampaign(event.campaignId),
    gsi1sk: order,
    ...(event.caseId === undefined ? {} : { gsi2pk: eventsOfCase(event.caseId), gsi2sk: order }),
    ...(event.noticeId === undefined ? {} : { gsi3pk: eventsOfNotice(event.noticeId), gsi3sk: order }),
  };
}

/** The key of a lookup found by its exact key. */
export const lookupKey = (kind: string, key: string): Key => ({ pk: `LOOKUP#${kind}#${key}`, sk: 'LOOKUP' });

/** The partition of the range lookups of one kind. */
export const rangesOf = (kind: string): string => `LRANGE#${kind}`;

/** Where a lookup lives: in its kind's range partition when it covers a range, else under its key. */
export function lookupKeys(entry: CachedLookup): Key {
  const ranged = entry.rangeStart !== undefined && entry.rangeEnd !== undefined;
  return ranged
    ? { pk: rangesOf(entry.kind), sk: `${entry.rangeStart}#${entry.rangeEnd}` }
    : lookupKey(entry.kind, entry.key);
}

/** The gsi1 partition listing every contact override. */
export const OVERRIDES = 'OVERRIDES';

/** Where a contact override lives. */
export function overrideKeys(override: ContactOverride): Keys {
  return { pk: `OVR#${override.target}`, sk: 'OVR', gsi1pk: OVERRIDES, gsi1sk: override.target };
}

/** The gsi1 partition of the review queue. */
export const REVIEWS = 'REVIEWS';

/** Where a review item lives. */
export function reviewKeys(item: QueuedReview): Keys {
  return { pk: `REV#${item.id}`, sk: 'REV', gsi1pk: REVIEWS, gsi1sk: `${item.receivedAt}#${item.id}` };
}

/** The key of a generic record. */
export const recordKey = (kind: string, key: string): Key => ({ pk: `REC#${kind}#${key}`, sk: 'REC' });

/** The gsi1 partition of the records of one kind. */
export const recordsOf = (kind: string): string => `RECS#${kind}`;

/** Where a generic record lives. */
export function recordKeys(record: StoredRecord): Keys {
  return { ...recordKey(record.kind, record.key), gsi1pk: recordsOf(record.kind), gsi1sk: record.key };
}

/** Epoch seconds for the table TTL, from an ISO time. */
export const ttlOf = (expiresAt: string): number => Math.ceil(Date.parse(expiresAt) / 1000);
