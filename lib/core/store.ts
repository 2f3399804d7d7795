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
} from './model.js';

/**
 * The store port: durable state, as both stores (SQLite embedded, DynamoDB on AWS) keep it, and the record types
 * it keeps for other modules. Every adapter passes the same contract test suite (test/contracts).
 */

export interface Page<T> {
  readonly items: T[];
  /** opaque cursor for the next page; absent on the last page */
  readonly next?: string;
}

export interface PageRequest {
  readonly after?: string;
  readonly limit?: number;
}

/**
 * Durable state. No operation spans two records atomically (DynamoDB without transactions):
 * creates are conditional on absence (AlreadyExistsError), saves are conditional on the version read
 * (the saved record carries version + 1; StaleWriteError when someone saved in between).
 */
export interface Store {
  createCampaign(campaign: Campaign): Promise<void>;
  getCampaign(id: string): Promise<Campaign | undefined>;
  /** newest first */
  listCampaigns(): Promise<Campaign[]>;
  saveCampaign(campaign: Campaign): Promise<void>;

  /** idempotent: an indicator already stored under the same (campaignId, seq) is left as it is */
  putIndicators(items: readonly CampaignIndicator[]): Promise<void>;
  /** in seq order */
  listIndicators(campaignId: string, page?: PageRequest): Promise<Page<CampaignIndicator>>;

  /** creates each case that does not exist yet; existing ones are left as they are (idempotent) */
  putCases(cases: readonly Case[]): Promise<void>;
  getCase(id: string): Promise<Case | undefined>;
  saveCase(c: Case): Promise<void>;
  /** saves each case as saveCase does (not atomically as a whole); returns the ids that were stale and not saved */
  saveCases(cases: readonly Case[]): Promise<string[]>;
  /** in id order */
  listCases(by: { campaignId: string } | { noticeId: string }, page?: PageRequest): Promise<Page<Case>>;
  /** cases of these indicator values whose state is one of `states` (any campaign) */
  findCasesByIndicator(values: readonly string[], states: ReadonlySet<CaseState>): Promise<Case[]>;
  /**
   * how many cases a campaign has, and of what kind, counted where they are stored; optional: without it they
   * are counted from listCases, every case read (200,000 cases: ~2 s and ~400 MB for a campaign list)
   */
  countCases?(campaignId: string): Promise<CaseCounts>;

  /** creates each notice that does not exist yet (idempotent) */
  putNotices(notices: readonly Notice[]): Promise<void>;
  getNotice(id: string): Promise<Notice | undefined>;
  saveNotice(notice: Notice): Promise<void>;
  /** in id order */
  listNotices(by: { campaignId: string } | { state: NoticeState }, page?: PageRequest): Promise<Page<Notice>>;
  /**
   * how many notices a campaign has in each state, counted where they are stored; optional: without it they are
   * counted from listNotices, every notice read (a progress poll of 2,000 notices every 250 ms: ~3 % of sending)
   */
  countNotices?(campaignId: string): Promise<Partial<Record<NoticeState, number>>>;

  /** AlreadyExistsError when an outbound with this id exists */
  createOutbound(message: Outbound): Promise<void>;
  getOutbound(id: string): Promise<Outbound | undefined>;
  saveOutbound(message: Outbound): Promise<void>;
  listOutbound(noticeId: string): Promise<Outbound[]>;

  /** returns false when an answer with this id was stored before (idempotent) */
  putAnswer(answer: Answer): Promise<boolean>;
  listAnswers(noticeId: string): Promise<Answer[]>;

  /**
   * Stores an event in its chain slot (event.chain, event.seq), only if the slot is free: AlreadyExistsError
   * with code CHAIN.ALREADY_EXISTS when another event holds it (the appender re-reads the head and links again).
   */
  appendEvent(event: AuditEvent): Promise<void>;
  /**
   * Stores events each in its slot, all or none, in one write: the same AlreadyExistsError as appendEvent when any
   * slot is taken (and then none is stored). Optional: a store without it gets its events one appendEvent at a
   * time (DynamoDB: a conditional batch is a transaction, at twice the write units of the puts it replaces).
   */
  appendEvents?(events: readonly AuditEvent[]): Promise<void>;
  /** in the order appended */
  listEvents(by: { campaignId: string } | { caseId: string } | { noticeId: string }): Promise<AuditEvent[]>;
  /** the event in the highest slot of a chain; undefined for a chain with no event */
  chainHead(chain: string): Promise<AuditEvent | undefined>;
  /**
   * the head (last slot) of every chain of a campaign, in chain order; optional: without it, checkpoints ask
   * listChains and chainHead (one read per chain)
   */
  listChainHeads?(campaignId: string): Promise<{ chain: string; seq: number; hash: string }[]>;
  /** the events of a chain in slot order (seq order, unless the stored data was tampered with); the first `limit` only when given */
  listChain(chain: string, options?: { limit?: number }): Promise<AuditEvent[]>;
  /** the chains holding events of a campaign, in chain order */
  listChains(campaignId: string): Promise<string[]>;

  /** queues an inbound message for a person to read; false when an item with this id was queued before (idempotent) */
  putReview(item: QueuedReview): Promise<boolean>;
  /** the review queue in the order received (receivedAt, then id) */
  listReviews(page?: PageRequest): Promise<Page<QueuedReview>>;

  /** stores an answer of an outside registry (RDAP, security.txt); replaces the entry of the same kind and key (range entries: the same range) */
  putLookup(entry: CachedLookup): Promise<void>;
  /** the entry of this kind and key, unless it expired by `now` */
  getLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined>;
  /** the narrowest range entry of this kind covering `key` (rangeStart <= key <= rangeEnd), unless expired by `now` */
  findRangeLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined>;

  /** records a coordinator's contact correction; replaces an earlier one for the same target */
  putContactOverride(override: ContactOverride): Promise<void>;
  /** every override in force, in target order */
  listContactOverrides(): Promise<ContactOverride[]>;

  /**
   * Small records of other modules (API keys, recipient secrets, link tokens, seen webhook ids, probe schedules)
   * under (kind, key). `expect: 'absent'` creates only (AlreadyExistsError), `expect: <version>` saves only over
   * that stored version (StaleWriteError); the record is stored as given, so the caller sets the new version.
   */
  putRecord(record: StoredRecord, expect?: 'absent' | number): Promise<void>;
  getRecord(kind: string, key: string): Promise<StoredRecord | undefined>;
  /** the records of a kind in key order */
  listRecords(kind: string, page?: PageRequest): Promise<Page<StoredRecord>>;
  /** removes the record if it is there */
  deleteRecord(kind: string, key: string): Promise<void>;
}

/**
 * What a campaign's counts tell a case apart by: handed on from another party (a previous case), or reopened
 * after a verified takedown came back (a revival, no previous case); null for neither.
 */
export function caseLineage(c: Pick<Case, 'previousCaseId' | 'revival'>): 'escalation' | 'reopened' | null {
  return c.previousCaseId !== undefined ? 'escalation' : (c.revival ?? 0) > 0 ? 'reopened' : null;
}

/** A campaign's cases counted by kind (Store.countCases). */
export interface CaseCounts {
  readonly cases: number;
  /** handed on from another party: a previous case */
  readonly escalations: number;
  /** reopened after a verified takedown came back: a revival, and no previous case */
  readonly reopened: number;
  /** kept back by the TLP gate */
  readonly withheld: number;
}

/**
 * An item of the review queue as the store keeps it: created once per id, listed by `receivedAt` then id. Its
 * other fields belong to the answers context (answers/review.ts), which validates them when it reads them back.
 */
export interface QueuedReview {
  readonly id: string;
  readonly receivedAt: string;
  readonly [field: string]: unknown;
}

/** A record of another module, opaque to the store; `expiresAt` lets the AWS table's TTL sweep it. */
export interface StoredRecord {
  readonly kind: string;
  readonly key: string;
  /** JSON text */
  readonly value: string;
  readonly version: number;
  readonly expiresAt?: string;
}

/**
 * A cached answer of an outside registry, found again by its key, or (range entries) by any key inside the
 * range it covers: one RDAP lookup per network, not per indicator. Keys are fixed-width text that sorts in
 * numeric order, so a store compares them as text.
 */
export interface CachedLookup {
  /** e.g. `rdap-net4`, `rdap-domain`, `security.txt`; range entries and key entries never share a kind */
  readonly kind: string;
  readonly key: string;
  readonly rangeStart?: string;
  readonly rangeEnd?: string;
  /** JSON text, opaque to the store */
  readonly value: string;
  readonly fetchedAt: string;
  readonly expiresAt: string;
}
