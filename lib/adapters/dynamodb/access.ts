import {
  BatchGetCommand,
  BatchWriteCommand,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
  type DynamoDBDocumentClient,
  type QueryCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { AlreadyExistsError, InvalidInputError, StaleWriteError } from '../../core/errors.js';
import type { Page, PageRequest } from '../../core/ports.js';
import { keyNames, type IndexName, type Item, type Key } from './keys.js';

/** The table every family module reads and writes: a document client and the table's name. */
export interface Table {
  readonly doc: DynamoDBDocumentClient;
  readonly tableName: string;
}

/** One row of a query: the sort key it was found under (the paging key) and the record. */
export interface Found {
  readonly key: string;
  readonly data: string;
}

/**
 * Writes of one batch in flight at once: bounded so a batch of 20,000 neither floods the connection pool nor one
 * partition.
 */
export const CONCURRENCY = 16;
const DEFAULT_PAGE_LIMIT = 100;
const CONDITION_FAILED = 'ConditionalCheckFailedException';

/** Whether `error` is DynamoDB refusing a write because its condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return error instanceof Error && error.name === CONDITION_FAILED;
}

/** Puts `item` only if nothing is stored under its key; false when an item with this key exists already. */
export async function createItem(table: Table, item: Item): Promise<boolean> {
  try {
    await table.doc.send(
      new PutCommand({ TableName: table.tableName, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** Puts `item` only if the stored version is the one before the item's; false when it is not (or nothing is stored). */
export async function saveItem(table: Table, item: Item): Promise<boolean> {
  try {
    await table.doc.send(
      new PutCommand({
        TableName: table.tableName,
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

/**
 * saveItem for an item whose stored copy may carry attributes the store no longer writes (the index keys of a record
 * stored by an earlier version): only its record and version are set, so whatever else it carries stays, and an
 * item stored since carries nothing an index reads, which spares the index writes. False as saveItem's.
 */
export async function saveData(table: Table, item: Item): Promise<boolean> {
  try {
    await table.doc.send(
      new UpdateCommand({
        TableName: table.tableName,
        Key: { pk: item.pk, sk: item.sk },
        UpdateExpression: 'SET #data = :data, #version = :version',
        // a missing item has no version: nothing is created
        ConditionExpression: '#version = :previous',
        ExpressionAttributeNames: { '#data': 'data', '#version': 'version' },
        ExpressionAttributeValues: { ':data': item.data, ':version': item.version, ':previous': (item.version ?? 0) - 1 },
      }),
    );
    return true;
  } catch (error) {
    if (isConditionFailure(error)) return false;
    throw error;
  }
}

/** createItem, with a key taken already reported as AlreadyExistsError(what, id). */
export async function createOrThrow(table: Table, item: Item, what: string, id: string): Promise<void> {
  if (!(await createItem(table, item))) throw new AlreadyExistsError(what, id);
}

/** saveItem, with a version that moved on (or a missing item) reported as StaleWriteError(what, id). */
export async function saveOrThrow(table: Table, item: Item, what: string, id: string): Promise<void> {
  if (!(await saveItem(table, item))) throw new StaleWriteError(what, id);
}

/** The record stored under `key`, read consistently. */
export async function getData<T>(table: Table, key: Key): Promise<T | undefined> {
  const result = await table.doc.send(
    new GetCommand({
      TableName: table.tableName,
      Key: { pk: key.pk, sk: key.sk },
      // saves are conditional on the version read: read what the last save wrote
      ConsistentRead: true,
      ProjectionExpression: '#data',
      ExpressionAttributeNames: { '#data': 'data' },
    }),
  );
  const data = result.Item?.['data'];
  return typeof data === 'string' ? (JSON.parse(data) as T) : undefined;
}

/**
 * Up to `limit` items of one partition (of the table, or of an index) in sort-key order, after `after`.
 * Follows LastEvaluatedKey, since a query stops at 1 MB whatever the limit. An index holds keys only: the records
 * of the rows it finds are read from the table (consistently), and a row whose item is gone since is left out.
 */
export async function queryRange(
  table: Table,
  index: IndexName | undefined,
  pk: string,
  after: string | undefined,
  limit: number,
): Promise<Found[]> {
  return withRecords(table, await queryRows(table, index, pk, after, limit));
}

/** One row of a query before its record is read: its sort key, the item's own key, and its record if at hand. */
interface Row {
  readonly key: string;
  readonly item: Key;
  readonly data?: string;
}

/** queryRange's rows, records only where the partition holds them (the table's, not an index's). */
async function queryRows(
  table: Table,
  index: IndexName | undefined,
  pk: string,
  after: string | undefined,
  limit: number,
): Promise<Row[]> {
  const names = keyNames(index);
  const rows: Row[] = [];
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
    const result = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        ...range,
        Limit: limit - rows.length,
        ...(index === undefined ? { ConsistentRead: true } : { IndexName: index }),
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of result.Items ?? []) rows.push(rowOf(item, names.sk));
    start = result.LastEvaluatedKey;
  } while (start !== undefined && rows.length < limit);
  return rows;
}

/** A query's item as a row: an index's holds no record (undefined data), the table's does. */
function rowOf(item: Record<string, unknown>, sk: string): Row {
  const data = item['data'];
  return { key: String(item[sk]), item: { pk: String(item['pk']), sk: String(item['sk']) }, ...(typeof data === 'string' ? { data } : {}) };
}

/** The rows with their records: those an index row lacks are read from the table; rows whose item is gone are left out. */
async function withRecords(table: Table, rows: readonly Row[]): Promise<Found[]> {
  const missing = rows.filter((row) => row.data === undefined);
  const read = missing.length === 0 ? [] : await getManyData(table, missing.map((row) => row.item));
  const records = new Map(missing.map((row, i) => [row, read[i]]));
  const found: Found[] = [];
  for (const row of rows) {
    const data = row.data ?? records.get(row);
    if (data !== undefined) found.push({ key: row.key, data });
  }
  return found;
}

/**
 * Every item of one partition (of an index, or of the table, read consistently), page after page (each up to 1 MB),
 * in sort-key order or the reverse, each given to `take`; with `attribute`, only that attribute crosses the wire.
 */
async function eachInPartition(
  table: Table,
  index: IndexName | undefined,
  pk: string,
  options: { readonly ascending?: boolean; readonly attribute?: string },
  take: (item: Record<string, unknown>) => void,
): Promise<void> {
  const names = keyNames(index);
  let start: Record<string, unknown> | undefined;
  do {
    const result = await table.doc.send(
      new QueryCommand({
        TableName: table.tableName,
        // the table's own partitions are read consistently, as queryRange reads them
        ...(index === undefined ? { ConsistentRead: true } : { IndexName: index }),
        KeyConditionExpression: '#pk = :pk',
        ...(options.attribute === undefined ? {} : { ProjectionExpression: '#attribute' }),
        ExpressionAttributeNames: { '#pk': names.pk, ...(options.attribute === undefined ? {} : { '#attribute': options.attribute }) },
        ExpressionAttributeValues: { ':pk': pk },
        ScanIndexForward: options.ascending ?? true,
        ...(start === undefined ? {} : { ExclusiveStartKey: start }),
      }),
    );
    for (const item of result.Items ?? []) take(item);
    start = result.LastEvaluatedKey;
  } while (start !== undefined);
}

/**
 * Every item of one partition (of an index, or of the table), in sort-key order (or the reverse). An index's rows
 * are keys: their records are read from the table, as queryRange reads them.
 */
export async function queryAll(table: Table, index: IndexName | undefined, pk: string, ascending = true): Promise<Found[]> {
  const sk = keyNames(index).sk;
  const rows: Row[] = [];
  await eachInPartition(table, index, pk, { ascending }, (item) => rows.push(rowOf(item, sk)));
  return withRecords(table, rows);
}

/**
 * One attribute of every item of one index partition, in sort-key order: what a count or a set of keys needs, without
 * reading any record. The attribute is a key or one the index projects (TABLE_DESIGN).
 */
export async function queryAttribute(table: Table, index: IndexName, pk: string, attribute: string): Promise<string[]> {
  const found: string[] = [];
  await eachInPartition(table, index, pk, { attribute }, (item) => found.push(String(item[attribute])));
  return found;
}

/**
 * One page of an index partition after the request's cursor: the listing every paged family method shares. The
 * row after the page only tells whether another page exists: its record is not read.
 */
export async function queryPage<T>(
  table: Table,
  index: IndexName,
  pk: string,
  page: PageRequest | undefined,
): Promise<Page<T>> {
  const limit = pageLimit(page);
  const after = page?.after === undefined ? undefined : decodeCursor(page.after);
  const rows = await queryRows(table, index, pk, after, limit + 1);
  const items = parseAll<T>(await withRecords(table, rows.slice(0, limit)));
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
}

/**
 * The records under `keys`, read consistently, in the order of `keys` (undefined where none is stored).
 * BatchGetItem takes 100 keys a call and may hand some back unprocessed under load: those are asked again.
 */
export async function getMany<T>(table: Table, keys: readonly Key[]): Promise<(T | undefined)[]> {
  return (await getManyData(table, keys)).map((data) => (data === undefined ? undefined : (JSON.parse(data) as T)));
}

/** getMany's records as stored (JSON), not parsed. */
async function getManyData(table: Table, keys: readonly Key[]): Promise<(string | undefined)[]> {
  const id = (pk: unknown, sk: unknown) => `${String(pk)}\u0000${String(sk)}`;
  const found = new Map<string, string>();
  // a key named twice is asked once: BatchGetItem refuses duplicates
  const unique = [...new Map(keys.map((k) => [id(k.pk, k.sk), { pk: k.pk, sk: k.sk }])).values()];
  const batches: Record<string, unknown>[][] = [];
  for (let i = 0; i < unique.length; i += 100) batches.push(unique.slice(i, i + 100));
  // a listing of a big partition (a campaign's events) reads its records a few batches at once
  await eachLimit(batches, CONCURRENCY, async (batch) => {
    let pending = batch;
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      const result = await table.doc.send(
        new BatchGetCommand({
          RequestItems: { [table.tableName]: { Keys: pending, ConsistentRead: true, ProjectionExpression: 'pk, sk, #data', ExpressionAttributeNames: { '#data': 'data' } } },
        }),
      );
      for (const item of result.Responses?.[table.tableName] ?? []) {
        if (typeof item['data'] === 'string') found.set(id(item['pk'], item['sk']), item['data']);
      }
      pending = (result.UnprocessedKeys?.[table.tableName]?.Keys ?? []) as Record<string, unknown>[];
    }
  });
  return keys.map((k) => found.get(id(k.pk, k.sk)));
}

/** Puts an item that only says something belongs somewhere (no version: rewriting it changes nothing). */
export async function putMarker(table: Table, pk: string, sk: string): Promise<void> {
  await table.doc.send(new PutCommand({ TableName: table.tableName, Item: { pk, sk, data: sk } }));
}

/**
 * putMarker for many, 25 to a request (BatchWriteItem's most): the same items and write units in a twenty-fifth of
 * the requests. What DynamoDB leaves unprocessed (throttled) is sent again until none is left. Duplicates are
 * written once (a batch may not name one key twice).
 */
export async function putMarkers(table: Table, markers: readonly { readonly pk: string; readonly sk: string }[]): Promise<void> {
  const unique = [...new Map(markers.map((m) => [`${m.pk}\u0000${m.sk}`, m])).values()];
  const batches: (typeof unique)[] = [];
  for (let i = 0; i < unique.length; i += 25) batches.push(unique.slice(i, i + 25));
  await eachLimit(batches, CONCURRENCY, async (batch) => {
    let pending: Record<string, unknown>[] = batch.map(({ pk, sk }) => ({ PutRequest: { Item: { pk, sk, data: sk } } }));
    for (let attempt = 0; pending.length > 0; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(1000, 25 * 2 ** attempt)));
      const result = await table.doc.send(new BatchWriteCommand({ RequestItems: { [table.tableName]: pending as never } }));
      pending = (result.UnprocessedItems?.[table.tableName] ?? []) as Record<string, unknown>[];
    }
  });
}

/** The records of query rows. */
export function parseAll<T>(found: readonly Found[]): T[] {
  return found.map((row) => JSON.parse(row.data) as T);
}

/** The page size a request asks for, or the default when it asks for none (or nonsense). */
export function pageLimit(page: PageRequest | undefined): number {
  const limit = Math.floor(page?.limit ?? DEFAULT_PAGE_LIMIT);
  return Number.isFinite(limit) && limit >= 1 ? limit : DEFAULT_PAGE_LIMIT;
}

/** Rows were read with limit + 1: the extra one only tells whether another page exists. */
export function toPage<T>(found: readonly Found[], limit: number): Page<T> {
  const items = parseAll<T>(found.slice(0, limit));
  const last = found[limit - 1];
  return found.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
}

/** The cursor of a page that ended at sort key `key`. */
export function encodeCursor(key: string): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

/** The sort key a cursor of ours holds; InvalidInputError for anything else (or a key not of `shape`). */
export function decodeCursor(cursor: string, shape?: RegExp): string {
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

/**
 * Compares by code unit: DynamoDB orders string keys by their UTF-8 bytes; for the ASCII ids we mint this is the
 * same order.
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Runs `task` on every item with at most `limit` in flight; stops taking new items after the first failure. */
export async function eachLimit<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
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
