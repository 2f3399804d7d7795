import type { AnswerIntent, Notice } from '../model.js';
import type { MailAuthVerdicts } from '../ports.js';

/**
 * What an inbound message must prove before it may change a case. Two questions, asked separately:
 *  - did its writer receive the notice? Only a secret says so: the reply token in our reply address, or in the
 *    envelope sender (VERP) a delivery report or an RFC 3834 auto-reply is sent back to. The subject tag and our
 *    Message-IDs derive from the notice id, which every notice prints: they find the notice, they prove nothing;
 *  - is its From address who it says? Only an authenticated From says so (DMARC pass, or a DKIM signature of the
 *    From domain that verifies). A token travels with every forward of a notice; an authenticated From does not.
 * An answer that would close a case or hand it to someone else needs both; one that only moves the clock needs
 * the token (and a sender that fits the contact, see senderFits).
 */

/** How long after a notice is finished its reply token still proves anything: late answers are for a person. */
export const REPLY_TOKEN_GRACE_SECONDS = 30 * 86_400;

// a notice in one of these states waits on nobody; its token's life ends a grace period after that
const FINISHED_NOTICE = new Set(['closed', 'escalated', 'cancelled']);

/**
 * The time a notice's reply token stops counting as proof: its final deadline (or the moment it finished, when
 * that is later) plus the grace period. Undefined while the notice still waits for its answer: it never expires
 * under a waiting recipient.
 */
export function replyTokenExpiresAt(notice: Pick<Notice, 'state' | 'deadline' | 'updatedAt'>, graceSeconds = REPLY_TOKEN_GRACE_SECONDS): string | undefined {
  if (!FINISHED_NOTICE.has(notice.state)) return undefined;
  const ends = Math.max(Date.parse(notice.deadline ?? notice.updatedAt), Date.parse(notice.updatedAt));
  return Number.isFinite(ends) ? new Date(ends + graceSeconds * 1000).toISOString() : undefined;
}

/**
 * Why the From of a message is authenticated, or undefined when nothing proves it. mailauth's DKIM verdict speaks
 * of signatures aligned with the From domain only (verdictsFromMailauth); SES's does not say whose signature it
 * checked, so from SES only DMARC counts. SPF alone proves the envelope domain, which anyone chooses.
 */
export function authenticatedBy(v: MailAuthVerdicts): string | undefined {
  if (v.dmarc === 'pass') return `DMARC pass${v.by ? ` (${v.by})` : ''}`;
  if (v.dkim === 'pass' && v.by === 'mailauth') return 'a DKIM signature of the From domain verifies (mailauth)';
  return undefined;
}

/** Intents that close a case or send it on to the next party: never applied on an unauthenticated From. */
export const CLOSING_INTENTS: ReadonlySet<AnswerIntent> = new Set<AnswerIntent>(['actioned', 'not-ours', 'disputed']);
