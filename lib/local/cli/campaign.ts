import { basename } from 'node:path';
import type { Command } from 'commander';
import type { InputIssue } from '../../core/errors.js';
import type { Campaign, Notice } from '../../core/model.js';
import type { ExecutionStatus } from '../../core/ports.js';
import type { CampaignCounts, CampaignStatus } from '../../core/reports/index.js';
import type { FeedOrigin } from '../../core/feeds/index.js';
import type { SubmitCampaignInput } from '../../core/campaign/index.js';
import type { Plan } from '../../core/routing/index.js';
import type { TextSource } from '../../core/intake/index.js';
import type { Host, HostInfo } from '../host.js';
import { NOTICE_NOT_OUT } from '../../core/lifecycle.js';
import { Progress, summary, table } from './shared/terminal.js';
import { openStore } from './shared/store.js';
import { hasRemoteSource, readRemoteSource, withSourceOptions, type SourceFlags } from './shared/sources.js';
import { getJson, getJsonIfFound, hostHeaders, loadHost, postJson, reachRunningHost, RECORDED_ONLY, withCommandHost, withHost } from './shared/host-client.js';
import {
  AS_OPTION_HELP,
  campaignFile,
  cliActor,
  dataDirOf,
  err,
  commandHostConfig,
  hostConfig,
  out,
  readCampaignFile,
  UsageError,
  withHostOptions,
  withIntakeOptions,
  withPartyOptions,
  type HostFlags,
  type IntakeFlags,
} from './shared/options.js';

/**
 * A campaign from file to sent notices: `run` (the whole of it, on an embedded host, or through the running
 * host's API when one serves the data directory), `plan` (a dry run), `status`, `approve`, and `expired` (the
 * cases nobody acted on). Each loads the core and the host only once it runs.
 */

/** A submission from a file and the intake flags; the submitter is the CLI's user, `--submitter` whom it acts for. */
function submissionOf(file: string, content: string | TextSource, opts: IntakeFlags & { submitter?: string }): SubmitCampaignInput {
  const actor = cliActor(opts.submitter);
  return {
    name: opts.name ?? basename(file).replace(/\.[^.]+$/, ''),
    ...(opts.tlp ? { tlp: opts.tlp as Campaign['tlp'] } : {}),
    submitter: actor.name,
    ...(actor.onBehalfOf ? { onBehalfOf: actor.onBehalfOf } : {}),
    format: opts.format as 'auto',
    sourceName: basename(file),
    content,
    skipInvalid: opts.skipInvalid === true,
    ...(opts.allowAmber !== undefined ? { tlpPermission: { grantedBy: opts.allowAmber } } : {}),
    ...(opts.probes === false ? { probes: false } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Wait until the campaign workflow has built its plan (or stopped). */
export async function waitForPlan(host: Host, campaignId: string): Promise<Campaign> {
  for (;;) {
    const c = await host.deps.store.getCampaign(campaignId);
    if (c && c.state !== 'routing') return c;
    const failed = host.workflows.list().find((e) => e.name.includes(campaignId) && e.status === 'failed');
    if (failed) throw new Error(`the campaign workflow failed: ${failed.error}`);
    await sleep(50);
  }
}

/** Wait, with a progress bar, until every notice of the campaign has gone out. */
export async function waitForSending(host: Host, campaignId: string): Promise<CampaignStatus> {
  const { campaignStatus, sendingProgress } = await import('../../core/reports/index.js');
  const progress = new Progress('sending notices');
  for (;;) {
    // counted, not read, while waiting: loading every case on each poll cost more than the sending itself, and
    // reading every notice ~3 % of it, on the event loop the sending runs on
    const campaign = await host.deps.store.getCampaign(campaignId);
    const { out: sent, total } = await sendingProgress(host.deps, campaignId);
    progress.update(sent, total);
    if (campaign?.state === 'running' && sent === total) {
      progress.finish();
      return campaignStatus(host.deps, campaignId);
    }
    const failed = host.workflows.list().find((e) => e.status === 'failed');
    if (failed) {
      progress.finish();
      throw new Error(`workflow ${failed.name} failed: ${failed.error}`);
    }
    await sleep(250);
  }
}

function planTable(notices: readonly Notice[]): string {
  const rows = notices
    .slice()
    .sort((a, b) => b.caseCount - a.caseCount || a.party.name.localeCompare(b.party.name))
    .map((n) => [n.party.name, n.party.kind, n.party.email, n.party.country ?? '', n.caseCount, n.party.contactSource]);
  return table(['recipient', 'kind', 'contact', 'country', 'indicators', 'contact from'], rows);
}

/** A refusal as one line: `554 5.7.1 Relay access denied (RCPT)`. */
function refusalLine(r: NonNullable<Notice['refusal']>): string {
  return [r.code, r.enhanced, r.text, r.step ? `(${r.step})` : undefined].filter((x) => x !== undefined && x !== '').join(' ');
}

/** The summary of a campaign; `counts` is the one line that explains its numbers (the API and dashboard show it too). */
function campaignSummary(c: Campaign, notices: readonly Notice[], counts: CampaignCounts, halt: CampaignStatus['halt'], extra: [string, string | number][] = []): string {
  // sent means accepted by the next hop: a notice escalated because it was refused was never sent
  const refused = notices.filter((n) => n.refusal && !n.sentAt).length;
  return summary([
    ['campaign', c.id],
    ['name', c.name],
    ['state', c.state],
    ['counts', counts.line],
    ['from the file', `${c.counts.indicators} accepted of ${c.counts.submitted} submitted (${c.counts.duplicates} duplicates)`],
    ['submitted by', `${c.submitter}${c.onBehalfOf ? ` for ${c.onBehalfOf}` : ''}`],
    ...(c.approvedBy ? ([['approved by', `${c.approvedBy}${c.approvedOnBehalfOf ? ` for ${c.approvedOnBehalfOf}` : ''}`]] as [string, string][]) : []),
    ['notices sent', counts.sent],
    ...(refused ? ([['notices refused', refused]] as [string, number][]) : []),
    ...(halt ? ([['SENDING HALTED', `since ${halt.since}: ${refusalLine(halt.refusal)}`]] as [string, string][]) : []),
    ...extra,
  ]);
}

/** The file, checked to be one: intake reads it from disk a piece at a time, twice, and never holds it whole. */
async function campaignFileSource(file: string): Promise<TextSource> {
  const { fileSource } = await import('../file-source.js');
  return fileSource(campaignFile(file));
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

type RunFlags = HostFlags & IntakeFlags & SourceFlags & { submitter?: string; legalBasis?: string; yes?: boolean };

/** The campaign as the running host's API shows it. */
interface CampaignView {
  campaign: Campaign;
  counts: CampaignCounts;
  notices: Notice[];
}

/** GET /campaigns/:id/progress */
export interface CampaignProgress {
  campaign: Pick<Campaign, 'id' | 'state'>;
  notices: { out: number; total: number };
  /** while it routes or starts its notices: what became of the campaign's workflow (a host before it says nothing) */
  workflow?: ExecutionStatus;
}

/**
 * Polls a host's progress until `done` says so; a campaign whose workflow failed on the host never gets there, so
 * the wait ends with that rather than last for ever.
 */
export async function waitOnHost(progressOf: () => Promise<CampaignProgress>, done: (p: CampaignProgress) => boolean, everyMs: number, seen?: (p: CampaignProgress) => void): Promise<CampaignProgress> {
  for (;;) {
    const p = await progressOf();
    seen?.(p);
    if (done(p)) return p;
    if (p.workflow === 'failed') {
      throw new Error(
        `the host's workflow for campaign ${p.campaign.id} failed while it was ${p.campaign.state}: the host's log says why. ` +
          `The campaign is kept: the host's sweep starts its workflow again (within 15 minutes; later if it keeps failing); \`takedown status ${p.campaign.id}\` follows it`,
      );
    }
    await sleep(everyMs);
  }
}

/**
 * Reads a running host's progress on a campaign (GET /campaigns/{id}/progress). A host started before that route
 * existed answers it 404 for a campaign it has just taken: from then on the progress is counted from the whole
 * campaign (GET /campaigns/{id}), as `run` did before.
 */
export function remoteProgress(base: string, campaignId: string, dataDir: string): () => Promise<CampaignProgress> {
  let progressRoute = true;
  return async () => {
    if (progressRoute) {
      const progress = await getJsonIfFound<CampaignProgress>(`${base}/campaigns/${campaignId}/progress`, dataDir);
      if (progress) return progress;
      progressRoute = false;
    }
    const whole = await getJson<CampaignView>(`${base}/campaigns/${campaignId}`, dataDir);
    return { campaign: whole.campaign, notices: { out: whole.notices.filter((n) => !NOTICE_NOT_OUT.has(n.state)).length, total: whole.notices.length } };
  };
}

/**
 * `run` while a host serves the data directory: the file goes to its API (the host's own key), the plan is read
 * back from it, approved through it, and the notices are sent by it. The command waits for them as it would have.
 */
async function runThroughHost(running: HostInfo, dataDir: string, submission: SubmitCampaignInput, opts: RunFlags, origin: FeedOrigin | undefined): Promise<void> {
  const base = running.httpUrl!;
  err(`a takedown host (pid ${running.pid}) serves ${dataDir}: submitting through its API at ${base}`);
  const res = await fetch(`${base}/campaigns`, { method: 'POST', headers: hostHeaders(dataDir), body: JSON.stringify({ ...submission, requireApproval: !opts.yes, ...(origin ? { origin } : {}) }) });
  const json = (await res.json().catch(() => ({}))) as { campaign?: Campaign; duplicatesInFile?: number; alreadyOpen?: number; excluded?: unknown[]; skipped?: InputIssue[]; error?: { message?: string; issues?: InputIssue[]; hint?: string } };
  if (res.status === 400) {
    const { InvalidInputError } = await import('../../core/errors.js');
    throw new InvalidInputError(json.error?.message ?? 'the file was refused', json.error?.issues ?? [], json.error?.hint ? { hint: json.error.hint } : {});
  }
  if (!res.ok || !json.campaign) throw new UsageError(`the host answered ${res.status}: ${json.error?.message ?? res.statusText}`);
  const c = json.campaign;
  err(`read ${c.counts.submitted} indicators: ${c.counts.indicators} accepted, ${json.duplicatesInFile ?? 0} duplicates in the file, ${json.alreadyOpen ?? 0} already in open cases, ${json.excluded?.length ?? 0} excluded, ${json.skipped?.length ?? 0} skipped as invalid`);
  for (const s of (json.skipped ?? []).slice(0, 20)) err(`  skipped ${s.where}: ${s.reason}`);
  // the host's progress (state, notices counted) while waiting; the whole campaign, every case and notice read on
  // the host's event loop, only once the plan is built and once everything is out
  const progressOf = remoteProgress(base, c.id, dataDir);
  await waitOnHost(progressOf, (p) => p.campaign.state !== 'routing', 100);
  let view = await getJson<CampaignView>(`${base}/campaigns/${c.id}`, dataDir);
  if (view.campaign.state === 'cancelled') throw new UsageError(`campaign ${c.id} was cancelled`);
  out(`\nRouting plan for ${c.id} (${view.counts.line}; ${view.counts.unroutable} unroutable):\n`);
  out(planTable(view.notices) + '\n');
  if (!opts.yes) {
    if (!(await confirm(`Send ${view.notices.length} notices? [y/N] `))) {
      out(`Not sent. The plan waits for approval: takedown approve ${c.id} --data-dir ${dataDir}   (or POST /campaigns/${c.id}/approval)`);
      return;
    }
    await postJson(`${base}/campaigns/${c.id}/approval`, opts.submitter ? { onBehalfOf: opts.submitter } : {}, dataDir);
  }
  const progress = new Progress('sending notices');
  try {
    await waitOnHost(
      progressOf,
      (p) => p.campaign.state !== 'sending' && p.campaign.state !== 'routing' && p.notices.out === p.notices.total,
      250,
      (p) => progress.update(p.notices.out, p.notices.total),
    );
  } finally {
    progress.finish();
  }
  view = await getJson<CampaignView>(`${base}/campaigns/${c.id}`, dataDir);
  out('\n' + campaignSummary(view.campaign, view.notices, view.counts, undefined, [['mail goes', `through the running host (pid ${running.pid})`], ['next', `takedown status ${c.id} --data-dir ${dataDir}`]]));
}

/** Adds `run`. */
export function addRunCommand(prog: Command): void {
  withSourceOptions(
    withHostOptions(
      withIntakeOptions(
        prog
          .command('run')
          .argument('[file]', 'campaign file: a STIX 2.1 bundle, a MISP event (JSON), a CSV with a header (indicator,type,country,first_seen,evidence,tlp,...; comma, semicolon or tab) or a plain list; or none, with --from-misp or --from-taxii')
          .description('run a whole campaign: intake (a file, MISP events or a TAXII collection), routing, plan, approval, sending; notices are left waiting for answers. Goes through the running host when one serves the data directory'),
      )
        .option('--submitter <who>', 'whom you submit for (recorded beside your user name, never instead of it)')
        .option('--legal-basis <text>', 'legal basis quoted in every notice')
        .option('-y, --yes', 'approve the routing plan at once'),
    ),
  ).action(async (file: string | undefined, opts: RunFlags) => {
    if (file !== undefined && hasRemoteSource(opts)) throw new UsageError('give a campaign file or --from-misp / --from-taxii, not both');
    if (file === undefined && !hasRemoteSource(opts)) throw new UsageError('give a campaign file, or --from-misp <url> --event <id>, or --from-taxii <url> --collection <id>');
    const dataDir = dataDirOf(opts);
    // a remote source is read before the host starts: a refused key or an unknown event stops here, having stored nothing
    const remote = file === undefined ? await readRemoteSource(opts) : undefined;
    const label = file ?? remote!.sourceName;
    const running = await reachRunningHost(dataDir);
    if (running?.httpUrl) {
      const text = remote ? remote.content : readCampaignFile(file!);
      const submission = {
        ...submissionOf(file ?? remote!.sourceName, text, opts),
        ...(remote ? { name: opts.name ?? remote.name, format: remote.format, sourceName: remote.sourceName } : {}),
        ...(opts.legalBasis ? { legalBasis: opts.legalBasis } : {}),
      };
      return runThroughHost(running, dataDir, submission, opts, remote?.origin);
    }
    const { intakeProgress, routingProgress } = await import('./shared/progress.js');
    const content = remote ? remote.content : intakeProgress(await campaignFileSource(file!), file!);
    const routed = routingProgress();
    const [{ approveCampaign, submitCampaign }, { campaignCounts, campaignStatus }, { recordCampaignOrigin }] = await Promise.all([import('../../core/campaign/index.js'), import('../../core/reports/index.js'), import('../../core/feeds/index.js')]);
    await withHost(
      await hostConfig(opts),
      async (host) => {
        const submitted = await submitCampaign(host.deps, {
          ...submissionOf(file ?? remote!.sourceName, content, opts),
          ...(remote ? { name: opts.name ?? remote.name, format: remote.format, sourceName: remote.sourceName } : {}),
          legalBasis: opts.legalBasis,
          requireApproval: true,
        });
        const c = submitted.campaign;
        if (remote) await recordCampaignOrigin(host.deps, c.id, remote.origin);
        err(`read ${c.counts.submitted} indicators from ${label}: ${c.counts.indicators} accepted, ${submitted.duplicatesInFile} duplicates in the file, ${submitted.alreadyOpen.length} already in open cases, ${submitted.excluded.length} excluded, ${submitted.skipped.length} skipped as invalid`);
        for (const s of submitted.skipped.slice(0, 20)) err(`  skipped ${s.where}: ${s.reason}`);
        routed.total(c.counts.indicators);
        const planned = await waitForPlan(host, c.id);
        routed.finish();
        if (planned.state === 'cancelled') throw new UsageError(`campaign ${c.id} was cancelled`);
        const plan = await campaignStatus(host.deps, c.id);
        const counts = await campaignCounts(host.deps, planned);
        out(`\nRouting plan for ${c.id} (${counts.line}; ${counts.unroutable} unroutable):\n`);
        out(planTable(plan.notices) + '\n');
        const approved = opts.yes || (await confirm(`Send ${plan.notices.length} notices? [y/N] `));
        if (!approved) {
          out(`Not sent. The plan waits for approval: takedown approve ${c.id} --data-dir ${dataDir}   (or POST /campaigns/${c.id}/approval)`);
          return;
        }
        await approveCampaign(host.deps, c.id, cliActor(opts.submitter));
        const status = await waitForSending(host, c.id);
        out('\n' + campaignSummary(status.campaign, status.notices, await campaignCounts(host.deps, status.campaign), status.halt, [['mail went to', host.mailDestination], ['next', `takedown serve --data-dir ${dataDir}   (waits for answers; takedown status ${c.id} --data-dir ${dataDir})`]]));
      },
      false,
      { decorate: { parties: routed.resolver } },
    );
  });
}

/** Adds `plan`. */
export function addPlanCommand(prog: Command): void {
  withIntakeOptions(
    withPartyOptions(prog.command('plan'))
      .argument('<file>', 'campaign file, as for run')
      .description('dry run: intake, TLP and routing of a file without sending or storing anything; per recipient the indicators it would receive and why'),
  )
    .option('--data-dir <dir>', 'the data directory, for indicators already open in other campaigns (env TAKEDOWN_DATA_DIR)')
    .option('--config <file>', "the settings file (default: the data directory's takedown.yaml)")
    .option('--directory <file>', 'the party directory (env TAKEDOWN_DIRECTORY)')
    .option('--json', 'the whole plan as JSON')
    .option('--limit <n>', 'lines shown per list in the text output, 0 for all', (v) => (/^\d+$/.test(v) ? Number(v) : NaN), 20)
    .action(async (file: string, opts: HostFlags & IntakeFlags & { json?: boolean; limit: number }) => {
      if (!Number.isInteger(opts.limit)) throw new UsageError('--limit takes a whole number');
      const source = await campaignFileSource(file);
      let plan: Plan;
      const { runningHost, startHost } = await loadHost();
      const running = runningHost(dataDirOf(opts));
      if (running?.httpUrl) {
        // a request body is the whole text: the host reads it from there
        const body = submissionOf(file, readCampaignFile(file), opts);
        const res = await fetch(`${running.httpUrl}/plans`, { method: 'POST', headers: hostHeaders(dataDirOf(opts)), body: JSON.stringify(body) });
        const json = (await res.json().catch(() => ({}))) as Plan & { error?: { message?: string; issues?: InputIssue[]; hint?: string } };
        if (res.status === 400) {
          const { InvalidInputError } = await import('../../core/errors.js');
          throw new InvalidInputError(json.error?.message ?? 'the file was refused', json.error?.issues ?? [], json.error?.hint ? { hint: json.error.hint } : {});
        }
        if (!res.ok) throw new UsageError(`the host answered ${res.status}: ${json.error?.message ?? res.statusText}`);
        plan = json;
      } else {
        const { planSubmission } = await import('../../core/campaign/index.js');
        // no listening, no resumed workflows: nothing can be sent; the store is only read (lookup caches may fill)
        const host = await startHost(await hostConfig(opts), { listen: false, resume: false });
        try {
          plan = await planSubmission(host.deps, submissionOf(file, source, opts));
        } finally {
          await host.close();
        }
      }
      const { planText } = await import('./shared/plan-view.js');
      out(opts.json ? JSON.stringify(plan, null, 2) : planText(plan, opts.limit));
    });
}

/** Adds `status`. */
export function addStatusCommand(prog: Command): void {
  prog
    .command('status')
    .argument('[id]', 'a campaign id; without it, every campaign. Anything else (an indicator, a notice or case id, a TKD- tag) is looked up as `takedown find` does')
    .description('show campaigns, or one campaign with every notice and case state and the line that explains its numbers')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (id: string | undefined, opts: HostFlags & { json?: boolean }) => {
      const dataDir = dataDirOf(opts);
      if (id !== undefined && !/^cmp_[a-z0-9]{16}$/.test(id)) {
        const { findCommand } = await import('./find.js');
        return findCommand(id, { dataDir, ...(opts.json ? { json: true } : {}) });
      }
      const store = await openStore(dataDir);
      try {
        const { campaignCounts, campaignStatus } = await import('../../core/reports/index.js');
        const { campaignHistory } = await import('../../core/audit/index.js');
        const { listAll } = await import('../../core/paging.js');
        const deps = { store } as unknown as Host['deps'];
        if (!id) {
          const campaigns = await store.listCampaigns();
          const rows = await Promise.all(campaigns.map(async (c) => ({ c, counts: await campaignCounts(deps, c) })));
          if (opts.json) return out(JSON.stringify({ campaigns: rows.map(({ c: { approvalToken: _t, ...c }, counts }) => ({ ...c, funnel: counts })) }, null, 2));
          if (!campaigns.length) return out(`no campaigns yet in ${dataDir}`);
          out(table(['campaign', 'name', 'state', 'created', 'indicators → cases → notices'], rows.map(({ c, counts }) => [c.id, c.name, c.state, c.createdAt, counts.line])));
          return;
        }
        const status = await campaignStatus(deps, id);
        const counts = await campaignCounts(deps, status.campaign);
        const history = (await campaignHistory(deps, id)).map(({ at, type, actor, text, bookkeeping }) => ({ at, type, actor, text, ...(bookkeeping ? { bookkeeping } : {}) }));
        if (opts.json) {
          const cases = await listAll((p) => store.listCases({ campaignId: id }, p));
          const { approvalToken: _a, ...campaign } = status.campaign;
          return out(JSON.stringify({ campaign, counts, notices: status.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n), cases, history }, null, 2));
        }
        out(campaignSummary(status.campaign, status.notices, counts, status.halt) + '\n');
        out(
          table(
            ['notice', 'recipient', 'step', 'state', 'cases', 'sent', 'deadline', 'reminders', 'refused'],
            status.notices.map((n) => [n.id, `${n.party.name} <${n.party.email}>`, n.step, n.state, n.caseCount, n.sentAt ?? '', n.deadline ?? '', `${n.remindersSent}/${n.remindersAllowed}`, n.refusal ? refusalLine(n.refusal).slice(0, 120) : '']),
          ),
        );
        out('\ncases by state: ' + Object.entries(status.cases).map(([s, n]) => `${s} ${n}`).join(', '));
        // the workflow's bookkeeping (its archived histories, the sources routing used) stays in --json
        const told = history.filter((h) => !h.bookkeeping);
        if (told.length) out('\nthe campaign itself:\n' + told.map((h) => `  ${h.at}  ${h.text}`).join('\n'));
        out(`\none case's story: takedown find <case id> --data-dir ${dataDir}`);
      } finally {
        store.close();
      }
    });
}

/** Adds `approve`. */
export function addApproveCommand(prog: Command): void {
  withHostOptions(
    prog.command('approve').argument('<campaign>', 'the campaign id').description("approve a campaign's routing plan; its notices are sent").option('--as <who>', AS_OPTION_HELP),
  ).action(async (campaignId: string, opts: HostFlags & { as?: string }) => {
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/campaigns/${encodeURIComponent(campaignId)}/approval`, opts.as ? { onBehalfOf: opts.as } : {}, dataDirOf(opts));
      return out(`approved ${campaignId}; the running host (pid ${running.pid}) sends the notices`);
    }
    const { approveCampaign } = await import('../../core/campaign/index.js');
    await withCommandHost(await commandHostConfig(opts), async (host) => {
      const c = await approveCampaign(host.deps, campaignId, cliActor(opts.as));
      out(`approval of ${campaignId} ${RECORDED_ONLY} (${c.counts.notices} notices)`);
    });
  });
}

/** Adds `expired`. */
export function addExpiredCommand(prog: Command): void {
  withHostOptions(
    prog
      .command('expired')
      .argument('<campaign>', 'the campaign id')
      .description('list the cases whose ladder ran out (nobody acted), each with its whole history')
      .option('--json', 'print JSON'),
  ).action(async (campaignId: string, opts: HostFlags & { json?: boolean }) => {
    const store = await openStore(dataDirOf(opts));
    try {
      const { expiredCases } = await import('../../core/campaign/index.js');
      const list = await expiredCases({ store }, campaignId);
      if (opts.json) return out(JSON.stringify({ cases: list }, null, 2));
      if (!list.length) return out('no expired case');
      for (const { case: c, history } of list) {
        out(`${c.id}  ${c.indicator.value}  (${c.ladder.length} part${c.ladder.length === 1 ? 'y' : 'ies'} asked)`);
        for (const e of history) out(`  ${e.at}  ${e.type}  ${e.actor}`);
      }
    } finally {
      store.close();
    }
  });
}
