import type { Deps } from '../ports.js';
import { casesOf, mustGetNotice } from './records.js';
import { CASE_AWAITING, PAUSE_REASON } from '../lifecycle.js';
import type { AnswerIntent, Case, CaseState, Notice } from '../model.js';
import { restartNotice } from './clock.js';
import { settleCampaign } from './settle.js';
import { escalateCases, escalationCandidates, finalState } from './escalate.js';
import { updateNotice } from '../updates.js';
import { appendEvent } from '../audit/index.js';
import { completeQuietly } from '../executions.js';
import { stepFor } from './step.js';

/**
 * What answers do to a notice's clock. The answers context reads an answer and moves its cases; it reports the
 * outcome here, and the notice decides: close when nothing is left for its party, pause for a question, start the
 * action deadline on an acknowledgement, extend the wait on an automatic receipt, escalate what is "not ours".
 */

/** What an answer did to a notice's cases, as the answers context reports it. */
export interface AnswerOutcome {
  readonly answerId: string;
  readonly intent: AnswerIntent;
  /** the state the answer moves cases to */
  readonly movedTo: CaseState;
  /** the notice's cases as they were read when the answer was applied */
  readonly cases: readonly Case[];
  /** the cases the answer moved to `movedTo` */
  readonly moved: readonly string[];
  /** who answered: a mailbox, else the channel */
  readonly by: string;
}

/**
 * Apply an answer's outcome to its notice, once per answer id: what was "not ours" goes to the next party, the
 * clock moves, the waiting execution is woken to re-decide (or a notice paused for a question starts a new round).
 */
export async function noticeAnswered(deps: Deps, notice: Notice, outcome: AnswerOutcome): Promise<Notice> {
  const notOurs = outcome.moved.length && outcome.movedTo === 'not-ours' ? (await casesOf(deps, notice.id)).filter((c) => outcome.moved.includes(c.id)) : [];
  if (notOurs.length) await escalateCases(deps, notice, notOurs, 'the party said it is not theirs');

  const now = deps.clock.now();
  let token: string | undefined;
  let resume: number | undefined;
  let changed = false;
  const updated = await updateNotice(deps, notice.id, (cur) => {
    changed = false;
    if (cur.appliedAnswers.includes(outcome.answerId)) return undefined;
    changed = true;
    token = cur.taskToken;
    resume = undefined;
    const after = outcome.cases.map((c) => (outcome.moved.includes(c.id) ? outcome.movedTo : c.state));
    const stillAwaiting = after.some((s) => CASE_AWAITING.has(s) || s === 'open');
    const needInfo = after.some((s) => s === 'needs-info');
    // cases a coordinator put on hold keep their notice from closing: resuming them needs it
    const held = after.some((s) => s === 'paused');
    const live = cur.state === 'sent' || cur.state === 'uncertain';
    const pausedForQuestion = cur.state === 'paused' && cur.paused?.reason === PAUSE_REASON.question;
    const left = cur.deadline ? Math.max(0, (Date.parse(cur.deadline) - now.getTime()) / 1000) : cur.answerDeadline;
    let state = cur.state;
    let deadline = cur.deadline;
    let paused = cur.paused;
    if (live && outcome.intent === 'needs-info' && outcome.moved.length) {
      // a question stops the clock until the coordinator answers it (sendFollowup restarts it)
      state = 'paused';
      paused = { from: 'sent', remainingSeconds: left, reason: PAUSE_REASON.question, by: outcome.by.slice(0, 200) };
    } else if ((live || cur.state === 'paused') && !stillAwaiting && !needInfo && !held) {
      // nothing is left for this party, however its clock stood (a campaign's pause included)
      state = 'closed';
      paused = undefined;
    } else if (live && !stillAwaiting) {
      state = 'paused';
      paused = needInfo
        ? { from: 'sent', remainingSeconds: left, reason: PAUSE_REASON.question, by: 'system' }
        : { from: 'sent', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.heldCases, by: 'system' };
    } else if (pausedForQuestion && !needInfo && stillAwaiting) {
      // the party answered its own question (it acknowledged, say): the clock runs again, after this update
      resume = outcome.intent === 'acknowledged' ? cur.actionDeadline : (cur.paused?.remainingSeconds ?? cur.answerDeadline);
    } else if (live && outcome.intent === 'acknowledged') {
      // the party took it on: the clock now runs to the action deadline from now
      deadline = new Date(now.getTime() + cur.actionDeadline * 1000).toISOString();
    } else if (live && outcome.intent === 'received' && cur.sentAt) {
      // an automatic receipt is no one taking it on, but the desk has it: the wait extends to the step's
      // action deadline (never shortens) and no acknowledgement is assumed
      const actionBy = Date.parse(cur.sentAt) + cur.actionDeadline * 1000;
      if (!cur.deadline || actionBy > Date.parse(cur.deadline)) deadline = new Date(actionBy).toISOString();
    }
    return { ...cur, state, deadline, paused, taskToken: undefined, appliedAnswers: [...cur.appliedAnswers, outcome.answerId] };
  });
  // applied before (an application a kill cut short, taken up again; a delivery racing this one): said once
  if (changed || !(await deps.store.listEvents({ noticeId: notice.id })).some((e) => e.type === 'answer.applied' && e.data?.answer === outcome.answerId)) {
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId: notice.id,
      type: 'answer.applied',
      actor: 'system',
      data: { answer: outcome.answerId, intent: outcome.intent, cases: outcome.moved.length, notice: updated.state, deadline: updated.deadline },
    });
  }
  if (token) await completeQuietly(deps, token, stepFor(deps, updated));
  if (resume !== undefined) await restartNotice(deps, notice.id, outcome.by, resume, `the party answered (${outcome.intent}) after asking a question`);
  if (updated.state === 'closed' && notice.state !== 'closed') await settleCampaign(deps, notice.campaignId);
  return updated;
}

/**
 * The notice's contact cannot be reached: its open cases go to the next party of their ladder now (the
 * workflow's Undeliverable path, taken from a bounce), and the waiting workflow is woken. Returns the new
 * notices, or undefined when the notice was no longer live.
 */
export async function contactUndeliverable(deps: Deps, noticeId: string, status: string | undefined): Promise<string[] | undefined> {
  const notice = await mustGetNotice(deps, noticeId);
  if (notice.state !== 'sent') return undefined;
  const open = escalationCandidates(await casesOf(deps, noticeId));
  const result = await escalateCases(deps, notice, open, `undeliverable${status ? ` (${status})` : ''}`);
  const to = result.notices;
  const ended = finalState(open.length, result);
  let token: string | undefined;
  let changed = false;
  const final = await updateNotice(deps, noticeId, (cur) => {
    if (cur.state !== 'sent') return undefined;
    // read with the change, so a token the workflow parks meanwhile is not lost
    token = cur.taskToken;
    changed = true;
    return { ...cur, state: ended, taskToken: undefined };
  });
  if (changed) {
    await appendEvent(deps, {
      campaignId: final.campaignId,
      noticeId,
      type: `notice.${ended}`,
      actor: 'system',
      data: { reason: 'undeliverable', status, cases: open.length, to },
    });
  }
  if (token) await completeQuietly(deps, token, stepFor(deps, final));
  if (changed && ended !== 'escalated') await settleCampaign(deps, final.campaignId);
  return to;
}
