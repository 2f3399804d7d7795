import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { InvalidInputError } from '../../core/errors.js';
import type { Page, PageRequest } from '../../core/ports.js';

// Records live as JSON text; the other columns exist only to find, order and guard them.
const SCHEMA = `
CREATE TABLE IF NOT EXISTS campaigns (
  id TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS campaigns_by_created ON campaigns (created_at, id);

CREATE TABLE IF NOT EXISTS indicators (
  campaign_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (campaign_id, seq)
);

CREATE TABLE IF NOT EXISTS cases (
  id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  notice_id TEXT,
  state TEXT NOT NULL,
  indicator_value TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL,
  -- 'escalation' (a previous case), 'reopened' (a revival, no previous case) or NULL: what a campaign's counts
  -- tell apart, kept beside the JSON so they are counted from two small indexes, not by parsing every case
  lineage TEXT
);
CREATE INDEX IF NOT EXISTS cases_by_campaign ON cases (campaign_id, id);
CREATE INDEX IF NOT EXISTS cases_by_notice ON cases (notice_id, id);
CREATE INDEX IF NOT EXISTS cases_by_value ON cases (indicator_value, state);

CREATE TABLE IF NOT EXISTS notices (
  id TEXT PRIMARY KEY,
  campaign_id TEXT NOT NULL,
  state TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS notices_by_campaign ON notices (campaign_id, id);
CREATE INDEX IF NOT EXISTS notices_by_state ON notices (state, id);

CREATE TABLE IF NOT EXISTS outbound (
  id TEXT PRIMARY KEY,
  notice_id TEXT NOT NULL,
  created_at TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS outbound_by_notice ON outbound (notice_id, created_at, id);

CREATE TABLE IF NOT EXISTS answers (
  id TEXT PRIMARY KEY,
  notice_id TEXT NOT NULL,
  received_at TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS answers_by_notice ON answers (notice_id, received_at, id);

-- the rowid (seq) is the append order; rows are never deleted, so it only grows. (chain, chain_seq) is the
-- event's slot in its hash chain (CHAIN_SCHEMA makes it unique)
CREATE TABLE IF NOT EXISTS events (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  campaign_id TEXT NOT NULL,
  case_id TEXT,
  notice_id TEXT,
  data TEXT NOT NULL,
  chain TEXT,
  chain_seq INTEGER
);
CREATE INDEX IF NOT EXISTS events_by_campaign ON events (campaign_id, seq);
CREATE INDEX IF NOT EXISTS events_by_notice ON events (notice_id, seq);

-- answers of outside registries (RDAP, security.txt); range entries are found by any key inside the range
CREATE TABLE IF NOT EXISTS lookups (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  range_start TEXT,
  range_end TEXT,
  expires_at TEXT NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (kind, key)
);
CREATE INDEX IF NOT EXISTS lookups_by_range ON lookups (kind, range_start);

CREATE TABLE IF NOT EXISTS contact_overrides (
  target TEXT PRIMARY KEY,
  data TEXT NOT NULL
);

-- inbound messages a person must read; sort_key = receivedAt#id, the queue order
CREATE TABLE IF NOT EXISTS reviews (
  id TEXT PRIMARY KEY,
  sort_key TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS reviews_by_order ON reviews (sort_key);

-- small records of other modules (API keys, secrets, link tokens ...), opaque JSON under (kind, key)
CREATE TABLE IF NOT EXISTS records (
  kind TEXT NOT NULL,
  key TEXT NOT NULL,
  version INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (kind, key)
);
`;

// after the lineage column exists (a database made before it gets it, filled from each case's JSON): only the
// rare cases are in these, so routing pays nothing for them
const CASE_COUNT_SCHEMA = `
CREATE INDEX IF NOT EXISTS cases_by_lineage ON cases (campaign_id, lineage) WHERE lineage IS NOT NULL;
CREATE INDEX IF NOT EXISTS cases_withheld ON cases (campaign_id) WHERE state = 'withheld';
`;

/** The lineage column of a case from its JSON: caseLineage (core/store.ts) in SQL, for rows stored before it. */
const LINEAGE_FROM_JSON = `CASE WHEN json_extract(data, '$.previousCaseId') IS NOT NULL THEN 'escalation'
  WHEN COALESCE(json_extract(data, '$.revival'), 0) > 0 THEN 'reopened' END`;

// after the columns exist (a database made before the hash chains gets them added first); the unique slot is
// what makes an append conditional, so two writers can never put two events at one place of a chain
const CHAIN_SCHEMA = `
CREATE UNIQUE INDEX IF NOT EXISTS events_by_chain ON events (chain, chain_seq);
CREATE INDEX IF NOT EXISTS events_by_campaign_chain ON events (campaign_id, chain);
-- a case's events are its chain's ('case:<id>'), found by events_by_chain: an index by case_id cost every append
-- one more B-tree page in the log (~10 % of the append rate); only events from before the chains are found by it
DROP INDEX IF EXISTS events_by_case;
CREATE INDEX IF NOT EXISTS events_unchained_by_case ON events (case_id, seq) WHERE chain IS NULL;
`;

/**
 * Opens (or creates) the store's database file and brings its schema up to date: tables and indexes missing
 * are created, and a database made before the hash chains gets their columns.
 */
export function openDatabase(file: string): Database.Database {
  // created private: SQLite gives its -wal and -shm files the database file's mode
  if (file !== ':memory:' && !existsSync(file)) closeSync(openSync(file, 'a', 0o600));
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  // NORMAL in WAL mode loses at most the last transactions on a power cut, never consistency
  db.pragma('synchronous = NORMAL');
  // a route page of 500 cases with random ids dirties ~1,700 index pages, so the default checkpoint (every 1,000
  // pages) ran after every commit, copying and syncing pages the next commit rewrites; every 50,000 pages (~200
  // MB of log) a checkpoint copies each page once (routing 200,000 indicators: 23 s -> 16 s, 2.3 M -> far fewer writes)
  db.pragma('wal_autocheckpoint = 50000');
  // and the log shrinks back after a checkpoint instead of keeping its largest size on disk
  db.pragma('journal_size_limit = 67108864');
  db.exec(SCHEMA);
  const eventColumns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('events')").all();
  if (!eventColumns.some((c) => c.name === 'chain')) {
    db.exec('ALTER TABLE events ADD COLUMN chain TEXT; ALTER TABLE events ADD COLUMN chain_seq INTEGER;');
  }
  db.exec(CHAIN_SCHEMA);
  const caseColumns = db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('cases')").all();
  if (!caseColumns.some((c) => c.name === 'lineage')) {
    db.transaction(() => {
      db.exec('ALTER TABLE cases ADD COLUMN lineage TEXT');
      db.exec(`UPDATE cases SET lineage = ${LINEAGE_FROM_JSON}`);
    })();
  }
  db.exec(CASE_COUNT_SCHEMA);
  return db;
}

const DEFAULT_PAGE_LIMIT = 100;

/** A row read for its record alone. */
export interface DataRow {
  readonly data: string;
}

/** A row read for its record and the key it is ordered by (the paging key). */
export interface KeyedRow {
  readonly key: string | number;
  readonly data: string;
}

/** The record of a row, or undefined for no row. */
export function parseRow<T>(row: DataRow | undefined): T | undefined {
  return row === undefined ? undefined : (JSON.parse(row.data) as T);
}

/** The records of rows. */
export function parseRows<T>(rows: readonly DataRow[]): T[] {
  return rows.map((row) => JSON.parse(row.data) as T);
}

/** The page size a request asks for, or the default when it asks for none (or nonsense). */
export function pageLimit(page: PageRequest | undefined): number {
  const limit = Math.floor(page?.limit ?? DEFAULT_PAGE_LIMIT);
  return Number.isFinite(limit) && limit >= 1 ? limit : DEFAULT_PAGE_LIMIT;
}

/** Rows were read with limit + 1: the extra one only tells whether another page exists. */
export function toPage<T>(rows: readonly KeyedRow[], limit: number): Page<T> {
  const items = rows.slice(0, limit).map((row) => JSON.parse(row.data) as T);
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
}

function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

/** The key a cursor of ours holds, of the type the listing pages by; InvalidInputError for anything else. */
export function decodeCursor(cursor: string, type: 'string'): string;
export function decodeCursor(cursor: string, type: 'number'): number;
export function decodeCursor(cursor: string, type: 'string' | 'number'): string | number {
  let key: unknown;
  try {
    key = (JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { k?: unknown }).k;
  } catch {
    key = undefined;
  }
  if (typeof key !== type) {
    throw new InvalidInputError('the paging cursor is not one this store issued', [
      { where: 'after', reason: 'bad cursor' },
    ]);
  }
  return key as string | number;
}

/**
 * Compares by code unit: the same order as SQLite's BINARY collation for the ASCII ids we mint (localeCompare
 * would not agree).
 */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
