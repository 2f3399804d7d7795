import type { NoticeState } from '../model.js';
import type { Deps } from '../ports.js';
import { executionName } from '../executions.js';
import { listAll } from '../paging.js';
import { resendUnsent, startNoticeRun } from '../notices/index.js';
import { applyAnswer } from '../answers/index.js';
import { resumeVerification } from '../verify/index.js';

const LIVE_NOTICE_STATES: readonly NoticeState[] = ['planned', 'sending', 'uncertain', 'sent'];

export interface ResumeReport {
  readonly campaigns: number;
  readonly notices: number;
  readonly answersApplied: number;
  /** notices whose verification or revival watch started again */
  readonly verifying?: number;
  /** reminders and follow-ups left unsent by a stop or a command, sent now */
  readonly messagesSent?: number;
}

/**
 * After a restart of a host whose engine keeps executions in memory: apply stored answers that a crash left
 * unapplied, then start again every execution that should be running. Every workflow is re-entrant and its
 * execution name is derived, so this sends nothing twice and is harmless when nothing was lost.
 */
export async function resumeAll(deps: Deps): Promise<ResumeReport> {
  let answersApplied = 0;
  let notices = 0;
  let campaigns = 0;
  const campaignState = new Map<string, string>();
  for (const campaign of await deps.store.listCampaigns()) {
    campaignState.set(campaign.id, campaign.state);
    if (campaign.state === 'routing' || campaign.state === 'awaiting-approval' || campaign.state === 'sending') {
      await deps.workflows.start('campaign', executionName('campaign', campaign.id, 1), { campaignId: campaign.id, route: {}, start: {} });
      campaigns++;
    }
  }
  for (const state of LIVE_NOTICE_STATES) {
    const list = await listAll((p) => deps.store.listNotices({ state }, p));
    for (let notice of list) {
      for (const answer of await deps.store.listAnswers(notice.id)) {
        if (notice.appliedAnswers.includes(answer.id)) continue;
        notice = (await applyAnswer(deps, notice, answer)).notice;
        answersApplied++;
      }
      // planned notices of a campaign still waiting for approval are started by the campaign workflow
      if (notice.state === 'planned' && campaignState.get(notice.campaignId) !== 'running') continue;
      if (!LIVE_NOTICE_STATES.includes(notice.state)) continue;
      await startNoticeRun(deps, notice);
      notices++;
    }
  }
  // reminders and follow-ups a stop cut short or a command deferred, whatever became of their notices since
  const messagesSent = await resendUnsent(deps);
  return { campaigns, notices, answersApplied, verifying: await resumeVerification(deps), ...(messagesSent ? { messagesSent } : {}) };
}
