import { z } from 'zod';
import { Classification } from './mail/classify.js';
import { AnswerIntent, actorOf, type ActorLike } from '../model.js';
import { AlreadyExistsError, TakedownError } from '../errors.js';
import type { Deps, Page, PageRequest, StoredRecord } from '../ports.js';
import { listAll } from '../paging.js';

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

/** The kind of the store records that hold the decisions about review items (one per item, written once). */
export const RESOLUTION_KIND = 'review-resolution';

/**
 * What became of an item: a person applied it as an answer or dismissed it, or it was `settled` by what happened
 * to its notice (the coordinator answered the question in the thread, or the recipient answered again).
 */
export const ReviewResolution = z.object({
  itemId: z.string(),
  action: z.enum(['applied', 'dismissed', 'settled']),
  intent: AnswerIntent.optional(),
  noticeId: z.string().optional(),
  /** the answer it became (applied), or the answer that settled it */
  answerId: z.string().optional(),
  /** the principal who decided (for `settled`: who answered) */
  by: z.string(),
  /** whom they said they acted for */
  onBehalfOf: z.string().max(200).optional(),
  at: z.string(),
  note: z.string().max(2000).optional(),
  /** for `settled`: what settled it, in words ("answered by follow-up 1", "the recipient acknowledged") */
  how: z.string().max(300).optional(),
});
export type ReviewResolution = z.infer<typeof ReviewResolution>;

/** The item was decided before, the other way: a second decision would contradict the record. */
export class ReviewResolvedError extends TakedownError {
  constructor(id: string, action: string) {
    super('REVIEW.ALREADY_RESOLVED', `review item ${id} was ${action} already`);
    this.name = 'ReviewResolvedError';
  }
}

/** The decision recorded for an item, if any. */
export async function reviewResolution(deps: Pick<Deps, 'store'>, id: string): Promise<ReviewResolution | undefined> {
  const record = await deps.store.getRecord(RESOLUTION_KIND, id);
  return record && ReviewResolution.parse(JSON.parse(record.value));
}

/** Record a decision once; of two at once the first stands (the same decision twice is no contradiction). */
export async function recordResolution(deps: Pick<Deps, 'store'>, resolution: ReviewResolution): Promise<ReviewResolution> {
  const stored: StoredRecord = { kind: RESOLUTION_KIND, key: resolution.itemId, value: JSON.stringify(ReviewResolution.parse(resolution)), version: 1 };
  try {
    await deps.store.putRecord(stored, 'absent');
    return resolution;
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
    const first = (await reviewResolution(deps, resolution.itemId))!;
    if (first.action !== resolution.action) throw new ReviewResolvedError(resolution.itemId, first.action);
    return first;
  }
}

/** The idempotency key of the answer a review item becomes when a person applies it. */
export function reviewAnswerKey(itemId: string): string {
  return `review-${itemId.replace(/[^A-Za-z0-9.:-]/g, '-')}`.slice(0, 100);
}

/**
 * Settle the open questions of a notice: its `needs-info` items nobody decided yet are closed, recorded as
 * settled by `by` and `how`. Called when the coordinator answers in the thread, and when the recipient answers
 * again (acknowledged, taken down, not ours, disputed): the question no longer waits for anyone. The item being
 * applied as that very answer (`answerId`) is left to its own decision.
 */
export async function settleQuestions(
  deps: Pick<Deps, 'store' | 'clock'>,
  noticeId: string,
  input: { by: ActorLike; how: string; answerId?: string },
): Promise<ReviewResolution[]> {
  const questions = (await listAll((p) => listReviews(deps, p))).filter((r) => r.reason === 'needs-info' && r.noticeId === noticeId);
  const who = actorOf(input.by);
  const settled: ReviewResolution[] = [];
  for (const item of questions) {
    if (input.answerId && input.answerId === `${noticeId}:${reviewAnswerKey(item.id)}`) continue;
    if (await reviewResolution(deps, item.id)) continue;
    try {
      settled.push(
        await recordResolution(deps, {
          itemId: item.id,
          action: 'settled',
          noticeId,
          by: who.name,
          ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}),
          ...(input.answerId ? { answerId: input.answerId } : {}),
          at: deps.clock.now().toISOString(),
          how: input.how.slice(0, 300),
        }),
      );
    } catch (e) {
      // a person decided it meanwhile: their decision stands
      if (!(e instanceof ReviewResolvedError)) throw e;
    }
  }
  return settled;
}
