import { z } from 'zod';
import { AlreadyExistsError, CampaignStateError, InvalidInputError, NotFoundError, type InputIssue } from '../errors.js';
import { readIndicators, type ExcludedItem, type IntakeSummary } from '../intake/intake.js';
import { isTextSource, textSource, type TextSource } from '../intake/text-source.js';
import { CASE_LIVE } from '../lifecycle.js';
import { type Campaign, type CampaignIndicator, type Case, type CaseState, type Indicator, type Notice, TLP } from '../model.js';
import type { Deps, Page, PageRequest, Store } from '../ports.js';
import { caseIdFor, noticeIdFor, tagOf } from '../routing/ids.js';
import { decideRoute } from '../routing/plan.js';
import type { TlpPermission } from '../intake/tlp.js';
import { appendEvent } from '../audit/events.js';
import { updateCampaign } from '../updates.js';

/** The longest file accepted, in characters. */
const MAX_CONTENT = 200 * 1024 * 1024;

/** A submission as a coordinator makes it, from the CLI or `POST /campaigns`. */
export const SubmitCampaignInput = z.object({
  name: z.string().trim().min(1).max(200),
  /** absent: the configured default (Settings.defaultTlp) */
  tlp: TLP.optional(),
  legalBasis: z.string().trim().max(500).optional(),
  submitter: z.string().trim().min(1).max(200),
  /** false when the coordinator approved the plan in advance (`--yes`) */
  requireApproval: z.boolean().default(true),
  /** false: do not probe what the parties say they took down (a probe can tip off the operator) @default true */
  probes: z.boolean().optional(),
  format: z.enum(['auto', 'list', 'csv', 'stix', 'misp']).default('auto'),
  sourceName: z.string().max(300).optional(),
  /** the file's text, or (from the embedded host) a source that reads it from disk a piece at a time */
  content: z.union([z.string().max(MAX_CONTENT), z.custom<TextSource>(isTextSource, 'expected the text of the file')]),
  /** leave out the items with errors (listed in the plan and the audit record) instead of refusing the file */
  skipInvalid: z.boolean().default(false),
  /**
   * the client's key for this submission (HTTP `Idempotency-Key`): the same submitter and key give the same
   * campaign, so a request retried after a time-out does not notify every recipient twice; the first wins
   */
  idempotencyKey: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'letters, digits and . _ : - only, up to 128').optional(),
  /** the source allowed notifying the operators of AMBER / AMBER+STRICT infrastructure; who granted it */
  tlpPermission: z
    .object({
      notifyOperators: z.literal(true).default(true),
      grantedBy: z.string().trim().min(1).max(200),
      /** when it was granted @default the submission time */
      grantedAt: z.iso.datetime({ offset: true }).optional(),
    })
    .optional(),
});
export type SubmitCampaignInput = z.input<typeof SubmitCampaignInput>;

/** A submission read and checked: what both the campaign and the dry run start from. */
export interface Submission {
  readonly input: z.output<typeof SubmitCampaignInput>;
  readonly intake: IntakeSummary;
  readonly tlp: TLP;
  readonly tlpFrom: 'input' | 'default';
  readonly tlpPermission?: TlpPermission;
  /** how many unique indicators are not already handled by a live case elsewhere (each was handed to onFresh) */
  readonly freshCount: number;
  readonly alreadyOpen: { value: string; caseId: string; campaignId: string }[];
}

/** What a submission says before its file is read. */
export type SubmissionHead = Pick<Submission, 'input' | 'tlp' | 'tlpFrom' | 'tlpPermission'>;

// a withheld case is not being handled: the same indicator from a source that allows it must still go out
const HANDLED: ReadonlySet<CaseState> = new Set([...CASE_LIVE].filter((s) => s !== 'withheld'));

/**
 * Validate a submission, read its file and set it against the live cases of other campaigns. Reads the store,
 * writes nothing. InvalidInputError names every problem. The file is checked whole first; only then are its
 * fresh indicators handed to `onFresh`, in source order, a batch at a time (`seq`: the place of the first),
 * so a refused file reaches onFresh with nothing and the file is never held whole.
 */
export async function readSubmission(
  deps: Pick<Deps, 'clock' | 'settings'> & { readonly store?: Pick<Store, 'findCasesByIndicator'> },
  raw: SubmitCampaignInput,
  opts: { readonly allowEmpty?: boolean; readonly onFresh?: (fresh: Indicator[], seq: number, head: SubmissionHead) => Promise<void> } = {},
): Promise<Submission> {
  const parsed = SubmitCampaignInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the campaign submission is not valid',
      parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })),
    );
  }
  const input = parsed.data;
  const now = deps.clock.now();
  const tlp = input.tlp ?? deps.settings.defaultTlp ?? 'AMBER';
  const permission = input.tlpPermission
    ? { notifyOperators: true as const, grantedBy: input.tlpPermission.grantedBy, grantedAt: input.tlpPermission.grantedAt ?? now.toISOString() }
    : undefined;
  const head: SubmissionHead = { input, tlp, tlpFrom: input.tlp ? 'input' : 'default', ...(permission ? { tlpPermission: permission } : {}) };
  const alreadyOpen: Submission['alreadyOpen'] = [];
  let freshCount = 0;
  const source = typeof input.content === 'string' ? textSource(input.content) : input.content;
  const intake = await readIndicators(
    source,
    {
      format: input.format,
      skipInvalid: input.skipInvalid,
      now,
      // unmarked material of the submitter's own adds no restriction to a value the source marked
      ...(input.tlp ? { fallbackTlp: input.tlp } : {}),
      allowEmpty: opts.allowEmpty,
      maxChars: MAX_CONTENT,
    },
    async (batch) => {
      const live = deps.store ? await deps.store.findCasesByIndicator(batch.map((i) => i.value), HANDLED) : [];
      const liveByValue = new Map(live.map((c) => [c.indicator.value, c]));
      const fresh: Indicator[] = [];
      for (const indicator of batch) {
        const c = liveByValue.get(indicator.value);
        if (c) alreadyOpen.push({ value: indicator.value, caseId: c.id, campaignId: c.campaignId });
        else fresh.push(indicator);
      }
      if (fresh.length > 0) await opts.onFresh?.(fresh, freshCount, head);
      freshCount += fresh.length;
    },
  );
  return { ...head, intake, freshCount, alreadyOpen };
}

/** How many items an audit event lists at most (a DynamoDB item holds 400 KB). */
const EVENT_ITEMS = 500;

export interface SubmitResult {
  readonly campaign: Campaign;
  /** the same indicator more than once in the file */
  readonly duplicatesInFile: number;
  /** indicators already handled by a live case of another campaign */
  readonly alreadyOpen: { value: string; caseId: string; campaignId: string }[];
  /** items of the file not notified (expired, unsupported, not for detection), with why */
  readonly excluded: readonly ExcludedItem[];
  /** items with errors left out at the submitter's request */
  readonly skipped: readonly InputIssue[];
  /** true when the idempotency key named a campaign submitted before: nothing new was stored or started */
  readonly repeated?: boolean;
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
 * nothing (InvalidInputError names every bad line): the whole file is checked before the first indicator row is
 * written, and rows are then written a batch at a time as the file is read again. The campaign record is written
 * last, so a crash half-way leaves only unreachable indicator rows, never a half-stored campaign.
 */
export async function submitCampaign(deps: Deps, raw: SubmitCampaignInput): Promise<SubmitResult> {
  // before reading the file: a repeat would find its own indicators open and be refused as "nothing to do"
  const keyed = raw.idempotencyKey && typeof raw.submitter === 'string' ? deps.ids.derive('cmp_', raw.submitter.trim(), raw.idempotencyKey) : undefined;
  const earlier = keyed ? await deps.store.getCampaign(keyed) : undefined;
  if (earlier) return { campaign: earlier, duplicatesInFile: 0, alreadyOpen: [], excluded: [], skipped: [], repeated: true };
  // the id is taken when the first indicator is stored: a refused file takes none
  let stored: string | undefined;
  const { input, intake, tlp, tlpPermission, freshCount, alreadyOpen } = await readSubmission(deps, raw, {
    onFresh: async (fresh, seq) => {
      const campaignId = (stored ??= keyed ?? deps.ids.newId('cmp_'));
      for (let i = 0; i < fresh.length; i += WRITE_BATCH) {
        const rows: CampaignIndicator[] = fresh.slice(i, i + WRITE_BATCH).map((indicator, j) => ({ campaignId, seq: seq + i + j, indicator }));
        await deps.store.putIndicators(rows);
      }
    },
  });
  if (freshCount === 0 || !stored) {
    throw new InvalidInputError('nothing to do: every indicator is already handled by an open case', [
      ...alreadyOpen.slice(0, 20).map((a) => ({ where: a.value, reason: `open in campaign ${a.campaignId}` })),
    ]);
  }

  const now = deps.clock.now().toISOString();
  const id = stored;

  const campaign: Campaign = {
    id,
    name: input.name,
    tlp,
    tlpFrom: input.tlp ? 'input' : 'default',
    legalBasis: input.legalBasis,
    submitter: input.submitter,
    source: { format: intake.format, name: input.sourceName },
    requireApproval: input.requireApproval,
    ...(input.probes === false ? { probes: false } : {}),
    ...(tlpPermission ? { tlpPermission } : {}),
    state: 'routing',
    createdAt: now,
    ...(input.requireApproval ? {} : { approvedAt: now, approvedBy: input.submitter }),
    counts: {
      submitted: intake.unique + intake.duplicates.length,
      indicators: freshCount,
      duplicates: intake.duplicates.length + alreadyOpen.length,
      unroutable: 0,
      cases: 0,
      notices: 0,
      excluded: intake.excluded.length,
      skipped: intake.skipped.length,
    },
    version: 1,
  };
  try {
    await deps.store.createCampaign(campaign);
  } catch (e) {
    // the same key submitted twice at once: the other request stored it first
    if (!(e instanceof AlreadyExistsError) || !keyed) throw e;
    return { campaign: (await deps.store.getCampaign(id))!, duplicatesInFile: 0, alreadyOpen: [], excluded: [], skipped: [], repeated: true };
  }
  await appendEvent(deps, {
    campaignId: id,
    type: 'campaign.submitted',
    actor: input.submitter,
    data: {
      name: input.name,
      format: intake.format,
      source: input.sourceName,
      tlp,
      ...(tlpPermission ? { tlpPermission } : {}),
      indicators: freshCount,
      duplicatesInFile: intake.duplicates.length,
      alreadyOpen: alreadyOpen.length,
      excluded: intake.excluded.length,
      skipped: intake.skipped.length,
      preApproved: !input.requireApproval,
    },
  });
  // what was left out is part of the record: an auditor sees it without the file
  for (let i = 0; i < intake.skipped.length; i += EVENT_ITEMS) {
    const items = intake.skipped.slice(i, i + EVENT_ITEMS);
    await appendEvent(deps, { campaignId: id, type: 'intake.skipped', actor: input.submitter, data: { reason: 'invalid, skipped at the submitter\'s request', items } });
  }
  for (let i = 0; i < intake.excluded.length; i += EVENT_ITEMS) {
    const items = intake.excluded.slice(i, i + EVENT_ITEMS);
    await appendEvent(deps, { campaignId: id, type: 'intake.excluded', actor: 'system', data: { items } });
  }
  await deps.workflows.start('campaign', executionName('campaign', id, 1), { campaignId: id, route: {}, start: {} });
  return { campaign, duplicatesInFile: intake.duplicates.length, alreadyOpen, excluded: intake.excluded, skipped: intake.skipped };
}

/** Execution names derive from the id and a round: starting the same thing twice starts it once. */
export function executionName(kind: 'campaign' | 'notice', id: string, round: number): string {
  return `${kind}-${id}-r${round}`;
}

/** Start a notice's execution for its current round; the round travels in the input so a stale run stops. */
export function startNoticeRun(deps: Pick<Deps, 'workflows'>, notice: Pick<Notice, 'id' | 'round'>): Promise<void> {
  return deps.workflows.start('notice', executionName('notice', notice.id, notice.round), { noticeId: notice.id, round: notice.round });
}

/** Route one page of a campaign's indicators into cases. Idempotent: case ids are derived. */
export async function routeCampaign(deps: Deps, campaignId: string, cursor?: string): Promise<{ cursor?: string; done: boolean }> {
  const campaign = await mustGetCampaign(deps.store, campaignId);
  if (campaign.state !== 'routing') return { done: true };
  const page = await deps.store.listIndicators(campaignId, { after: cursor, limit: deps.settings.pageSize });
  const indicators = page.items.map((r) => r.indicator);
  const found = await deps.parties.resolve(indicators);
  const now = deps.clock.now().toISOString();
  // a campaign stored before levels were told apart was routed as unmarked material
  const policy = { campaignTlp: campaign.tlp, campaignTlpFrom: campaign.tlpFrom ?? 'default', permission: campaign.tlpPermission, routing: deps.settings.routing };
  const cases: Case[] = [];
  const withheld: Case[] = [];
  indicators.forEach((indicator, i) => {
    const decision = decideRoute(indicator, found[i] ?? {}, policy);
    if (decision.outcome === 'unroutable') return;
    const base = { id: caseIdFor(deps.ids, campaignId, indicator.value, 0), campaignId, indicator: decision.indicator, step: 0, updatedAt: now, version: 1 };
    if (decision.outcome === 'withheld') {
      // kept as a case, in no notice: the campaign shows it, and a later permission can release it
      const c: Case = { ...base, ladder: decision.ladder, state: 'withheld', reason: decision.reason };
      cases.push(c);
      withheld.push(c);
      return;
    }
    cases.push({ ...base, ladder: decision.ladder, state: 'open', noticeId: noticeIdFor(deps.ids, campaignId, decision.ladder[0]!.party.email, 0) });
  });
  if (withheld.length > 0) {
    // recorded before the cases exist, so a crash in between repeats an event rather than loses one
    const existing = new Set((await deps.store.findCasesByIndicator(withheld.map((c) => c.indicator.value), new Set(['withheld']))).map((c) => c.id));
    for (const c of withheld) {
      if (existing.has(c.id)) continue;
      await appendEvent(deps, {
        campaignId,
        caseId: c.id,
        type: 'case.withheld',
        actor: 'system',
        data: { value: c.indicator.value, tlp: c.indicator.tlp, party: c.ladder[0]!.party.id, reason: c.reason },
      });
    }
  }
  await deps.store.putCases(cases);
  // where each party's contact came from, once per party per page: for RDAP, the answer's URL, time and hash
  const sources = new Map<string, Record<string, unknown>>();
  for (const c of cases) {
    for (const { party: p } of c.ladder) {
      if (sources.has(p.id)) continue;
      sources.set(p.id, { party: p.id, email: p.email, source: p.contactSource, ...(p.matchedBy ? { matchedBy: p.matchedBy } : {}), ...(p.evidence ? { rdap: p.evidence } : {}) });
    }
  }
  if (sources.size) await appendEvent(deps, { campaignId, type: 'routing.sources', actor: 'system', data: { cases: cases.length, parties: [...sources.values()] } });
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

/** One notice per recipient for the given cases (all of one ladder step), counted from the cases. */
export function groupIntoNotices(deps: Deps, campaignId: string, cases: readonly Case[], escalatedFrom?: string): Notice[] {
  const grouper = new NoticeGrouper(deps, campaignId, escalatedFrom);
  for (const c of cases) grouper.add(c);
  return grouper.notices();
}

/** Groups cases into notices as they come, keeping per notice only what the notice needs, not its cases. */
export class NoticeGrouper {
  private readonly groups = new Map<string, { party: Notice['party']; step: number; count: number; answer: number; action: number; reminders: number }>();

  constructor(
    private readonly deps: Pick<Deps, 'clock'>,
    private readonly campaignId: string,
    private readonly escalatedFrom?: string,
  ) {}

  add(c: Case): void {
    if (!c.noticeId) return;
    const rung = c.ladder[c.step]!;
    const group = this.groups.get(c.noticeId);
    if (!group) {
      this.groups.set(c.noticeId, { party: rung.party, step: c.step, count: 1, answer: rung.answerDeadline, action: rung.actionDeadline, reminders: rung.reminders });
      return;
    }
    // one recipient may hold several networks: it gets the shortest deadline among them
    group.count++;
    group.answer = Math.min(group.answer, rung.answerDeadline);
    group.action = Math.min(group.action, rung.actionDeadline);
    group.reminders = Math.min(group.reminders, rung.reminders);
  }

  notices(): Notice[] {
    const now = this.deps.clock.now().toISOString();
    return [...this.groups.entries()].map(([id, g]) => ({
      id,
      campaignId: this.campaignId,
      party: g.party,
      step: g.step,
      round: 1,
      state: 'planned',
      tag: tagOf(id),
      tokenHash: '',
      caseCount: g.count,
      ...(this.escalatedFrom ? { escalatedFrom: [this.escalatedFrom] } : {}),
      answerDeadline: g.answer,
      actionDeadline: g.action,
      remindersAllowed: g.reminders,
      remindersSent: 0,
      appliedAnswers: [],
      updatedAt: now,
      version: 1,
    }) satisfies Notice);
  }
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
