import { z } from 'zod';
import { TLP, type Campaign, type CampaignIndicator, type CaseState, type Indicator } from '../model.js';
import { isTextSource, textSource, type TextSource } from '../intake/index.js';
import { readIndicators, type ExcludedItem, type IntakeSummary } from '../intake/index.js';
import type { TlpPermission } from '../tlp.js';
import { CASE_LIVE } from '../lifecycle.js';
import type { Deps, Store } from '../ports.js';
import { AlreadyExistsError, InvalidInputError, type InputIssue } from '../errors.js';
import { appendEvent } from '../audit/index.js';
import { executionName } from '../executions.js';

/** The longest file accepted, in characters. */
const MAX_CONTENT = 200 * 1024 * 1024;

/** A submission as a coordinator makes it, from the CLI or `POST /campaigns`. */
export const SubmitCampaignInput = z.object({
  name: z.string().trim().min(1).max(200),
  /** absent: the configured default (Settings.defaultTlp) */
  tlp: TLP.optional(),
  legalBasis: z.string().trim().max(500).optional(),
  /** who submits: the authenticated principal (the API sets it from the caller's key or token, never the body) */
  submitter: z.string().trim().min(1).max(200),
  /** whom the submitter acts for (free text, recorded beside the submitter) */
  onBehalfOf: z.string().trim().min(1).max(200).optional(),
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
  opts: {
    readonly allowEmpty?: boolean;
    /**
     * `through`: the unique indicators of the file read so far, this batch's included (a resumable reading's
     * position); `last`: no batch follows (see readIndicators)
     */
    readonly onFresh?: (fresh: Indicator[], seq: number, head: SubmissionHead, through: number, last: boolean) => Promise<void>;
    /** the first this many unique indicators were handled by an earlier reading: passed over, nothing asked of the store */
    readonly skipUnique?: number;
    /** how many fresh indicators that earlier reading stored: the seq of the next @default 0 */
    readonly freshBase?: number;
  } = {},
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
  let freshCount = opts.freshBase ?? 0;
  const skip = opts.skipUnique ?? 0;
  let seen = 0;
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
    async (whole, last) => {
      const start = seen;
      seen += whole.length;
      if (seen <= skip) return;
      const batch = start < skip ? whole.slice(skip - start) : whole;
      const live = deps.store ? await deps.store.findCasesByIndicator(batch.map((i) => i.value), HANDLED) : [];
      const liveByValue = new Map(live.map((c) => [c.indicator.value, c]));
      const fresh: Indicator[] = [];
      for (const indicator of batch) {
        const c = liveByValue.get(indicator.value);
        if (c) alreadyOpen.push({ value: indicator.value, caseId: c.id, campaignId: c.campaignId });
        else fresh.push(indicator);
      }
      const seq = freshCount;
      freshCount += fresh.length;
      if (fresh.length > 0) await opts.onFresh?.(fresh, seq, head, seen, last);
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
  const id = stored;
  const created = await recordSubmittedCampaign(deps, { id, input, intake, tlp, ...(tlpPermission ? { tlpPermission } : {}), freshCount, alreadyOpen: alreadyOpen.length, state: 'routing' });
  if (created.repeated) return { campaign: created.campaign, duplicatesInFile: 0, alreadyOpen: [], excluded: [], skipped: [], repeated: true };
  const campaign = created.campaign;
  await deps.workflows.start('campaign', executionName('campaign', id, 1), { campaignId: id, route: {}, start: {} });
  return { campaign, duplicatesInFile: intake.duplicates.length, alreadyOpen, excluded: intake.excluded, skipped: intake.skipped };
}

/** What recordSubmittedCampaign needs: a submission whose file was read and stored. */
export interface ReadSubmission {
  readonly id: string;
  readonly input: Submission['input'] | Omit<Submission['input'], 'content'>;
  readonly intake: IntakeSummary;
  readonly tlp: TLP;
  readonly tlpPermission?: TlpPermission;
  /** the indicators stored (seq 0 to freshCount - 1) */
  readonly freshCount: number;
  /** how many of the file's indicators were already handled by a live case elsewhere */
  readonly alreadyOpen: number;
  readonly state: Campaign['state'];
  /** the round of the workflow execution that records it, when not the first (an upload read again by the sweeper) */
  readonly round?: number;
}

/**
 * The campaign record of a submission whose indicators are stored, and the audit events of what was submitted,
 * skipped and excluded; the record is written last but one (before the events), so a crash half-way leaves only
 * unreachable indicator rows. `repeated` when a record with the id exists (the same idempotency key, or the same
 * upload read again): nothing is written then.
 */
export async function recordSubmittedCampaign(deps: Deps, s: ReadSubmission): Promise<{ campaign: Campaign; repeated?: true }> {
  const { input, intake, tlp, tlpPermission, freshCount, id } = s;
  const now = deps.clock.now().toISOString();
  const campaign: Campaign = {
    id,
    name: input.name,
    tlp,
    tlpFrom: input.tlp ? 'input' : 'default',
    legalBasis: input.legalBasis,
    submitter: input.submitter,
    ...(input.onBehalfOf && input.onBehalfOf !== input.submitter ? { onBehalfOf: input.onBehalfOf } : {}),
    source: { format: intake.format, name: input.sourceName },
    requireApproval: input.requireApproval,
    ...(input.probes === false ? { probes: false } : {}),
    ...(tlpPermission ? { tlpPermission } : {}),
    state: s.state,
    createdAt: now,
    ...(input.requireApproval ? {} : { approvedAt: now, approvedBy: input.submitter }),
    ...(s.round && s.round > 1 ? { round: s.round } : {}),
    counts: {
      submitted: intake.unique + intake.duplicates.length,
      indicators: freshCount,
      duplicates: intake.duplicates.length + s.alreadyOpen,
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
    if (!(e instanceof AlreadyExistsError)) throw e;
    return { campaign: (await deps.store.getCampaign(id))!, repeated: true };
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
      alreadyOpen: s.alreadyOpen,
      excluded: intake.excluded.length,
      skipped: intake.skipped.length,
      preApproved: !input.requireApproval,
      ...(campaign.onBehalfOf ? { onBehalfOf: campaign.onBehalfOf } : {}),
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
  return { campaign };
}
