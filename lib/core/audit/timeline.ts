import { NotFoundError } from '../errors.js';
import type { Answer, AuditEvent, Campaign, Case, Notice, Outbound } from '../model.js';
import type { Deps } from '../ports.js';

/** A message we sent, without its bytes: they carry the reply token. Its sha-256 identifies the exact bytes. */
export type SentMessage = Omit<Outbound, 'raw' | 'tokenHash'>;

/** One line of a case's history, in time order. */
export type TimelineEntry =
  | { readonly kind: 'event'; readonly at: string; readonly event: AuditEvent }
  | { readonly kind: 'message'; readonly at: string; readonly message: SentMessage }
  | { readonly kind: 'answer'; readonly at: string; readonly answer: Answer };

export interface CaseTimeline {
  readonly case: Case;
  readonly campaign?: Campaign;
  readonly notice?: Notice;
  /** the case this one escalated from */
  readonly previous?: Case;
  readonly entries: TimelineEntry[];
}

/**
 * Everything that happened to a case: its own events, and its notice's events, messages and answers (a notice
 * speaks for all its cases), merged in time order; entries at the same time keep the order they were stored in.
 */
export async function caseTimeline(deps: Pick<Deps, 'store'>, caseId: string): Promise<CaseTimeline> {
  const c = await deps.store.getCase(caseId);
  if (!c) throw new NotFoundError('case', caseId);
  const [campaign, notice, previous, caseEvents] = await Promise.all([
    deps.store.getCampaign(c.campaignId),
    c.noticeId ? deps.store.getNotice(c.noticeId) : undefined,
    c.previousCaseId ? deps.store.getCase(c.previousCaseId) : undefined,
    deps.store.listEvents({ caseId }),
  ]);
  const entries: TimelineEntry[] = caseEvents.map((event) => ({ kind: 'event', at: event.at, event }));
  if (notice) {
    const seen = new Set(caseEvents.map((e) => e.id));
    const [noticeEvents, messages, answers] = await Promise.all([
      deps.store.listEvents({ noticeId: notice.id }),
      deps.store.listOutbound(notice.id),
      deps.store.listAnswers(notice.id),
    ]);
    for (const event of noticeEvents) if (!seen.has(event.id)) entries.push({ kind: 'event', at: event.at, event });
    for (const { raw: _raw, tokenHash: _hash, ...message } of messages) entries.push({ kind: 'message', at: message.sentAt ?? message.createdAt, message });
    for (const answer of answers) entries.push({ kind: 'answer', at: answer.receivedAt, answer });
  }
  const order = new Map(entries.map((e, i) => [e, i]));
  entries.sort((a, b) => a.at.localeCompare(b.at) || order.get(a)! - order.get(b)!);
  return { case: c, ...(campaign ? { campaign } : {}), ...(notice ? { notice } : {}), ...(previous ? { previous } : {}), entries };
}
