import { NotFoundError } from '../errors.js';
import type { Campaign, CaseState, Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { NOTICE_NOT_OUT } from '../lifecycle.js';
import { listAll } from '../paging.js';
import { sendingHalt, type SendingHalt } from '../sending-halt.js';

export interface CampaignStatus {
  readonly campaign: Campaign;
  readonly notices: Notice[];
  readonly cases: Partial<Record<CaseState, number>>;
  /** notices by state */
  readonly noticeStates: Partial<Record<Notice['state'], number>>;
  /** set while sending is halted: our own account or relay refuses every message */
  readonly halt?: SendingHalt;
}

/** A campaign with its notices and how many cases are in each state. */
export async function campaignStatus(deps: Deps, campaignId: string): Promise<CampaignStatus> {
  const campaign = await deps.store.getCampaign(campaignId);
  if (!campaign) throw new NotFoundError('campaign', campaignId);
  const notices = await listAll((p) => deps.store.listNotices({ campaignId }, p));
  const cases: Partial<Record<CaseState, number>> = {};
  for (const c of await listAll((p) => deps.store.listCases({ campaignId }, p))) cases[c.state] = (cases[c.state] ?? 0) + 1;
  const noticeStates: Partial<Record<Notice['state'], number>> = {};
  for (const n of notices) noticeStates[n.state] = (noticeStates[n.state] ?? 0) + 1;
  const halt = await sendingHalt(deps);
  return { campaign, notices, cases, noticeStates, ...(halt ? { halt } : {}) };
}

/**
 * How many of a campaign's notices have gone out, of how many: what a progress bar polls while a campaign sends,
 * counted where the notices are stored when the store can (no notice read), else from every notice.
 */
export async function sendingProgress(deps: Pick<Deps, 'store'>, campaignId: string): Promise<{ readonly out: number; readonly total: number }> {
  let byState: Partial<Record<Notice['state'], number>>;
  if (deps.store.countNotices) byState = await deps.store.countNotices(campaignId);
  else {
    byState = {};
    for (const n of await listAll((p) => deps.store.listNotices({ campaignId }, p))) byState[n.state] = (byState[n.state] ?? 0) + 1;
  }
  let out = 0;
  let total = 0;
  for (const [state, n] of Object.entries(byState) as [Notice['state'], number][]) {
    total += n;
    if (!NOTICE_NOT_OUT.has(state)) out += n;
  }
  return { out, total };
}
