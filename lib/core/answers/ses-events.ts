import { applyBounce, type InboundResult } from './inbound.js';
import { parseSesNotification } from './mail/bounce.js';
import type { Classification, MailRefs } from './mail/classify.js';
import { appendEvent } from '../audit/index.js';
import type { Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { queueForReview, type ReviewReason } from './review.js';
import { noticeIdFromTag, parseReplyAddress } from '../routing/index.js';
import { findByTransportId } from '../notices/index.js';

/**
 * Amazon SES sending events (a configuration set's event destination, through SNS): a bounce or a complaint about a
 * notice we sent, named by the message id SES returned when it took the message (SES replaces our Message-ID, so
 * the reply token and the tag are not what it quotes first). Applied as a bounce by mail is:
 *  - permanent bounce: the contact is undeliverable and the open cases escalate at once (applyBounce);
 *  - transient bounce (SES gave up on a full mailbox, a refused size ...): recorded only, the notice's clock runs on;
 *  - complaint (the recipient pressed "report spam"): recorded and kept for a person to read, never an answer.
 * The events come from our own topic, which only SES may publish to, so they are trusted as they are.
 */

/** The record kind that marks an SES event as handled (SNS delivers at least once). */
export const SES_EVENT_KIND = 'ses-event';

// SNS retries for about a day at most; a week covers every redelivery
const SEEN_DAYS = 7;

export interface SesEventResult {
  readonly matched: boolean;
  readonly noticeId?: string;
  /** what SES reported: bounce (delivery failed or delayed), complaint, delivery, or what else it sent */
  readonly kind: 'bounce' | 'complaint' | 'other';
  /** event: recorded (and acted on); review: queued for a person; ignored: nothing to do; duplicate: handled before */
  readonly outcome: 'event' | 'review' | 'ignored' | 'duplicate';
  readonly reason: string;
}

interface SesMailObject {
  readonly messageId?: string;
  readonly headers?: readonly { readonly name?: string; readonly value?: string }[];
  readonly commonHeaders?: { readonly subject?: string };
}

/**
 * One SES event: the event JSON (as SNS carries it in `Message`, as text or parsed), or the whole SNS envelope.
 * `ref` says where the host keeps it (`sns:<message id>`). Safe to repeat: an event is applied once.
 */
export async function receiveSesEvent(deps: Deps, event: unknown, options: { ref?: string } = {}): Promise<SesEventResult> {
  const json = unwrap(event);
  const finding = parseSesNotification(json);
  if (!finding || typeof json !== 'object' || json === null) {
    return { matched: false, kind: 'other', outcome: 'ignored', reason: 'not an SES bounce, complaint or delivery event' };
  }
  const body = json as { mail?: SesMailObject; bounce?: { feedbackId?: string }; complaint?: { feedbackId?: string } };
  const mail = body.mail ?? {};
  const text = JSON.stringify(json);
  const rawSha256 = deps.ids.hash(text);
  const feedbackId = body.bounce?.feedbackId ?? body.complaint?.feedbackId;
  const seenKey = deps.ids.hash(`${finding.kind}:${feedbackId ?? rawSha256}`).slice(0, 40);
  const kind = finding.kind;
  if (await deps.store.getRecord(SES_EVENT_KIND, seenKey)) {
    return { matched: false, kind, outcome: 'duplicate', reason: 'this event was handled before' };
  }

  const messageId = finding.messageId ?? mail.messageId;
  const subject = mail.commonHeaders?.subject ?? header(mail, 'subject') ?? '';
  const refs: MailRefs = { messageIds: messageId ? [`<${messageId}@email.amazonses.com>`] : [], subjects: subject ? [subject.slice(0, 500)] : [], addresses: [] };
  const classification: Classification =
    finding.kind === 'bounce'
      ? { class: 'bounce', severity: finding.finding.severity, format: 'ses', recipients: finding.finding.recipients.map((r) => ({ ...r })), reason: finding.finding.reason, refs }
      : { class: 'report', format: 'ses', feedbackType: finding.feedbackType, reason: 'Amazon SES complaint event', refs };
  const notice = await noticeOf(deps, messageId, mail);

  const review = async (reason: ReviewReason, why: string, about?: Notice): Promise<InboundResult> => {
    await queueForReview(deps, {
      id: `r_${rawSha256.slice(0, 32)}`,
      reason,
      receivedAt: deps.clock.now().toISOString(),
      noticeId: about?.id,
      campaignId: about?.campaignId,
      matchedBy: about ? 'thread' : undefined,
      messageId: refs.messageIds[0],
      subject: (subject || `(Amazon SES ${kind} event)`).slice(0, 500),
      classification,
      rawSha256,
      rawRef: options.ref?.slice(0, 500),
    });
    if (about) {
      await appendEvent(deps, {
        campaignId: about.campaignId,
        noticeId: about.id,
        type: 'mail.review',
        actor: 'system',
        data: { reason, class: classification.class, why, messageSha256: rawSha256 },
      });
    }
    return { matched: !!about, noticeId: about?.id, by: about ? 'thread' : undefined, class: classification.class, outcome: 'review', reason: why };
  };

  let result: SesEventResult;
  if (!notice) {
    deps.log.warn('an SES event matched no notice', { kind, messageId });
    const r = await review('unmatched', `an SES ${kind} event for a message of no notice of ours`);
    result = { matched: false, kind, outcome: 'review', reason: r.reason };
  } else if (classification.class === 'bounce') {
    const r = await applyBounce(deps, notice, 'thread', classification, rawSha256, review);
    result = { matched: true, noticeId: notice.id, kind, outcome: r.outcome === 'review' ? 'review' : 'event', reason: r.reason };
  } else {
    const feedbackType = finding.kind === 'complaint' ? finding.feedbackType : undefined;
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId: notice.id,
      type: 'mail.complaint',
      actor: 'mail',
      data: { feedbackType, via: 'ses', messageSha256: rawSha256 },
    });
    const r = await review('complaint', `the recipient reported the notice as unwanted (${feedbackType ?? 'no feedback type'})`, notice);
    result = { matched: true, noticeId: notice.id, kind, outcome: 'review', reason: r.reason };
  }
  const expiresAt = new Date(deps.clock.now().getTime() + SEEN_DAYS * 86_400_000).toISOString();
  await deps.store.putRecord({ kind: SES_EVENT_KIND, key: seenKey, value: JSON.stringify({ kind, noticeId: notice?.id }), version: 1, expiresAt });
  return result;
}

/** The event inside an SNS envelope (or given as text), as it came. */
function unwrap(event: unknown): unknown {
  let value = event;
  for (let depth = 0; depth < 3; depth++) {
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        return undefined;
      }
      continue;
    }
    const envelope = value as { Type?: unknown; Message?: unknown } | null;
    if (envelope && envelope.Type === 'Notification' && typeof envelope.Message === 'string') {
      value = envelope.Message;
      continue;
    }
    return value;
  }
  return value;
}

function header(mail: SesMailObject, name: string): string | undefined {
  return mail.headers?.find((h) => h.name?.toLowerCase() === name)?.value;
}

/**
 * The notice a sent message belongs to: by the id SES returned for it (rememberTransportId), else by what our own
 * headers in the event say (the reply token in Reply-To, then the subject tag).
 */
async function noticeOf(deps: Deps, messageId: string | undefined, mail: SesMailObject): Promise<Notice | undefined> {
  const entry = messageId ? await findByTransportId(deps, messageId) : undefined;
  if (entry) {
    const notice = await deps.store.getNotice(entry.noticeId);
    if (notice) return notice;
  }
  for (const address of (header(mail, 'reply-to') ?? '').match(/[^\s<>,"]+@[^\s<>,"]+/g) ?? []) {
    const parsed = parseReplyAddress(deps.settings.replyMailbox, address);
    if (!parsed) continue;
    const outs = await deps.store.listOutbound(parsed.noticeId);
    if (outs.some((o) => o.tokenHash && deps.ids.tokenMatches(parsed.token, o.tokenHash))) {
      const notice = await deps.store.getNotice(parsed.noticeId);
      if (notice) return notice;
    }
  }
  const tagged = noticeIdFromTag(mail.commonHeaders?.subject ?? header(mail, 'subject') ?? '');
  return tagged ? deps.store.getNotice(tagged) : undefined;
}
