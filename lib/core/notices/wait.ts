import type { Deps, RenderJob } from '../ports.js';
import type { Notice } from '../model.js';
import { updateNotice } from '../updates.js';
import { completeQuietly } from '../executions.js';
import { stepFor, type NoticeStep } from './step.js';
import { casesOf, mustGetNotice } from './records.js';
import { escalateCases, escalationCandidates, finalState, rerouteToNextContact } from './escalate.js';
import { CASE_AWAITING, PAUSE_REASON } from '../lifecycle.js';
import { MailRejectedError, NotFoundError } from '../errors.js';
import { holdRefused } from './sending/send.js';
import { sendOutbound, type RenderContext } from './sending/outbound.js';
import { renderNotice } from './render/render.js';
import { templateSet } from './render/templates.js';
import { appendEvent } from '../audit/index.js';
import { settleCampaign } from './settle.js';
import { noticeOutboundId } from './sending/resend.js';

/**
 * The notice workflow's wait: park its task token, decide the next step from the stored notice, and what happens
 * when the wait ends without an answer (a reminder, else escalation).
 */

/**
 * The notice workflow parks its task token on the notice. When the notice changed since the workflow decided
 * to wait (an answer arrived in between), the token is completed at once with a fresh decision.
 */
export async function awaitAnswer(deps: Deps, noticeId: string, seen: number, taskToken: string, round?: number): Promise<Record<string, never>> {
  let changed: Notice | undefined;
  let stale = false;
  await updateNotice(deps, noticeId, (n) => {
    // a run of an earlier round parks nothing: the current round's execution owns the notice
    stale = round !== undefined && n.round !== round;
    changed = stale || n.version !== seen ? n : undefined;
    return changed ? undefined : { ...n, taskToken };
  });
  if (changed) await completeQuietly(deps, taskToken, stale ? { next: 'stopped' } : stepFor(deps, changed));
  return {};
}

/**
 * A wait ended without an answer. Before the stored deadline (a slice of a long wait) wait on; at it, send the
 * next reminder or, when none is left (or the notice could not be delivered), escalate the cases still open.
 */
export async function noticeDeadline(deps: Deps, noticeId: string, undeliverable: boolean, round?: number): Promise<NoticeStep> {
  const notice = await mustGetNotice(deps, noticeId);
  if (round !== undefined && notice.round !== round) return { next: 'stopped' };
  const live = notice.state === 'sent' || (undeliverable && ['planned', 'sending', 'uncertain'].includes(notice.state));
  if (!live) return stepFor(deps, notice);
  const now = deps.clock.now();
  if (!undeliverable && notice.deadline && now.getTime() < Date.parse(notice.deadline)) return stepFor(deps, notice);

  // refused for good at the hand-over: the party's next mailbox, if it has one, before the next party
  if (undeliverable && (await rerouteToNextContact(deps, noticeId, notice.party.email.toLowerCase()))) return { next: 'stopped' };
  const all = await casesOf(deps, noticeId);
  const waiting = all.filter((c) => CASE_AWAITING.has(c.state));
  // nothing waits on this party any more (every case answered, or held by a coordinator): no reminder to send
  if (!undeliverable && waiting.length > 0 && notice.remindersSent < notice.remindersAllowed) {
    const n = notice.remindersSent + 1;
    // claim, then send: the decision and the claim are one versioned write, so an answer that closed the notice
    // first stops the reminder (a retry finds its own claim and goes on with the same message)
    let claimed = false;
    const current = await updateNotice(deps, noticeId, (cur) => {
      claimed = cur.state === 'sent' && cur.remindersSent === n - 1 && (!cur.deadline || now.getTime() >= Date.parse(cur.deadline));
      return claimed && cur.reminding !== n ? { ...cur, reminding: n } : undefined;
    });
    if (!claimed) return stepFor(deps, current);
    const campaign = await deps.store.getCampaign(notice.campaignId);
    if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
    const original = await deps.store.getOutbound(noticeOutboundId(notice));
    const templates = templateSet(deps.templates);
    // rendered and composed on a compose thread when the host has them, as first notices are (send.ts)
    const job = (message: RenderContext): RenderJob => ({ ...message, notice, campaign, settings: deps.settings, now, reminder: { n, originalMessageId: original?.messageId ?? '' } });
    try {
      await sendOutbound(deps, notice, {
        kind: 'reminder',
        n,
        cases: waiting,
        links: true,
        render: (message) => renderNotice({ ...job(message), templates }),
        job,
      });
    } catch (e) {
      // refused by policy (or too big in any shape): the recipient may be fine; a person looks before anything moves
      if (e instanceof MailRejectedError && e.scope !== 'recipient') return stepFor(deps, await holdRefused(deps, noticeId, e));
      throw e;
    }
    const updated = await updateNotice(deps, noticeId, (cur) =>
      cur.remindersSent >= n
        ? undefined
        : { ...cur, remindersSent: n, reminding: undefined, taskToken: undefined, deadline: new Date(now.getTime() + cur.answerDeadline * 1000).toISOString() },
    );
    await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.reminded', actor: 'system', data: { reminder: n, deadline: updated.deadline } });
    return stepFor(deps, updated);
  }

  const open = escalationCandidates(all);
  // cases held by a coordinator (or waiting on the coordinator's answer) stay with this party: the notice waits
  // for them, paused, instead of finishing without them
  const held = all.some((c) => c.state === 'paused' || c.state === 'needs-info');
  const result = await escalateCases(deps, notice, open, undeliverable ? 'undeliverable' : 'no action by the deadline');
  const escalatedTo = result.notices;
  const ended = finalState(open.length, result);
  let changed = false;
  const final = await updateNotice(deps, noticeId, (cur) => {
    // read before the escalation, the notice may have been cancelled, paused or closed by hand meanwhile: that stands
    changed = !(cur.state === 'escalated' || cur.state === 'exhausted' || cur.state === 'closed' || cur.state === 'paused' || cur.state === 'cancelled');
    return !changed
      ? undefined
      : held
        ? {
            ...cur,
            state: 'paused',
            taskToken: undefined,
            // a notice the relay refused before it ever went out is sent on resume, not waited on
            paused: { from: cur.state === 'sent' ? 'sent' : 'planned', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.heldCases, by: 'system' },
          }
        : { ...cur, state: ended, taskToken: undefined };
  });
  if (!changed) return stepFor(deps, final);
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: final.state === 'paused' ? 'notice.paused' : `notice.${ended}`,
    actor: 'system',
    data: { reason: undeliverable ? 'undeliverable' : 'deadline', cases: open.length, to: escalatedTo, ...(final.state === 'paused' ? { held: true } : {}) },
  });
  if (final.state === 'closed' || final.state === 'exhausted') await settleCampaign(deps, notice.campaignId);
  return stepFor(deps, final);
}
