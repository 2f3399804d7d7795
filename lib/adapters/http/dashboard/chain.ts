import { verifyCampaign } from '../../../core/audit/index.js';
import type { Deps, Store } from '../../../core/ports.js';

/** What the dashboard says about a campaign's audit chain. */
export type ChainStatus =
  | { readonly state: 'not-checked'; readonly reason: string }
  | { readonly state: 'intact'; readonly events: number; readonly checkedAt: string }
  | { readonly state: 'broken'; readonly reason: string; readonly eventId?: string };

// a 20,000-case campaign has 20,000 chains: a page view reuses a recent verdict instead of reading them all again
const FRESH_MS = 60_000;
const recent = new WeakMap<Store, Map<string, { at: number; status: ChainStatus }>>();

/**
 * The audit chain status of a campaign, as the campaign and case pages show it: every chain of the campaign
 * recomputed by `verifyCampaign` (lib/core/audit.ts), the verdict reused for a minute (its time is shown).
 */
export async function chainStatusFor(deps: Deps, campaignId: string): Promise<ChainStatus> {
  let cache = recent.get(deps.store);
  if (!cache) recent.set(deps.store, (cache = new Map()));
  const hit = cache.get(campaignId);
  if (hit && Date.now() - hit.at < FRESH_MS) return hit.status;
  let status: ChainStatus;
  try {
    const report = await verifyCampaign(deps, campaignId);
    const b = report.broken;
    // checkedAt in domain time, like every other time on the page
    if (report.ok) status = { state: 'intact', events: report.events, checkedAt: deps.clock.now().toISOString() };
    else if (b) status = { state: 'broken', reason: `${b.kind} in ${b.chain} at ${b.seq}: ${b.detail}`, ...(b.eventId ? { eventId: b.eventId } : {}) };
    else status = { state: 'broken', reason: `${report.brokenChains} broken chains` };
  } catch (e) {
    deps.log.error('audit chain check failed', { campaign: campaignId, error: (e as Error).name });
    return { state: 'not-checked', reason: 'the check could not read the audit trail' };
  }
  cache.set(campaignId, { at: Date.now(), status });
  return status;
}
