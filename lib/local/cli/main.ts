import { readFileSync, existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { userInfo } from 'node:os';
import { createInterface } from 'node:readline/promises';
import { Command, InvalidArgumentError, Option } from 'commander';
import { TakedownError, InvalidInputError, type InputIssue } from '../../core/errors.js';
import type { Campaign, Notice } from '../../core/model.js';
import { approveCampaign, listAll, submitCampaign, type SubmitCampaignInput } from '../../core/campaign/campaign.js';
import { control, ControlAction, expiredCases, sendFollowup, targetOf } from '../../core/campaign/control.js';
import { demoRows, runDemo } from '../demo.js';
import { planSubmission } from '../../core/campaign/dry-run.js';
import type { Plan } from '../../core/routing/plan.js';
import { planText } from './plan-view.js';
import { recordAnswer } from '../../core/answers/answers.js';
import type { TextSource } from '../../core/intake/text-source.js';
import { fileSource } from '../file-source.js';
import { campaignStatus, type CampaignStatus } from '../../core/campaign/status.js';
import { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';
import { configFromEnv, hostFiles, runningHost, startHost, type Host, type HostConfig } from '../host.js';
import { Progress, summary, table } from './terminal.js';
import { addPartyCommands, PARTY_OPTION_KEYS, withPartyOptions } from './parties.js';
import { addMailCommands } from './mail.js';
import { addAuditCommands } from './audit.js';
import { addKeyCommands, hostHeaders } from './keys.js';
import { addRecipientCommands } from './recipients.js';

const out = (text: string): void => void process.stdout.write(text + '\n');
const err = (text: string): void => void process.stderr.write(text + '\n');

/** Raised for a user mistake the CLI explains in one line (exit 2), as opposed to a failure (exit 1). */
class UsageError extends Error {}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1) throw new InvalidArgumentError('expected a number >= 1');
  return n;
}

function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

interface HostFlags {
  dataDir?: string;
  timeScale?: number;
  smtpUrl?: string;
  directory?: string;
  httpPort?: number;
  smtpPort?: number;
  logLevel?: string;
  rdap?: string;
  rdapBootstrap?: string;
  routing?: string;
}

function withHostOptions(cmd: Command): Command {
  return withPartyOptions(cmd)
    .option('--data-dir <dir>', 'where the database, outbox and inbox live (env TAKEDOWN_DATA_DIR)', undefined)
    .option('--time-scale <n>', 'domain seconds per real second, e.g. 86400 = a day a second (env TAKEDOWN_TIME_SCALE)', positiveNumber)
    .option('--smtp-url <url>', 'send through this SMTP relay instead of the embedded outbox (env SMTP_URL)')
    .option('--directory <file>', 'the party directory, YAML or JSON (env TAKEDOWN_DIRECTORY)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']));
}

/** The options `run` and `plan` share: how to read the file and under which marking and permission. */
function withIntakeOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'operation name (default: the file name)')
    .addOption(new Option('--tlp <tlp>', 'TLP of the campaign, for indicators without their own marking (default: TAKEDOWN_DEFAULT_TLP, else AMBER)').choices(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']))
    .addOption(new Option('--format <format>', 'input format (auto: detected from the content)').choices(['auto', 'csv', 'list', 'stix', 'misp']).default('auto'))
    .option('--skip-invalid', 'leave out the items with errors (they are listed in the plan and the audit record) instead of refusing the file')
    .option('--allow-amber <who granted it>', "record the source's permission to notify the infrastructure's operators of AMBER and AMBER+STRICT indicators")
    .option('--no-probes', 'do not probe what the parties say they took down (a probe from your address can tip off the operator)');
}

interface IntakeFlags {
  name?: string;
  tlp?: string;
  format: string;
  skipInvalid?: boolean;
  allowAmber?: string;
  /** commander's negation of --no-probes: true unless it was given */
  probes?: boolean;
}

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

function hostConfig(flags: HostFlags, extra: Partial<HostConfig> = {}): HostConfig {
  const merged: Record<string, unknown> = { ...configFromEnv(), ...extra };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && k in { dataDir: 1, timeScale: 1, smtpUrl: 1, directory: 1, httpPort: 1, smtpPort: 1, logLevel: 1, ...PARTY_OPTION_KEYS }) merged[k] = v;
  return merged as HostConfig;
}

function dataDirOf(flags: HostFlags): string {
  return flags.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function noticeIsOut(n: Notice): boolean {
  return !['planned', 'sending', 'uncertain'].includes(n.state);
}

/** Wait until the campaign workflow has built its plan (or stopped). */
async function waitForPlan(host: Host, campaignId: string): Promise<Campaign> {
  for (;;) {
    const c = await host.deps.store.getCampaign(campaignId);
    if (c && c.state !== 'routing') return c;
    const failed = host.workflows.list().find((e) => e.name.includes(campaignId) && e.status === 'failed');
    if (failed) throw new Error(`the campaign workflow failed: ${failed.error}`);
    await sleep(50);
  }
}

/** Wait, with a progress bar, until every notice of the campaign has gone out. */
async function waitForSending(host: Host, campaignId: string): Promise<CampaignStatus> {
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

function campaignSummary(status: CampaignStatus, host: Host | undefined, extra: [string, string | number][] = []): string {
  const c = status.campaign;
  const sent = status.notices.filter(noticeIsOut).length;
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
    ...(host ? ([['mail went to', host.mailDestination]] as [string, string][]) : []),
    ...extra,
  ]);
}

function readCampaignFile(file: string): string {
  return readFileSync(campaignFile(file), 'utf8');
}

/** The file, checked to be one: intake reads it from disk a piece at a time, twice, and never holds it whole. */
function campaignFileSource(file: string): TextSource {
  return fileSource(campaignFile(file));
}

function campaignFile(file: string): string {
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  if (statSync(file).isDirectory()) throw new UsageError(`${file} is a directory, not a campaign file`);
  return file;
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

async function withHost<T>(config: HostConfig, fn: (host: Host) => Promise<T>, listen = false): Promise<T> {
  const dataDir = config.dataDir ?? '.takedown';
  const running = runningHost(dataDir);
  if (running) {
    throw new UsageError(
      `a takedown host (pid ${running.pid}) is serving ${dataDir} at ${running.httpUrl}; use its API, or stop it first`,
    );
  }
  const host = await startHost(config, { listen });
  try {
    return await fn(host);
  } finally {
    await host.close();
  }
}

async function postJson(url: string, body: unknown, dataDir: string): Promise<unknown> {
  const res = await fetch(url, { method: 'POST', headers: hostHeaders(dataDir), body: JSON.stringify(body) });
  const json = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  if (!res.ok) throw new UsageError(`the host answered ${res.status}: ${json.error?.message ?? res.statusText}`);
  return json;
}

/** Build the `takedown` program; `main` runs it. */
export function program(): Command {
  const prog = new Command('takedown')
    .description('Takedown-request orchestrator: route confirmed malicious infrastructure to whoever can take it down, send one notice per recipient, track answers, escalate.')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) });

  withHostOptions(
    withIntakeOptions(
      prog
        .command('run')
        .argument('<file>', 'campaign file: a STIX 2.1 bundle, a MISP event (JSON), a CSV with a header (indicator,type,country,first_seen,evidence,tlp,...) or a plain list')
        .description('run a whole campaign on the embedded host: intake, routing, plan, approval, sending; notices are left waiting for answers'),
    )
      .option('--submitter <who>', 'who submits (default: your user name)')
      .option('--legal-basis <text>', 'legal basis quoted in every notice')
      .option('-y, --yes', 'approve the routing plan at once'),
  ).action(async (file: string, opts: HostFlags & IntakeFlags & { submitter?: string; legalBasis?: string; yes?: boolean }) => {
    const content = campaignFileSource(file);
    await withHost(hostConfig(opts), async (host) => {
      const submitter = opts.submitter ?? safeUser();
      const submitted = await submitCampaign(host.deps, {
        ...submissionOf(file, content, opts, submitter),
        legalBasis: opts.legalBasis,
        requireApproval: true,
      });
      const c = submitted.campaign;
      err(`read ${c.counts.submitted} indicators from ${file}: ${c.counts.indicators} accepted, ${submitted.duplicatesInFile} duplicates in the file, ${submitted.alreadyOpen.length} already in open cases, ${submitted.excluded.length} excluded, ${submitted.skipped.length} skipped as invalid`);
      for (const s of submitted.skipped.slice(0, 20)) err(`  skipped ${s.where}: ${s.reason}`);
      const planned = await waitForPlan(host, c.id);
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
    });
  });

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
        const host = await startHost(hostConfig(opts), { listen: false, resume: false });
        try {
          plan = await planSubmission(host.deps, submissionOf(file, source, opts, safeUser()));
        } finally {
          await host.close();
        }
      }
      out(opts.json ? JSON.stringify(plan, null, 2) : planText(plan, opts.limit));
    });

  prog
    .command('demo')
    .description('play a whole campaign against simulated recipients in about a minute: notices, reminders, a bounce, escalation, answers, probes, a site that comes back')
    .option('--data-dir <dir>', 'where the demo keeps its data (wiped first)', '.takedown-demo')
    .option('--scale <n>', 'domain seconds per real second (8640: a day in 10 s)', positiveNumber, 8640)
    .action(async (opts: { dataDir: string; scale: number }) => {
      out('takedown demo: 8 indicators, 7 registrars and a national CERT, all simulated on this machine; nothing leaves it.\n');
      const result = await runDemo({ dataDir: opts.dataDir, scale: opts.scale, out });
      out('');
      out(
        table(
          ['indicator', 'asked', 'state', 'last probe'],
          demoRows(result.cases),
        ),
      );
      out(`\n${result.sent.length} messages sent, ${result.replies.length} answers received, in ${result.seconds.toFixed(0)} s.`);
      out(`Look next: takedown status ${result.campaignId} --data-dir ${opts.dataDir}`);
      out(`           the messages as sent: ${hostFiles(opts.dataDir).outbox}`);
      out(`           the replies as received: ${hostFiles(opts.dataDir).inbox}`);
      out(`           the dashboard: takedown serve --data-dir ${opts.dataDir}, then open /ui`);
    });

  prog
    .command('serve')
    .description('run the embedded host: HTTP API and webhooks, SMTP for inbound replies, the workflow engine; resumes every open notice')
    .option('--http-port <port>', 'HTTP port, 0 for any free one (env TAKEDOWN_HTTP_PORT)', port)
    .option('--smtp-port <port>', 'inbound SMTP port, 0 for any free one (env TAKEDOWN_SMTP_PORT)', port)
    .option('--data-dir <dir>', 'where the database, outbox and inbox live (env TAKEDOWN_DATA_DIR)')
    .option('--time-scale <n>', 'domain seconds per real second (env TAKEDOWN_TIME_SCALE)', positiveNumber)
    .option('--smtp-url <url>', 'send through this SMTP relay instead of the embedded outbox (env SMTP_URL)')
    .option('--directory <file>', 'the party directory (env TAKEDOWN_DIRECTORY)')
    .option('--rdap <mode>', 'local (recorded answers, no network), real (the registries\' RDAP servers) or off (env TAKEDOWN_RDAP)')
    .option('--rdap-bootstrap <url or dir>', 'RDAP bootstrap files of another RDAP service (env TAKEDOWN_RDAP_BOOTSTRAP)')
    .option('--routing <file>', 'the routing policy (env TAKEDOWN_ROUTING)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']).default('info'))
    .action(async (opts: HostFlags) => {
      const config = hostConfig(opts);
      const running = runningHost(config.dataDir ?? '.takedown');
      if (running) throw new UsageError(`a takedown host (pid ${running.pid}) already serves this data directory at ${running.httpUrl}`);
      const host = await startHost(config, { listen: true });
      out(
        summary([
          ['http', host.httpUrl ?? ''],
          ['smtp (replies)', `${host.config.smtpHost}:${host.smtpPort}`],
          ['mail goes to', host.mailDestination],
          ['data', host.files.dataDir],
          ['time scale', host.clock.scale],
          ['resumed', `${host.resumed.notices} notices, ${host.resumed.campaigns} campaigns, ${host.resumed.answersApplied} stored answers applied`],
        ]),
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      err('stopping: open notices keep their stored state and resume at the next start');
      await host.close();
    });

  prog
    .command('status')
    .argument('[campaign]', 'a campaign id; without it, every campaign')
    .description('show campaigns, or one campaign with every notice and case state')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (campaignId: string | undefined, opts: HostFlags & { json?: boolean }) => {
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
        out(table(['notice', 'recipient', 'step', 'state', 'cases', 'sent', 'deadline', 'reminders'], status.notices.map((n) => [n.id, `${n.party.name} <${n.party.email}>`, n.step, n.state, n.caseCount, n.sentAt ?? '', n.deadline ?? '', `${n.remindersSent}/${n.remindersAllowed}`])));
        out('\ncases by state: ' + Object.entries(status.cases).map(([s, n]) => `${s} ${n}`).join(', '));
      } finally {
        store.close();
      }
    });

  withHostOptions(
    prog.command('approve').argument('<campaign>', 'the campaign id').description('approve a campaign\'s routing plan; its notices are sent').option('--as <who>', 'who approves (default: your user name)'),
  ).action(async (campaignId: string, opts: HostFlags & { as?: string }) => {
    const approver = opts.as ?? safeUser();
    const running = runningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/campaigns/${encodeURIComponent(campaignId)}/approval`, { approver }, dataDirOf(opts));
      return out(`approved ${campaignId}; the running host (pid ${running.pid}) sends the notices`);
    }
    await withHost(hostConfig(opts), async (host) => {
      await approveCampaign(host.deps, campaignId, approver);
      const status = await waitForSending(host, campaignId);
      out(campaignSummary(status, host));
    });
  });

  const controls: Record<ControlAction, string> = {
    pause: 'stop the clock of a campaign, a notice or a case (no reminder, no escalation while paused)',
    resume: 'start a paused clock again, with the time it had left',
    cancel: 'stop a campaign, a notice or a case for good (a campaign before sending: nothing goes out)',
    escalate: 'hand the open cases to the next party of their ladder now, without waiting for the deadline',
  };
  for (const action of ControlAction.options) {
    withHostOptions(
      prog
        .command(action)
        .argument('<id>', 'a campaign (cmp_…), notice (n…) or case (c…) id, as `takedown status` shows them')
        .description(controls[action])
        .option('--reason <text>', 'why (kept in the audit trail)', 'by hand')
        .option('--as <who>', 'who acts (default: your user name)'),
    ).action(async (id: string, opts: HostFlags & { reason: string; as?: string }) => {
      const by = opts.as ?? safeUser();
      const target = targetOf(id);
      const kind = 'campaignId' in target ? 'campaigns' : 'noticeId' in target ? 'notices' : 'cases';
      const running = runningHost(dataDirOf(opts));
      if (running?.httpUrl) {
        await postJson(`${running.httpUrl}/${kind}/${encodeURIComponent(id)}/${action}`, { by, reason: opts.reason }, dataDirOf(opts));
        return out(`${action}: ${id} (through the running host, pid ${running.pid})`);
      }
      await withHost(hostConfig(opts), async (host) => {
        const r = await control(host.deps, id, action, by, opts.reason);
        out(`${action}: ${id}; ${r.notices} notice(s), ${r.cases} case(s)${r.escalatedTo.length ? `; new notices ${r.escalatedTo.join(', ')}` : ''}`);
      });
    });
  }

  withHostOptions(
    prog
      .command('followup')
      .argument('<notice>', 'the notice id (the TKD- tag without TKD-)')
      .description("answer a recipient's question in the notice's thread; its clock starts again")
      .option('--message <text>', 'the answer')
      .option('--file <path>', 'read the answer from a file')
      .option('--as <who>', 'who answers (default: your user name)'),
  ).action(async (noticeArg: string, opts: HostFlags & { message?: string; file?: string; as?: string }) => {
    if (!!opts.message === !!opts.file) throw new UsageError('give the answer with --message or --file (one of them)');
    const message = opts.message ?? readCampaignFile(opts.file!);
    const by = opts.as ?? safeUser();
    const noticeId = noticeArg.replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
    const running = runningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/followups`, { message, by }, dataDirOf(opts));
      return out(`follow-up sent for ${noticeId}`);
    }
    await withHost(hostConfig(opts), async (host) => {
      const n = await sendFollowup(host.deps, noticeId, { kind: 'answer', message, by }, by);
      out(`follow-up sent for ${noticeId}; notice is ${n.state}, deadline ${n.deadline}`);
    });
  });

  withHostOptions(
    prog
      .command('expired')
      .argument('<campaign>', 'the campaign id')
      .description('list the cases whose ladder ran out (nobody acted), each with its whole history')
      .option('--json', 'print JSON'),
  ).action(async (campaignId: string, opts: HostFlags & { json?: boolean }) => {
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

  withHostOptions(
    prog
      .command('ack')
      .argument('<notice>', 'the notice id (the TKD- tag without TKD-)')
      .description('record a recipient\'s answer by hand (default: acknowledged)')
      .option('--actioned', 'the recipient took it down')
      .option('--disputed', 'the recipient disputes the notice')
      .option('--not-ours', 'the recipient is not the right party: escalate at once')
      .option('--note <text>', 'what they said'),
  ).action(async (noticeArg: string, opts: HostFlags & { actioned?: boolean; disputed?: boolean; notOurs?: boolean; note?: string }) => {
    const chosen = [opts.actioned && 'actioned', opts.disputed && 'disputed', opts.notOurs && 'not-ours'].filter(Boolean) as string[];
    if (chosen.length > 1) throw new UsageError('choose one of --actioned, --disputed, --not-ours');
    const intent = (chosen[0] ?? 'acknowledged') as 'acknowledged';
    const noticeId = noticeArg.replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase();
    const running = runningHost(dataDirOf(opts));
    if (running?.httpUrl) {
      await postJson(`${running.httpUrl}/notices/${encodeURIComponent(noticeId)}/answers`, { intent, ...(opts.note ? { note: opts.note } : {}) }, dataDirOf(opts));
      return out(`recorded: ${noticeId} ${intent}`);
    }
    await withHost(hostConfig(opts), async (host) => {
      const result = await recordAnswer(host.deps, noticeId, { intent, source: 'manual', from: safeUser(), note: opts.note });
      out(`recorded: ${noticeId} ${intent}; notice is ${result.notice.state}`);
    });
  });

  addPartyCommands(prog);
  addMailCommands(prog);
  addAuditCommands(prog);
  addKeyCommands(prog);
  addRecipientCommands(prog);
  return prog;
}

function safeUser(): string {
  try {
    return userInfo().username || 'coordinator';
  } catch {
    return 'coordinator';
  }
}

/** Run the CLI; returns the exit code (0 ok, 1 failure, 2 a usage or input mistake). */
export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv);
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`takedown: ${e.message}`);
      return 2;
    }
    if (e instanceof InvalidInputError) {
      err(`takedown: ${e.message}`);
      for (const issue of e.issues.slice(0, 50)) err(`  ${issue.where}: ${issue.reason}`);
      if (e.issues.length > 50) err(`  ... and ${e.issues.length - 50} more`);
      err('nothing was stored.');
      return 2;
    }
    if (e instanceof TakedownError) {
      err(`takedown: ${e.message} (${e.code})`);
      return 1;
    }
    if ((e as { code?: string }).code?.startsWith('commander.')) return (e as { exitCode?: number }).exitCode ?? 2;
    err(`takedown: ${(e as Error).message}`);
    return 1;
  }
}
