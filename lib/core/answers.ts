import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import { CASE_AWAITING, CASE_FINISHED, canMoveCase } from './lifecycle.js';
import { type Answer, AnswerIntent, AnswerSource, type CaseState, type Notice } from './model.js';
import type { Deps, InboundMail } from './ports.js';
import { completeQuietly } from './campaign.js';
import { appendEvent } from './events.js';
import { casesOf, escalateCases, mustGetNotice, stepFor } from './notice.js';
import { updateCase, updateNotice } from './updates.js';
import { noticeIdFromTag, parseReplyAddress } from './routing.js';

/** An answer as the API, the CLI and the mail reader hand it in. */
export const AnswerInput = z
  .object({
    intent: AnswerIntent,
    source: AnswerSource.default('api'),
    /** the cases it speaks of; all open cases of the notice when absent */
    caseIds: z.array(z.string().min(1).max(64)).min(1).max(10_000).optional(),
    from: z.string().max(320).optional(),
    note: z.string().max(2000).optional(),
    ticket: z.string().max(200).optional(),
    /** an idempotency key: the same answer submitted twice is applied once */
    answerId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/).optional(),
  })
  .strict();
export type AnswerInput = z.input<typeof AnswerInput>;

const STATE_FOR_INTENT: Readonly<Record<AnswerIntent, CaseState>> = {
  received: 'received',
  acknowledged: 'acknowledged',
  actioned: 'actioned',
  'not-ours': 'not-ours',
  'needs-info': 'needs-info',
  disputed: 'disputed',
};

export interface AnswerResult {
  readonly answer: Answer;
  /** false when this answer had been applied before (a repeated submission) */
  readonly applied: boolean;
  readonly notice: Notice;
}

/**
 * Every way of answering (reply, webhook, link, API, CLI) ends here: store the answer, apply it to the cases,
 * and complete the waiting workflow at once. Safe to repeat: an answer id is applied once.
 */
export async function recordAnswer(deps: Deps, noticeId: string, raw: AnswerInput): Promise<AnswerResult> {
  const parsed = AnswerInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the answer is not valid',
      parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })),
    );
  }
  const input = parsed.data;
  const notice = await mustGetNotice(deps, noticeId);
  const cases = await casesOf(deps, noticeId);
  if (input.caseIds) {
    const own = new Set(cases.map((c) => c.id));
    const foreign = input.caseIds.filter((id) => !own.has(id));
    if (foreign.length) {
      throw new InvalidInputError('some cases are not part of this notice', foreign.slice(0, 20).map((id) => ({ where: `caseIds: ${id}`, reason: 'not in this notice' })));
    }
  }
  const answer: Answer = {
    id: input.answerId ? `${noticeId}:${input.answerId}` : deps.ids.newId('a'),
    noticeId,
    intent: input.intent,
    source: input.source,
    caseIds: input.caseIds,
    from: input.from,
    note: input.note,
    ticket: input.ticket,
    receivedAt: deps.clock.now().toISOString(),
  };
  const fresh = await deps.store.putAnswer(answer);
  if (fresh) {
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId,
      type: 'answer.received',
      actor: input.from ?? input.source,
      data: { answer: answer.id, intent: answer.intent, source: answer.source, cases: answer.caseIds?.length ?? 'all', ticket: answer.ticket },
    });
  }
  return applyAnswer(deps, notice, fresh ? answer : ((await deps.store.listAnswers(noticeId)).find((a) => a.id === answer.id) ?? answer));
}

/** Apply a stored answer to its notice's cases (once) and wake the notice workflow. */
export async function applyAnswer(deps: Deps, notice: Notice, answer: Answer): Promise<AnswerResult> {
  if (notice.appliedAnswers.includes(answer.id)) return { answer, applied: false, notice };
  const to = STATE_FOR_INTENT[answer.intent];
  const cases = await casesOf(deps, notice.id);
  const wanted = answer.caseIds ? new Set(answer.caseIds) : undefined;
  const targets = cases.filter((c) => !wanted || wanted.has(c.id));
  const moved: string[] = [];
  for (const c of targets) {
    const after = await updateCase(deps, c.id, (cur) =>
      cur.state !== to && !CASE_FINISHED.has(cur.state) && canMoveCase(cur.state, to) ? { ...cur, state: to } : undefined,
    );
    if (after.state === to && c.state !== to) moved.push(c.id);
  }
  const notOurs = moved.length && to === 'not-ours' ? (await casesOf(deps, notice.id)).filter((c) => moved.includes(c.id)) : [];
  if (notOurs.length) await escalateCases(deps, notice, notOurs, 'the party said it is not theirs');

  const now = deps.clock.now();
  let token: string | undefined;
  const updated = await updateNotice(deps, notice.id, (cur) => {
    if (cur.appliedAnswers.includes(answer.id)) return undefined;
    token = cur.taskToken;
    const after = cases.map((c) => (moved.includes(c.id) ? to : c.state));
    const stillAwaiting = after.some((s) => CASE_AWAITING.has(s) || s === 'open');
    const needInfo = after.some((s) => s === 'needs-info');
    const live = cur.state === 'sent' || cur.state === 'uncertain';
    let state = cur.state;
    let deadline = cur.deadline;
    if (live && !stillAwaiting) state = needInfo ? 'paused' : 'closed';
    else if (live && (answer.intent === 'acknowledged' || answer.intent === 'received')) {
      // the party took it on: the clock now runs to the action deadline
      deadline = new Date(now.getTime() + cur.actionDeadline * 1000).toISOString();
    }
    return { ...cur, state, deadline, taskToken: undefined, appliedAnswers: [...cur.appliedAnswers, answer.id] };
  });
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'answer.applied',
    actor: 'system',
    data: { answer: answer.id, intent: answer.intent, cases: moved.length, notice: updated.state, deadline: updated.deadline },
  });
  if (token) await completeQuietly(deps, token, stepFor(deps, updated));
  return { answer, applied: true, notice: updated };
}

/** Phrases that say the infrastructure is gone or that the desk is not the right one (a first cut; replies get a classifier later). */
const ACTIONED = /\b(taken down|took (it|them) down|removed|suspended|terminated|disabled|blocked|shut down|null-?routed)\b/i;
const NOT_OURS = /\b(not (our|my) (customer|network|client|ip|domain|address)|not ours|wrong (contact|abuse)|no longer (our|a) customer)\b/i;
const QUOTE_START = /^(>|On .+wrote:|-----\s*Original Message\s*-----|From:\s)/im;

/** The human part of a reply: the text above the quoted notice. */
export function replyText(text: string): string {
  const m = QUOTE_START.exec(text);
  return (m ? text.slice(0, m.index) : text).trim();
}

export interface InboundResult {
  readonly matched: boolean;
  readonly noticeId?: string;
  readonly by?: 'token' | 'tag';
  readonly intent?: AnswerIntent;
  readonly reason?: string;
}

/**
 * An inbound message: match it to its notice (reply token in the address, else the subject tag) and record it
 * as an answer. Unmatched mail is reported, never applied.
 */
export async function receiveMail(deps: Deps, mail: InboundMail): Promise<InboundResult> {
  let noticeId: string | undefined;
  let by: 'token' | 'tag' | undefined;
  for (const address of mail.to) {
    const parsed = parseReplyAddress(deps.settings.replyMailbox, address);
    if (!parsed) continue;
    const outs = await deps.store.listOutbound(parsed.noticeId);
    if (outs.some((o) => o.tokenHash && deps.ids.tokenMatches(parsed.token, o.tokenHash))) {
      noticeId = parsed.noticeId;
      by = 'token';
      break;
    }
  }
  if (!noticeId) {
    const tagged = noticeIdFromTag(mail.subject);
    if (tagged && (await deps.store.getNotice(tagged))) {
      noticeId = tagged;
      by = 'tag';
    }
  }
  if (!noticeId) {
    deps.log.warn('inbound mail matched no notice', { messageId: mail.messageId });
    return { matched: false, reason: 'no reply token or tag of ours' };
  }
  const text = replyText(mail.text);
  const intent: AnswerIntent = NOT_OURS.test(text) ? 'not-ours' : ACTIONED.test(text) ? 'actioned' : 'acknowledged';
  const messageKey = mail.messageId ? deps.ids.hash(mail.messageId).slice(0, 32) : undefined;
  await recordAnswer(deps, noticeId, {
    intent,
    source: 'mail',
    from: mail.from,
    note: text.slice(0, 2000),
    ...(messageKey ? { answerId: `mail-${messageKey}` } : {}),
  });
  return { matched: true, noticeId, by, intent };
}
