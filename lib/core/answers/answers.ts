import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { CASE_AWAITING, CASE_FINISHED, canMoveCase, PAUSE_REASON } from '../lifecycle.js';
import { restartNotice } from '../campaign/control.js';
import { type Answer, AnswerIntent, AnswerSource, type CaseState, type Notice } from '../model.js';
import type { Deps, InboundMail } from '../ports.js';
import { completeQuietly } from '../campaign/campaign.js';
import { appendEvent } from '../audit/events.js';
import { casesOf, escalateCases, mustGetNotice, rerouteToNextContact, stepFor } from '../notices/notice.js';
import { updateCase, updateNotice } from '../updates.js';
import { noticeIdFromTag, parseReplyAddress } from '../routing/ids.js';
import { classifyMail, type Classification, type MailClass } from './mail/classify.js';
import { queueForReview, type ReviewReason } from './review.js';
import { suspicionOf } from './mail-auth.js';
import { startVerification } from '../verify/verify.js';

const NEEDS_INFO_PAUSE = PAUSE_REASON.question;

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
  let resume: number | undefined;
  const updated = await updateNotice(deps, notice.id, (cur) => {
    if (cur.appliedAnswers.includes(answer.id)) return undefined;
    token = cur.taskToken;
    resume = undefined;
    const after = cases.map((c) => (moved.includes(c.id) ? to : c.state));
    const stillAwaiting = after.some((s) => CASE_AWAITING.has(s) || s === 'open');
    const needInfo = after.some((s) => s === 'needs-info');
    // cases a coordinator put on hold keep their notice from closing: resuming them needs it
    const held = after.some((s) => s === 'paused');
    const live = cur.state === 'sent' || cur.state === 'uncertain';
    const pausedForQuestion = cur.state === 'paused' && cur.paused?.reason === NEEDS_INFO_PAUSE;
    const left = cur.deadline ? Math.max(0, (Date.parse(cur.deadline) - now.getTime()) / 1000) : cur.answerDeadline;
    let state = cur.state;
    let deadline = cur.deadline;
    let paused = cur.paused;
    if (live && answer.intent === 'needs-info' && moved.length) {
      // a question stops the clock until the coordinator answers it (sendFollowup restarts it)
      state = 'paused';
      paused = { from: 'sent', remainingSeconds: left, reason: NEEDS_INFO_PAUSE, by: (answer.from ?? answer.source).slice(0, 200) };
    } else if ((live || cur.state === 'paused') && !stillAwaiting && !needInfo && !held) {
      // nothing is left for this party, however its clock stood (a campaign's pause included)
      state = 'closed';
      paused = undefined;
    } else if (live && !stillAwaiting) {
      state = 'paused';
      paused = needInfo
        ? { from: 'sent', remainingSeconds: left, reason: NEEDS_INFO_PAUSE, by: 'system' }
        : { from: 'sent', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.heldCases, by: 'system' };
    } else if (pausedForQuestion && !needInfo && stillAwaiting) {
      // the party answered its own question (it acknowledged, say): the clock runs again, after this update
      resume = answer.intent === 'acknowledged' ? cur.actionDeadline : (cur.paused?.remainingSeconds ?? cur.answerDeadline);
    } else if (live && answer.intent === 'acknowledged') {
      // the party took it on: the clock now runs to the action deadline from now
      deadline = new Date(now.getTime() + cur.actionDeadline * 1000).toISOString();
    } else if (live && answer.intent === 'received' && cur.sentAt) {
      // an automatic receipt is no one taking it on, but the desk has it: the wait extends to the step's
      // action deadline (never shortens) and no acknowledgement is assumed
      const actionBy = Date.parse(cur.sentAt) + cur.actionDeadline * 1000;
      if (!cur.deadline || actionBy > Date.parse(cur.deadline)) deadline = new Date(actionBy).toISOString();
    }
    return { ...cur, state, deadline, paused, taskToken: undefined, appliedAnswers: [...cur.appliedAnswers, answer.id] };
  });
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'answer.applied',
    actor: 'system',
    data: { answer: answer.id, intent: answer.intent, cases: moved.length, notice: updated.state, deadline: updated.deadline },
  });
  if (token) await completeQuietly(deps, token, stepFor(deps, updated));
  if (resume !== undefined) await restartNotice(deps, notice.id, answer.from ?? answer.source, resume, `the party answered (${answer.intent}) after asking a question`);
  if (to === 'needs-info' && moved.length) {
    await queueForReview(deps, {
      id: `r_${deps.ids.hash(`needs-info:${answer.id}`).slice(0, 32)}`,
      reason: 'needs-info',
      receivedAt: answer.receivedAt,
      noticeId: notice.id,
      campaignId: notice.campaignId,
      from: answer.from?.slice(0, 320),
      subject: `[${notice.tag}] ${notice.party.name} asks for more information`,
      note: answer.note,
      rawSha256: '',
    });
  }
  if (to === 'actioned' && moved.length) await startVerification(deps, updated, answer.id);
  return { answer, applied: true, notice: updated };
}

/** How an inbound message was tied to its notice: the reply token, our Message-ID in its thread, the subject tag. */
export type MatchedBy = 'token' | 'thread' | 'tag';

export interface InboundResult {
  readonly matched: boolean;
  readonly noticeId?: string;
  readonly by?: MatchedBy;
  readonly class: MailClass;
  /** answer: recorded and applied as an answer; event: recorded on the notice only; review: queued for a person */
  readonly outcome: 'answer' | 'event' | 'review';
  /** the intent applied, for an answer */
  readonly intent?: AnswerIntent;
  readonly reason: string;
}

/**
 * An inbound message: classify it, match it to its notice (the reply token in an address, our Message-ID in its
 * thread, the subject tag: in the message itself or in the copy of our notice it returns or quotes), then apply it:
 * - bounce: recorded; a permanent failure for the notice's contact marks the contact undeliverable and escalates
 *   the open cases to the next party at once; a delay warning or a delivery notice changes nothing;
 * - report: kept for review, never an answer;
 * - auto-reply: the cases are marked received (never acknowledged), the recipient's ticket number kept;
 * - human: the intent is applied with the phrase that carried it; an unclear answer goes to review.
 * Unmatched mail goes to review and is never applied. `rawRef` says where the host keeps the raw bytes.
 */
export async function receiveMail(deps: Deps, mail: InboundMail, options: { rawRef?: string } = {}): Promise<InboundResult> {
  const classification = classifyMail(mail);
  const rawSha256 = deps.ids.hash(mail.raw);
  const messageKey = (mail.messageId ? deps.ids.hash(mail.messageId) : rawSha256).slice(0, 32);
  const match = await matchNotice(deps, mail, classification);
  const review = async (reason: ReviewReason, why: string, notice?: Notice): Promise<InboundResult> => {
    await queueForReview(deps, {
      id: `r_${rawSha256.slice(0, 32)}`,
      reason,
      receivedAt: deps.clock.now().toISOString(),
      noticeId: notice?.id,
      campaignId: notice?.campaignId,
      matchedBy: match?.by,
      messageId: mail.messageId?.slice(0, 998),
      from: mail.from?.slice(0, 320),
      subject: mail.subject.slice(0, 500),
      classification,
      rawSha256,
      rawRef: options.rawRef?.slice(0, 500),
      why: why.slice(0, 500),
    });
    if (notice) {
      await appendEvent(deps, {
        campaignId: notice.campaignId,
        noticeId: notice.id,
        type: 'mail.review',
        actor: 'system',
        data: { reason, class: classification.class, why, messageSha256: rawSha256 },
      });
    }
    return { matched: !!notice, noticeId: notice?.id, by: match?.by, class: classification.class, outcome: 'review', reason: why };
  };

  if (!match) {
    deps.log.warn('inbound mail matched no notice', { messageId: mail.messageId, class: classification.class });
    return review('unmatched', `no reply token, thread or tag of ours (${classification.class}: ${classification.reason})`);
  }
  const { notice, by } = match;
  // what arrived (the hash of its exact bytes, where the host keeps them) and how it was read, before anything is done with it
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'mail.received',
    actor: 'mail',
    data: {
      messageSha256: rawSha256,
      rawRef: options.rawRef?.slice(0, 500),
      matchedBy: by,
      class: classification.class,
      reason: classification.reason.slice(0, 500),
      ...(classification.class === 'human' ? { intent: classification.intent, phrase: classification.phrase, language: classification.language } : {}),
    },
  });
  // a failed SPF/DKIM/DMARC check, or an answer from outside the contact's domain: for a person, never applied
  const suspicion = await suspicionOf(deps, mail, notice, classification.class, by);
  if (suspicion) return review('suspicious', suspicion, notice);
  switch (classification.class) {
    case 'report':
      return review('report', classification.reason, notice);
    case 'bounce':
      return applyBounce(deps, notice, by, classification, rawSha256, review);
    case 'auto-reply': {
      await recordAnswer(deps, notice.id, {
        intent: 'received',
        source: 'mail',
        from: mail.from,
        ticket: classification.ticket,
        note: `automatic reply (${classification.kind}): ${classification.reason}`.slice(0, 2000),
        answerId: `mail-${messageKey}`,
      });
      return { matched: true, noticeId: notice.id, by, class: 'auto-reply', outcome: 'answer', intent: 'received', reason: classification.reason };
    }
    case 'human': {
      if (classification.intent === 'unclear') return review('unclear', classification.reason, notice);
      // the tag and our Message-IDs derive from the notice id, which is no secret: only the token proves the
      // answer comes from someone who received the notice, so anything else is for a person to confirm
      if (by !== 'token') return review('unverified', `${classification.intent} without the reply token (matched by ${by})`, notice);
      const intent: AnswerIntent = classification.intent;
      await recordAnswer(deps, notice.id, {
        intent,
        source: 'mail',
        from: mail.from,
        ticket: classification.ticket,
        note: `matched "${classification.phrase ?? ''}"${classification.language ? ` (${classification.language})` : ''}: ${classification.text}`.slice(0, 2000),
        answerId: `mail-${messageKey}`,
      });
      return { matched: true, noticeId: notice.id, by, class: 'human', outcome: 'answer', intent, reason: classification.reason };
    }
  }
}

/**
 * Record a bounce of a notice's message and act on it (receiveMail, SES bounce events): a permanent failure of the
 * contact marks it undeliverable and escalates the open cases; a delay or a delivery notice is recorded only.
 */
export async function applyBounce(
  deps: Deps,
  notice: Notice,
  by: MatchedBy,
  bounce: Extract<Classification, { class: 'bounce' }>,
  rawSha256: string,
  review: (reason: ReviewReason, why: string, notice?: Notice) => Promise<InboundResult>,
): Promise<InboundResult> {
  const contact = notice.party.email.toLowerCase();
  const status = bounce.recipients.find((r) => r.address === contact)?.status ?? bounce.recipients.find((r) => r.status)?.status;
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'mail.bounce',
    actor: 'mail',
    data: {
      severity: bounce.severity,
      format: bounce.format,
      status,
      recipients: bounce.recipients.slice(0, 20).map((r) => ({ address: r.address, status: r.status, action: r.action })),
      messageSha256: rawSha256,
    },
  });
  const done = (reason: string): InboundResult => ({ matched: true, noticeId: notice.id, by, class: 'bounce', outcome: 'event', reason });
  if (bounce.severity !== 'permanent') return done(`${bounce.severity === 'delay' ? 'a delay warning' : 'a delivery notice'}: recorded, nothing changes`);

  const named = bounce.recipients.filter((r) => r.address);
  // a failure of some other address (an internal forward of the abuse box) says nothing sure about the contact
  if (named.length && !named.some((r) => r.address === contact && r.severity === 'permanent')) {
    return review('bounce', `a permanent failure for ${named.map((r) => r.address).join(', ')}, not the notice's contact`, notice);
  }
  // the contact answered before: a later failure (a full mailbox) does not undo that it works
  const answered = (await deps.store.listAnswers(notice.id)).some((a) => a.source === 'mail' || a.source === 'webhook' || a.source === 'link');
  if (answered) return review('bounce', 'a permanent failure for a contact that has answered this notice before', notice);

  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'contact.undeliverable',
    actor: 'mail',
    data: { party: notice.party.id, contact, status },
  });
  // the next mailbox of the same party before the next party
  const rerouted = await rerouteToNextContact(deps, notice.id, contact);
  if (rerouted) return done(`permanent failure${status ? ` ${status}` : ''}: contact undeliverable, the notice goes to ${rerouted}, the party's next mailbox`);
  const escalatedTo = await escalateUndeliverable(deps, notice.id, status);
  return done(`permanent failure${status ? ` ${status}` : ''}: contact undeliverable, ${escalatedTo === undefined ? 'the notice was no longer waiting' : `open cases escalated (${escalatedTo.length} new notices)`}`);
}

/**
 * The notice's contact cannot be reached: its open cases go to the next party of their ladder now (the
 * workflow's Undeliverable path, taken from a bounce), and the waiting workflow is woken. Returns the new
 * notices, or undefined when the notice was no longer live.
 */
async function escalateUndeliverable(deps: Deps, noticeId: string, status: string | undefined): Promise<string[] | undefined> {
  const notice = await mustGetNotice(deps, noticeId);
  if (notice.state !== 'sent') return undefined;
  const open = (await casesOf(deps, noticeId)).filter((c) => CASE_AWAITING.has(c.state) || c.state === 'open');
  const to = await escalateCases(deps, notice, open, `undeliverable${status ? ` (${status})` : ''}`);
  let token: string | undefined;
  let changed = false;
  const final = await updateNotice(deps, noticeId, (cur) => {
    if (cur.state !== 'sent') return undefined;
    // read with the change, so a token the workflow parks meanwhile is not lost
    token = cur.taskToken;
    changed = true;
    return { ...cur, state: open.length ? 'escalated' : 'closed', taskToken: undefined };
  });
  if (changed) {
    await appendEvent(deps, {
      campaignId: final.campaignId,
      noticeId,
      type: open.length ? 'notice.escalated' : 'notice.closed',
      actor: 'system',
      data: { reason: 'undeliverable', status, cases: open.length, to },
    });
  }
  if (token) await completeQuietly(deps, token, stepFor(deps, final));
  return to;
}

const OUR_MESSAGE_ID = /^<(n[0-9a-z]{16})\.(notice|reminder)\.(\d{1,4})@[^>]+>$/i;

/** The notice a message belongs to, and how that was found; undefined when nothing of ours is in it. */
async function matchNotice(deps: Deps, mail: InboundMail, c: Classification): Promise<{ notice: Notice; by: MatchedBy } | undefined> {
  // a token is unguessable: it may come from the message's own recipients or from the copy of our message it returns
  for (const address of [...new Set([...mail.to, ...c.refs.addresses])]) {
    const parsed = parseReplyAddress(deps.settings.replyMailbox, address);
    if (!parsed) continue;
    const outs = await deps.store.listOutbound(parsed.noticeId);
    if (outs.some((o) => o.tokenHash && deps.ids.tokenMatches(parsed.token, o.tokenHash))) {
      const notice = await deps.store.getNotice(parsed.noticeId);
      if (notice) return { notice, by: 'token' };
    }
  }
  for (const id of c.refs.messageIds) {
    const m = OUR_MESSAGE_ID.exec(id);
    if (!m) continue;
    const out = await deps.store.getOutbound(`${m[1]!.toLowerCase()}.${m[2]!.toLowerCase()}.${Number(m[3])}`);
    if (out && out.messageId.toLowerCase() === id.toLowerCase()) {
      const notice = await deps.store.getNotice(out.noticeId);
      if (notice) return { notice, by: 'thread' };
    }
  }
  for (const subject of [mail.subject, ...c.refs.subjects]) {
    const tagged = noticeIdFromTag(subject);
    const notice = tagged ? await deps.store.getNotice(tagged) : undefined;
    if (notice) return { notice, by: 'tag' };
  }
  return undefined;
}
