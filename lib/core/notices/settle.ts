import type { Case } from '../model.js';
import type { Deps } from '../ports.js';
import { appendEvent } from '../audit/index.js';
import { updateCampaign } from '../updates.js';

/**
 * A campaign is done when every case is finished: verified down, expired, cancelled, disputed, handed on, withheld,
 * or actioned where nothing will verify it (probes off, or every probe inconclusive). Checked when a notice ends
 * and when a takedown is verified, a page at a time, stopping at the first case still open: cheap while the
 * campaign runs, one full read when it ends. A revival sets the campaign running again.
 */

const FINISHED = new Set<Case['state']>(['verified-down', 'not-ours', 'disputed', 'cancelled', 'escalated', 'expired', 'withheld']);
// as verify/verify.ts counts them: after this many inconclusive probes a case is left actioned for the coordinator
const UNVERIFIABLE_AFTER = 3;

function finished(c: Case, probes: boolean): boolean {
  if (FINISHED.has(c.state)) return true;
  return c.state === 'actioned' && (!probes || (c.probe?.tries ?? 0) >= UNVERIFIABLE_AFTER);
}

/** Mark a running campaign done when none of its cases is left open; returns true when it did. */
export async function settleCampaign(deps: Deps, campaignId: string): Promise<boolean> {
  const campaign = await deps.store.getCampaign(campaignId);
  if (!campaign || campaign.state !== 'running') return false;
  const probes = !!deps.prober && campaign.probes !== false;
  let after: string | undefined;
  let cases = 0;
  do {
    const page = await deps.store.listCases({ campaignId }, { after, limit: 200 });
    if (page.items.some((c) => !finished(c, probes))) return false;
    cases += page.items.length;
    after = page.next;
  } while (after);
  let changed = false;
  await updateCampaign(deps, campaignId, (cur) => {
    changed = cur.state === 'running';
    return changed ? { ...cur, state: 'done' } : undefined;
  });
  if (changed) await appendEvent(deps, { campaignId, type: 'campaign.done', actor: 'system', data: { cases } });
  return changed;
}

/** A case came back after a verified takedown: its campaign runs again. */
export async function reopenCampaign(deps: Deps, campaignId: string): Promise<void> {
  let changed = false;
  await updateCampaign(deps, campaignId, (cur) => {
    changed = cur.state === 'done';
    return changed ? { ...cur, state: 'running' } : undefined;
  });
  if (changed) await appendEvent(deps, { campaignId, type: 'campaign.reopened', actor: 'system', data: { reason: 'a verified takedown came back' } });
}
