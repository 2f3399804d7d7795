import { z } from 'zod';
import { NotFoundError } from '../errors.js';
import type { Answer, AnswerIntent, Campaign, Case, CaseState, IndicatorKind, Notice, PartyKind, TLP } from '../model.js';
import type { Deps } from '../ports.js';
import { listAll } from '../paging.js';
import { strictestTlp } from '../tlp.js';
import { countryOf, partyOf } from './stats.js';

/**
 * A campaign's outcome as people read it outside the orchestrator: one row per case (an indicator against one
 * party), with what was sent, what came back, how long the takedown took and what the last probe saw. Assembled
 * here from the store; the formats (export-formats.ts; XLSX in an adapter) only lay the rows out.
 */

export const ExportFormat = z.enum(['csv', 'xlsx', 'stix', 'misp']);
export type ExportFormat = z.infer<typeof ExportFormat>;

/** One case of a campaign, as an export shows it. */
export interface ExportRow {
  readonly caseId: string;
  readonly indicator: string;
  readonly kind: IndicatorKind;
  readonly port?: number;
  readonly threat?: string;
  /** the country the indicator sits in, `??` when unknown */
  readonly country: string;
  readonly party: string;
  readonly partyKind: PartyKind;
  readonly contact: string;
  readonly state: CaseState;
  /** the case's own marking, else the campaign's */
  readonly tlp: TLP;
  /** when this case's notice went out */
  readonly noticeSentAt?: string;
  /** when anyone was first told about this indicator in this campaign (the first rung's notice, or a later one) */
  readonly firstNoticeAt?: string;
  /** the last answer that spoke of this case */
  readonly answer?: AnswerIntent;
  readonly answeredAt?: string;
  readonly verifiedDownAt?: string;
  /** from the first notice about the indicator to its verified takedown, in seconds */
  readonly timeToTakedownSeconds?: number;
  readonly probeVerdict?: string;
  readonly probeAt?: string;
  /** where the indicator came from in the source (a line, a STIX id, `attribute <uuid>` of a MISP event) */
  readonly origin: string;
  /** the step of the case on the indicator's ladder (0: the first party asked) */
  readonly step: number;
  readonly revival: number;
}

export interface CampaignExport {
  readonly campaign: Campaign;
  /** in case id order */
  readonly rows: readonly ExportRow[];
  /** when the export was assembled */
  readonly at: string;
}

/** The outcome of one indicator across its cases, as the MISP export and the MISP sync state it. */
export interface IndicatorOutcome {
  readonly indicator: string;
  readonly kind: IndicatorKind;
  readonly port?: number;
  readonly origin: string;
  readonly tlp: TLP;
  /** the state of its current case (the latest rung, the latest revival) */
  readonly state: CaseState;
  /** the kinds of party that were sent a notice about it, in ladder order */
  readonly notified: readonly PartyKind[];
  readonly verifiedDownAt?: string;
  readonly firstNoticeAt?: string;
  readonly rows: readonly ExportRow[];
}

function lastAnswerFor(c: Case, answers: readonly Answer[]): Answer | undefined {
  let last: Answer | undefined;
  for (const a of answers) {
    if (a.caseIds && !a.caseIds.includes(c.id)) continue;
    if (!last || a.receivedAt >= last.receivedAt) last = a;
  }
  return last;
}

/**
 * The rows of a campaign's export, read from the store. `onProgress` hears how many of the campaign's notices had
 * their answers read (the long part of a large campaign).
 */
export async function campaignExport(
  deps: Pick<Deps, 'store' | 'clock'>,
  campaignId: string,
  onProgress?: (done: number, total: number) => void,
): Promise<CampaignExport> {
  const campaign = await deps.store.getCampaign(campaignId);
  if (!campaign) throw new NotFoundError('campaign', campaignId);
  const [cases, notices] = await Promise.all([
    listAll((p) => deps.store.listCases({ campaignId }, p)),
    listAll((p) => deps.store.listNotices({ campaignId }, p)),
  ]);
  const noticeById = new Map<string, Notice>(notices.map((n) => [n.id, n]));
  const answers = new Map<string, Answer[]>();
  const sent = notices.filter((n) => n.sentAt);
  for (const [i, n] of sent.entries()) {
    answers.set(n.id, await deps.store.listAnswers(n.id));
    onProgress?.(i + 1, sent.length);
  }
  // the first notice about each indicator, whichever rung or revival it went to
  const firstNotice = new Map<string, string>();
  for (const c of cases) {
    const at = c.noticeId ? noticeById.get(c.noticeId)?.sentAt : undefined;
    const known = firstNotice.get(c.indicator.value);
    if (at && (!known || at < known)) firstNotice.set(c.indicator.value, at);
  }
  const rows = cases.map((c): ExportRow => {
    const party = partyOf(c);
    const notice = c.noticeId ? noticeById.get(c.noticeId) : undefined;
    const answer = notice ? lastAnswerFor(c, answers.get(notice.id) ?? []) : undefined;
    const first = firstNotice.get(c.indicator.value);
    const ttt = first && c.verifiedDownAt ? Math.max(0, Math.round((Date.parse(c.verifiedDownAt) - Date.parse(first)) / 1000)) : undefined;
    return {
      caseId: c.id,
      indicator: c.indicator.value,
      kind: c.indicator.kind,
      ...(c.indicator.port !== undefined ? { port: c.indicator.port } : {}),
      ...(c.indicator.threat ? { threat: c.indicator.threat } : {}),
      country: countryOf(c),
      party: party.name,
      partyKind: party.kind,
      contact: party.email,
      state: c.state,
      tlp: c.indicator.tlp ?? campaign.tlp,
      ...(notice?.sentAt ? { noticeSentAt: notice.sentAt } : {}),
      ...(first ? { firstNoticeAt: first } : {}),
      ...(answer ? { answer: answer.intent, answeredAt: answer.receivedAt } : {}),
      ...(c.verifiedDownAt ? { verifiedDownAt: c.verifiedDownAt } : {}),
      ...(ttt !== undefined ? { timeToTakedownSeconds: ttt } : {}),
      ...(c.probe ? { probeVerdict: c.probe.verdict, probeAt: c.probe.at } : {}),
      origin: c.indicator.origin,
      step: c.step,
      revival: c.revival ?? 0,
    };
  });
  return { campaign, rows, at: deps.clock.now().toISOString() };
}

/** The rows grouped by indicator, each with its current state and who was told, in the order first met. */
export function indicatorOutcomes(rows: readonly ExportRow[]): IndicatorOutcome[] {
  const groups = new Map<string, ExportRow[]>();
  for (const r of rows) {
    const g = groups.get(r.indicator);
    if (g) g.push(r);
    else groups.set(r.indicator, [r]);
  }
  return [...groups.values()].map((g) => {
    // the current case: the latest revival, then the highest rung of the ladder
    const current = g.reduce((a, b) => (b.revival > a.revival || (b.revival === a.revival && b.step > a.step) ? b : a));
    const notified: PartyKind[] = [];
    for (const r of [...g].sort((a, b) => a.step - b.step)) if (r.noticeSentAt && !notified.includes(r.partyKind)) notified.push(r.partyKind);
    const down = g.map((r) => r.verifiedDownAt).filter((v): v is string => v !== undefined).sort();
    return {
      indicator: current.indicator,
      kind: current.kind,
      ...(current.port !== undefined ? { port: current.port } : {}),
      origin: current.origin,
      tlp: strictestTlp(g.map((r) => r.tlp))!,
      state: current.state,
      notified,
      ...(current.state === 'verified-down' && down.length ? { verifiedDownAt: down[down.length - 1] } : {}),
      ...(current.firstNoticeAt ? { firstNoticeAt: current.firstNoticeAt } : {}),
      rows: g,
    };
  });
}
