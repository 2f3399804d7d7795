import { actorFields, type ActorLike, type Notice, type NoticeState } from '../model.js';
import type { Deps } from '../ports.js';
import { updateNotice } from '../updates.js';
import { appendEvent } from '../audit/index.js';
import { completeQuietly } from '../executions.js';
import { casesOf } from './records.js';
import { stepFor } from './step.js';
import { startNoticeRun } from './planning.js';
import { CASE_AWAITING } from '../lifecycle.js';
import { settleCampaign } from './settle.js';

/**
 * A hand on a notice's clock: stop it, start it again as a new round, wake its waiting execution to re-decide,
 * or close it when nothing is left for its party. Workflows are never edited in flight: a waiting execution is
 * woken and re-decides from the stored notice; a paused notice's execution ends, and resuming starts its next round.
 */

const LIVE_NOTICE: ReadonlySet<NoticeState> = new Set(['planned', 'sent', 'uncertain']);

/** Seconds of domain time a notice's clock has left. */
function remainingOf(deps: Deps, n: Notice): number {
  if (!n.deadline) return n.answerDeadline;
  return Math.max(0, (Date.parse(n.deadline) - deps.clock.now().getTime()) / 1000);
}

/** Stop a notice's clock; its waiting execution wakes, finds it paused and ends. */
export async function pauseNotice(deps: Deps, noticeId: string, by: ActorLike, reason: string): Promise<Notice | undefined> {
  const { actor, data: onBehalf } = actorFields(by);
  let token: string | undefined;
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    token = undefined;
    if (!LIVE_NOTICE.has(cur.state) || cur.state === 'uncertain') return undefined;
    changed = true;
    token = cur.taskToken;
    return {
      ...cur,
      state: 'paused',
      taskToken: undefined,
      paused: { from: cur.state, remainingSeconds: remainingOf(deps, cur), reason: reason.slice(0, 300), by: actor.slice(0, 200) },
    };
  });
  if (!changed) return undefined;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.paused', actor, data: { reason, remainingSeconds: notice.paused?.remainingSeconds, ...onBehalf } });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
  return notice;
}

/**
 * Start a paused (or closed, for a "still reachable" recheck) notice's clock again as a new round: a new
 * execution under a new name, the deadline `seconds` from now. Nothing is resent: SendNotice finds it sent.
 */
export async function restartNotice(deps: Deps, noticeId: string, by: ActorLike, seconds: number | undefined, why: string): Promise<Notice | undefined> {
  const { actor, data: onBehalf } = actorFields(by);
  const now = deps.clock.now().getTime();
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    const fromPause = cur.state === 'paused';
    // a notice still sent has its execution: only a stopped clock starts a new round (an escalated one: for a
    // case found still reachable, which goes back to this party)
    if (!fromPause && cur.state !== 'closed' && cur.state !== 'escalated' && cur.state !== 'exhausted') return undefined;
    changed = true;
    const back = fromPause ? ((cur.paused?.from as NoticeState | undefined) ?? 'sent') : 'sent';
    const left = seconds ?? cur.paused?.remainingSeconds ?? cur.answerDeadline;
    return {
      ...cur,
      state: back === 'planned' ? 'planned' : 'sent',
      paused: undefined,
      taskToken: undefined,
      round: cur.round + 1,
      // a notice never sent keeps no deadline: SendNotice sets it when it sends
      deadline: back === 'planned' ? cur.deadline : new Date(now + Math.max(1, left) * 1000).toISOString(),
    };
  });
  if (!changed) return undefined;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.resumed', actor, data: { why, round: notice.round, deadline: notice.deadline, ...onBehalf } });
  await startNoticeRun(deps, notice);
  return notice;
}

export async function wake(deps: Deps, noticeId: string): Promise<void> {
  let token: string | undefined;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    token = cur.taskToken;
    return token ? { ...cur, taskToken: undefined } : undefined;
  });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
}

/** After cases of a notice moved by hand: close it when nothing is left for its party, else let it re-decide. */
export async function settleNotice(deps: Deps, noticeId: string, actor: string): Promise<boolean> {
  const cases = await casesOf(deps, noticeId);
  const waiting = cases.some((c) => CASE_AWAITING.has(c.state) || c.state === 'open' || c.state === 'needs-info' || c.state === 'paused');
  if (waiting) {
    await wake(deps, noticeId);
    return false;
  }
  let token: string | undefined;
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    // not a notice being sent: its send was claimed before and goes; it settles once it is out (its deadline step)
    if (!['sent', 'paused', 'planned'].includes(cur.state)) return undefined;
    changed = true;
    token = cur.taskToken;
    const escalated = cases.some((c) => c.state === 'escalated');
    const cancelled = cases.every((c) => c.state === 'cancelled');
    const state: NoticeState = cancelled ? 'cancelled' : escalated ? 'escalated' : 'closed';
    return { ...cur, state, taskToken: undefined, paused: undefined };
  });
  if (!changed) return false;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: `notice.${notice.state}`, actor, data: { reason: 'nothing left for this party' } });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
  if (notice.state !== 'escalated') await settleCampaign(deps, notice.campaignId);
  return true;
}
