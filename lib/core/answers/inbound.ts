import { classifyMail, type Classification, type MailClass } from './mail/classify.js';
import { AnswerIntent, type Notice, type Refusal } from '../model.js';
import type { Deps, InboundMail } from '../ports.js';
import { queueForReview, type ReviewReason } from './review.js';
import { appendEvent } from '../audit/index.js';
import { checkSender, senderFits } from './mail-auth.js';
import { authenticatedBy, CLOSING_INTENTS, replyTokenExpiresAt } from './proof.js';
import { recordAnswer } from './record.js';
import { contactUndeliverable, holdForRefusal, provenDelivered, refusalScope, rerouteToNextContact, resendSmaller } from '../notices/index.js';
import { updateNotice } from '../updates.js';
import { noticeIdFromTag, parseReplyAddress, parseVerpAddress } from '../routing/index.js';

/**
 * How an inbound message was tied to its notice: the reply token in one of its addresses (or in the copy of our
 * notice it returns), the token of our envelope sender (VERP) it was delivered to, our Message-ID in its thread,
 * the subject tag. Only `token` and `envelope` prove the writer received the notice (see proof.ts).
 */
export type MatchedBy = 'token' | 'envelope' | 'thread' | 'tag';

/** Whether a match proves that the message's writer received the notice: only a secret does. */
function proves(by: MatchedBy): boolean {
  return by === 'token' || by === 'envelope';
}

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
 * An inbound message: classify it, match it to its notice (our envelope sender it was delivered to, the reply
 * token in an address, our Message-ID in its thread, the subject tag: in the message itself or in the copy of our
 * notice it returns or quotes), then apply it. Nothing matched without a token (envelope or reply address) is
 * applied, nor anything whose token expired, nor a suspicious sender (see proof.ts and mail-auth.ts):
 * - bounce: recorded; a permanent failure for the notice's contact, sent to our envelope sender (or returning the
 *   token authenticated from the contact's domain), marks the contact undeliverable and escalates the open cases
 *   to the next party at once; a delay warning or a delivery notice changes nothing;
 * - report: kept for review, never an answer;
 * - auto-reply: the cases are marked received (never acknowledged), the recipient's ticket number kept;
 * - human: the intent is applied with the phrase that carried it; an unclear answer goes to review, and so does
 *   one that would close or hand on cases from an unauthenticated From.
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
  // a token only one message held: that message was delivered, whatever its hand-over said, and whatever this says
  if (match.outboundId) await provenDelivered(deps, match.outboundId, by === 'envelope' ? 'a report came back to its envelope sender' : 'a reply carried its reply token');
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
  // the tag and our Message-IDs derive from the notice id, which every notice prints: they find the notice, but
  // anyone could have written what carries only them
  if (!proves(by) && classification.class !== 'report') {
    const what = classification.class === 'human' ? classification.intent : classification.class;
    return review('unverified', `${what} without the reply token (matched by ${by}): anyone can write that`, notice);
  }
  // a token keeps proving receipt while the notice waits and for a grace period after; a later answer is a person's to weigh
  const expiresAt = replyTokenExpiresAt(notice);
  if (expiresAt !== undefined && deps.clock.now().toISOString() > expiresAt && classification.class !== 'report') {
    return review('expired', `the reply token expired at ${expiresAt} (the notice is ${notice.state})`, notice);
  }
  // a failed SPF/DKIM/DMARC check, or an answer from outside the contact's domain: for a person, never applied
  const sender = await checkSender(deps, mail, notice, classification.class);
  if (sender.suspicion) return review('suspicious', sender.suspicion, notice);
  const authenticated = authenticatedBy(sender.verdicts);
  switch (classification.class) {
    case 'report':
      return review('report', classification.reason, notice);
    case 'bounce': {
      // a report sent to our envelope sender came through the mail system that carried the notice: that address
      // is in no copy of the notice. One that returns the reply token may come from anyone the notice was
      // forwarded to, so it must come authenticated from the contact's own mail domain to hand the cases on.
      if (classification.severity === 'permanent' && by !== 'envelope') {
        const fit = senderFits(mail.from, notice.party, deps.mailAuth ? (h) => deps.mailAuth!.registrableDomain(h) : undefined);
        if (!authenticated || !fit.fits) {
          return review('unverified', `a permanent failure returning the reply token, not sent to our envelope sender, ${!authenticated ? 'from an unauthenticated sender' : `from outside the contact's domain (${fit.why})`}`, notice);
        }
      }
      return applyBounce(deps, notice, by, classification, rawSha256, review);
    }
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
      const intent: AnswerIntent = classification.intent;
      // the token travels with every forward of the notice: closing a case or handing it on takes a From that is proved
      if (CLOSING_INTENTS.has(intent) && !authenticated) {
        return review('unauthenticated', `${intent} from an unauthenticated sender (no DMARC pass or aligned DKIM signature): the reply token alone travels with every forward`, notice);
      }
      await recordAnswer(deps, notice.id, {
        intent,
        source: 'mail',
        from: mail.from,
        ticket: classification.ticket,
        note: `matched "${classification.phrase ?? ''}"${classification.language ? ` (${classification.language})` : ''}${authenticated ? `, ${authenticated}` : ''}: ${classification.text}`.slice(0, 2000),
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

  // whose fault it is, as a refusal to RCPT would say (a report speaks of one recipient): only a dead mailbox moves
  // the notice on; too big for a server on the way, it goes again smaller; refused by policy, a person looks
  const reported = bounce.recipients.find((r) => r.address === contact) ?? bounce.recipients.find((r) => r.status);
  const diagnostic = reported?.diagnostic;
  const code = Number(/\b([45]\d\d)\b/.exec(diagnostic ?? '')?.[1]) || undefined;
  const read = refusalScope(code, status, 'RCPT', diagnostic);
  const refusal: Refusal = {
    at: deps.clock.now().toISOString(),
    // a delivery report says a server past our relay refused: nothing about our own account, whatever its words
    scope: read === 'sender' ? 'policy' : read,
    ...(code ? { code } : {}),
    ...(status ? { enhanced: status.slice(0, 20) } : {}),
    ...(diagnostic ? { text: diagnostic.replace(/\s+/g, ' ').trim().slice(0, 300) } : {}),
    step: 'dsn',
  };
  if (refusal.scope === 'message') {
    const limit = Number(/(\d{5,})\s*(?:bytes|octets)/i.exec(diagnostic ?? '')?.[1]) || undefined;
    const resent = await resendSmaller(deps, notice.id, refusal, limit);
    return done(`refused for its size by a server on the way${status ? ` (${status})` : ''}: ${resent ? 'sent again in smaller parts' : 'held for a person'}`);
  }
  if (refusal.scope === 'policy') {
    await holdForRefusal(deps, notice.id, refusal);
    return done(`refused by a server's policy${status ? ` (${status})` : ''}: held for a person, nothing escalates`);
  }
  await updateNotice(deps, notice.id, (cur) => ({ ...cur, refusal }));
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'contact.undeliverable',
    actor: 'mail',
    data: { party: notice.party.id, contact, status, refusal },
  });
  // the next mailbox of the same party before the next party
  const rerouted = await rerouteToNextContact(deps, notice.id, contact);
  if (rerouted) return done(`permanent failure${status ? ` ${status}` : ''}: contact undeliverable, the notice goes to ${rerouted}, the party's next mailbox`);
  const escalatedTo = await contactUndeliverable(deps, notice.id, status);
  return done(`permanent failure${status ? ` ${status}` : ''}: contact undeliverable, ${escalatedTo === undefined ? 'the notice was no longer waiting' : `open cases escalated (${escalatedTo.length} new notices)`}`);
}

const OUR_MESSAGE_ID = /^<(n[0-9a-z]{16})\.(notice|reminder)\.(\d{1,4})@[^>]+>$/i;

/** The notice a message belongs to, and how that was found; undefined when nothing of ours is in it. */
async function matchNotice(deps: Deps, mail: InboundMail, c: Classification): Promise<{ notice: Notice; by: MatchedBy; outboundId?: string } | undefined> {
  // our envelope sender: delivery reports and auto-replies go back to it (RFC 3464, RFC 3834), and no copy of
  // the notice a person sees or forwards carries it in a place a reply would reach
  for (const address of mail.to) {
    const parsed = parseVerpAddress(deps.settings.replyMailbox, address);
    if (parsed) {
      const found = await tokenNotice(deps, parsed.noticeId, parsed.token);
      if (found) return { ...found, by: 'envelope' };
    }
  }
  // a token is unguessable: it may come from the message's own recipients or from the copy of our message it returns
  for (const address of [...new Set([...mail.to, ...c.refs.addresses])]) {
    const parsed = parseReplyAddress(deps.settings.replyMailbox, address);
    if (!parsed) continue;
    const found = await tokenNotice(deps, parsed.noticeId, parsed.token);
    if (found) return { ...found, by: 'token' };
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

/** The notice whose message carried this token (compared in constant time with each stored hash), and that message. */
async function tokenNotice(deps: Deps, noticeId: string, token: string): Promise<{ notice: Notice; outboundId: string } | undefined> {
  const outs = await deps.store.listOutbound(noticeId);
  // every hash is compared, so how long the answer takes says nothing about which message's token was close
  const matches = outs.map((o) => (o.tokenHash ? deps.ids.tokenMatches(token, o.tokenHash) : false));
  const at = matches.indexOf(true);
  const notice = at >= 0 ? await deps.store.getNotice(noticeId) : undefined;
  return notice ? { notice, outboundId: outs[at]!.id } : undefined;
}
