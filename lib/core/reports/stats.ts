import type { Answer, Campaign, Case, CaseState, Notice } from '../model.js';
import type { CaseCounts, Deps } from '../ports.js';
import { caseLineage } from '../store.js';
import { listAll } from '../paging.js';
import { NotFoundError } from '../errors.js';

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
  /** per indicator: how far each got, whoever it is with now (an escalated indicator counts once) */
  readonly total: Progress;
  /** per indicator, by the country it sits in (`??` when unknown), most first */
  readonly byCountry: ProgressRow[];
  /** per case, by the party the case is against (each party's own cases), most first */
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

/**
 * Each indicator's cases, the current one (the rung it is on now: the latest revival, the highest step) first.
 * An escalation makes a second case for the same indicator; an indicator is still one thing to take down.
 */
export function casesByIndicator(cases: readonly Case[]): Map<string, Case[]> {
  const by = new Map<string, Case[]>();
  for (const c of cases) {
    const list = by.get(c.indicator.value);
    if (list) list.push(c);
    else by.set(c.indicator.value, [c]);
  }
  for (const list of by.values()) list.sort((a, b) => (b.revival ?? 0) - (a.revival ?? 0) || b.step - a.step);
  return by;
}

/**
 * How far a campaign got: per indicator in total and per country (an indicator counts once, at the stage its
 * current case reached; notified when any of its cases went out), per case for each provider (its own cases).
 */
export function progressOf(cases: readonly Case[], notices: readonly Notice[]): CampaignProgress {
  const sentNotices = new Set(notices.filter((n) => n.sentAt !== undefined).map((n) => n.id));
  const wasSent = (c: Case) => c.noticeId !== undefined && sentNotices.has(c.noticeId);
  const total = emptyProgress();
  const byCountry = new Map<string, { label: string; progress: Progress }>();
  const byProvider = new Map<string, { label: string; progress: Progress }>();
  for (const list of casesByIndicator(cases).values()) {
    const current = list[0]!;
    const sent = list.some((c) => wasSent(c) || NOTIFIED_STATES.has(c.state));
    count(total, current, sent);
    const country = countryOf(current);
    const cg = byCountry.get(country) ?? { label: country, progress: emptyProgress() };
    byCountry.set(country, cg);
    count(cg.progress, current, sent);
  }
  for (const c of cases) {
    const party = partyOf(c);
    const pg = byProvider.get(party.id) ?? { label: party.name, progress: emptyProgress() };
    byProvider.set(party.id, pg);
    count(pg.progress, c, wasSent(c));
  }
  return { total, byCountry: rows(byCountry), byProvider: rows(byProvider) };
}

/**
 * The numbers a reader checks against each other, from the stored records: the indicators accepted, the cases
 * they became (one per indicator and party asked: an escalation or a revival adds one), and the notices that
 * carried them. `line` says it in one line, the same in the CLI, the API and the dashboard.
 */
export interface CampaignCounts {
  /** indicators accepted from the file (not duplicates, not already open elsewhere) */
  readonly indicators: number;
  /** accepted indicators no party was found for: they have no case */
  readonly unroutable: number;
  /** every case: one per indicator routed, one more per escalation and per revival */
  readonly cases: number;
  /** cases handed on from another party (escalations) */
  readonly escalations: number;
  /** cases reopened after a verified takedown came back */
  readonly reopened: number;
  /** cases the TLP gate kept back (in no notice) */
  readonly withheld: number;
  readonly notices: number;
  /** notices a mail server accepted */
  readonly sent: number;
  /** "21 indicators → 24 cases (3 escalations) → 11 notices" */
  readonly line: string;
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The counts of a campaign from its cases and notices (see CampaignCounts). */
export function countsOf(campaign: Pick<Campaign, 'counts'>, cases: readonly Case[], notices: readonly Notice[]): CampaignCounts {
  return countsFrom(campaign, tally(cases), notices);
}

/** The kinds of cases, counted from the cases themselves (what Store.countCases counts where they are stored). */
function tally(cases: readonly Case[]): CaseCounts {
  return {
    cases: cases.length,
    escalations: cases.filter((c) => caseLineage(c) === 'escalation').length,
    reopened: cases.filter((c) => caseLineage(c) === 'reopened').length,
    withheld: cases.filter((c) => c.state === 'withheld').length,
  };
}

function countsFrom(campaign: Pick<Campaign, 'counts'>, counted: CaseCounts, notices: readonly Notice[]): CampaignCounts {
  const { cases, escalations, reopened, withheld } = counted;
  const indicators = campaign.counts.indicators;
  const unroutable = campaign.counts.unroutable;
  const sent = notices.filter((n) => n.sentAt !== undefined).length;
  const why = [
    escalations ? plural(escalations, 'escalation') : '',
    reopened ? `${reopened} reopened` : '',
    withheld ? `${withheld} withheld` : '',
  ].filter(Boolean);
  const line =
    `${plural(indicators, 'indicator')}${unroutable ? ` (${unroutable} unroutable)` : ''} → ` +
    `${plural(cases, 'case')}${why.length ? ` (${why.join(', ')})` : ''} → ${plural(notices.length, 'notice')}`;
  return { indicators, unroutable, cases, escalations, reopened, withheld, notices: notices.length, sent, line };
}

/** When each indicator reached a stage, for the progress-over-time chart: sorted times, one per indicator. */
export interface ProgressOverTime {
  /** the first notice out, the start of the chart; absent before anything was sent */
  readonly from?: string;
  readonly notified: readonly string[];
  /** its party said it took it down */
  readonly actioned: readonly string[];
  readonly verifiedDown: readonly string[];
}

/** The times each indicator was first notified, first said taken down and verified down. */
export function progressOverTime(cases: readonly Case[], notices: readonly Notice[], answers: ReadonlyMap<string, readonly Answer[]>): ProgressOverTime {
  const sentAt = new Map(notices.filter((n) => n.sentAt).map((n) => [n.id, n.sentAt!]));
  const notified: string[] = [];
  const actioned: string[] = [];
  const verified: string[] = [];
  for (const list of casesByIndicator(cases).values()) {
    const first = (xs: (string | undefined)[]) => xs.filter((x): x is string => x !== undefined).sort()[0];
    const n = first(list.map((c) => (c.noticeId ? sentAt.get(c.noticeId) : undefined)));
    if (n) notified.push(n);
    const a = first(
      list.flatMap((c) => (c.noticeId ? (answers.get(c.noticeId) ?? []).filter((x) => x.intent === 'actioned' && (!x.caseIds || x.caseIds.includes(c.id))).map((x) => x.receivedAt) : [])),
    );
    if (a) actioned.push(a);
    const v = first(list.map((c) => (c.state === 'verified-down' ? c.verifiedDownAt : undefined)));
    if (v) verified.push(v);
  }
  notified.sort();
  actioned.sort();
  verified.sort();
  return { ...(notified[0] ? { from: notified[0] } : {}), notified, actioned, verifiedDown: verified };
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
  readonly counts: CampaignCounts;
  readonly progress: CampaignProgress;
  readonly timeToAction: TimeToAction;
  readonly overTime: ProgressOverTime;
}

/** Counts, progress, time-to-action and progress over time of one campaign, read from the store. */
export async function campaignStats(deps: Pick<Deps, 'store'>, campaignId: string): Promise<CampaignStats> {
  const [campaign, cases, notices] = await Promise.all([
    deps.store.getCampaign(campaignId),
    listAll((p) => deps.store.listCases({ campaignId }, p)),
    listAll((p) => deps.store.listNotices({ campaignId }, p)),
  ]);
  if (!campaign) throw new NotFoundError('campaign', campaignId);
  const answers = new Map<string, Answer[]>();
  // only notices that went out can carry an answer worth measuring
  for (const n of notices) if (n.sentAt) answers.set(n.id, await deps.store.listAnswers(n.id));
  return {
    counts: countsOf(campaign, cases, notices),
    progress: progressOf(cases, notices),
    timeToAction: timeToAction(cases, notices, answers),
    overTime: progressOverTime(cases, notices, answers),
  };
}

/** The counts of one campaign (CampaignCounts), read from the store. */
export async function campaignCounts(deps: Pick<Deps, 'store'>, campaign: Campaign): Promise<CampaignCounts> {
  const [counted, notices] = await Promise.all([
    // counted where the cases are when the store can: a campaign list must not read every case of every campaign
    deps.store.countCases ? deps.store.countCases(campaign.id) : listAll((p) => deps.store.listCases({ campaignId: campaign.id }, p)).then(tally),
    listAll((p) => deps.store.listNotices({ campaignId: campaign.id }, p)),
  ]);
  return countsFrom(campaign, counted, notices);
}
