import type { Answer, Case, CaseState, Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { listAll } from '../paging.js';

/**
 * What a coordinator watches during an operation: how far the cases got, per country and per provider, and how
 * long providers take to act. Computed from the stored cases, notices and answers; nothing is kept.
 */

/** Cases that reached each stage (a case that was actioned also counts as acknowledged and notified). */
export interface Progress {
  /** every case: an indicator with a party to tell */
  identified: number;
  /** its notice went out */
  notified: number;
  /** the party took it on, or went further */
  acknowledged: number;
  actioned: number;
  verifiedDown: number;
  /** nobody acted before the end of the ladder */
  expired: number;
}

export interface ProgressRow {
  /** a country code, or a party id */
  readonly key: string;
  /** what people read: the country code, or the party's name */
  readonly label: string;
  readonly progress: Progress;
}

export interface CampaignProgress {
  readonly total: Progress;
  /** by the country the indicator sits in (`??` when unknown), most cases first */
  readonly byCountry: ProgressRow[];
  /** by the party the case is against, most cases first */
  readonly byProvider: ProgressRow[];
}

const ACKNOWLEDGED_OR_LATER: ReadonlySet<CaseState> = new Set(['acknowledged', 'actioned', 'verified-down']);
const ACTIONED_OR_LATER: ReadonlySet<CaseState> = new Set(['actioned', 'verified-down']);
// states only reached through a notice that went out (open, withheld, paused, cancelled and expired may not be)
const NOTIFIED_STATES: ReadonlySet<CaseState> = new Set([
  'notified', 'received', 'acknowledged', 'actioned', 'verified-down', 'not-ours', 'needs-info', 'disputed', 'escalated',
]);

function emptyProgress(): Progress {
  return { identified: 0, notified: 0, acknowledged: 0, actioned: 0, verifiedDown: 0, expired: 0 };
}

function count(p: Progress, c: Case, sent: boolean): void {
  p.identified++;
  if (sent || NOTIFIED_STATES.has(c.state)) p.notified++;
  if (ACKNOWLEDGED_OR_LATER.has(c.state)) p.acknowledged++;
  if (ACTIONED_OR_LATER.has(c.state)) p.actioned++;
  if (c.state === 'verified-down') p.verifiedDown++;
  if (c.state === 'expired') p.expired++;
}

/** The party a case is against: the rung of its ladder it is on. */
export function partyOf(c: Case): Case['ladder'][number]['party'] {
  return (c.ladder[c.step] ?? c.ladder[0]!).party;
}

/** Where the indicator sits: its own country, else its party's, else `??`. */
export function countryOf(c: Case): string {
  return (c.indicator.country ?? partyOf(c).country ?? '??').toUpperCase();
}

function rows(groups: Map<string, { label: string; progress: Progress }>): ProgressRow[] {
  return [...groups.entries()]
    .map(([key, g]) => ({ key, label: g.label, progress: g.progress }))
    .sort((a, b) => b.progress.identified - a.progress.identified || a.label.localeCompare(b.label));
}

/** How far a campaign's cases got, in total, per country and per provider. */
export function progressOf(cases: readonly Case[], notices: readonly Notice[]): CampaignProgress {
  const sentNotices = new Set(notices.filter((n) => n.sentAt !== undefined).map((n) => n.id));
  const total = emptyProgress();
  const byCountry = new Map<string, { label: string; progress: Progress }>();
  const byProvider = new Map<string, { label: string; progress: Progress }>();
  for (const c of cases) {
    const sent = c.noticeId !== undefined && sentNotices.has(c.noticeId);
    count(total, c, sent);
    const country = countryOf(c);
    const party = partyOf(c);
    const cg = byCountry.get(country) ?? { label: country, progress: emptyProgress() };
    byCountry.set(country, cg);
    count(cg.progress, c, sent);
    const pg = byProvider.get(party.id) ?? { label: party.name, progress: emptyProgress() };
    byProvider.set(party.id, pg);
    count(pg.progress, c, sent);
  }
  return { total, byCountry: rows(byCountry), byProvider: rows(byProvider) };
}

/**
 * The p-th percentile (0..1) of values sorted ascending, interpolating linearly between the closest ranks
 * (spreadsheets' PERCENTILE.INC): the median of an even count is the mean of the middle two.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) throw new RangeError('no values');
  if (!(p >= 0 && p <= 1)) throw new RangeError('p must be within 0..1');
  const rank = (sorted.length - 1) * p;
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

export interface DurationStats {
  /** cases measured */
  readonly count: number;
  /** seconds; absent when nothing was measured */
  readonly medianSeconds?: number;
  readonly p90Seconds?: number;
}

export interface ProviderDurations {
  readonly partyId: string;
  readonly name: string;
  readonly stats: DurationStats;
}

export interface TimeToAction {
  readonly overall: DurationStats;
  /** providers with at least one case measured, most measured first */
  readonly byProvider: ProviderDurations[];
}

function statsOf(values: number[]): DurationStats {
  if (values.length === 0) return { count: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  return { count: sorted.length, medianSeconds: percentile(sorted, 0.5), p90Seconds: percentile(sorted, 0.9) };
}

/**
 * Time from a notice going out to its party saying it acted, per case: the first `actioned` answer on the case's
 * notice that speaks of the case (or of all its cases). Only cases now actioned or verified down count, so an
 * answer that could not apply (the case had been escalated) measures nothing.
 */
export function timeToAction(cases: readonly Case[], notices: readonly Notice[], answers: ReadonlyMap<string, readonly Answer[]>): TimeToAction {
  const noticeById = new Map(notices.map((n) => [n.id, n]));
  const all: number[] = [];
  const byParty = new Map<string, { name: string; values: number[] }>();
  for (const c of cases) {
    if (!ACTIONED_OR_LATER.has(c.state) || c.noticeId === undefined) continue;
    const notice = noticeById.get(c.noticeId);
    if (!notice?.sentAt) continue;
    const first = (answers.get(notice.id) ?? [])
      .filter((a) => a.intent === 'actioned' && (a.caseIds === undefined || a.caseIds.includes(c.id)))
      .map((a) => a.receivedAt)
      .sort()[0];
    if (first === undefined) continue;
    const seconds = Math.max(0, (Date.parse(first) - Date.parse(notice.sentAt)) / 1000);
    all.push(seconds);
    const party = partyOf(c);
    const g = byParty.get(party.id) ?? { name: party.name, values: [] };
    byParty.set(party.id, g);
    g.values.push(seconds);
  }
  const byProvider = [...byParty.entries()]
    .map(([partyId, g]) => ({ partyId, name: g.name, stats: statsOf(g.values) }))
    .sort((a, b) => b.stats.count - a.stats.count || a.name.localeCompare(b.name));
  return { overall: statsOf(all), byProvider };
}

export interface CampaignStats {
  readonly progress: CampaignProgress;
  readonly timeToAction: TimeToAction;
}

/** Progress and time-to-action of one campaign, read from the store. */
export async function campaignStats(deps: Pick<Deps, 'store'>, campaignId: string): Promise<CampaignStats> {
  const [cases, notices] = await Promise.all([
    listAll((p) => deps.store.listCases({ campaignId }, p)),
    listAll((p) => deps.store.listNotices({ campaignId }, p)),
  ]);
  const answers = new Map<string, Answer[]>();
  // only notices that went out can carry an answer worth measuring
  for (const n of notices) if (n.sentAt) answers.set(n.id, await deps.store.listAnswers(n.id));
  return { progress: progressOf(cases, notices), timeToAction: timeToAction(cases, notices, answers) };
}
