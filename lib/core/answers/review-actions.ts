import { InvalidInputError, NotFoundError } from '../errors.js';
import { AnswerIntent, actorOf, type ActorLike } from '../model.js';
import type { Deps } from '../ports.js';
import { listAll } from '../paging.js';
import { recordAnswer } from './record.js';
import { appendEvent } from '../audit/index.js';
import { listReviews, recordResolution, reviewAnswerKey, reviewResolution, ReviewResolvedError, RESOLUTION_KIND, ReviewResolution, type ReviewItem } from './review.js';

/**
 * What a person decided about a message on the review queue: apply it as an answer (with the intent they read in
 * it) or dismiss it. The queue itself is append-only; a decision is a record beside it, written once.
 */

export { ReviewResolution, ReviewResolvedError, reviewResolution };

/** One item of the review queue by its id. */
export async function findReview(deps: Pick<Deps, 'store'>, id: string): Promise<ReviewItem | undefined> {
  return (await listAll((p) => listReviews(deps, p))).find((r) => r.id === id);
}

export interface ReviewQueue {
  /** items nobody decided yet, in the order received */
  readonly open: ReviewItem[];
  readonly resolved: { readonly item: ReviewItem; readonly resolution: ReviewResolution }[];
}

/** The whole queue, split into what still waits for a person and what was decided (or settled). */
export async function reviewQueue(deps: Pick<Deps, 'store'>): Promise<ReviewQueue> {
  const [items, records] = await Promise.all([
    listAll((p) => listReviews(deps, p)),
    listAll((p) => deps.store.listRecords(RESOLUTION_KIND, p)),
  ]);
  const decided = new Map(records.map((r) => [r.key, ReviewResolution.parse(JSON.parse(r.value))]));
  const open: ReviewItem[] = [];
  const resolved: { item: ReviewItem; resolution: ReviewResolution }[] = [];
  for (const item of items) {
    const resolution = decided.get(item.id);
    if (resolution) resolved.push({ item, resolution });
    else open.push(item);
  }
  return { open, resolved };
}

/** One item and the decision about it, if any; NotFoundError when there is no such item. */
export async function reviewItem(deps: Pick<Deps, 'store'>, id: string): Promise<{ item: ReviewItem; resolution?: ReviewResolution }> {
  const item = await mustFind(deps, id);
  const resolution = await reviewResolution(deps, id);
  return { item, ...(resolution ? { resolution } : {}) };
}

async function mustFind(deps: Pick<Deps, 'store'>, id: string): Promise<ReviewItem> {
  const item = await findReview(deps, id);
  if (!item) throw new NotFoundError('review', id.slice(0, 64));
  return item;
}

/**
 * Apply a queued message as the answer a person read in it: recorded as a `manual` answer from that person on
 * the item's notice (or the notice they name for an unmatched message), applied once however often it is sent.
 * `by` is the principal who decided (and whom they acted for).
 */
export async function applyReview(
  deps: Deps,
  itemId: string,
  input: { intent: string; by: ActorLike; noticeId?: string; note?: string },
): Promise<ReviewResolution> {
  const item = await mustFind(deps, itemId);
  const done = await reviewResolution(deps, itemId);
  if (done) {
    if (done.action !== 'applied') throw new ReviewResolvedError(itemId, done.action);
    return done;
  }
  const intent = AnswerIntent.safeParse(input.intent);
  if (!intent.success) throw new InvalidInputError('choose what the message says', [{ where: 'intent', reason: `one of ${AnswerIntent.options.join(', ')}` }]);
  const noticeId = item.noticeId ?? input.noticeId?.trim().replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
  if (!noticeId) throw new InvalidInputError('this message matched no notice: name the notice it answers', [{ where: 'noticeId', reason: 'required' }]);
  const note = input.note?.trim().slice(0, 1500);
  const who = actorOf(input.by);
  const result = await recordAnswer(
    deps,
    noticeId,
    {
      intent: intent.data,
      source: 'manual',
      from: who.name,
      note: `read by a person in review item ${item.id} (${item.reason})${note ? `: ${note}` : ''}`,
      // derived from the item, so a double click or a retried form applies it once
      answerId: reviewAnswerKey(item.id),
    },
    who,
  );
  const resolution = await recordResolution(deps, {
    itemId,
    action: 'applied',
    intent: intent.data,
    noticeId,
    answerId: result.answer.id,
    by: who.name,
    ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}),
    at: deps.clock.now().toISOString(),
    ...(note ? { note } : {}),
  });
  await appendEvent(deps, {
    campaignId: result.notice.campaignId,
    noticeId,
    type: 'review.applied',
    actor: who.name,
    data: { review: item.id, reason: item.reason, intent: intent.data, answer: result.answer.id, messageSha256: item.rawSha256, ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}) },
  });
  return resolution;
}

/** Set a queued message aside: nothing is applied; the decision and who made it are recorded. */
export async function dismissReview(deps: Deps, itemId: string, input: { by: ActorLike; note?: string }): Promise<ReviewResolution> {
  const item = await mustFind(deps, itemId);
  const note = input.note?.trim().slice(0, 2000);
  const before = await reviewResolution(deps, itemId);
  if (before) {
    if (before.action !== 'dismissed') throw new ReviewResolvedError(itemId, before.action);
    return before;
  }
  const who = actorOf(input.by);
  const resolution = await recordResolution(deps, {
    itemId,
    action: 'dismissed',
    by: who.name,
    ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}),
    at: deps.clock.now().toISOString(),
    ...(item.noticeId ? { noticeId: item.noticeId } : {}),
    ...(note ? { note } : {}),
  });
  if (item.campaignId) {
    await appendEvent(deps, {
      campaignId: item.campaignId,
      ...(item.noticeId ? { noticeId: item.noticeId } : {}),
      type: 'review.dismissed',
      actor: who.name,
      data: { review: item.id, reason: item.reason, messageSha256: item.rawSha256, ...(note ? { note } : {}), ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}) },
    });
  }
  return resolution;
}
