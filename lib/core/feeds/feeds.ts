import { z } from 'zod';
import { AlreadyExistsError, InvalidInputError, StaleWriteError } from '../errors.js';
import type { Campaign, TLP } from '../model.js';
import type { Deps } from '../ports.js';
import { submitCampaign } from '../campaign/index.js';

/**
 * Watching feeds: a MISP search or a TAXII collection, read again and again. Each poll asks the feed for what is
 * new since the position it reached last time (kept in the store, so a restart goes on where it stopped), makes a
 * campaign of what is new and not already handled by an open case, and leaves it waiting for a coordinator's
 * approval unless the feed is trusted. The feeds themselves are adapters (FeedReader); this decides.
 */

/** Where a campaign's indicators came from, kept so its outcome can be written back there. */
export const FeedOrigin = z.object({
  kind: z.enum(['misp', 'taxii']),
  /** the server (MISP base URL, TAXII API root); never with credentials */
  url: z.string().min(1).max(2000),
  /** what was read: events, a search, a collection */
  what: z.string().max(500),
});
export type FeedOrigin = z.infer<typeof FeedOrigin>;

/** What a feed has that is new since a position. */
export interface FeedBatch {
  /** the items as one document the intake reads (a MISP search answer, a STIX bundle) */
  readonly content: string;
  readonly format: 'misp' | 'stix';
  /** how many items (events, objects) it holds; 0: nothing new */
  readonly items: number;
  /** the position after these items, opaque to this module */
  readonly position?: string;
  /** how the campaign names its source */
  readonly sourceName: string;
}

/** A feed the watch polls (lib/adapters/misp/feed.ts, lib/adapters/taxii/feed.ts). */
export interface FeedReader {
  /** the feed's name in the configuration: the key of its position and part of its campaigns' names */
  readonly name: string;
  readonly origin: FeedOrigin;
  /** what is new since `position` (undefined: the feed's start, or what its configuration says) */
  read(position: string | undefined): Promise<FeedBatch>;
}

/** How a watched feed's campaigns are submitted. */
export interface FeedPolicy {
  /** a trusted feed's campaigns are approved at once; the others wait for a coordinator */
  readonly trusted: boolean;
  readonly submitter: string;
  /** the campaign's TLP for what the feed leaves unmarked */
  readonly tlp?: TLP;
  /** the source's permission to notify operators of AMBER material, and who granted it */
  readonly allowAmber?: string;
  readonly probes?: boolean;
}

export interface PollResult {
  readonly feed: string;
  /** items the feed had that were new (events, objects) */
  readonly items: number;
  /** the campaign made of them, when any indicator was new */
  readonly campaign?: Pick<Campaign, 'id' | 'state' | 'requireApproval'> & { readonly indicators: number };
  /** indicators left out because an open case already handles them */
  readonly alreadyOpen: number;
  /** why the new items made no campaign (nothing to notify in them), when they did not */
  readonly reason?: string;
}

const POSITION_KIND = 'feed-position';
const SOURCE_KIND = 'campaign-source';

/** Where a campaign came from, when it was read from a feed or fetched from a server. */
export async function campaignOrigin(deps: Pick<Deps, 'store'>, campaignId: string): Promise<FeedOrigin | undefined> {
  const record = await deps.store.getRecord(SOURCE_KIND, campaignId);
  if (!record) return undefined;
  const parsed = FeedOrigin.safeParse(JSON.parse(record.value));
  return parsed.success ? parsed.data : undefined;
}

/** Records where a campaign came from (the first record wins: a campaign has one source). */
export async function recordCampaignOrigin(deps: Pick<Deps, 'store'>, campaignId: string, origin: FeedOrigin): Promise<void> {
  try {
    await deps.store.putRecord({ kind: SOURCE_KIND, key: campaignId, value: JSON.stringify(FeedOrigin.parse(origin)), version: 1 }, 'absent');
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
  }
}

/**
 * Poll a feed once. The position moves on only after the campaign is stored, and the campaign's idempotency key is
 * derived from the feed, the old position and the content: a poll that died in between makes, when repeated, the
 * same campaign again instead of a second one.
 */
export async function pollFeed(deps: Deps, feed: FeedReader, policy: FeedPolicy): Promise<PollResult> {
  const stored = await deps.store.getRecord(POSITION_KIND, feed.name);
  const position = stored ? (JSON.parse(stored.value) as { position?: string }).position : undefined;
  const batch = await feed.read(position);
  let result: PollResult = { feed: feed.name, items: batch.items, alreadyOpen: 0 };
  if (batch.items > 0) {
    const key = `feed.${deps.ids.hash([feed.name, position ?? '', deps.ids.hash(batch.content)].join('\u0000')).slice(0, 48)}`;
    try {
      const submitted = await submitCampaign(deps, {
        name: `${feed.name} ${deps.clock.now().toISOString().slice(0, 16).replace('T', ' ')}`,
        submitter: policy.submitter,
        content: batch.content,
        format: batch.format,
        sourceName: batch.sourceName,
        // one bad item of a feed must not hold back the rest, nor the feed's position: it is listed instead
        skipInvalid: true,
        requireApproval: !policy.trusted,
        idempotencyKey: key,
        ...(policy.tlp ? { tlp: policy.tlp } : {}),
        ...(policy.allowAmber ? { tlpPermission: { grantedBy: policy.allowAmber } } : {}),
        ...(policy.probes === false ? { probes: false } : {}),
      });
      await recordCampaignOrigin(deps, submitted.campaign.id, feed.origin);
      const c = submitted.campaign;
      result = { ...result, campaign: { id: c.id, state: c.state, requireApproval: c.requireApproval, indicators: c.counts.indicators }, alreadyOpen: submitted.alreadyOpen.length };
    } catch (e) {
      // nothing in the batch to notify (all open already, or no indicator in it): the feed moves past it
      if (!(e instanceof InvalidInputError)) throw e;
      result = { ...result, reason: e.message, alreadyOpen: e.issues.filter((i) => i.reason.startsWith('open in campaign')).length };
    }
  }
  if (batch.position !== undefined && batch.position !== position) {
    const value = JSON.stringify({ position: batch.position, at: deps.clock.now().toISOString() });
    try {
      await deps.store.putRecord({ kind: POSITION_KIND, key: feed.name, value, version: (stored?.version ?? 0) + 1 }, stored ? stored.version : 'absent');
    } catch (e) {
      // another poller of the same feed moved it first; its campaign is the same one (same key)
      if (!(e instanceof AlreadyExistsError || e instanceof StaleWriteError)) throw e;
    }
  }
  return result;
}
