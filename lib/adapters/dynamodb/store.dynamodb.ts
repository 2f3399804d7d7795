import {
  CreateTableCommand,
  DynamoDBClient,
  waitUntilTableExists,
  type AttributeDefinition,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { AlreadyExistsError, InvalidInputError, StaleWriteError } from '../../core/errors.js';
import { chainSlotTaken } from '../../core/audit/index.js';
import type {
  Answer,
  AuditEvent,
  Campaign,
  CampaignIndicator,
  Case,
  CaseState,
  ContactOverride,
  Notice,
  NoticeState,
  Outbound,
} from '../../core/model.js';
import type { CachedLookup, Page, PageRequest, Store, StoredRecord } from '../../core/ports.js';
import type { ReviewItem } from '../../core/answers/index.js';

/**
 * The single table, as the only description of it: `createTable` builds it from this and so does the CDK
 * stack. Every key attribute is a string ('S' is also the value of CDK's AttributeType.STRING; 'ALL' that of
 * ProjectionType.ALL).
 *
 * Items (every record is a JSON string in `data`; `version` is copied out for the conditional saves):
 * - campaign   pk CMP#<id>                 sk CMP    gsi1 CAMPAIGNS / <createdAt>#<id>
 * - indicators pk IND#<campaignId>#<block> sk <seq, zero-padded>; blocks of 100 seqs spread a 200,000-indicator
 *              campaign over 2,000 partition keys; pk CMP#<campaignId> sk IND holds the highest seq stored
 * - case       pk CASE#<id>                sk CASE   gsi1 CMP#<campaignId>#CASE / <id>
 *                                                    gsi2 NTC#<noticeId>#CASE / <id> (once planned)
 *                                                    gsi3 VAL#<indicator value> / <id>
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
 */
export const TABLE_DESIGN = {
  partitionKey: { name: 'pk', type: 'S' },
  sortKey: { name: 'sk', type: 'S' },
  globalSecondaryIndexes: [
    {
      indexName: 'gsi1',
      partitionKey: { name: 'gsi1pk', type: 'S' },
      sortKey: { name: 'gsi1sk', type: 'S' },
      projection: 'ALL',
    },
    {
      indexName: 'gsi2',
      partitionKey: { name: 'gsi2pk', type: 'S' },
      sortKey: { name: 'gsi2sk', type: 'S' },
      projection: 'ALL',
    },
    {
      indexName: 'gsi3',
      partitionKey: { name: 'gsi3pk', type: 'S' },
      sortKey: { name: 'gsi3sk', type: 'S' },
      projection: 'ALL',
    },
  ],
} as const;

type IndexName = (typeof TABLE_DESIGN.globalSecondaryIndexes)[number]['indexName'];

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
        Projection: { ProjectionType: index.projection },
      })),
    }),
  );
  await waitUntilTableExists({ client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: tableName });
}

export interface DynamoDbStoreOptions {
  readonly tableName: string;
  /** a configured client; when absent one is created from `endpoint` and `region` */
  readonly client?: DynamoDBDocumentClient;
  readonly endpoint?: string;
  readonly region?: string;
}

interface Item {
  pk: string;
  sk: string;
  data: string;
  version?: number;
  gsi1pk?: string;
  gsi1sk?: string;
  gsi2pk?: string;
  gsi2sk?: string;
  gsi3pk?: string;
  gsi3sk?: string;
  ttl?: number;
}

/** One row of a query: the sort key it was found under (the paging key) and the record. */
interface Found {
  readonly key: string;
  readonly data: string;
}

const INDICATOR_BLOCK = 100;
// bounded so a batch of 20,000 neither floods the connection pool nor one partition
const CONCURRENCY = 16;
const DEFAULT_PAGE_LIMIT = 100;
const CONDITION_FAILED = 'ConditionalCheckFailedException';
/** Range entries read per probe: nested ranges are few; a miss past them costs a refetch, never a wrong answer. */
const RANGE_PROBE = 32;

/** The Store port on one DynamoDB table (no transactions, so it runs on dynalite too). */
export class DynamoDbStore implements Store {
  private readonly doc: DynamoDBDocumentClient;
  private readonly tableName: string;
  private readonly ownsClient: boolean;

  constructor(options: DynamoDbStoreOptions) {
    this.tableName = options.tableName;
    this.ownsClient = options.client === undefined;
    this.doc =
      options.client ??
      DynamoDBDocumentClient.from(
        new DynamoDBClient({
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
          ...(options.region === undefined ? {} : { region: options.region }),
        }),
      );
  }

  /** Releases the client's connections when the store created the client itself. */
  close(): void {
    if (this.ownsClient) this.doc.destroy();
  }

  async createCampaign(campaign: Campaign): Promise<void> {
    if (!(await this.create(campaignItem(campaign)))) throw new AlreadyExistsError('campaign', campaign.id);
  }

  async getCampaign(id: string): Promise<Campaign | undefined> {
    return this.get<Campaign>(`CMP#${id}`, 'CMP');
  }

  async listCampaigns(): Promise<Campaign[]> {
    return parseAll<Campaign>(await this.queryAll('gsi1', 'CAMPAIGNS', false));
  }

  async saveCampaign(campaign: Campaign): Promise<void> {
    if (!(await this.save(campaignItem(campaign)))) throw new StaleWriteError('campaign', campaign.id);
  }

  async putIndicators(items: readonly CampaignIndicator[]): Promise<void> {
    if (items.length === 0) return;
    const highest = new Map<string, number>();
    for (const item of items) highest.set(item.campaignId, Math.max(item.seq, highest.get(item.campaignId) ?? -1));
    // the mark goes first, so every stored indicator is always within it and a listing never stops short
    for (const [campaignId, seq] of highest) await this.raiseIndicatorMark(campaignId, seq);
    // neighbouring seqs share a block (a partition key): interleave so the writes in flight land on many
    const ordered = [...items].sort(
      (a, b) => (a.seq % INDICATOR_BLOCK) - (b.seq % INDICATOR_BLOCK) || a.seq - b.seq,
    );
    await eachLimit(ordered, CONCURRENCY, async (item) => {
      await this.create({
        pk: indicatorPk(item.campaignId, item.seq),
        sk: seqKey(item.seq),
        data: JSON.stringify(item),
      });
    });
  }

  async listIndicators(campaignId: string, page?: PageRequest): Promise<Page<CampaignIndicator>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? -1 : Number(decodeCursor(page.after, /^\d{10}$/));
    const mark = await this.indicatorMark(campaignId);
    if (mark === undefined) return { items: [] };
    const found: Found[] = [];
    for (let block = blockOf(after + 1); block <= blockOf(mark) && found.length <= limit; block++) {
      const from = after >= block * INDICATOR_BLOCK ? seqKey(after) : undefined;
      found.push(...(await this.queryRange(undefined, `IND#${campaignId}#${block}`, from, limit + 1 - found.length)));
    }
    return toPage(found, limit);
  }

  async putCases(cases: readonly Case[]): Promise<void> {
    await eachLimit(cases, CONCURRENCY, async (c) => {
      await this.create(caseItem(c));
    });
  }

  async getCase(id: string): Promise<Case | undefined> {
    return this.get<Case>(`CASE#${id}`, 'CASE');
  }

  async saveCase(c: Case): Promise<void> {
    if (!(await this.save(caseItem(c)))) throw new StaleWriteError('case', c.id);
  }

  async saveCases(cases: readonly Case[]): Promise<string[]> {
    const stale: string[] = [];
    await eachLimit(cases, 16, async (c) => {
      if (!(await this.save(caseItem(c)))) stale.push(c.id);
    });
    return stale;
  }

  async listCases(by: { campaignId: string } | { noticeId: string }, page?: PageRequest): Promise<Page<Case>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? undefined : decodeCursor(page.after);
    const found =
      'campaignId' in by
        ? await this.queryRange('gsi1', `CMP#${by.campaignId}#CASE`, after, limit + 1)
        : await this.queryRange('gsi2', `NTC#${by.noticeId}#CASE`, after, limit + 1);
    return toPage(found, limit);
  }

  async findCasesByIndicator(values: readonly string[], states: ReadonlySet<CaseState>): Promise<Case[]> {
    const cases: Case[] = [];
    await eachLimit([...new Set(values)], CONCURRENCY, async (value) => {
      for (const c of parseAll<Case>(await this.queryAll('gsi3', `VAL#${value}`))) {
        if (states.has(c.state)) cases.push(c);
      }
    });
    return cases.sort((a, b) => compareText(a.id, b.id));
  }

  async putNotices(notices: readonly Notice[]): Promise<void> {
    await eachLimit(notices, CONCURRENCY, async (notice) => {
      await this.create(noticeItem(notice));
    });
  }

  async getNotice(id: string): Promise<Notice | undefined> {
    return this.get<Notice>(`NTC#${id}`, 'NTC');
  }

  async saveNotice(notice: Notice): Promise<void> {
    if (!(await this.save(noticeItem(notice)))) throw new StaleWriteError('notice', notice.id);
  }

  async listNotices(by: { campaignId: string } | { state: NoticeState }, page?: PageRequest): Promise<Page<Notice>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? undefined : decodeCursor(page.after);
    const found =
      'campaignId' in by
        ? await this.queryRange('gsi1', `CMP#${by.campaignId}#NTC`, after, limit + 1)
        : await this.queryRange('gsi2', `NSTATE#${by.state}`, after, limit + 1);
    return toPage(found, limit);
  }

  async createOutbound(message: Outbound): Promise<void> {
    if (!(await this.create(outboundItem(message)))) throw new AlreadyExistsError('outbound', message.id);
  }

  async getOutbound(id: string): Promise<Outbound | undefined> {
    return this.get<Outbound>(`OUT#${id}`, 'OUT');
  }

  async saveOutbound(message: Outbound): Promise<void> {
    if (!(await this.save(outboundItem(message)))) throw new StaleWriteError('outbound', message.id);
  }

  async listOutbound(noticeId: string): Promise<Outbound[]> {
    return parseAll<Outbound>(await this.queryAll('gsi1', `NTC#${noticeId}#OUT`));
  }

  async putAnswer(answer: Answer): Promise<boolean> {
    return this.create({
      pk: `ANS#${answer.id}`,
      sk: 'ANS',
      data: JSON.stringify(answer),
      gsi1pk: `NTC#${answer.noticeId}#ANS`,
      gsi1sk: `${answer.receivedAt}#${answer.id}`,
    });
  }

  async listAnswers(noticeId: string): Promise<Answer[]> {
    return parseAll<Answer>(await this.queryAll('gsi1', `NTC#${noticeId}#ANS`));
  }

  async appendEvent(event: AuditEvent): Promise<void> {
    const order = `${appendKey()}#${event.id}`;
    const item: Item = {
      pk: `CHAIN#${event.chain}`,
      sk: seqKey(event.seq),
      data: JSON.stringify(event),
      gsi1pk: `CMP#${event.campaignId}#EVT`,
      gsi1sk: order,
      ...(event.caseId === undefined ? {} : { gsi2pk: `CASE#${event.caseId}#EVT`, gsi2sk: order }),
      ...(event.noticeId === undefined ? {} : { gsi3pk: `NTC#${event.noticeId}#EVT`, gsi3sk: order }),
    };
    // the audit trail is append-only: a taken slot is never overwritten
    if (!(await this.create(item))) throw chainSlotTaken(event.chain, event.seq);
  }

  async chainHead(chain: string): Promise<AuditEvent | undefined> {
    const [head] = await this.queryChain(chain, 1, false);
    return head;
  }

  async listChain(chain: string, options?: { limit?: number }): Promise<AuditEvent[]> {
    return this.queryChain(chain, options?.limit, true);
  }

  async listChains(campaignId: string): Promise<string[]> {
    // from the events themselves, not from a marker a deletion could take away with the chain it names
    const chains = new Set<string>();
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: 'gsi1',
          KeyConditionExpression: '#gpk = :pk',
          ProjectionExpression: '#pk',
          ExpressionAttributeNames: { '#gpk': 'gsi1pk', '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': `CMP#${campaignId}#EVT` },
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of result.Items ?? []) {
        const pk = String(item['pk']);
        if (pk.startsWith('CHAIN#')) chains.add(pk.slice('CHAIN#'.length));
      }
      start = result.LastEvaluatedKey;
    } while (start !== undefined);
    return [...chains].sort(compareText);
  }

  async listEvents(by: { campaignId: string } | { caseId: string } | { noticeId: string }): Promise<AuditEvent[]> {
    const found =
      'campaignId' in by
        ? await this.queryAll('gsi1', `CMP#${by.campaignId}#EVT`)
        : 'caseId' in by
          ? await this.queryAll('gsi2', `CASE#${by.caseId}#EVT`)
          : await this.queryAll('gsi3', `NTC#${by.noticeId}#EVT`);
    return parseAll<AuditEvent>(found);
  }

  async putLookup(entry: CachedLookup): Promise<void> {
    const ranged = entry.rangeStart !== undefined && entry.rangeEnd !== undefined;
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          pk: ranged ? `LRANGE#${entry.kind}` : `LOOKUP#${entry.kind}#${entry.key}`,
          sk: ranged ? `${entry.rangeStart}#${entry.rangeEnd}` : 'LOOKUP',
          data: JSON.stringify(entry),
          expiresAt: entry.expiresAt,
          ttl: Math.ceil(Date.parse(entry.expiresAt) / 1000),
        },
      }),
    );
  }

  async getLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    const entry = await this.get<CachedLookup>(`LOOKUP#${kind}#${key}`, 'LOOKUP');
    return entry && entry.expiresAt > now ? entry : undefined;
  }

  async findRangeLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    // every sk `<start>#<end>` with start <= key sorts at or below `<key>#~` ('~' is above every hex digit)
    const result = await this.doc.send(
      new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#pk = :pk AND #sk <= :upto',
        ExpressionAttributeNames: { '#pk': 'pk', '#sk': 'sk' },
        ExpressionAttributeValues: { ':pk': `LRANGE#${kind}`, ':upto': `${key}#~` },
        ScanIndexForward: false,
        Limit: RANGE_PROBE,
        ConsistentRead: true,
      }),
    );
    const found = (result.Items ?? [])
      .map((item) => JSON.parse(String(item['data'])) as CachedLookup)
      .filter((e) => e.rangeStart !== undefined && e.rangeEnd !== undefined && e.rangeStart <= key && e.rangeEnd >= key && e.expiresAt > now);
    // by start descending the first covering range is the narrowest; equal starts: the smaller end
    found.sort((a, b) => compareText(b.rangeStart!, a.rangeStart!) || compareText(a.rangeEnd!, b.rangeEnd!));
    return found[0];
  }

  async putContactOverride(override: ContactOverride): Promise<void> {
    await this.doc.send(
      new PutCommand({
        TableName: this.tableName,
        Item: { pk: `OVR#${override.target}`, sk: 'OVR', data: JSON.stringify(override), gsi1pk: 'OVERRIDES', gsi1sk: override.target },
      }),
    );
  }

  async listContactOverrides(): Promise<ContactOverride[]> {
    return parseAll<ContactOverride>(await this.queryAll('gsi1', 'OVERRIDES'));
  }

  async putReview(item: ReviewItem): Promise<boolean> {
    return this.create({ pk: `REV#${item.id}`, sk: 'REV', data: JSON.stringify(item), gsi1pk: 'REVIEWS', gsi1sk: `${item.receivedAt}#${item.id}` });
  }

  async listReviews(page?: PageRequest): Promise<Page<ReviewItem>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? undefined : decodeCursor(page.after);
    return toPage(await this.queryRange('gsi1', 'REVIEWS', after, limit + 1), limit);
  }

  async putRecord(record: StoredRecord, expect?: 'absent' | number): Promise<void> {
    const item: Item = {
      pk: `REC#${record.kind}#${record.key}`,
      sk: 'REC',
      data: JSON.stringify(record),
      version: record.version,
      gsi1pk: `RECS#${record.kind}`,
      gsi1sk: record.key,
      ...(record.expiresAt ? { ttl: Math.ceil(Date.parse(record.expiresAt) / 1000) } : {}),
    };
    const condition =
      expect === undefined
        ? {}
        : expect === 'absent'
          ? { ConditionExpression: 'attribute_not_exists(pk)' }
          : {
              ConditionExpression: '#version = :expected',
              ExpressionAttributeNames: { '#version': 'version' },
              ExpressionAttributeValues: { ':expected': expect },
            };
    try {
      await this.doc.send(new PutCommand({ TableName: this.tableName, Item: item, ...condition }));
    } catch (error) {
      if (!isConditionFailure(error)) throw error;
      const where = `${record.kind}/${record.key}`;
      throw expect === 'absent' ? new AlreadyExistsError('record', where) : new StaleWriteError('record', where);
    }
  }

  async getRecord(kind: string, key: string): Promise<StoredRecord | undefined> {
    return this.get<StoredRecord>(`REC#${kind}#${key}`, 'REC');
  }

  async listRecords(kind: string, page?: PageRequest): Promise<Page<StoredRecord>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? undefined : decodeCursor(page.after);
    return toPage(await this.queryRange('gsi1', `RECS#${kind}`, after, limit + 1), limit);
  }

  async deleteRecord(kind: string, key: string): Promise<void> {
    await this.doc.send(new DeleteCommand({ TableName: this.tableName, Key: { pk: `REC#${kind}#${key}`, sk: 'REC' } }));
  }

  /** false when an item with this key exists already */
  private async create(item: Item): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  /** false when the stored version is not the one before the item's (or nothing is stored) */
  private async save(item: Item): Promise<boolean> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: '#version = :previous',
          ExpressionAttributeNames: { '#version': 'version' },
          ExpressionAttributeValues: { ':previous': (item.version ?? 0) - 1 },
        }),
      );
      return true;
    } catch (error) {
      if (isConditionFailure(error)) return false;
      throw error;
    }
  }

  private async get<T>(pk: string, sk: string): Promise<T | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk, sk },
        // saves are conditional on the version read: read what the last save wrote
        ConsistentRead: true,
        ProjectionExpression: '#data',
        ExpressionAttributeNames: { '#data': 'data' },
      }),
    );
    const data = result.Item?.['data'];
    return typeof data === 'string' ? (JSON.parse(data) as T) : undefined;
  }

  /** The events of one chain in slot order (or the reverse), read consistently: an append links to what this returns. */
  private async queryChain(chain: string, limit: number | undefined, ascending: boolean): Promise<AuditEvent[]> {
    const events: AuditEvent[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': 'pk' },
          ExpressionAttributeValues: { ':pk': `CHAIN#${chain}` },
          ScanIndexForward: ascending,
          ConsistentRead: true,
          ...(limit === undefined ? {} : { Limit: limit - events.length }),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of result.Items ?? []) events.push(JSON.parse(String(item['data'])) as AuditEvent);
      start = result.LastEvaluatedKey;
    } while (start !== undefined && (limit === undefined || events.length < limit));
    return events;
  }

  private async raiseIndicatorMark(campaignId: string, seq: number): Promise<void> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: `CMP#${campaignId}`, sk: 'IND' },
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

  private async indicatorMark(campaignId: string): Promise<number | undefined> {
    const result = await this.doc.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { pk: `CMP#${campaignId}`, sk: 'IND' },
        ConsistentRead: true,
      }),
    );
    const mark = result.Item?.['maxSeq'];
    return typeof mark === 'number' ? mark : undefined;
  }

  /**
   * Up to `limit` items of one partition (of the table, or of an index) in sort-key order, after `after`.
   * Follows LastEvaluatedKey, since a query stops at 1 MB whatever the limit.
   */
  private async queryRange(
    index: IndexName | undefined,
    pk: string,
    after: string | undefined,
    limit: number,
  ): Promise<Found[]> {
    const names = keyNames(index);
    const found: Found[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      // DynamoDB refuses an expression name the expression does not use: #sk only with `after`
      const range: Partial<QueryCommandInput> =
        after === undefined
          ? {
              KeyConditionExpression: '#pk = :pk',
              ExpressionAttributeNames: { '#pk': names.pk },
              ExpressionAttributeValues: { ':pk': pk },
            }
          : {
              KeyConditionExpression: '#pk = :pk AND #sk > :after',
              ExpressionAttributeNames: { '#pk': names.pk, '#sk': names.sk },
              ExpressionAttributeValues: { ':pk': pk, ':after': after },
            };
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          ...range,
          Limit: limit - found.length,
          ...(index === undefined ? { ConsistentRead: true } : { IndexName: index }),
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of result.Items ?? []) found.push({ key: String(item[names.sk]), data: String(item['data']) });
      start = result.LastEvaluatedKey;
    } while (start !== undefined && found.length < limit);
    return found;
  }

  /** Every item of one index partition, in sort-key order (or the reverse). */
  private async queryAll(index: IndexName, pk: string, ascending = true): Promise<Found[]> {
    const names = keyNames(index);
    const found: Found[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const result = await this.doc.send(
        new QueryCommand({
          TableName: this.tableName,
          IndexName: index,
          KeyConditionExpression: '#pk = :pk',
          ExpressionAttributeNames: { '#pk': names.pk },
          ExpressionAttributeValues: { ':pk': pk },
          ScanIndexForward: ascending,
          ...(start === undefined ? {} : { ExclusiveStartKey: start }),
        }),
      );
      for (const item of result.Items ?? []) found.push({ key: String(item[names.sk]), data: String(item['data']) });
      start = result.LastEvaluatedKey;
    } while (start !== undefined);
    return found;
  }
}

function campaignItem(campaign: Campaign): Item {
  return {
    pk: `CMP#${campaign.id}`,
    sk: 'CMP',
    data: JSON.stringify(campaign),
    version: campaign.version,
    gsi1pk: 'CAMPAIGNS',
    gsi1sk: `${campaign.createdAt}#${campaign.id}`,
  };
}

function caseItem(c: Case): Item {
  return {
    pk: `CASE#${c.id}`,
    sk: 'CASE',
    data: JSON.stringify(c),
    version: c.version,
    gsi1pk: `CMP#${c.campaignId}#CASE`,
    gsi1sk: c.id,
    ...(c.noticeId === undefined ? {} : { gsi2pk: `NTC#${c.noticeId}#CASE`, gsi2sk: c.id }),
    gsi3pk: `VAL#${c.indicator.value}`,
    gsi3sk: c.id,
  };
}

function noticeItem(notice: Notice): Item {
  return {
    pk: `NTC#${notice.id}`,
    sk: 'NTC',
    data: JSON.stringify(notice),
    version: notice.version,
    gsi1pk: `CMP#${notice.campaignId}#NTC`,
    gsi1sk: notice.id,
    gsi2pk: `NSTATE#${notice.state}`,
    gsi2sk: notice.id,
  };
}

function outboundItem(message: Outbound): Item {
  return {
    pk: `OUT#${message.id}`,
    sk: 'OUT',
    data: JSON.stringify(message),
    version: message.version,
    gsi1pk: `NTC#${message.noticeId}#OUT`,
    gsi1sk: `${message.createdAt}#${message.id}`,
  };
}

function keyNames(index: IndexName | undefined): { pk: string; sk: string } {
  if (index === undefined) return { pk: TABLE_DESIGN.partitionKey.name, sk: TABLE_DESIGN.sortKey.name };
  const design = TABLE_DESIGN.globalSecondaryIndexes.find((candidate) => candidate.indexName === index);
  if (design === undefined) throw new Error(`no index ${index} in TABLE_DESIGN`);
  return { pk: design.partitionKey.name, sk: design.sortKey.name };
}

function blockOf(seq: number): number {
  return Math.floor(seq / INDICATOR_BLOCK);
}

function indicatorPk(campaignId: string, seq: number): string {
  return `IND#${campaignId}#${blockOf(seq)}`;
}

function seqKey(seq: number): string {
  return String(seq).padStart(10, '0');
}

let lastAppendMs = 0;
let appendCounter = 0;

/**
 * A key that grows with every append in this process, ties across processes broken by the event id.
 * Not the event's `at`: that is domain time (which the embedded host runs fast) and says nothing of the order
 * the events reached the store in.
 */
function appendKey(): string {
  const now = Date.now();
  if (now > lastAppendMs) {
    lastAppendMs = now;
    appendCounter = 0;
  } else {
    appendCounter += 1;
  }
  return `${String(lastAppendMs).padStart(15, '0')}.${String(appendCounter).padStart(6, '0')}`;
}

function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === CONDITION_FAILED;
}

function parseAll<T>(found: readonly Found[]): T[] {
  return found.map((row) => JSON.parse(row.data) as T);
}

function pageLimit(page: PageRequest | undefined): number {
  const limit = Math.floor(page?.limit ?? DEFAULT_PAGE_LIMIT);
  return Number.isFinite(limit) && limit >= 1 ? limit : DEFAULT_PAGE_LIMIT;
}

/** Rows were read with limit + 1: the extra one only tells whether another page exists. */
function toPage<T>(found: readonly Found[], limit: number): Page<T> {
  const items = parseAll<T>(found.slice(0, limit));
  const last = found[limit - 1];
  return found.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
}

function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, shape?: RegExp): string {
  let key: unknown;
  try {
    key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
  } catch {
    key = undefined;
  }
  if (typeof key !== 'string' || (shape !== undefined && !shape.test(key))) {
    throw new InvalidInputError('the paging cursor is not one this store issued', [
      { where: 'after', reason: 'bad cursor' },
    ]);
  }
  return key;
}

// DynamoDB orders string keys by their UTF-8 bytes; for the ASCII ids we mint this is the same order
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `task` on every item with at most `limit` in flight; stops taking new items after the first failure. */
async function eachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const item = items[next++] as T;
      try {
        await task(item);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
