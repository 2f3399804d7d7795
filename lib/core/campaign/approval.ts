import type { Deps } from '../ports.js';
import { updateCampaign } from '../updates.js';
import { actorFields, actorOf, type ActorLike, type Campaign } from '../model.js';
import { CampaignStateError } from '../errors.js';
import { appendEvent } from '../audit/index.js';
import { completeQuietly } from '../executions.js';

/**
 * The coordinator's approval of a routing plan: the campaign workflow waits for it, or for a cancel.
 */

/** The campaign workflow parks its approval token here; completes at once if the decision was already made. */
export async function awaitApproval(deps: Deps, campaignId: string, taskToken: string): Promise<Record<string, never>> {
  let decided: 'send' | 'stopped' | undefined;
  await updateCampaign(deps, campaignId, (c) => {
    decided = c.state === 'cancelled' ? 'stopped' : c.state !== 'awaiting-approval' ? 'send' : undefined;
    return decided ? undefined : { ...c, approvalToken: taskToken };
  });
  if (decided) await deps.workflows.succeed(taskToken, { next: decided });
  return {};
}

/** A coordinator approves the routing plan: the campaign workflow goes on to send. */
export async function approveCampaign(deps: Deps, campaignId: string, approver: ActorLike): Promise<Campaign> {
  const who = actorOf(approver);
  let waiting: string | undefined;
  let changed = false;
  const now = deps.clock.now().toISOString();
  const campaign = await updateCampaign(deps, campaignId, (c) => {
    waiting = c.approvalToken;
    changed = false;
    if (c.approvedAt) return undefined;
    if (c.state !== 'routing' && c.state !== 'awaiting-approval') throw new CampaignStateError(campaignId, c.state, 'approve');
    changed = true;
    // approved while still routing: the plan step will not wait for an approval
    return { ...c, state: c.state === 'routing' ? 'routing' : 'sending', approvedAt: now, approvedBy: who.name, ...(who.onBehalfOf ? { approvedOnBehalfOf: who.onBehalfOf } : {}), approvalToken: undefined };
  });
  if (!changed) return campaign;
  const audit = actorFields(who);
  await appendEvent(deps, { campaignId, type: 'campaign.approved', actor: audit.actor, data: { notices: campaign.counts.notices, ...audit.data } });
  if (waiting) await completeQuietly(deps, waiting, { next: 'send' });
  return campaign;
}

/** A coordinator cancels a campaign that has not started sending. */
export async function cancelCampaign(deps: Deps, campaignId: string, by: ActorLike, reason?: string): Promise<Campaign> {
  let waiting: string | undefined;
  let changed = false;
  const campaign = await updateCampaign(deps, campaignId, (c) => {
    waiting = c.approvalToken;
    changed = false;
    if (c.state === 'cancelled') return undefined;
    if (c.state !== 'routing' && c.state !== 'awaiting-approval') {
      throw new CampaignStateError(campaignId, c.state, 'cancel (notices are already out)');
    }
    changed = true;
    return { ...c, state: 'cancelled', approvalToken: undefined };
  });
  if (!changed) return campaign;
  const audit = actorFields(by);
  await appendEvent(deps, { campaignId, type: 'campaign.cancelled', actor: audit.actor, data: { ...(reason ? { reason } : {}), ...audit.data } });
  if (waiting) await completeQuietly(deps, waiting, { next: 'stopped' });
  return campaign;
}
