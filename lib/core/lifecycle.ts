import type { CaseState, NoticeState } from './model.js';

/**
 * The allowed state changes. The whole list of states is fixed here; later work adds behaviour, not states.
 * A transition not listed is refused with InvalidTransitionError by the commands.
 */
export const CASE_TRANSITIONS: Readonly<Record<CaseState, readonly CaseState[]>> = {
  // an answer can outrun the "notified" record (a crash, or a fast auto-reply, between the hand-over and it)
  open: ['notified', 'received', 'acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed', 'withheld', 'paused', 'cancelled', 'expired'],
  withheld: ['open', 'cancelled'],
  notified: ['received', 'acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed', 'paused', 'cancelled', 'escalated', 'expired'],
  received: ['acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed', 'paused', 'cancelled', 'escalated', 'expired'],
  acknowledged: ['actioned', 'not-ours', 'needs-info', 'disputed', 'paused', 'cancelled', 'escalated', 'expired'],
  // a probe that finds it still reachable sends the case back to its party
  actioned: ['verified-down', 'notified', 'disputed', 'cancelled'],
  // a revival reopens the case at the first rung of its ladder
  'verified-down': ['open'],
  'not-ours': ['escalated', 'cancelled'],
  'needs-info': ['notified', 'acknowledged', 'actioned', 'not-ours', 'disputed', 'paused', 'cancelled', 'escalated', 'expired'],
  disputed: ['notified', 'escalated', 'cancelled', 'expired'],
  paused: ['open', 'notified', 'received', 'acknowledged', 'needs-info', 'cancelled', 'escalated', 'expired'],
  cancelled: [],
  escalated: [],
  expired: [],
};

/**
 * Why a notice's clock is stopped (Notice.paused.reason): a question its recipient asked, cases a coordinator
 * put on hold while nothing else waits, or its campaign's pause (followed by the coordinator's reason). A
 * campaign's resume lifts only its own pauses.
 */
export const PAUSE_REASON = {
  question: 'needs-info',
  heldCases: 'cases paused',
  campaign: 'campaign paused',
  refused: 'refused by a server',
} as const;

/** States in which a case still waits on its party. */
export const CASE_AWAITING: ReadonlySet<CaseState> = new Set(['notified', 'received', 'acknowledged']);

/** States in which a case is finished for its party (nothing more is asked of it). */
export const CASE_FINISHED: ReadonlySet<CaseState> = new Set([
  'actioned',
  'verified-down',
  'not-ours',
  'disputed',
  'cancelled',
  'escalated',
  'expired',
]);

/** States that make an indicator count as "already being handled" for deduplication across campaigns. */
export const CASE_LIVE: ReadonlySet<CaseState> = new Set([
  'open',
  'withheld',
  'notified',
  'received',
  'acknowledged',
  'actioned',
  'needs-info',
  'disputed',
  'paused',
]);

/**
 * A notice still to go out: planned, being handed over, or handed over with an outcome not known (it goes again).
 * Every other state is out: sent, or settled without being sent (closed, cancelled, paused, escalated ...).
 */
export const NOTICE_NOT_OUT: ReadonlySet<NoticeState> = new Set(['planned', 'sending', 'uncertain']);

export const NOTICE_TRANSITIONS: Readonly<Record<NoticeState, readonly NoticeState[]>> = {
  // escalated, exhausted: refused for good at the hand-over (undeliverable), its cases go to their next party
  planned: ['sending', 'sent', 'uncertain', 'paused', 'cancelled', 'closed', 'escalated', 'exhausted'],
  // a crash after the SMTP hand-off and before "sent" was recorded leaves it uncertain; closed: every case settled
  // before it went out
  sending: ['sent', 'uncertain', 'planned', 'closed', 'escalated', 'exhausted'],
  // an answer may come before the resend (the message arrived after all): it closes, pauses or moves it on like a
  // sent notice, and the message is then left unresent
  uncertain: ['sending', 'sent', 'paused', 'cancelled', 'closed', 'escalated', 'exhausted'],
  // planned again: the contact bounced for good and the party has another mailbox to send it to
  sent: ['closed', 'escalated', 'exhausted', 'paused', 'cancelled', 'planned'],
  closed: ['sent'],
  // a case found still reachable after its party said it acted goes back to that party, whatever happened to the
  // notice's other cases
  escalated: ['sent'],
  exhausted: ['sent'],
  paused: ['planned', 'sent', 'closed', 'escalated', 'exhausted', 'cancelled'],
  cancelled: [],
};

export function canMoveCase(from: CaseState, to: CaseState): boolean {
  return from === to || CASE_TRANSITIONS[from].includes(to);
}

export function canMoveNotice(from: NoticeState, to: NoticeState): boolean {
  return from === to || NOTICE_TRANSITIONS[from].includes(to);
}
