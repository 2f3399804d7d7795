import { z } from 'zod';
import { InvalidInputError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { pollFeed, type PollResult } from '../../core/feeds/index.js';
import type { ConfiguredFeed } from './config.js';

/**
 * The watch on AWS: a handler an EventBridge Scheduler schedule invokes (one schedule per feed, its input
 * `{"feed": "<name>"}`; no input polls every feed). The position of each feed is in the table, as on the embedded
 * host, so a schedule that fires twice or late loses and repeats nothing. One feed failing does not stop the
 * others; the invocation fails (and the scheduler's retry policy and dead-letter queue take over) when any did.
 */

/** What the schedule sends. */
export const FeedPollEvent = z.object({ feed: z.string().min(1).max(64).optional() }).loose();

export interface FeedPollOutcome {
  readonly results: readonly PollResult[];
  readonly failed: readonly { readonly feed: string; readonly error: string }[];
}

/** A feed that could not be polled this time. */
export class FeedPollError extends Error {
  constructor(readonly outcome: FeedPollOutcome) {
    super(`feeds not polled: ${outcome.failed.map((f) => `${f.feed} (${f.error})`).join('; ')}`);
    this.name = 'FeedPollError';
  }
}

/** Poll the named feed (or every feed) once; what each poll made, and what failed. */
export async function pollFeeds(deps: Deps, feeds: readonly ConfiguredFeed[], only?: string): Promise<FeedPollOutcome> {
  const chosen = only === undefined ? feeds : feeds.filter((f) => f.reader.name === only);
  if (only !== undefined && chosen.length === 0) throw new InvalidInputError(`no feed named ${only}`, [{ where: 'feed', reason: `one of ${feeds.map((f) => f.reader.name).join(', ')}` }]);
  const results: PollResult[] = [];
  const failed: { feed: string; error: string }[] = [];
  for (const f of chosen) {
    try {
      const result = await pollFeed(deps, f.reader, f.policy);
      results.push(result);
      deps.log.info('feed polled', { feed: result.feed, items: result.items, campaignId: result.campaign?.id, awaitingApproval: result.campaign?.requireApproval, alreadyOpen: result.alreadyOpen, ...(result.reason ? { reason: result.reason } : {}) });
    } catch (e) {
      failed.push({ feed: f.reader.name, error: (e as Error).message.slice(0, 300) });
      deps.log.error('feed poll failed', { feed: f.reader.name, error: (e as Error).message.slice(0, 300) });
    }
  }
  return { results, failed };
}

/** The Lambda handler for the schedules, over the host's deps and the configured feeds (both built once). */
export function feedPollHandler(options: { deps: () => Deps; feeds: () => readonly ConfiguredFeed[] }): (event: unknown) => Promise<FeedPollOutcome> {
  return async (event) => {
    const parsed = FeedPollEvent.safeParse(event ?? {});
    if (!parsed.success) throw new InvalidInputError('the schedule\'s input is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(input)', reason: i.message })));
    const outcome = await pollFeeds(options.deps(), options.feeds(), parsed.data.feed);
    if (outcome.failed.length) throw new FeedPollError(outcome);
    return outcome;
  };
}
