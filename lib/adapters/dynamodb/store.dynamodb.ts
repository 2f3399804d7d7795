import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
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
import type { QueuedReview } from '../../core/ports.js';
import type { Table } from './access.js';
import { dynamoAudit, type AuditMethods } from './audit.dynamodb.js';
import { dynamoCampaigns, type CampaignMethods } from './campaigns.dynamodb.js';
import { dynamoCases, type CaseMethods } from './cases.dynamodb.js';
import { dynamoLookups, type LookupMethods } from './lookups.dynamodb.js';
import { dynamoMessages, type MessageMethods } from './messages.dynamodb.js';
import { dynamoNotices, type NoticeMethods } from './notices.dynamodb.js';
import { dynamoRecords, type RecordMethods } from './records.dynamodb.js';
import { dynamoReviews, type ReviewMethods } from './reviews.dynamodb.js';

// the table's design lives with its key shapes; importers (the CDK stack, the tests) find it here as before
export { createTable, TABLE_DESIGN } from './keys.js';

/** Which table the store works on, and the client (or the endpoint and region of one) it reaches it by. */
export interface DynamoDbStoreOptions {
  readonly tableName: string;
  /** a configured client; when absent one is created from `endpoint` and `region` */
  readonly client?: DynamoDBDocumentClient;
  readonly endpoint?: string;
  readonly region?: string;
}

/**
 * The Store port on one DynamoDB table (no transactions, so it runs on dynalite too). Each record family lives
 * in a module of its own (keys.ts has every key shape of the single-table design); this class hands each call
 * to its family.
 */
export class DynamoDbStore implements Store {
  private readonly doc: DynamoDBDocumentClient;
  private readonly ownsClient: boolean;
  private readonly campaigns: CampaignMethods;
  private readonly cases: CaseMethods;
  private readonly notices: NoticeMethods;
  private readonly messages: MessageMethods;
  private readonly audit: AuditMethods;
  private readonly reviews: ReviewMethods;
  private readonly lookups: LookupMethods;
  private readonly records: RecordMethods;

  constructor(options: DynamoDbStoreOptions) {
    this.ownsClient = options.client === undefined;
    this.doc =
      options.client ??
      DynamoDBDocumentClient.from(
        new DynamoDBClient({
          ...(options.endpoint === undefined ? {} : { endpoint: options.endpoint }),
          ...(options.region === undefined ? {} : { region: options.region }),
        }),
      );
    const table: Table = { doc: this.doc, tableName: options.tableName };
    this.campaigns = dynamoCampaigns(table);
    this.cases = dynamoCases(table);
    this.notices = dynamoNotices(table);
    this.messages = dynamoMessages(table);
    this.audit = dynamoAudit(table);
    this.reviews = dynamoReviews(table);
    this.lookups = dynamoLookups(table);
    this.records = dynamoRecords(table);
  }

  /** Releases the client's connections when the store created the client itself. */
  close(): void {
    if (this.ownsClient) this.doc.destroy();
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

  chainHead(chain: string): Promise<AuditEvent | undefined> {
    return this.audit.chainHead(chain);
  }

  listChain(chain: string, options?: { limit?: number }): Promise<AuditEvent[]> {
    return this.audit.listChain(chain, options);
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
