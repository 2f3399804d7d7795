import Database from 'better-sqlite3';
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
  data TEXT NOT NULL
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
CREATE INDEX IF NOT EXISTS events_by_case ON events (case_id, seq);
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

// after the columns exist (a database made before the hash chains gets them added first); the unique slot is
// what makes an append conditional, so two writers can never put two events at one place of a chain
const CHAIN_SCHEMA = `
CREATE UNIQUE INDEX IF NOT EXISTS events_by_chain ON events (chain, chain_seq);
CREATE INDEX IF NOT EXISTS events_by_campaign_chain ON events (campaign_id, chain);
`;

/** Range entries read per probe: nested ranges are few; a miss past them costs a refetch, never a wrong answer. */
const RANGE_PROBE = 32;

const DEFAULT_PAGE_LIMIT = 100;

interface DataRow {
  readonly data: string;
}

interface KeyedRow {
  readonly key: string | number;
  readonly data: string;
}

/** The Store port on one SQLite file (better-sqlite3): the embedded host's state. */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmt;
  private readonly insertIndicators;
  private readonly insertCases;
  private readonly insertNotices;

  constructor(file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // NORMAL in WAL mode loses at most the last transactions on a power cut, never consistency
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
    const eventColumns = this.db.prepare<[], { name: string }>("SELECT name FROM pragma_table_info('events')").all();
    if (!eventColumns.some((c) => c.name === 'chain')) {
      this.db.exec('ALTER TABLE events ADD COLUMN chain TEXT; ALTER TABLE events ADD COLUMN chain_seq INTEGER;');
    }
    this.db.exec(CHAIN_SCHEMA);
    const db = this.db;
    this.stmt = {
      insertCampaign: db.prepare<[string, string, number, string]>(
        'INSERT OR IGNORE INTO campaigns (id, created_at, version, data) VALUES (?, ?, ?, ?)',
      ),
      getCampaign: db.prepare<[string], DataRow>('SELECT data FROM campaigns WHERE id = ?'),
      listCampaigns: db.prepare<[], DataRow>('SELECT data FROM campaigns ORDER BY created_at DESC, id DESC'),
      updateCampaign: db.prepare<[string, number, string, string, number]>(
        'UPDATE campaigns SET created_at = ?, version = ?, data = ? WHERE id = ? AND version = ?',
      ),

      insertIndicator: db.prepare<[string, number, string]>(
        'INSERT OR IGNORE INTO indicators (campaign_id, seq, data) VALUES (?, ?, ?)',
      ),
      listIndicators: db.prepare<[string, number, number], KeyedRow>(
        'SELECT seq AS key, data FROM indicators WHERE campaign_id = ? AND seq > ? ORDER BY seq LIMIT ?',
      ),

      insertCase: db.prepare<[string, string, string | null, string, string, number, string]>(
        `INSERT OR IGNORE INTO cases (id, campaign_id, notice_id, state, indicator_value, version, data)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      getCase: db.prepare<[string], DataRow>('SELECT data FROM cases WHERE id = ?'),
      // campaign and indicator never change: leaving them out of SET spares rewriting their index entries
      updateCase: db.prepare<[string | null, string, number, string, string, number]>(
        `UPDATE cases SET notice_id = ?, state = ?, version = ?, data = ? WHERE id = ? AND version = ?`,
      ),
      casesByCampaign: db.prepare<[string, string, number], KeyedRow>(
        'SELECT id AS key, data FROM cases WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      casesByNotice: db.prepare<[string, string, number], KeyedRow>(
        'SELECT id AS key, data FROM cases WHERE notice_id = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      casesByValue: db.prepare<[string], { id: string; state: string; data: string }>(
        'SELECT id, state, data FROM cases WHERE indicator_value = ?',
      ),

      insertNotice: db.prepare<[string, string, string, number, string]>(
        'INSERT OR IGNORE INTO notices (id, campaign_id, state, version, data) VALUES (?, ?, ?, ?, ?)',
      ),
      getNotice: db.prepare<[string], DataRow>('SELECT data FROM notices WHERE id = ?'),
      updateNotice: db.prepare<[string, string, number, string, string, number]>(
        'UPDATE notices SET campaign_id = ?, state = ?, version = ?, data = ? WHERE id = ? AND version = ?',
      ),
      noticesByCampaign: db.prepare<[string, string, number], KeyedRow>(
        'SELECT id AS key, data FROM notices WHERE campaign_id = ? AND id > ? ORDER BY id LIMIT ?',
      ),
      noticesByState: db.prepare<[string, string, number], KeyedRow>(
        'SELECT id AS key, data FROM notices WHERE state = ? AND id > ? ORDER BY id LIMIT ?',
      ),

      insertOutbound: db.prepare<[string, string, string, number, string]>(
        'INSERT OR IGNORE INTO outbound (id, notice_id, created_at, version, data) VALUES (?, ?, ?, ?, ?)',
      ),
      getOutbound: db.prepare<[string], DataRow>('SELECT data FROM outbound WHERE id = ?'),
      updateOutbound: db.prepare<[string, string, number, string, string, number]>(
        'UPDATE outbound SET notice_id = ?, created_at = ?, version = ?, data = ? WHERE id = ? AND version = ?',
      ),
      outboundByNotice: db.prepare<[string], DataRow>(
        'SELECT data FROM outbound WHERE notice_id = ? ORDER BY created_at, id',
      ),

      insertAnswer: db.prepare<[string, string, string, string]>(
        'INSERT OR IGNORE INTO answers (id, notice_id, received_at, data) VALUES (?, ?, ?, ?)',
      ),
      answersByNotice: db.prepare<[string], DataRow>(
        'SELECT data FROM answers WHERE notice_id = ? ORDER BY received_at, id',
      ),

      insertEvent: db.prepare<[string, string, string | null, string | null, string, number, string]>(
        'INSERT OR IGNORE INTO events (id, campaign_id, case_id, notice_id, chain, chain_seq, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      chainSlot: db.prepare<[string, number], { taken: number }>('SELECT 1 AS taken FROM events WHERE chain = ? AND chain_seq = ?'),
      chainHead: db.prepare<[string], DataRow>('SELECT data FROM events WHERE chain = ? ORDER BY chain_seq DESC LIMIT 1'),
      // LIMIT -1: no limit
      chainEvents: db.prepare<[string, number], DataRow>('SELECT data FROM events WHERE chain = ? ORDER BY chain_seq LIMIT ?'),
      chainsOfCampaign: db.prepare<[string], { chain: string }>(
        'SELECT DISTINCT chain FROM events WHERE campaign_id = ? AND chain IS NOT NULL ORDER BY chain',
      ),
      eventsByCampaign: db.prepare<[string], DataRow>('SELECT data FROM events WHERE campaign_id = ? ORDER BY seq'),
      eventsByCase: db.prepare<[string], DataRow>('SELECT data FROM events WHERE case_id = ? ORDER BY seq'),
      eventsByNotice: db.prepare<[string], DataRow>('SELECT data FROM events WHERE notice_id = ? ORDER BY seq'),

      putLookup: db.prepare<[string, string, string | null, string | null, string, string]>(
        'INSERT OR REPLACE INTO lookups (kind, key, range_start, range_end, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      getLookup: db.prepare<[string, string, string], DataRow>(
        'SELECT data FROM lookups WHERE kind = ? AND key = ? AND expires_at > ?',
      ),
      rangeLookups: db.prepare<[string, string, number], { range_start: string; range_end: string; expires_at: string; data: string }>(
        `SELECT range_start, range_end, expires_at, data FROM lookups
         WHERE kind = ? AND range_start IS NOT NULL AND range_start <= ? ORDER BY range_start DESC, range_end ASC LIMIT ?`,
      ),
      putOverride: db.prepare<[string, string]>('INSERT OR REPLACE INTO contact_overrides (target, data) VALUES (?, ?)'),
      listOverrides: db.prepare<[], DataRow>('SELECT data FROM contact_overrides ORDER BY target'),
      insertReview: db.prepare<[string, string, string]>('INSERT OR IGNORE INTO reviews (id, sort_key, data) VALUES (?, ?, ?)'),
      listReviews: db.prepare<[string, number], KeyedRow>(
        'SELECT sort_key AS key, data FROM reviews WHERE sort_key > ? ORDER BY sort_key LIMIT ?',
      ),
      insertRecord: db.prepare<[string, string, number, string]>(
        'INSERT OR IGNORE INTO records (kind, key, version, data) VALUES (?, ?, ?, ?)',
      ),
      replaceRecord: db.prepare<[string, string, number, string]>(
        'INSERT OR REPLACE INTO records (kind, key, version, data) VALUES (?, ?, ?, ?)',
      ),
      updateRecord: db.prepare<[number, string, string, string, number]>(
        'UPDATE records SET version = ?, data = ? WHERE kind = ? AND key = ? AND version = ?',
      ),
      getRecord: db.prepare<[string, string], DataRow>('SELECT data FROM records WHERE kind = ? AND key = ?'),
      listRecords: db.prepare<[string, string, number], KeyedRow>(
        'SELECT key, data FROM records WHERE kind = ? AND key > ? ORDER BY key LIMIT ?',
      ),
      deleteRecord: db.prepare<[string, string]>('DELETE FROM records WHERE kind = ? AND key = ?'),
    };

    // one transaction per batch: 200,000 rows commit once instead of 200,000 times
    this.insertIndicators = db.transaction((items: readonly CampaignIndicator[]) => {
      for (const item of items) this.stmt.insertIndicator.run(item.campaignId, item.seq, JSON.stringify(item));
    });
    this.insertCases = db.transaction((cases: readonly Case[]) => {
      for (const c of cases) {
        this.stmt.insertCase.run(
          c.id, c.campaignId, c.noticeId ?? null, c.state, c.indicator.value, c.version, JSON.stringify(c),
        );
      }
    });
    this.insertNotices = db.transaction((notices: readonly Notice[]) => {
      for (const n of notices) {
        this.stmt.insertNotice.run(n.id, n.campaignId, n.state, n.version, JSON.stringify(n));
      }
    });
  }

  /** Closes the database file; the store is unusable afterwards. */
  close(): void {
    this.db.close();
  }

  async createCampaign(campaign: Campaign): Promise<void> {
    const result = this.stmt.insertCampaign.run(
      campaign.id, campaign.createdAt, campaign.version, JSON.stringify(campaign),
    );
    if (result.changes === 0) throw new AlreadyExistsError('campaign', campaign.id);
  }

  async getCampaign(id: string): Promise<Campaign | undefined> {
    return parseRow<Campaign>(this.stmt.getCampaign.get(id));
  }

  async listCampaigns(): Promise<Campaign[]> {
    return parseRows<Campaign>(this.stmt.listCampaigns.all());
  }

  async saveCampaign(campaign: Campaign): Promise<void> {
    const result = this.stmt.updateCampaign.run(
      campaign.createdAt, campaign.version, JSON.stringify(campaign), campaign.id, campaign.version - 1,
    );
    if (result.changes === 0) throw new StaleWriteError('campaign', campaign.id);
  }

  async putIndicators(items: readonly CampaignIndicator[]): Promise<void> {
    this.insertIndicators(items);
  }

  async listIndicators(campaignId: string, page?: PageRequest): Promise<Page<CampaignIndicator>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? -1 : decodeCursor(page.after, 'number');
    return toPage(this.stmt.listIndicators.all(campaignId, after, limit + 1), limit);
  }

  async putCases(cases: readonly Case[]): Promise<void> {
    this.insertCases(cases);
  }

  async getCase(id: string): Promise<Case | undefined> {
    return parseRow<Case>(this.stmt.getCase.get(id));
  }

  async saveCase(c: Case): Promise<void> {
    if (!this.updateOneCase(c)) throw new StaleWriteError('case', c.id);
  }

  private updateOneCase(c: Case): boolean {
    return this.stmt.updateCase.run(c.noticeId ?? null, c.state, c.version, JSON.stringify(c), c.id, c.version - 1).changes > 0;
  }

  // one transaction for all: a notice's cases move together, and one commit costs what one row does
  private readonly updateCases = (cases: readonly Case[]): string[] =>
    this.db.transaction((list: readonly Case[]) => list.filter((c) => !this.updateOneCase(c)).map((c) => c.id))(cases);

  async saveCases(cases: readonly Case[]): Promise<string[]> {
    return this.updateCases(cases);
  }

  async listCases(by: { campaignId: string } | { noticeId: string }, page?: PageRequest): Promise<Page<Case>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
    const rows =
      'campaignId' in by
        ? this.stmt.casesByCampaign.all(by.campaignId, after, limit + 1)
        : this.stmt.casesByNotice.all(by.noticeId, after, limit + 1);
    return toPage(rows, limit);
  }

  async findCasesByIndicator(values: readonly string[], states: ReadonlySet<CaseState>): Promise<Case[]> {
    const found: { id: string; data: string }[] = [];
    for (const value of new Set(values)) {
      for (const row of this.stmt.casesByValue.all(value)) {
        if (states.has(row.state as CaseState)) found.push(row);
      }
    }
    found.sort((a, b) => compareText(a.id, b.id));
    return parseRows<Case>(found);
  }

  async putNotices(notices: readonly Notice[]): Promise<void> {
    this.insertNotices(notices);
  }

  async getNotice(id: string): Promise<Notice | undefined> {
    return parseRow<Notice>(this.stmt.getNotice.get(id));
  }

  async saveNotice(notice: Notice): Promise<void> {
    const result = this.stmt.updateNotice.run(
      notice.campaignId, notice.state, notice.version, JSON.stringify(notice), notice.id, notice.version - 1,
    );
    if (result.changes === 0) throw new StaleWriteError('notice', notice.id);
  }

  async listNotices(by: { campaignId: string } | { state: NoticeState }, page?: PageRequest): Promise<Page<Notice>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
    const rows =
      'campaignId' in by
        ? this.stmt.noticesByCampaign.all(by.campaignId, after, limit + 1)
        : this.stmt.noticesByState.all(by.state, after, limit + 1);
    return toPage(rows, limit);
  }

  async createOutbound(message: Outbound): Promise<void> {
    const result = this.stmt.insertOutbound.run(
      message.id, message.noticeId, message.createdAt, message.version, JSON.stringify(message),
    );
    if (result.changes === 0) throw new AlreadyExistsError('outbound', message.id);
  }

  async getOutbound(id: string): Promise<Outbound | undefined> {
    return parseRow<Outbound>(this.stmt.getOutbound.get(id));
  }

  async saveOutbound(message: Outbound): Promise<void> {
    const result = this.stmt.updateOutbound.run(
      message.noticeId, message.createdAt, message.version, JSON.stringify(message), message.id, message.version - 1,
    );
    if (result.changes === 0) throw new StaleWriteError('outbound', message.id);
  }

  async listOutbound(noticeId: string): Promise<Outbound[]> {
    return parseRows<Outbound>(this.stmt.outboundByNotice.all(noticeId));
  }

  async putAnswer(answer: Answer): Promise<boolean> {
    const result = this.stmt.insertAnswer.run(answer.id, answer.noticeId, answer.receivedAt, JSON.stringify(answer));
    return result.changes > 0;
  }

  async listAnswers(noticeId: string): Promise<Answer[]> {
    return parseRows<Answer>(this.stmt.answersByNotice.all(noticeId));
  }

  async appendEvent(event: AuditEvent): Promise<void> {
    const result = this.stmt.insertEvent.run(
      event.id, event.campaignId, event.caseId ?? null, event.noticeId ?? null, event.chain, event.seq, JSON.stringify(event),
    );
    if (result.changes > 0) return;
    // the audit trail is append-only: a taken slot or an id seen before is never overwritten
    if (this.stmt.chainSlot.get(event.chain, event.seq)) throw chainSlotTaken(event.chain, event.seq);
    throw new AlreadyExistsError('event', event.id);
  }

  async chainHead(chain: string): Promise<AuditEvent | undefined> {
    return parseRow<AuditEvent>(this.stmt.chainHead.get(chain));
  }

  async listChain(chain: string, options?: { limit?: number }): Promise<AuditEvent[]> {
    return parseRows<AuditEvent>(this.stmt.chainEvents.all(chain, options?.limit ?? -1));
  }

  async listChains(campaignId: string): Promise<string[]> {
    return this.stmt.chainsOfCampaign.all(campaignId).map((row) => row.chain);
  }

  async listEvents(by: { campaignId: string } | { caseId: string } | { noticeId: string }): Promise<AuditEvent[]> {
    const rows =
      'campaignId' in by
        ? this.stmt.eventsByCampaign.all(by.campaignId)
        : 'caseId' in by
          ? this.stmt.eventsByCase.all(by.caseId)
          : this.stmt.eventsByNotice.all(by.noticeId);
    return parseRows<AuditEvent>(rows);
  }

  async putLookup(entry: CachedLookup): Promise<void> {
    this.stmt.putLookup.run(entry.kind, entry.key, entry.rangeStart ?? null, entry.rangeEnd ?? null, entry.expiresAt, JSON.stringify(entry));
  }

  async getLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    return parseRow<CachedLookup>(this.stmt.getLookup.get(kind, key, now));
  }

  async findRangeLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    // by start descending, the first range that still covers the key is the narrowest (ranges nest or are disjoint)
    for (const row of this.stmt.rangeLookups.all(kind, key, RANGE_PROBE)) {
      if (row.range_end >= key && row.expires_at > now) return JSON.parse(row.data) as CachedLookup;
    }
    return undefined;
  }

  async putContactOverride(override: ContactOverride): Promise<void> {
    this.stmt.putOverride.run(override.target, JSON.stringify(override));
  }

  async listContactOverrides(): Promise<ContactOverride[]> {
    return parseRows<ContactOverride>(this.stmt.listOverrides.all());
  }

  async putReview(item: ReviewItem): Promise<boolean> {
    return this.stmt.insertReview.run(item.id, `${item.receivedAt}#${item.id}`, JSON.stringify(item)).changes > 0;
  }

  async listReviews(page?: PageRequest): Promise<Page<ReviewItem>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
    return toPage(this.stmt.listReviews.all(after, limit + 1), limit);
  }

  async putRecord(record: StoredRecord, expect?: 'absent' | number): Promise<void> {
    const data = JSON.stringify(record);
    if (expect === undefined) {
      this.stmt.replaceRecord.run(record.kind, record.key, record.version, data);
    } else if (expect === 'absent') {
      if (this.stmt.insertRecord.run(record.kind, record.key, record.version, data).changes === 0) {
        throw new AlreadyExistsError('record', `${record.kind}/${record.key}`);
      }
    } else if (this.stmt.updateRecord.run(record.version, data, record.kind, record.key, expect).changes === 0) {
      throw new StaleWriteError('record', `${record.kind}/${record.key}`);
    }
  }

  async getRecord(kind: string, key: string): Promise<StoredRecord | undefined> {
    return parseRow<StoredRecord>(this.stmt.getRecord.get(kind, key));
  }

  async listRecords(kind: string, page?: PageRequest): Promise<Page<StoredRecord>> {
    const limit = pageLimit(page);
    const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
    return toPage(this.stmt.listRecords.all(kind, after, limit + 1), limit);
  }

  async deleteRecord(kind: string, key: string): Promise<void> {
    this.stmt.deleteRecord.run(kind, key);
  }
}

function parseRow<T>(row: DataRow | undefined): T | undefined {
  return row === undefined ? undefined : (JSON.parse(row.data) as T);
}

function parseRows<T>(rows: readonly DataRow[]): T[] {
  return rows.map((row) => JSON.parse(row.data) as T);
}

function pageLimit(page: PageRequest | undefined): number {
  const limit = Math.floor(page?.limit ?? DEFAULT_PAGE_LIMIT);
  return Number.isFinite(limit) && limit >= 1 ? limit : DEFAULT_PAGE_LIMIT;
}

/** Rows were read with limit + 1: the extra one only tells whether another page exists. */
function toPage<T>(rows: readonly KeyedRow[], limit: number): Page<T> {
  const items = rows.slice(0, limit).map((row) => JSON.parse(row.data) as T);
  const last = rows[limit - 1];
  return rows.length > limit && last !== undefined ? { items, next: encodeCursor(last.key) } : { items };
}

function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify({ k: key }), 'utf8').toString('base64url');
}

function decodeCursor(cursor: string, type: 'string'): string;
function decodeCursor(cursor: string, type: 'number'): number;
function decodeCursor(cursor: string, type: 'string' | 'number'): string | number {
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

// the same order as SQLite's BINARY collation for the ASCII ids we mint (localeCompare would not agree)
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
