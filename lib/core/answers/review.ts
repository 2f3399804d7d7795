import { z } from 'zod';
import { Classification } from './mail/classify.js';
import type { Deps, Page, PageRequest } from '../ports.js';

/**
 * The review queue: inbound messages a person must read because nothing may be applied from them on a guess —
 * a reply that matched no notice, an answer whose intent is unclear, an abuse report, a bounce that cannot be
 * applied safely (another address failed, or the contact has answered before). Items are stored, never applied; `takedown review` and `GET /reviews` list them.
 */

/** `unverified`: a message that names our notice (tag, thread) but carries no reply token: anyone can forge that */
/** `unauthenticated`: an answer that would close or hand on cases, with the token but no authenticated From (a forward) */
/** `expired`: an answer whose reply token outlived its notice (REPLY_TOKEN_GRACE_SECONDS after it finished) */
/** `needs-info`: a recipient asked a question; `takedown followup` answers it in the notice's thread */
export const ReviewReason = z.enum(['unmatched', 'unclear', 'report', 'bounce', 'unverified', 'suspicious', 'complaint', 'needs-info', 'unauthenticated', 'expired']);
export type ReviewReason = z.infer<typeof ReviewReason>;

export const ReviewItem = z.object({
  /** derived from the message, so the same message delivered twice is one item */
  id: z.string(),
  reason: ReviewReason,
  receivedAt: z.string(),
  noticeId: z.string().optional(),
  campaignId: z.string().optional(),
  /** how it was matched to its notice, when it was */
  matchedBy: z.enum(['token', 'envelope', 'thread', 'tag']).optional(),
  messageId: z.string().max(998).optional(),
  from: z.string().max(320).optional(),
  subject: z.string().max(500),
  /** what the inbound message was read as; absent for a question asked through the API, a link or a webhook */
  classification: Classification.optional(),
  /** the recipient's own words, for a question */
  note: z.string().max(2000).optional(),
  /** why it was queued rather than applied (which check failed, what was unclear), for the person reading it */
  why: z.string().max(500).optional(),
  /** sha-256 of the raw message as received */
  rawSha256: z.string(),
  /** where the host keeps the raw message (e.g. `inbox/<file>.eml`), when it told us */
  rawRef: z.string().max(500).optional(),
});
export type ReviewItem = z.infer<typeof ReviewItem>;

/** Put a message on the review queue (once per message). Returns false when it was queued before. */
export async function queueForReview(deps: Pick<Deps, 'store'>, item: ReviewItem): Promise<boolean> {
  return deps.store.putReview(ReviewItem.parse(item));
}

/** The review queue in the order messages arrived. */
export async function listReviews(deps: Pick<Deps, 'store'>, page?: PageRequest): Promise<Page<ReviewItem>> {
  const stored = await deps.store.listReviews(page);
  return { ...stored, items: stored.items.map((item) => ReviewItem.parse(item)) };
}
