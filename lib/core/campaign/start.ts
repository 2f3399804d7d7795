import type { Deps } from '../ports.js';
import { startNoticeRun } from '../notices/index.js';
import { updateCampaign } from '../updates.js';
import { appendEvent } from '../audit/index.js';

/** Start one notice execution per notice of a page. Idempotent: execution names derive from ids. */
export async function startNotices(deps: Deps, campaignId: string, cursor?: string): Promise<{ cursor?: string; done: boolean }> {
  const page = await deps.store.listNotices({ campaignId }, { after: cursor, limit: deps.settings.pageSize });
  for (const notice of page.items) {
    if (notice.state === 'planned' || notice.state === 'sending' || notice.state === 'uncertain') {
      await startNoticeRun(deps, notice);
    }
  }
  if (page.next) return { cursor: page.next, done: false };
  let started = false;
  const campaign = await updateCampaign(deps, campaignId, (c) => {
    started = c.state === 'sending';
    return started ? { ...c, state: 'running' } : undefined;
  });
  if (started) await appendEvent(deps, { campaignId, type: 'campaign.running', actor: 'system', data: { notices: campaign.counts.notices } });
  return { done: true };
}
