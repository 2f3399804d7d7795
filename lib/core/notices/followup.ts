import type { Deps } from '../ports.js';
import { renderFollowup, type Followup } from './render/render-followup.js';
import { actorFields, type ActorLike, type Case, type Notice } from '../model.js';
import { casesOf, mustGetNotice } from './records.js';
import { sendOutbound } from './sending/outbound.js';
import { InvalidInputError, InvalidTransitionError, MailTransientError, NotFoundError, SendingHaltedError } from '../errors.js';
import { CASE_AWAITING } from '../lifecycle.js';
import { updateCase, updateNotice } from '../updates.js';
import { appendEvent } from '../audit/index.js';
import { restartNotice, wake } from './clock.js';
import { noticeOutboundId } from './sending/resend.js';

/**
 * Send a message in a notice's thread (same tag, same reply channel, In-Reply-To the notice) and restart its
 * clock for the action deadline. The coordinator's answer to "needs more information" resumes a notice paused
 * for it; a "still reachable" recheck reopens a closed one.
 */
export async function sendFollowup(
  deps: Deps,
  noticeId: string,
  followup: Followup,
  by: ActorLike,
  cases?: readonly Case[],
  /** runs once the message is out, before the clock restarts (the cases it concerns change state only then) */
  afterSend?: () => Promise<void>,
): Promise<Notice> {
  const { actor, data: onBehalf } = actorFields(by);
  let notice = await mustGetNotice(deps, noticeId);
  if (!['sent', 'paused', 'closed', 'escalated', 'exhausted'].includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'follow-up');
  if (followup.kind === 'answer' && !followup.message.trim()) {
    throw new InvalidInputError('the follow-up is empty', [{ where: 'message', reason: 'write what the recipient asked for' }]);
  }
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
  const concerned = cases ?? (await casesOf(deps, noticeId)).filter((c) => c.state === 'needs-info' || CASE_AWAITING.has(c.state));
  // the number is taken before the send: two follow-ups at once get two messages, never one under two records
  let n = 0;
  notice = await updateNotice(deps, noticeId, (cur) => {
    n = (cur.followupsSent ?? 0) + 1;
    return { ...cur, followupsSent: n };
  });
  const original = await deps.store.getOutbound(noticeOutboundId(notice));
  const now = deps.clock.now();
  const deadline = new Date(now.getTime() + notice.actionDeadline * 1000).toISOString();
  await keptIfRefusedForNow(deps, () =>
    sendOutbound(deps, notice, {
      kind: 'followup',
      n,
      cases: concerned,
      render: (message) =>
        renderFollowup({
          notice: { ...notice, deadline },
          campaign,
          cases: message.cases,
          token: message.token,
          messageId: message.messageId,
          originalMessageId: original?.messageId ?? '',
          settings: deps.settings,
          followup,
          now,
        }),
    }),
  );
  await afterSend?.();
  // the questions are answered: the cases wait on their party again
  for (const c of concerned) {
    if (c.state === 'needs-info') await updateCase(deps, c.id, (cur) => (cur.state === 'needs-info' ? { ...cur, state: 'notified' } : undefined));
  }
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: 'notice.followup',
    actor,
    data: { n, kind: followup.kind, cases: concerned.length, deadline, ...onBehalf },
  });
  const restarted = await restartNotice(deps, noticeId, by, notice.actionDeadline, followup.kind === 'answer' ? 'the coordinator answered the question' : 'still reachable after the takedown was reported');
  if (!restarted) {
    // its execution is still waiting: the deadline moves out (never in) and the execution re-decides
    await updateNotice(deps, noticeId, (cur) => (cur.state === 'sent' && (!cur.deadline || cur.deadline < deadline) ? { ...cur, deadline } : undefined));
    await wake(deps, noticeId);
  }
  return mustGetNotice(deps, noticeId);
}

/**
 * A follow-up the relay does not take now (a 4xx, a dropped connection, sending halted) is kept: it is composed and
 * marked unsent, and the host sends it as soon as the relay takes it (campaign/recovery.ts sendUnsent, and every
 * start). The command that made it has done its part: failing it would only have its retry compose a second one.
 */
export async function keptIfRefusedForNow(deps: Pick<Deps, 'log'>, send: () => Promise<unknown>): Promise<void> {
  try {
    await send();
  } catch (e) {
    if (!(e instanceof MailTransientError) && !(e instanceof SendingHaltedError)) throw e;
    deps.log.warn('a follow-up was kept to send again: the relay did not take it now', { error: e.name });
  }
}
