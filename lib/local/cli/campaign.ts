import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { createInterface } from 'node:readline/promises';
import type { Command } from 'commander';
import { InvalidInputError, type InputIssue } from '../../core/errors.js';
import type { Campaign, Notice } from '../../core/model.js';
import { approveCampaign } from '../../core/campaign/index.js';
import { listAll } from '../../core/paging.js';
import { recordCampaignOrigin, submitCampaign, type SubmitCampaignInput } from '../../core/campaign/index.js';
import { expiredCases } from '../../core/campaign/index.js';
import { planSubmission } from '../../core/campaign/index.js';
import type { Plan } from '../../core/routing/index.js';
import type { TextSource } from '../../core/intake/index.js';
import { campaignStatus, type CampaignStatus } from '../../core/campaign/index.js';
import { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';
import { fileSource } from '../file-source.js';
import type { Host } from '../host.js';
import { planText } from './plan-view.js';
import { Progress, summary, table } from './terminal.js';
import { intakeProgress, routingProgress } from './progress.js';
import { hasRemoteSource, readRemoteSource, withSourceOptions, type SourceFlags } from './sources.js';
import { hostHeaders, loadHost, postJson, reachRunningHost, RECORDED_ONLY, withCommandHost, withHost } from './host-client.js';
import {
  campaignFile,
  dataDirOf,
  err,
  hostConfig,
  out,
  readCampaignFile,
  safeUser,
  UsageError,
  withHostOptions,
  withIntakeOptions,
  withPartyOptions,
  type HostFlags,
  type IntakeFlags,
} from './options.js';

/**
 * A campaign from file to sent notices: `run` (the whole of it on an embedded host), `plan` (a dry run),
 * `status`, `approve`, and `expired` (the cases nobody acted on).
 */

/** A submission from a file and the intake flags. */
function submissionOf(file: string, content: string | TextSource, opts: IntakeFlags, submitter: string): SubmitCampaignInput {
  return {
    name: opts.name ?? basename(file).replace(/\.[^.]+$/, ''),
    ...(opts.tlp ? { tlp: opts.tlp as Campaign['tlp'] } : {}),
    submitter,
    format: opts.format as 'auto',
    sourceName: basename(file),
    content,
    skipInvalid: opts.skipInvalid === true,
    ...(opts.allowAmber !== undefined ? { tlpPermission: { grantedBy: opts.allowAmber } } : {}),
    ...(opts.probes === false ? { probes: false } : {}),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function noticeIsOut(n: Notice): boolean {
  return !['planned', 'sending', 'uncertain'].includes(n.state);
}

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
  const progress = new Progress('sending notices');
  for (;;) {
    // only the notices while waiting: loading every case on each poll cost more than the sending itself
    const campaign = await host.deps.store.getCampaign(campaignId);
    const notices = await listAll((p) => host.deps.store.listNotices({ campaignId }, p));
    const sent = notices.filter(noticeIsOut).length;
    progress.update(sent, notices.length);
    if (campaign?.state === 'running' && sent === notices.length) {
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

function planTable(status: CampaignStatus): string {
  const rows = status.notices
    .slice()
    .sort((a, b) => b.caseCount - a.caseCount || a.party.name.localeCompare(b.party.name))
    .map((n) => [n.party.name, n.party.kind, n.party.email, n.party.country ?? '', n.caseCount, n.party.contactSource]);
  return table(['recipient', 'kind', 'contact', 'country', 'indicators', 'contact from'], rows);
}

/** A refusal as one line: `554 5.7.1 Relay access denied (RCPT)`. */
function refusalLine(r: NonNullable<Notice['refusal']>): string {
  return [r.code, r.enhanced, r.text, r.step ? `(${r.step})` : undefined].filter((x) => x !== undefined && x !== '').join(' ');
}

function campaignSummary(status: CampaignStatus, host: Host | undefined, extra: [string, string | number][] = []): string {
  const c = status.campaign;
  // sent means accepted by the next hop: a notice escalated because it was refused was never sent
  const sent = status.notices.filter((n) => n.sentAt).length;
  const refused = status.notices.filter((n) => n.refusal && !n.sentAt).length;
  return summary([
    ['campaign', c.id],
    ['name', c.name],
    ['state', c.state],
    ['indicators', `${c.counts.indicators} accepted of ${c.counts.submitted} submitted (${c.counts.duplicates} duplicates)`],
    ['unroutable', c.counts.unroutable],
    ['withheld (TLP)', c.counts.withheld ?? 0],
    ['cases', c.counts.cases],
    ['recipients', status.notices.length],
    ['notices sent', sent],
    ...(refused ? ([['notices refused', refused]] as [string, number][]) : []),
    ...(status.halt ? ([['SENDING HALTED', `since ${status.halt.since}: ${refusalLine(status.halt.refusal)}`]] as [string, string][]) : []),
    ...(host ? ([['mail went to', host.mailDestination]] as [string, string][]) : []),
    ...extra,
  ]);
}

/** The file, checked to be one: intake reads it from disk a piece at a time, twice, and never holds it whole. */
function campaignFileSource(file: string): TextSource {
  return fileSource(campaignFile(file));
}

async function confirm(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) return false;
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}

/** Adds `run`. */
export function addRunCommand(prog: Command): void {
  withSourceOptions(
    withHostOptions(
      withIntakeOptions(
        prog
          .command('run')
          .argument('[file]', 'campaign file: a STIX 2.1 bundle, a MISP event (JSON), a CSV with a header (indicator,type,country,first_seen,evidence,tlp,...) or a plain list; or none, with --from-misp or --from-taxii')
          .description('run a whole campaign on the embedded host: intake (a file, MISP events or a TAXII collection), routing, plan, approval, sending; notices are left waiting for answers'),
      )
        .option('--submitter <who>', 'who submits (default: your user name)')
        .option('--legal-basis <text>', 'legal basis quoted in every notice')
        .option('-y, --yes', 'approve the routing plan at once'),
    ),
  ).action(async (file: string | undefined, opts: HostFlags & IntakeFlags & SourceFlags & { submitter?: string; legalBasis?: string; yes?: boolean }) => {
    if (file !== undefined && hasRemoteSource(opts)) throw new UsageError('give a campaign file or --from-misp / --from-taxii, not both');
    if (file === undefined && !hasRemoteSource(opts)) throw new UsageError('give a campaign file, or --from-misp <url> --event <id>, or --from-taxii <url> --collection <id>');
    // a remote source is read before the host starts: a refused key or an unknown event stops here, having stored nothing
    const remote = file === undefined ? await readRemoteSource(opts) : undefined;
    const content = remote ? remote.content : intakeProgress(campaignFileSource(file!), file!);
    const label = file ?? remote!.sourceName;
    const routed = routingProgress();
    await withHost(
      await hostConfig(opts),
      async (host) => {
        const submitter = opts.submitter ?? safeUser();
        const submitted = await submitCampaign(host.deps, {
          ...submissionOf(file ?? remote!.sourceName, content, opts, submitter),
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
        out(`\nRouting plan for ${c.id} (${plan.notices.length} recipients, ${planned.counts.cases} cases, ${planned.counts.withheld ?? 0} withheld by TLP, ${planned.counts.unroutable} unroutable):\n`);
        out(planTable(plan) + '\n');
        const approved = opts.yes || (await confirm(`Send ${plan.notices.length} notices? [y/N] `));
        if (!approved) {
          out(`Not sent. The plan waits for approval: takedown approve ${c.id}   (or POST /campaigns/${c.id}/approval)`);
          return;
        }
        await approveCampaign(host.deps, c.id, submitter);
        const status = await waitForSending(host, c.id);
        out('\n' + campaignSummary(status, host, [['next', `takedown serve   (waits for answers; takedown status ${c.id})`]]));
      },
      false,
      { decorate: { parties: routed.resolver } },
    );
  });
}

/** Adds `plan`. */
export function addPlanCommand(prog: Command): void {
  withIntakeOptions(
    withPartyOptions(prog
      .command('plan'))
      .argument('<file>', 'campaign file, as for run')
      .description('dry run: intake, TLP and routing of a file without sending or storing anything; per recipient the indicators it would receive and why'),
  )
    .option('--data-dir <dir>', 'the data directory, for indicators already open in other campaigns (env TAKEDOWN_DATA_DIR)')
    .option('--directory <file>', 'the party directory (env TAKEDOWN_DIRECTORY)')
    .option('--json', 'the whole plan as JSON')
    .option('--limit <n>', 'lines shown per list in the text output, 0 for all', (v) => (/^\d+$/.test(v) ? Number(v) : NaN), 20)
    .action(async (file: string, opts: HostFlags & IntakeFlags & { json?: boolean; limit: number }) => {
      if (!Number.isInteger(opts.limit)) throw new UsageError('--limit takes a whole number');
      const source = campaignFileSource(file);
      let plan: Plan;
      const { runningHost, startHost } = await loadHost();
      const running = runningHost(dataDirOf(opts));
      if (running?.httpUrl) {
        // a request body is the whole text: the host reads it from there
        const body = submissionOf(file, readCampaignFile(file), opts, safeUser());
        const res = await fetch(`${running.httpUrl}/plans`, { method: 'POST', headers: hostHeaders(dataDirOf(opts)), body: JSON.stringify(body) });
        const json = (await res.json().catch(() => ({}))) as Plan & { error?: { message?: string; issues?: InputIssue[] } };
        if (res.status === 400) throw new InvalidInputError(json.error?.message ?? 'the file was refused', json.error?.issues ?? []);
        if (!res.ok) throw new UsageError(`the host answered ${res.status}: ${json.error?.message ?? res.statusText}`);
        plan = json;
      } else {
        // no listening, no resumed workflows: nothing can be sent; the store is only read (lookup caches may fill)
        const host = await startHost(await hostConfig(opts), { listen: false, resume: false });
        try {
          plan = await planSubmission(host.deps, submissionOf(file, source, opts, safeUser()));
        } finally {
          await host.close();
        }
      }
      out(opts.json ? JSON.stringify(plan, null, 2) : planText(plan, opts.limit));
    });
}

/** Adds `status`. */
export function addStatusCommand(prog: Command): void {
  prog
    .command('status')
    .argument('[campaign]', 'a campaign id; without it, every campaign')
    .description('show campaigns, or one campaign with every notice and case state')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (campaignId: string | undefined, opts: HostFlags & { json?: boolean }) => {
      const { hostFiles } = await loadHost();
      const files = hostFiles(dataDirOf(opts));
      if (!existsSync(files.database)) throw new UsageError(`no data in ${files.dataDir} yet: run a campaign first (takedown run <file>)`);
      const store = new SqliteStore(files.database);
      try {
        const deps = { store } as unknown as Host['deps'];
        if (!campaignId) {
          const campaigns = await store.listCampaigns();
          if (opts.json) return out(JSON.stringify({ campaigns: campaigns.map(({ approvalToken: _t, ...c }) => c) }, null, 2));
          if (!campaigns.length) return out('no campaigns yet');
          out(table(['campaign', 'name', 'state', 'created', 'indicators', 'cases', 'notices'], campaigns.map((c) => [c.id, c.name, c.state, c.createdAt, c.counts.indicators, c.counts.cases, c.counts.notices])));
          return;
        }
        const status = await campaignStatus(deps, campaignId);
        if (opts.json) {
          const cases = await listAll((p) => store.listCases({ campaignId }, p));
          const { approvalToken: _a, ...campaign } = status.campaign;
          return out(JSON.stringify({ campaign, notices: status.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n), cases }, null, 2));
        }
        out(campaignSummary(status, undefined) + '\n');
        out(
          table(
            ['notice', 'recipient', 'step', 'state', 'cases', 'sent', 'deadline', 'reminders', 'refused'],
            status.notices.map((n) => [n.id, `${n.party.name} <${n.party.email}>`, n.step, n.state, n.caseCount, n.sentAt ?? '', n.deadline ?? '', `${n.remindersSent}/${n.remindersAllowed}`, n.refusal ? refusalLine(n.refusal).slice(0, 120) : '']),
          ),
        );
        out('\ncases by state: ' + Object.entries(status.cases).map(([s, n]) => `${s} ${n}`).join(', '));
      } finally {
        store.close();
      }
    });
}

/** Adds `approve`. */
export function addApproveCommand(prog: Command): void {
  withHostOptions(
    prog.command('approve').argument('<campaign>', 'the campaign id').description('approve a campaign\'s routing plan; its notices are sent').option('--as <who>', 'who approves (default: your user name)'),
  ).action(async (campaignId: string, opts: HostFlags & { as?: string }) => {
    const approver = opts.as ?? safeUser();
    const running = await reachRunningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/campaigns/${encodeURIComponent(campaignId)}/approval`, { approver }, dataDirOf(opts));
      return out(`approved ${campaignId}; the running host (pid ${running.pid}) sends the notices`);
    }
    await withCommandHost(await hostConfig(opts), async (host) => {
      const c = await approveCampaign(host.deps, campaignId, approver);
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
    const { hostFiles } = await loadHost();
    const store = new SqliteStore(hostFiles(dataDirOf(opts)).database);
    try {
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
