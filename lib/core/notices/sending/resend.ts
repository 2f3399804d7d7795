import type { Notice, Refusal } from '../../model.js';
import type { Deps } from '../../ports.js';
import { appendEvent } from '../../audit/index.js';
import { completeQuietly } from '../../executions.js';
import { PAUSE_REASON } from '../../lifecycle.js';
import { updateNotice } from '../../updates.js';
import { startNoticeRun } from '../planning.js';
import { stepFor } from '../step.js';

/**
 * What a server on the way said after our relay took a notice (a delivery report), when it is not the recipient's
 * death: too big for it (5.3.4, 5.2.3: the notice goes again in smaller parts) or refused by its policy (5.7.x: held
 * for a person). Neither moves the cases on to anyone else.
 */

// a notice sent again smaller this many times and still refused for its size is left to a person
const MAX_RESENDS = 3;

/** The number of a notice's own message: a new one for each mailbox it went to and each time it went again smaller. */
export function noticeMessageNumber(notice: Pick<Notice, 'contactIndex' | 'resends'>): number {
  return (notice.resends ?? 0) * 10 + (notice.contactIndex ?? 0);
}

/** The id of the outbound message that carries a notice as it stands. */
export function noticeOutboundId(notice: Pick<Notice, 'id' | 'contactIndex' | 'resends'>): string {
  return `${notice.id}.notice.${noticeMessageNumber(notice)}`;
}

/**
 * A server on the way refused the notice for its size after our relay accepted it: the notice is sent again, in
 * parts under a smaller limit (the one the report names, else half the largest part), as its next round. Returns
 * false when it was sent again too often already (it is then held for a person), or was no longer waiting.
 */
export async function resendSmaller(deps: Deps, noticeId: string, refusal: Refusal, limit?: number): Promise<boolean> {
  const current = await deps.store.getNotice(noticeId);
  if (!current) return false;
  const out = await deps.store.getOutbound(noticeOutboundId(current));
  const largest = Math.max(0, ...(out?.parts ?? []).map((p) => p.bytes));
  const next = Math.floor(Math.max(64 * 1024, Math.min(limit ? limit * 0.95 : Infinity, largest ? largest / 2 : Infinity, current.messageLimit ?? Infinity)));
  if ((current.resends ?? 0) >= MAX_RESENDS || !Number.isFinite(next)) {
    await holdForRefusal(deps, noticeId, refusal);
    return false;
  }
  let token: string | undefined;
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = cur.state === 'sent' || cur.state === 'uncertain';
    if (!changed) return undefined;
    token = cur.taskToken;
    return {
      ...cur,
      state: 'planned',
      round: cur.round + 1,
      resends: (cur.resends ?? 0) + 1,
      messageLimit: next,
      refusal,
      sentAt: undefined,
      deadline: undefined,
      tokenHash: '',
      remindersSent: 0,
      taskToken: undefined,
    };
  });
  if (!changed) return false;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.resent', actor: 'mail', data: { reason: 'too big for a server on the way', refusal, limit: next, round: notice.round } });
  if (token) await completeQuietly(deps, token, { next: 'stopped' });
  await startNoticeRun(deps, notice);
  return true;
}

/**
 * A server on the way refused the notice by its policy (or for a size no smaller part got under): the recipient may
 * be fine, so nothing escalates. The notice waits, paused with the server's words, for a person to look and resume.
 */
export async function holdForRefusal(deps: Deps, noticeId: string, refusal: Refusal): Promise<Notice> {
  const why = `${PAUSE_REASON.refused}: ${[refusal.code, refusal.enhanced].filter(Boolean).join(' ') || refusal.scope}`;
  let changed = false;
  let token: string | undefined;
  const held = await updateNotice(deps, noticeId, (cur) => {
    changed = ['planned', 'sending', 'uncertain', 'sent'].includes(cur.state);
    if (!changed) return undefined;
    token = cur.taskToken;
    const from = cur.state === 'sent' ? 'sent' : 'planned';
    return { ...cur, state: 'paused', taskToken: undefined, refusal, paused: { from, remainingSeconds: cur.answerDeadline, reason: why.slice(0, 300), by: 'system' } };
  });
  if (changed) {
    await appendEvent(deps, { campaignId: held.campaignId, noticeId, type: 'notice.held', actor: 'system', data: { reason: why, scope: refusal.scope, refusal } });
    if (token) await completeQuietly(deps, token, stepFor(deps, held));
  }
  return held;
}
