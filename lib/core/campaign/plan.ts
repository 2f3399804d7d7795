import type { Deps } from '../ports.js';
import { mustGetCampaign } from './records.js';
import { engineWait } from '../executions.js';
import { NoticeGrouper } from '../notices/index.js';
import { updateCampaign } from '../updates.js';
import { appendEvent } from '../audit/index.js';

/** How long an approval wait lasts before it is re-checked, in domain seconds. */
const APPROVAL_SLICE = 7 * 86400;

/** Group a campaign's first-rung cases into one notice per recipient and fix the plan. Idempotent. */
export async function buildNotices(deps: Deps, campaignId: string): Promise<{ next: 'approve' | 'send' | 'stopped'; seconds: number }> {
  let campaign = await mustGetCampaign(deps.store, campaignId);
  const seconds = engineWait(deps, APPROVAL_SLICE);
  if (campaign.state === 'cancelled') return { next: 'stopped', seconds };
  if (campaign.state !== 'routing') {
    return { next: campaign.state === 'awaiting-approval' ? 'approve' : 'send', seconds };
  }
  // a page at a time: 200,000 cases with their ladders do not fit in memory at once
  const grouper = new NoticeGrouper(deps, campaignId);
  let caseCount = 0;
  let withheld = 0;
  let after: string | undefined;
  do {
    const page = await deps.store.listCases({ campaignId }, { after, limit: 1000 });
    for (const c of page.items) {
      caseCount++;
      if (c.step !== 0) continue;
      if (c.state === 'withheld') withheld++;
      grouper.add(c);
    }
    after = page.next;
  } while (after);
  const notices = grouper.notices();
  await deps.store.putNotices(notices);

  // before the plan is fixed every case is its indicator's first rung: one case per routed indicator
  const routed = caseCount;
  let planned = false;
  campaign = await updateCampaign(deps, campaignId, (cur) => {
    planned = cur.state === 'routing';
    if (!planned) return undefined;
    const wait = cur.requireApproval && !cur.approvedAt;
    return {
      ...cur,
      state: wait ? 'awaiting-approval' : 'sending',
      counts: { ...cur.counts, unroutable: cur.counts.indicators - routed, cases: caseCount, notices: notices.length, withheld },
    };
  });
  // someone else (a retried step) built the plan in between: report what it decided
  if (!planned) return { next: campaign.state === 'awaiting-approval' ? 'approve' : campaign.state === 'cancelled' ? 'stopped' : 'send', seconds };
  await appendEvent(deps, {
    campaignId,
    type: 'campaign.planned',
    actor: 'system',
    data: { cases: caseCount, notices: notices.length, unroutable: campaign.counts.unroutable, withheld, awaitingApproval: campaign.state === 'awaiting-approval' },
  });
  return { next: campaign.state === 'awaiting-approval' ? 'approve' : 'send', seconds };
}
