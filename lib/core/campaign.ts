import { z } from 'zod';
import { CampaignStateError, InvalidInputError, NotFoundError } from './errors.js';
import { parseIndicators } from './intake.js';
import { CASE_LIVE } from './lifecycle.js';
import { type Campaign, type CampaignIndicator, type Case, type Indicator, type Notice, TLP } from './model.js';
import type { Deps, Page, PageRequest, Store } from './ports.js';
import { buildLadder, caseIdFor, noticeIdFor, tagOf } from './routing.js';
import { appendEvent } from './events.js';
import { updateCampaign } from './updates.js';

/** A submission as a coordinator makes it, from the CLI or `POST /campaigns`. */
export const SubmitCampaignInput = z.object({
  name: z.string().trim().min(1).max(200),
  tlp: TLP.default('AMBER'),
  legalBasis: z.string().trim().max(500).optional(),
  submitter: z.string().trim().min(1).max(200),
  /** false when the coordinator approved the plan in advance (`--yes`) */
  requireApproval: z.boolean().default(true),
  format: z.enum(['auto', 'list', 'csv']).default('auto'),
  sourceName: z.string().max(300).optional(),
  content: z.string().max(200 * 1024 * 1024),
});
export type SubmitCampaignInput = z.input<typeof SubmitCampaignInput>;

export interface SubmitResult {
  readonly campaign: Campaign;
  /** the same indicator more than once in the file */
  readonly duplicatesInFile: number;
  /** indicators already handled by a live case of another campaign */
  readonly alreadyOpen: { value: string; caseId: string; campaignId: string }[];
}

const WRITE_BATCH = 5000;

/** Every page of a paged store listing, in order. */
export async function listAll<T>(list: (page: PageRequest) => Promise<Page<T>>, limit = 1000): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  do {
    const page = await list({ after, limit });
    out.push(...page.items);
    after = page.next;
  } while (after);
  return out;
}

async function mustGetCampaign(store: Store, id: string): Promise<Campaign> {
  const campaign = await store.getCampaign(id);
  if (!campaign) throw new NotFoundError('campaign', id);
  return campaign;
}

/**
 * Read, check and store a campaign, then start its workflow. All or nothing: a file with one bad line stores
 * nothing (InvalidInputError names every bad line). The campaign record is written last, so a crash half-way
 * leaves only unreachable indicator rows, never a half-stored campaign.
 */
export async function submitCampaign(deps: Deps, raw: SubmitCampaignInput): Promise<SubmitResult> {
  const parsed = SubmitCampaignInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the campaign submission is not valid',
      parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })),
    );
  }
  const input = parsed.data;
  const intake = parseIndicators(input.content, { format: input.format });

  const live = await deps.store.findCasesByIndicator(
    intake.indicators.map((i) => i.value),
    CASE_LIVE,
  );
  const liveByValue = new Map(live.map((c) => [c.indicator.value, c]));
  const fresh: Indicator[] = [];
  const alreadyOpen: SubmitResult['alreadyOpen'] = [];
  for (const indicator of intake.indicators) {
    const c = liveByValue.get(indicator.value);
    if (c) alreadyOpen.push({ value: indicator.value, caseId: c.id, campaignId: c.campaignId });
    else fresh.push(indicator);
  }
  if (fresh.length === 0) {
    throw new InvalidInputError('nothing to do: every indicator is already handled by an open case', [
      ...alreadyOpen.slice(0, 20).map((a) => ({ where: a.value, reason: `open in campaign ${a.campaignId}` })),
    ]);
  }

  const now = deps.clock.now().toISOString();
  const id = deps.ids.newId('cmp_');
  const rows: CampaignIndicator[] = fresh.map((indicator, seq) => ({ campaignId: id, seq, indicator }));
  for (let i = 0; i < rows.length; i += WRITE_BATCH) await deps.store.putIndicators(rows.slice(i, i + WRITE_BATCH));

  const campaign: Campaign = {
    id,
    name: input.name,
    tlp: input.tlp,
    legalBasis: input.legalBasis,
    submitter: input.submitter,
    source: { format: intake.format, name: input.sourceName },
    requireApproval: input.requireApproval,
    state: 'routing',
    createdAt: now,
    ...(input.requireApproval ? {} : { approvedAt: now, approvedBy: input.submitter }),
    counts: {
      submitted: intake.indicators.length + intake.duplicates.length,
      indicators: fresh.length,
      duplicates: intake.duplicates.length + alreadyOpen.length,
      unroutable: 0,
      cases: 0,
      notices: 0,
    },
    version: 1,
  };
  await deps.store.createCampaign(campaign);
  await appendEvent(deps, {
    campaignId: id,
    type: 'campaign.submitted',
    actor: input.submitter,
    data: {
      name: input.name,
      format: intake.format,
      source: input.sourceName,
      indicators: fresh.length,
      duplicatesInFile: intake.duplicates.length,
      alreadyOpen: alreadyOpen.length,
      preApproved: !input.requireApproval,
    },
  });
  await deps.workflows.start('campaign', executionName('campaign', id, 1), { campaignId: id, route: {}, start: {} });
  return { campaign, duplicatesInFile: intake.duplicates.length, alreadyOpen };
}

/** Execution names derive from the id and a round: starting the same thing twice starts it once. */
export function executionName(kind: 'campaign' | 'notice', id: string, round: number): string {
  return `${kind}-${id}-r${round}`;
}

/** Route one page of a campaign's indicators into cases. Idempotent: case ids are derived. */
export async function routeCampaign(deps: Deps, campaignId: string, cursor?: string): Promise<{ cursor?: string; done: boolean }> {
  const campaign = await mustGetCampaign(deps.store, campaignId);
  if (campaign.state !== 'routing') return { done: true };
  const page = await deps.store.listIndicators(campaignId, { after: cursor, limit: deps.settings.pageSize });
  const indicators = page.items.map((r) => r.indicator);
  const found = await deps.parties.resolve(indicators);
  const now = deps.clock.now().toISOString();
  const cases: Case[] = [];
  indicators.forEach((indicator, i) => {
    const ladder = buildLadder(indicator, found[i] ?? {});
    const first = ladder[0];
    if (!first) return;
    cases.push({
      id: caseIdFor(deps.ids, campaignId, indicator.value, 0),
      campaignId,
      indicator: found[i]?.country && !indicator.country ? { ...indicator, country: found[i]!.country } : indicator,
      ladder,
      step: 0,
      state: 'open',
      noticeId: noticeIdFor(deps.ids, campaignId, first.party.email, 0),
      updatedAt: now,
      version: 1,
    });
  });
  await deps.store.putCases(cases);
  return page.next ? { cursor: page.next, done: false } : { done: true };
}

/** A slice of a long wait: engine timers cannot reach further than ~24.8 days. */
export const MAX_WAIT_SLICE_SECONDS = 20 * 86400;
/** How long an approval wait lasts before it is re-checked, in domain seconds. */
const APPROVAL_SLICE = 7 * 86400;

export function engineWait(deps: Deps, domainSeconds: number): number {
  return Math.min(MAX_WAIT_SLICE_SECONDS, deps.clock.engineSeconds(Math.max(1, domainSeconds)));
}

/** Group a campaign's first-rung cases into one notice per recipient and fix the plan. Idempotent. */
export async function buildNotices(deps: Deps, campaignId: string): Promise<{ next: 'approve' | 'send' | 'stopped'; seconds: number }> {
  let campaign = await mustGetCampaign(deps.store, campaignId);
  const seconds = engineWait(deps, APPROVAL_SLICE);
  if (campaign.state === 'cancelled') return { next: 'stopped', seconds };
  if (campaign.state !== 'routing') {
    return { next: campaign.state === 'awaiting-approval' ? 'approve' : 'send', seconds };
  }
  const cases = await listAll((p) => deps.store.listCases({ campaignId }, p));
  const notices = groupIntoNotices(deps, campaignId, cases.filter((c) => c.step === 0));
  await deps.store.putNotices(notices);

  const routed = new Set(cases.map((c) => c.indicator.value)).size;
  let planned = false;
  campaign = await updateCampaign(deps, campaignId, (cur) => {
    planned = cur.state === 'routing';
    if (!planned) return undefined;
    const wait = cur.requireApproval && !cur.approvedAt;
    return {
      ...cur,
      state: wait ? 'awaiting-approval' : 'sending',
      counts: { ...cur.counts, unroutable: cur.counts.indicators - routed, cases: cases.length, notices: notices.length },
    };
  });
  // someone else (a retried step) built the plan in between: report what it decided
  if (!planned) return { next: campaign.state === 'awaiting-approval' ? 'approve' : campaign.state === 'cancelled' ? 'stopped' : 'send', seconds };
  await appendEvent(deps, {
    campaignId,
    type: 'campaign.planned',
    actor: 'system',
    data: { cases: cases.length, notices: notices.length, unroutable: campaign.counts.unroutable, awaitingApproval: campaign.state === 'awaiting-approval' },
  });
  return { next: campaign.state === 'awaiting-approval' ? 'approve' : 'send', seconds };
}

/** One notice per recipient for the given cases (all of one ladder step), counted from the cases. */
export function groupIntoNotices(deps: Deps, campaignId: string, cases: readonly Case[], escalatedFrom?: string): Notice[] {
  const byNotice = new Map<string, Case[]>();
  for (const c of cases) {
    if (!c.noticeId) continue;
    const group = byNotice.get(c.noticeId);
    if (group) group.push(c);
    else byNotice.set(c.noticeId, [c]);
  }
  const now = deps.clock.now().toISOString();
  return [...byNotice.entries()].map(([id, group]) => {
    const first = group[0]!;
    const step = first.ladder[first.step]!;
    return {
      id,
      campaignId,
      party: step.party,
      step: first.step,
      round: 1,
      state: 'planned',
      tag: tagOf(id),
      tokenHash: '',
      caseCount: group.length,
      ...(escalatedFrom ? { escalatedFrom: [escalatedFrom] } : {}),
      // one recipient may hold several networks: it gets the shortest deadline among them
      answerDeadline: Math.min(...group.map((c) => c.ladder[c.step]!.answerDeadline)),
      actionDeadline: Math.min(...group.map((c) => c.ladder[c.step]!.actionDeadline)),
      remindersAllowed: Math.min(...group.map((c) => c.ladder[c.step]!.reminders)),
      remindersSent: 0,
      appliedAnswers: [],
      updatedAt: now,
      version: 1,
    } satisfies Notice;
  });
}

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
export async function approveCampaign(deps: Deps, campaignId: string, approver: string): Promise<Campaign> {
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
    return { ...c, state: c.state === 'routing' ? 'routing' : 'sending', approvedAt: now, approvedBy: approver, approvalToken: undefined };
  });
  if (!changed) return campaign;
  await appendEvent(deps, { campaignId, type: 'campaign.approved', actor: approver, data: { notices: campaign.counts.notices } });
  if (waiting) await completeQuietly(deps, waiting, { next: 'send' });
  return campaign;
}

/** Complete a task token; a token nobody waits on any more is fine (the workflow re-reads the store). */
export async function completeQuietly(deps: Deps, token: string, output: Record<string, unknown>): Promise<void> {
  try {
    await deps.workflows.succeed(token, output);
  } catch (e) {
    if ((e as Error).name === 'TaskTokenExpiredError') return;
    throw e;
  }
}

/** Start one notice execution per notice of a page. Idempotent: execution names derive from ids. */
export async function startNotices(deps: Deps, campaignId: string, cursor?: string): Promise<{ cursor?: string; done: boolean }> {
  const page = await deps.store.listNotices({ campaignId }, { after: cursor, limit: deps.settings.pageSize });
  for (const notice of page.items) {
    if (notice.state === 'planned' || notice.state === 'sending' || notice.state === 'uncertain') {
      await deps.workflows.start('notice', executionName('notice', notice.id, notice.round), { noticeId: notice.id });
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

/** A coordinator cancels a campaign that has not started sending. */
export async function cancelCampaign(deps: Deps, campaignId: string, actor: string): Promise<Campaign> {
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
  await appendEvent(deps, { campaignId, type: 'campaign.cancelled', actor, data: {} });
  if (waiting) await completeQuietly(deps, waiting, { next: 'stopped' });
  return campaign;
}
