import { z } from 'zod';
import { Classification } from './classify.js';
import type { Deps, Page, PageRequest } from './ports.js';

/**
 * The review queue: inbound messages a person must read because nothing may be applied from them on a guess —
 * a reply that matched no notice, an answer whose intent is unclear, an abuse report, a bounce that cannot be
 * applied safely (another address failed, or the contact has answered before). Items are stored, never applied; `takedown review` and `GET /reviews` list them.
 */

/** `unverified`: a human answer that names our notice (tag, thread) but carries no reply token: anyone can forge that */
export const ReviewReason = z.enum(['unmatched', 'unclear', 'report', 'bounce', 'unverified']);
export type ReviewReason = z.infer<typeof ReviewReason>;

export const ReviewItem = z.object({
  /** derived from the message, so the same message delivered twice is one item */
  id: z.string(),
  reason: ReviewReason,
  receivedAt: z.string(),
  noticeId: z.string().optional(),
  campaignId: z.string().optional(),
  /** how it was matched to its notice, when it was */
  matchedBy: z.enum(['token', 'thread', 'tag']).optional(),
  messageId: z.string().max(998).optional(),
  from: z.string().max(320).optional(),
  subject: z.string().max(500),
  classification: Classification,
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
export function listReviews(deps: Pick<Deps, 'store'>, page?: PageRequest): Promise<Page<ReviewItem>> {
  return deps.store.listReviews(page);
}
