import { classifyMail, type Classification, type MailClass } from './mail/classify.js';
import { AnswerIntent, type Notice } from '../model.js';
import type { Deps, InboundMail } from '../ports.js';
import { queueForReview, type ReviewReason } from './review.js';
import { appendEvent } from '../audit/index.js';
import { suspicionOf } from './mail-auth.js';
import { recordAnswer } from './record.js';
import { rerouteToNextContact } from '../notices/index.js';
import { contactUndeliverable } from '../notices/index.js';
import { noticeIdFromTag, parseReplyAddress } from '../routing/index.js';

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
  const escalatedTo = await contactUndeliverable(deps, notice.id, status);
  return done(`permanent failure${status ? ` ${status}` : ''}: contact undeliverable, ${escalatedTo === undefined ? 'the notice was no longer waiting' : `open cases escalated (${escalatedTo.length} new notices)`}`);
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
