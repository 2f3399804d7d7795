import type Database from 'better-sqlite3';
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
import type { CachedLookup, CaseCounts, Page, PageRequest, Store, StoredRecord } from '../../core/ports.js';
import type { QueuedReview } from '../../core/ports.js';
import { sqliteAudit, type AuditMethods } from './audit.sqlite.js';
import { sqliteCampaigns, type CampaignMethods } from './campaigns.sqlite.js';
import { sqliteCases, type CaseMethods } from './cases.sqlite.js';
import { sqliteLookups, type LookupMethods } from './lookups.sqlite.js';
import { sqliteMessages, type MessageMethods } from './messages.sqlite.js';
import { sqliteNotices, type NoticeMethods } from './notices.sqlite.js';
import { sqliteRecords, type RecordMethods } from './records.sqlite.js';
import { sqliteReviews, type ReviewMethods } from './reviews.sqlite.js';
import { openDatabase } from './schema.js';

/**
 * The Store port on one SQLite file (better-sqlite3): the embedded host's state. schema.ts holds the tables;
 * each record family prepares its own statements in a module of its own, and this class hands each call to it.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly campaigns: CampaignMethods;
  private readonly cases: CaseMethods;
  private readonly notices: NoticeMethods;
  private readonly messages: MessageMethods;
  private readonly audit: AuditMethods;
  private readonly reviews: ReviewMethods;
  private readonly lookups: LookupMethods;
  private readonly records: RecordMethods;

  constructor(file: string) {
    this.db = openDatabase(file);
    this.campaigns = sqliteCampaigns(this.db);
    this.cases = sqliteCases(this.db);
    this.notices = sqliteNotices(this.db);
    this.messages = sqliteMessages(this.db);
    this.audit = sqliteAudit(this.db);
    this.reviews = sqliteReviews(this.db);
    this.lookups = sqliteLookups(this.db);
    this.records = sqliteRecords(this.db);
  }

  /** Closes the database file; the store is unusable afterwards. */
  close(): void {
    this.audit.flush();
    this.db.close();
  }

  createCampaign(campaign: Campaign): Promise<void> {
    return this.campaigns.createCampaign(campaign);
  }

  getCampaign(id: string): Promise<Campaign | undefined> {
    return this.campaigns.getCampaign(id);
  }

  listCampaigns(): Promise<Campaign[]> {
    return this.campaigns.listCampaigns();
  }

  saveCampaign(campaign: Campaign): Promise<void> {
    return this.campaigns.saveCampaign(campaign);
  }

  putIndicators(items: readonly CampaignIndicator[]): Promise<void> {
    return this.campaigns.putIndicators(items);
  }

  listIndicators(campaignId: string, page?: PageRequest): Promise<Page<CampaignIndicator>> {
    return this.campaigns.listIndicators(campaignId, page);
  }

  putCases(cases: readonly Case[]): Promise<void> {
    return this.cases.putCases(cases);
  }

  getCase(id: string): Promise<Case | undefined> {
    return this.cases.getCase(id);
  }

  saveCase(c: Case): Promise<void> {
    return this.cases.saveCase(c);
  }

  saveCases(cases: readonly Case[]): Promise<string[]> {
    return this.cases.saveCases(cases);
  }

  listCases(by: { campaignId: string } | { noticeId: string }, page?: PageRequest): Promise<Page<Case>> {
    return this.cases.listCases(by, page);
  }

  countCases(campaignId: string): Promise<CaseCounts> {
    return this.cases.countCases(campaignId);
  }

  findCasesByIndicator(values: readonly string[], states: ReadonlySet<CaseState>): Promise<Case[]> {
    return this.cases.findCasesByIndicator(values, states);
  }

  putNotices(notices: readonly Notice[]): Promise<void> {
    return this.notices.putNotices(notices);
  }

  getNotice(id: string): Promise<Notice | undefined> {
    return this.notices.getNotice(id);
  }

  saveNotice(notice: Notice): Promise<void> {
    return this.notices.saveNotice(notice);
  }

  listNotices(by: { campaignId: string } | { state: NoticeState }, page?: PageRequest): Promise<Page<Notice>> {
    return this.notices.listNotices(by, page);
  }

  countNotices(campaignId: string): Promise<Partial<Record<NoticeState, number>>> {
    return this.notices.countNotices(campaignId);
  }

  createOutbound(message: Outbound): Promise<void> {
    return this.messages.createOutbound(message);
  }

  getOutbound(id: string): Promise<Outbound | undefined> {
    return this.messages.getOutbound(id);
  }

  saveOutbound(message: Outbound): Promise<void> {
    return this.messages.saveOutbound(message);
  }

  listOutbound(noticeId: string): Promise<Outbound[]> {
    return this.messages.listOutbound(noticeId);
  }

  putAnswer(answer: Answer): Promise<boolean> {
    return this.messages.putAnswer(answer);
  }

  listAnswers(noticeId: string): Promise<Answer[]> {
    return this.messages.listAnswers(noticeId);
  }

  appendEvent(event: AuditEvent): Promise<void> {
    return this.audit.appendEvent(event);
  }

  appendEvents(events: readonly AuditEvent[]): Promise<void> {
    return this.audit.appendEvents(events);
  }

  chainHead(chain: string): Promise<AuditEvent | undefined> {
    return this.audit.chainHead(chain);
  }

  listChain(chain: string, options?: { limit?: number }): Promise<AuditEvent[]> {
    return this.audit.listChain(chain, options);
  }

  listChainHeads(campaignId: string): Promise<{ chain: string; seq: number; hash: string }[]> {
    return this.audit.listChainHeads(campaignId);
  }

  listChains(campaignId: string): Promise<string[]> {
    return this.audit.listChains(campaignId);
  }

  listEvents(by: { campaignId: string } | { caseId: string } | { noticeId: string }): Promise<AuditEvent[]> {
    return this.audit.listEvents(by);
  }

  putLookup(entry: CachedLookup): Promise<void> {
    return this.lookups.putLookup(entry);
  }

  getLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    return this.lookups.getLookup(kind, key, now);
  }

  findRangeLookup(kind: string, key: string, now: string): Promise<CachedLookup | undefined> {
    return this.lookups.findRangeLookup(kind, key, now);
  }

  putContactOverride(override: ContactOverride): Promise<void> {
    return this.lookups.putContactOverride(override);
  }

  listContactOverrides(): Promise<ContactOverride[]> {
    return this.lookups.listContactOverrides();
  }

  putReview(item: QueuedReview): Promise<boolean> {
    return this.reviews.putReview(item);
  }

  listReviews(page?: PageRequest): Promise<Page<QueuedReview>> {
    return this.reviews.listReviews(page);
  }

  putRecord(record: StoredRecord, expect?: 'absent' | number): Promise<void> {
    return this.records.putRecord(record, expect);
  }

  getRecord(kind: string, key: string): Promise<StoredRecord | undefined> {
    return this.records.getRecord(kind, key);
  }

  listRecords(kind: string, page?: PageRequest): Promise<Page<StoredRecord>> {
    return this.records.listRecords(kind, page);
  }

  deleteRecord(kind: string, key: string): Promise<void> {
    return this.records.deleteRecord(kind, key);
  }
}
