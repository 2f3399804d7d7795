/**
 * `npm run bench`: one campaign the size of Africa Cyber Surge II (20,674 indicators, ~2,000 recipients) through
 * the embedded host, end to end, on loopback only. Measures; asserts nothing. Prints a table (or `--json`).
 *
 *   npm run bench [-- --json] [--compare <previous.json>] [--keep] [--seed <n>] [--poll counts|notices|cli] [--rdap off|local]
 *
 * Phases: generate a directory and a campaign -> intake + routing (submit until the plan is built) -> sending
 * (approval until every notice is out, polled the way `takedown run` polls) -> the ceiling: raw pooled
 * nodemailer into a capture server of its own with as many messages of the same size (best of two) -> 200,000
 * indicators routed, RDAP, the audit trail, workflow transitions, one big notice, start-up -> the same campaign on
 * the AWS host, offline (bench/aws.ts). One report; `--json` writes it as one JSON document, and `--compare` prints
 * a previous one's headline figures (bench/compare.ts) beside this run's: `--compare bench/baseline.json` holds
 * the figures issue #17 was filed with.
 *
 * To see where a phase spends its time: TAKEDOWN_BENCH_MARKS=1 node --cpu-prof --import tsx bench/run.ts
 * prints each phase's bounds on the profile's clock, to cut the .cpuprofile to that phase.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import nodemailer from 'nodemailer';
import { approveCampaign } from '../lib/core/campaign/index.js';
import { listAll } from '../lib/core/paging.js';
import { submitCampaign } from '../lib/core/campaign/index.js';
import { campaignStatus, sendingProgress } from '../lib/core/reports/index.js';
import type { Campaign, Notice } from '../lib/core/model.js';
import { NOTICE_NOT_OUT } from '../lib/core/lifecycle.js';
import { startCaptureServer } from '../lib/adapters/mail/capture-server.js';
import { startHost, type Host } from '../lib/local/host.js';
import { OffloadPool } from '../lib/adapters/offload/pool.js';
import { boundHeapGrowth } from '../lib/local/heap.js';
import { summary, table } from '../lib/local/cli/shared/terminal.js';
import { DEFAULT_SPEC, generateBench } from './generate.js';
import { heapLimitMb, runIntakeScale } from './intake-scale.js';
import { runRdapBench } from './rdap.js';
import { runAuditBench } from './audit.js';
import { runTransitionBench } from './transitions.js';
import { runBigNoticeBench } from './big-notice.js';
import { awsBench, awsBenchText } from './aws.js';
import { compareText, headlineOf, readRun } from './compare.js';
import { PhaseProfiler, profileText, type PhaseProfile } from './profile.js';
import { explainOtherBars, otherWhyText, type OtherBarsUnmet } from './why.js';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** nodemailer's pool default, which SmtpMailer keeps unless told otherwise */
const MAX_CONNECTIONS = 5;
/** the bars of issue #17 ("Fast where it counts") */
const TARGETS = { indicatorsPerSecond: 20_000, ceilingShare: 0.5, peakRssMb: 512, routing200kSeconds: 10, auditAppendsPerSecond: 20_000, startSeconds: 0.4 } as const;

interface Args {
  json: boolean;
  /** a previous run's JSON, printed beside this run's figures */
  compare?: string;
  keep: boolean;
  seed: number;
  /** `counts`: the notices counted by state, as `takedown run` polls; `notices`: every notice read; `cli`: campaignStatus, every case read */
  poll: 'cli' | 'notices' | 'counts';
  /** `off`: parties from the directory only; `local`: the host's default, also asking its local RDAP server */
  rdap: 'off' | 'local';
  /** sample the main thread over the campaign's phases and write the profiles here (the figures pay a few %) */
  profile?: string;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, keep: false, seed: DEFAULT_SPEC.seed, poll: 'counts', rdap: 'off' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--compare') {
      const file = argv[++i];
      if (!file) throw new Error('--compare takes the JSON file of an earlier run (npm run bench -- --json > before.json)');
      readRun(file);
      args.compare = file;
    }
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (a === '--poll') {
      const v = argv[++i];
      if (v !== 'cli' && v !== 'notices' && v !== 'counts') throw new Error('--poll takes counts, notices or cli');
      args.poll = v;
    } else if (a === '--rdap') {
      // never 'real': the bench talks to 127.0.0.1 only
      const v = argv[++i];
      if (v !== 'off' && v !== 'local') throw new Error('--rdap takes off or local');
      args.rdap = v;
    } else if (a === '--profile') {
      const dir = argv[++i];
      if (!dir || dir.startsWith('--')) throw new Error('--profile takes the folder to write the .cpuprofile files to');
      args.profile = dir;
    }
    else if (a === '--help' || a === '-h') {
      process.stdout.write(
        [
          'usage: npm run bench [-- --json] [--compare <previous.json>] [--keep] [--seed <n>] [--poll counts|notices|cli] [--rdap off|local] [--profile <dir>]',
          '',
          'Runs a 20,674-indicator campaign through the embedded host on loopback and prints what it measured.',
          '  --json                 the whole report as one JSON document on stdout',
          '  --compare <file>       an earlier run\'s JSON (or bench/baseline.json), printed beside this run',
          '  --keep                 keep the work directory',
          '  --seed <n>             the generated campaign\'s seed',
          '  --poll counts|notices|cli  how the sending phase polls for progress: notices counted by state, as',
          '                         `takedown run` does (default); every notice read; the full status, every case read',
          '  --rdap off|local       parties from the directory only (default), or also a local RDAP server',
          '  --profile <dir>        sample the main thread over intake + routing, sending and the ceiling, print where',
          '                         its time went and write the .cpuprofile files to <dir> (sampling costs a few %)',
          'When the intake + routing or the sending bar is not met, the campaign runs a second time, profiled, and the',
          'report shows where the main thread\'s time went; so do the 200k routing, the audit appends and the start-up,',
          'each run once more, profiled, when their bar is not met (TAKEDOWN_BENCH_WHY=0 leaves all that out).',
          'Environment: TAKEDOWN_BENCH_AWS=0, _INTAKE=0, _RDAP=0, _AUDIT=0, _TRANSITIONS=0, _BIG_NOTICE=0, _STARTUP=0 leave a part out.',
        ].join('\n') + '\n',
      );
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.seed)) throw new Error('--seed takes an integer');
  return args;
}

const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);
/**
 * With TAKEDOWN_BENCH_MARKS=1, phase boundaries on the monotonic clock in microseconds: the clock of
 * `node --cpu-prof` profiles, so a profile can be cut to one phase.
 */
const mark = (name: string): void => {
  if (process.env.TAKEDOWN_BENCH_MARKS === '1') log(`mark ${name} ${process.hrtime.bigint() / 1000n}`);
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const seconds = (ms: number) => Math.round(ms) / 1000;
const cpuMs = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1000;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Samples the resident set (and the JS heap, to tell the two apart) every 50 ms; peaks of the run and of a phase. */
class RssSampler {
  peak = 0;
  phasePeak = 0;
  heapPeak = 0;
  phaseHeapPeak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref();
  }
  sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    if (rss > this.peak) this.peak = rss;
    if (rss > this.phasePeak) this.phasePeak = rss;
    if (heapUsed > this.heapPeak) this.heapPeak = heapUsed;
    if (heapUsed > this.phaseHeapPeak) this.phaseHeapPeak = heapUsed;
  }
  /** the peaks (RSS, heap used) since the last call, and start a new phase */
  phase(): { rss: number; heap: number } {
    this.sample();
    const p = { rss: this.phasePeak, heap: this.phaseHeapPeak };
    this.phasePeak = 0;
    this.phaseHeapPeak = 0;
    return p;
  }
  stop(): void {
    clearInterval(this.timer);
  }
}

/** The kernel's own high-water mark of the resident set (catches peaks between two samples). */
function vmHwm(): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * A full collection between phases, so a phase is not charged for the garbage the one before left (V8 lets
 * the heap grow far past the live set while allocation runs high, and collects lazily afterwards).
 */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

function noticeIsOut(n: Notice): boolean {
  return !NOTICE_NOT_OUT.has(n.state);
}

function failedExecution(host: Host): string | undefined {
  const failed = host.workflows.list().find((e) => e.status === 'failed');
  return failed ? `workflow ${failed.name} failed: ${failed.error}` : undefined;
}

/** Where the main thread's time went in the campaign's phases, against what each bar allows. */
interface Why {
  /** which run was profiled */
  readonly source: string;
  /** where its .cpuprofile files are */
  readonly dir: string;
  readonly routing: { readonly budgetSeconds: number; readonly seconds: number; readonly indicators: number; readonly profile: PhaseProfile };
  readonly sending: { readonly budgetMsPerNotice: number; readonly msPerNotice: number; readonly notices: number; readonly profile: PhaseProfile };
  readonly ceiling: { readonly messagesPerSecond: number; readonly profile: PhaseProfile };
}

/**
 * The campaign once more in a process of its own, profiled (--profile, every other part left out), for the
 * report of a run whose campaign bars are not met; undefined (and a line on stderr) when that run fails.
 */
function profiledRun(args: Args, dir: string): Why | undefined {
  log(`why: the campaign once more, profiled, in a process of its own (the figures above stay those of the unprofiled run) ...`);
  const parts = ['AWS', 'INTAKE', 'RDAP', 'AUDIT', 'TRANSITIONS', 'BIG_NOTICE', 'STARTUP', 'WHY'];
  const child = spawnSync(
    process.execPath,
    [
      // the loader this run was started with (tsx), not a profiler flag it may have been given
      ...process.execArgv.filter((a) => !a.startsWith('--cpu-prof')),
      fileURLToPath(import.meta.url),
      ...['--json', '--profile', dir, '--seed', String(args.seed), '--poll', args.poll, '--rdap', args.rdap],
    ],
    { env: { ...process.env, ...Object.fromEntries(parts.map((p) => [`TAKEDOWN_BENCH_${p}`, '0'])) }, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
  // its progress is this run's again: shown only when it failed
  if (child.status !== 0) {
    process.stderr.write(child.stderr.split('\n').slice(-20).map((l) => `  ${l}`).join('\n'));
    log(`why: the profiled run failed (exit ${child.status ?? child.signal}); no profile in this report`);
    return undefined;
  }
  const run = JSON.parse(child.stdout) as { why: Why; intakeRouting: { indicatorsPerSecond: number }; sendingShareOfCeiling: { percent: number } };
  return {
    ...run.why,
    source: `a second run of the campaign, profiled (it routed ${fmt(run.intakeRouting.indicatorsPerSecond)} indicators/s and sent at ${run.sendingShareOfCeiling.percent} % of its ceiling)`,
  };
}

function whyText(why: Why): string {
  const { routing, sending, ceiling } = why;
  return [
    `Where the main thread's time went: ${why.source}; profiles in ${why.dir}`,
    `- intake + routing: the bar allows ${routing.budgetSeconds.toFixed(3)} s for ${fmt(routing.indicators)} indicators; this run took ${routing.seconds} s, the main thread busy ${(routing.profile.busyMs / 1000).toFixed(3)} s of it`,
    `- sending: the bar allows ${sending.budgetMsPerNotice.toFixed(2)} ms a notice (half the ceiling's ${fmt(ceiling.messagesPerSecond, 1)} messages/s); this run took ${sending.msPerNotice.toFixed(2)} ms a notice, the main thread busy ${(sending.profile.busyMs / sending.notices).toFixed(2)} ms of it`,
    profileText([
      { label: 'intake + routing', profile: routing.profile },
      { label: 'sending', profile: sending.profile, per: { count: sending.notices, unit: 'notice' } },
      { label: 'ceiling', profile: ceiling.profile, per: { count: sending.notices, unit: 'message' } },
    ]),
  ].join('\n');
}

/** The same wait as the CLI's waitForPlan. */
async function waitForPlan(host: Host, campaignId: string): Promise<void> {
  for (;;) {
    const c = await host.deps.store.getCampaign(campaignId);
    if (c && c.state !== 'routing') return;
    const failed = failedExecution(host);
    if (failed) throw new Error(failed);
    // finer than the CLI's 50 ms, so the poll adds little to a phase of a few seconds
    await sleep(10);
  }
}

/**
 * The same wait as the CLI's waitForSending (the campaign, and its notices counted by state), with a count on
 * stderr every few seconds; `--poll notices` reads every notice on each poll and `--poll cli` the full status
 * (every case), as the CLI once did, to show what such a poll costs. The polls are timed: they run on the same
 * event loop as the sending.
 */
async function waitForSending(host: Host, campaignId: string, poll: Args['poll']): Promise<{ polls: number; pollMs: number }> {
  let polls = 0;
  let pollMs = 0;
  let lastShown = 0;
  const started = performance.now();
  for (;;) {
    const t = performance.now();
    let campaign: Campaign;
    let sent: number;
    let total: number;
    if (poll === 'counts') {
      campaign = (await host.deps.store.getCampaign(campaignId))!;
      ({ out: sent, total } = await sendingProgress(host.deps, campaignId));
    } else {
      const status =
        poll === 'cli'
          ? await campaignStatus(host.deps, campaignId)
          : { campaign: (await host.deps.store.getCampaign(campaignId))!, notices: await listAll((p) => host.deps.store.listNotices({ campaignId }, p)) };
      campaign = status.campaign;
      total = status.notices.length;
      sent = status.notices.filter(noticeIsOut).length;
    }
    pollMs += performance.now() - t;
    polls++;
    if (campaign.state === 'running' && sent === total) return { polls, pollMs };
    if (performance.now() - lastShown >= 3000) {
      lastShown = performance.now();
      const elapsed = (lastShown - started) / 1000;
      log(`  sending: ${sent}/${total} notices out after ${elapsed.toFixed(1)} s (${campaign.state})`);
    }
    const failed = failedExecution(host);
    if (failed) throw new Error(failed);
    // the CLI's interval, on the event loop the sending runs on
    await sleep(250);
  }
}

const TAKEDOWN_BIN = fileURLToPath(new URL('../bin/takedown.mjs', import.meta.url));

/** What `takedown` runs with in the bench: the campaign's data directory. */
function startupEnv(work: string): NodeJS.ProcessEnv {
  return { ...process.env, TAKEDOWN_DATA_DIR: join(work, 'host') };
}

/**
 * A command's start: `takedown --help` and `takedown status` (over the bench campaign's data directory), each
 * the median of five runs in a fresh process, as a user types them.
 */
function measureStartup(work: string): { helpSeconds: number; statusSeconds: number } {
  const median = (args: string[]): number => {
    const runs: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, [TAKEDOWN_BIN, ...args], { env: startupEnv(work), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`takedown ${args.join(' ')} exited with ${r.status}: ${r.stderr.slice(0, 500)}`);
      runs.push(performance.now() - t);
    }
    return seconds(runs.sort((a, b) => a - b)[2]!);
  };
  return { helpSeconds: median(['--help']), statusSeconds: median(['status']) };
}

function emlFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => f.endsWith('.eml'));
}

/** Raw pooled nodemailer into a fresh capture server: what the transport and the outbox can do at most. */
async function measureCeiling(dir: string, count: number, samples: readonly string[]): Promise<{ ms: number; stored: number }> {
  const capture = await startCaptureServer({ dir });
  const transport = nodemailer.createTransport({
    pool: true,
    maxConnections: MAX_CONNECTIONS,
    host: '127.0.0.1',
    port: capture.port,
    secure: false,
    logger: false,
    debug: false,
  });
  try {
    const t = performance.now();
    let done = 0;
    let lastShown = t;
    await Promise.all(
      Array.from({ length: count }, async (_, i) => {
        await transport.sendMail({
          envelope: { from: 'takedown@reply.example', to: [`abuse@net-${i + 1}.bench.example`] },
          raw: samples[i % samples.length]!,
        });
        done++;
        if (performance.now() - lastShown >= 3000) {
          lastShown = performance.now();
          log(`  ceiling: ${done}/${count} messages after ${((lastShown - t) / 1000).toFixed(1)} s`);
        }
      }),
    );
    const ms = performance.now() - t;
    return { ms, stored: emlFiles(dir).length };
  } finally {
    transport.close();
    await capture.close();
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  // the host runs in this process: it gets the heap the CLI gives itself
  boundHeapGrowth();
  const sampler = new RssSampler();
  const runStarted = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'takedown-bench-'));
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
    /** other work on the machine skews every figure: shown so a reader can judge a run */
    loadAverageAtStart: Math.round(loadavg()[0]! * 100) / 100,
    loadAverageAtEnd: 0,
  };
  log(`machine: node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}; work dir ${work}`);

  let host: Host | undefined;
  if (args.profile) mkdirSync(args.profile, { recursive: true });
  const profiler = args.profile ? new PhaseProfiler(args.profile) : undefined;
  try {
    // 1. the data
    let t = performance.now();
    const generated = generateBench({ ...DEFAULT_SPEC, seed: args.seed });
    const directoryFile = join(work, 'directory.json');
    const campaignFile = join(work, 'campaign.csv');
    writeFileSync(directoryFile, JSON.stringify(generated.directory));
    writeFileSync(campaignFile, generated.csv);
    const generateMs = performance.now() - t;
    const g = generated.counts;
    log(
      `generated ${fmt(g.indicators)} indicators (${fmt(g.ipv4)} IPv4, ${fmt(g.ipv6)} IPv6, ${fmt(g.urlOnIp)} URLs on IPs, ` +
        `${fmt(g.domain)} domains, ${fmt(g.urlOnDomain)} URLs on domains) and ${fmt(generated.directory.networks.length)} networks ` +
        `in ${seconds(generateMs)} s`,
    );
    collectGarbage();
    const rssGenerate = sampler.phase();

    // 2. the host
    t = performance.now();
    host = await startHost(
      { dataDir: join(work, 'host'), directory: directoryFile, rdap: args.rdap, logLevel: 'silent', httpPort: 0, smtpPort: 0, probes: 'off' },
      { listen: false },
    );
    const hostStartMs = performance.now() - t;
    log(`host started in ${seconds(hostStartMs)} s (RDAP ${args.rdap})`);
    sampler.phase();

    // 3. intake + routing: submit until the campaign leaves 'routing'
    const content = readFileSync(campaignFile, 'utf8');
    log('intake + routing ...');
    await profiler?.start();
    mark('routing-start');
    let cpu = process.cpuUsage();
    // how busy the main thread was: sending is bound by it (the compose threads work beside it)
    let elu = performance.eventLoopUtilization();
    const campaignStarted = performance.now();
    const submitted = await submitCampaign(host.deps, {
      name: 'Bench: Africa Cyber Surge II size',
      // GREEN goes to anyone who can act: an AMBER campaign would need the source's permission to notify operators
      tlp: 'GREEN',
      submitter: 'bench',
      requireApproval: true,
      format: 'csv',
      sourceName: 'campaign.csv',
      content,
    });
    const submitMs = performance.now() - campaignStarted;
    const campaignId = submitted.campaign.id;
    await waitForPlan(host, campaignId);
    const routingMs = performance.now() - campaignStarted;
    const routingCpu = cpuMs(process.cpuUsage(cpu));
    const routingBusy = performance.eventLoopUtilization(elu).utilization;
    mark('routing-end');
    const routingProfile = await profiler?.stop('intake-routing');
    const planned = (await host.deps.store.getCampaign(campaignId))!;
    const rssRouting = sampler.phase();
    log(
      `  plan built in ${seconds(routingMs)} s (submit ${seconds(submitMs)} s): ${fmt(planned.counts.cases)} cases, ` +
        `${fmt(planned.counts.notices)} notices, ${planned.counts.unroutable} unroutable; state ${planned.state}`,
    );
    if (planned.state !== 'awaiting-approval') throw new Error(`expected the plan to await approval, it is ${planned.state}`);
    // figures over an empty plan would be nonsense (and a division by zero): something upstream is broken
    if (planned.counts.notices === 0) throw new Error(`the plan has ${planned.counts.cases} cases but no notices`);

    // 4. sending: approval until every notice is out
    log('sending ...');
    await profiler?.start();
    mark('sending-start');
    cpu = process.cpuUsage();
    elu = performance.eventLoopUtilization();
    const sendStarted = performance.now();
    await approveCampaign(host.deps, campaignId, 'bench');
    const polling = await waitForSending(host, campaignId, args.poll);
    const sendMs = performance.now() - sendStarted;
    const sendCpu = cpuMs(process.cpuUsage(cpu));
    const sendBusy = performance.eventLoopUtilization(elu).utilization;
    // the threads that worked beside it (still running until the host closes)
    const composeThreads = host.deps.offload instanceof OffloadPool ? host.deps.offload.running : 0;
    mark('sending-end');
    const sendingProfile = await profiler?.stop('sending');
    const campaignMs = performance.now() - campaignStarted;
    const rssSending = sampler.phase();
    const final = await campaignStatus(host.deps, campaignId);
    const notices = final.notices.length;
    const outbox = emlFiles(host.files.outbox);
    log(`  ${fmt(notices)} notices out in ${seconds(sendMs)} s; ${fmt(outbox.length)} files in the outbox`);
    if (outbox.length < notices) throw new Error(`${notices} notices are out but the outbox holds ${outbox.length} messages`);

    // real notices, to send the ceiling messages of the same size
    const sizes = outbox.map((f) => statSync(join(host!.files.outbox, f)).size);
    const meanBytes = sizes.reduce((s, n) => s + n, 0) / Math.max(1, sizes.length);
    const step = Math.max(1, Math.floor(outbox.length / 50));
    const samples = outbox.filter((_, i) => i % step === 0).slice(0, 50).map((f) => readFileSync(join(host!.files.outbox, f), 'utf8'));

    t = performance.now();
    await host.close();
    host = undefined;
    const closeMs = performance.now() - t;
    log(`host closed in ${seconds(closeMs)} s`);
    collectGarbage();
    sampler.phase();

    // 5. the ceiling, twice on fresh servers: the faster is the ceiling, so a hiccup of the machine does not
    // flatter the sending figure
    const ceilingRuns: { ms: number; cpuMs: number; stored: number; profile?: PhaseProfile }[] = [];
    for (const round of [1, 2]) {
      log(`ceiling ${round}/2: ${fmt(notices)} messages, raw nodemailer (pool, ${MAX_CONNECTIONS} connections) -> capture server ...`);
      await profiler?.start();
      mark(`ceiling-${round}-start`);
      cpu = process.cpuUsage();
      const run = await measureCeiling(join(work, `ceiling-${round}`), notices, samples);
      const runCpu = cpuMs(process.cpuUsage(cpu));
      mark(`ceiling-${round}-end`);
      ceilingRuns.push({ ...run, cpuMs: runCpu, profile: await profiler?.stop(`ceiling-${round}`) });
      log(`  ${fmt(run.stored)} messages stored in ${seconds(run.ms)} s`);
      if (run.stored < notices) throw new Error(`the ceiling server stored ${run.stored} of ${notices} messages`);
      rmSync(join(work, `ceiling-${round}`), { recursive: true, force: true });
    }
    const ceiling = ceilingRuns.reduce((a, b) => (b.ms < a.ms ? b : a));
    const ceilingCpu = ceiling.cpuMs;
    const rssCeiling = sampler.phase();
    const ceilingMeanBytes = samples.reduce((s, m) => s + Buffer.byteLength(m), 0) / Math.max(1, samples.length);

    sampler.stop();
    const hwm = vmHwm();
    machine.loadAverageAtEnd = Math.round(loadavg()[0]! * 100) / 100;
    const peakRss = Math.max(sampler.peak, hwm ?? 0);
    // 200,000 indicators, as a CSV and as a STIX bundle, through intake and routing, each case in a process of
    // its own (bench/intake-scale.ts); TAKEDOWN_BENCH_INTAKE=0 leaves them out
    const intakeScale = process.env.TAKEDOWN_BENCH_INTAKE === '0' ? [] : await runIntakeScale({ cases: ['stored-csv', 'stored-stix'], log });
    // resolution through a local RDAP server: lookups per distinct network (1.0 is the limit) and speed;
    // TAKEDOWN_BENCH_RDAP=0 leaves it out
    if (process.env.TAKEDOWN_BENCH_RDAP !== '0') log('RDAP: 20,674 indicators resolved through a local RDAP server ...');
    const rdap = process.env.TAKEDOWN_BENCH_RDAP === '0' ? undefined : await runRdapBench({ seed: args.seed });
    // the audit trail: 100,000 events over 2,000 case chains appended, then verified; TAKEDOWN_BENCH_AUDIT=0 leaves it out
    const audit = process.env.TAKEDOWN_BENCH_AUDIT === '0' ? undefined : await runAuditBench({ log });
    // Step Functions state transitions per notice, counted from the local engine's execution paths;
    // TAKEDOWN_BENCH_TRANSITIONS=0 leaves it out
    if (process.env.TAKEDOWN_BENCH_TRANSITIONS !== '0') log('workflow transitions: four one-indicator scenarios on the local engine ...');
    const transitions = process.env.TAKEDOWN_BENCH_TRANSITIONS === '0' ? undefined : await runTransitionBench();
    // one notice of 20,000 indicators to one recipient, in parts under the size limit; TAKEDOWN_BENCH_BIG_NOTICE=0 leaves it out
    const bigNotice = process.env.TAKEDOWN_BENCH_BIG_NOTICE === '0' ? undefined : await runBigNoticeBench({ log });
    if (process.env.TAKEDOWN_BENCH_STARTUP !== '0') log('start-up: takedown --help and takedown status, five runs each ...');
    const startup = process.env.TAKEDOWN_BENCH_STARTUP === '0' ? undefined : measureStartup(work);
    // the same campaign on the AWS host, offline (bench/aws.ts; TAKEDOWN_BENCH_AWS=0 leaves it out)
    const aws = await awsBench({ log, seed: args.seed });

    const indicatorsPerSecond = planned.counts.indicators / (routingMs / 1000);
    const noticesPerSecond = notices / (sendMs / 1000);
    const ceilingPerSecond = notices / (ceiling.ms / 1000);
    const share = noticesPerSecond / ceilingPerSecond;

    const figures = {
      machine,
      options: { poll: args.poll, rdap: args.rdap, seed: args.seed },
      campaign: {
        indicatorsSubmitted: planned.counts.submitted,
        indicatorsAccepted: planned.counts.indicators,
        networks: generated.directory.networks.length,
        networksByPrefix: Object.fromEntries(Object.entries(generated.counts.prefixes).sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true }))),
        cases: planned.counts.cases,
        notices,
        unroutable: planned.counts.unroutable,
        meanNoticeBytes: Math.round(meanBytes),
      },
      intakeRouting: {
        seconds: seconds(routingMs),
        submitSeconds: seconds(submitMs),
        indicatorsPerSecond: Math.round(indicatorsPerSecond),
        cpuSeconds: seconds(routingCpu),
        mainThreadBusyPercent: Math.round(routingBusy * 1000) / 10,
        target: TARGETS.indicatorsPerSecond,
        met: indicatorsPerSecond >= TARGETS.indicatorsPerSecond,
      },
      sending: {
        seconds: seconds(sendMs),
        noticesPerSecond: Math.round(noticesPerSecond * 10) / 10,
        cpuSeconds: seconds(sendCpu),
        cpuMsPerNotice: Math.round((sendCpu / notices) * 100) / 100,
        mainThreadBusyPercent: Math.round(sendBusy * 1000) / 10,
        composeThreads,
        statusPolls: polling.polls,
        statusPollSeconds: seconds(polling.pollMs),
        poll: args.poll,
      },
      ceiling: {
        seconds: seconds(ceiling.ms),
        runsSeconds: ceilingRuns.map((r) => seconds(r.ms)),
        messages: notices,
        meanMessageBytes: Math.round(ceilingMeanBytes),
        messagesPerSecond: Math.round(ceilingPerSecond * 10) / 10,
        cpuSeconds: seconds(ceilingCpu),
        cpuMsPerMessage: Math.round((ceilingCpu / notices) * 100) / 100,
        maxConnections: MAX_CONNECTIONS,
      },
      sendingShareOfCeiling: { percent: Math.round(share * 1000) / 10, target: TARGETS.ceilingShare * 100, met: share >= TARGETS.ceilingShare },
      wholeCampaignSeconds: seconds(campaignMs),
      memory: {
        peakRssMb: mb(peakRss),
        sampledPeakRssMb: mb(sampler.peak),
        vmHwmMb: hwm === undefined ? null : mb(hwm),
        byPhaseMb: {
          generate: mb(rssGenerate.rss),
          intakeRouting: mb(rssRouting.rss),
          sending: mb(rssSending.rss),
          ceiling: mb(rssCeiling.rss),
        },
        heapUsedPeakByPhaseMb: {
          generate: mb(rssGenerate.heap),
          intakeRouting: mb(rssRouting.heap),
          sending: mb(rssSending.heap),
          ceiling: mb(rssCeiling.heap),
        },
        target: TARGETS.peakRssMb,
        met: mb(peakRss) <= TARGETS.peakRssMb,
      },
      intakeScale: { cases: intakeScale, heapLimitMb: heapLimitMb() || 'V8 default', target: TARGETS.peakRssMb, met: intakeScale.every((c) => c.peakRssMb <= TARGETS.peakRssMb) },
      rdap: rdap ? { ...rdap, target: 1, met: rdap.lookupsPerNetwork <= 1 } : undefined,
      audit: audit ? { ...audit, appendMet: audit.concurrentAppendsPerSecond >= TARGETS.auditAppendsPerSecond } : undefined,
      transitions,
      bigNotice,
      startup: startup ? { ...startup, target: TARGETS.startSeconds, met: Math.max(startup.helpSeconds, startup.statusSeconds) <= TARGETS.startSeconds } : undefined,
      aws,
      totalSeconds: seconds(performance.now() - runStarted),
    };
    // where the main thread's time went: this run's own profiles (--profile), or else, when a campaign bar is not
    // met, the campaign's once more in a second run, profiled, so the figures above stay unprofiled
    const unmet = !figures.intakeRouting.met || !figures.sendingShareOfCeiling.met;
    const why: Why | undefined = profiler
      ? {
          source: 'this run, profiled',
          dir: args.profile!,
          routing: { budgetSeconds: planned.counts.indicators / TARGETS.indicatorsPerSecond, seconds: seconds(routingMs), indicators: planned.counts.indicators, profile: routingProfile! },
          sending: { budgetMsPerNotice: 1000 / (ceilingPerSecond * TARGETS.ceilingShare), msPerNotice: sendMs / notices, notices, profile: sendingProfile! },
          ceiling: { messagesPerSecond: ceilingPerSecond, profile: ceiling.profile! },
        }
      : unmet && process.env.TAKEDOWN_BENCH_WHY !== '0'
        ? profiledRun(args, mkdtempSync(join(tmpdir(), 'takedown-bench-profiles-')))
        : undefined;
    // the other bars not met, each once more, profiled (a run with every part off but the campaign finds none)
    const slow200k = intakeScale.filter((c) => (c.routingSeconds ?? 0) > TARGETS.routing200kSeconds).map((c) => c.case);
    const unmetOther: OtherBarsUnmet = {
      ...(slow200k.length > 0 ? { routing200k: { cases: slow200k, budgetSeconds: TARGETS.routing200kSeconds } } : {}),
      ...(figures.audit && !figures.audit.appendMet ? { audit: { target: TARGETS.auditAppendsPerSecond } } : {}),
      ...(startup && !figures.startup!.met
        ? { startup: { bin: TAKEDOWN_BIN, args: startup.statusSeconds >= startup.helpSeconds ? ['status'] : ['--help'], env: startupEnv(work), budgetSeconds: TARGETS.startSeconds } }
        : {}),
    };
    const whyOther =
      Object.keys(unmetOther).length > 0 && process.env.TAKEDOWN_BENCH_WHY !== '0'
        ? await explainOtherBars(unmetOther, args.profile ?? mkdtempSync(join(tmpdir(), 'takedown-bench-profiles-')), log)
        : undefined;
    const report = { ...figures, ...(profiler ? { profiled: true } : {}), ...(why ? { why } : {}), ...(whyOther ? { whyOther } : {}) };
    const before = args.compare ? readRun(args.compare) : undefined;
    const comparison = before
      ? `Before and after (--compare ${args.compare}):\n${compareText(headlineOf(before), headlineOf(report), { before: before.headlineSource ?? args.compare!, after: 'this run' })}\n`
      : undefined;
    // with --json, stdout is the JSON alone: the comparison and the profile go to stderr
    if (args.json && why) process.stderr.write(`\n${whyText(why)}\n`);
    if (args.json && whyOther) process.stderr.write(`\n${otherWhyText(whyOther)}\n`);
    if (args.json && comparison) process.stderr.write(`\n${comparison}`);

    if (args.json) {
      process.stdout.write(JSON.stringify({ ...report, headline: headlineOf(report), ...(before ? { comparedWith: args.compare } : {}) }, null, 2) + '\n');
    } else {
      const ok = (met: boolean) => (met ? 'yes' : 'NO');
      process.stdout.write(
        '\n' +
          summary([
            ['machine', `node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}, ${fmt(machine.memoryMb)} MB`],
            ['load average', `${machine.loadAverageAtStart} at the start, ${machine.loadAverageAtEnd} at the end (${machine.cpus} cpus)`],
            ['campaign', `${fmt(figures.campaign.indicatorsAccepted)} indicators, ${fmt(figures.campaign.networks)} networks in the directory (seed ${args.seed})`],
            ['options', `status poll ${args.poll}, RDAP ${args.rdap}`],
            ['routing plan', `${fmt(figures.campaign.cases)} cases, ${fmt(notices)} notices, ${figures.campaign.unroutable} unroutable`],
            ['notice size', `${fmt(figures.campaign.meanNoticeBytes)} bytes on average`],
            ['whole campaign', `${figures.wholeCampaignSeconds} s (submit to the last notice out)`],
          ]) +
          '\n\n' +
          table(
            ['figure', 'value', 'target', 'met'],
            [
              ['intake + routing', `${fmt(indicatorsPerSecond)} indicators/s (${figures.intakeRouting.seconds} s)`, `>= ${fmt(TARGETS.indicatorsPerSecond)}/s`, ok(figures.intakeRouting.met)],
              ['sending', `${fmt(noticesPerSecond, 1)} notices/s (${figures.sending.seconds} s)`, '', ''],
              ['ceiling (raw nodemailer)', `${fmt(ceilingPerSecond, 1)} messages/s (best of ${figures.ceiling.runsSeconds.map((x) => `${x} s`).join(', ')})`, '', ''],
              ['sending / ceiling', `${fmt(share * 100, 1)} %`, `>= ${TARGETS.ceilingShare * 100} %`, ok(figures.sendingShareOfCeiling.met)],
              ['peak RSS', `${fmt(mb(peakRss), 1)} MB (VmHWM ${hwm === undefined ? 'n/a' : fmt(mb(hwm), 1)})`, `<= ${TARGETS.peakRssMb} MB`, ok(figures.memory.met)],
              ...intakeScale.flatMap((c) => [
                [
                  `routing ${fmt(c.indicators)} ${c.case === 'stored-csv' ? 'CSV' : 'STIX'} after intake`,
                  `${c.routingSeconds ?? 0} s (${fmt(c.cases ?? 0)} cases, ${fmt(c.notices ?? 0)} notices; intake ${c.intakeSeconds} s)`,
                  `<= ${TARGETS.routing200kSeconds} s`,
                  ok((c.routingSeconds ?? Infinity) <= TARGETS.routing200kSeconds),
                ],
                [
                  `peak RSS, ${fmt(c.indicators)} ${c.case === 'stored-csv' ? 'CSV' : 'STIX'}${heapLimitMb() ? ` (heap capped at ${heapLimitMb()} MB)` : ''}`,
                  `${fmt(c.peakRssMb, 1)} MB`,
                  `<= ${TARGETS.peakRssMb} MB`,
                  ok(c.peakRssMb <= TARGETS.peakRssMb),
                ],
              ]),
              ...(rdap
                ? [
                    ['RDAP lookups per network', `${rdap.lookupsPerNetwork} (${fmt(rdap.networkLookups)} lookups, ${fmt(rdap.networks.total)} networks, >= ${rdap.minPerNetwork} indicators each)`, '1.0', ok(rdap.lookupsPerNetwork <= 1)],
                    ['resolution via local RDAP', `${fmt(rdap.indicatorsPerSecond)} indicators/s cold, ${fmt(rdap.cachedIndicatorsPerSecond)}/s from the cache`, '', ''],
                  ]
                : []),
              ...(audit
                ? [
                    [`audit verify, ${fmt(audit.events)} events`, `${fmt(audit.verifiedPerSecond)} events/s (${audit.verifySeconds} s, ${fmt(audit.chains)} chains, ${audit.valid ? 'valid' : 'BROKEN'})`, `< ${audit.targetSeconds} s`, ok(audit.met)],
                    [`audit append, ${audit.appenders} in flight`, `${fmt(audit.concurrentAppendsPerSecond)} events/s`, `>= ${fmt(TARGETS.auditAppendsPerSecond)}/s`, ok(audit.concurrentAppendsPerSecond >= TARGETS.auditAppendsPerSecond)],
                    ['audit append, one at a time', `${fmt(audit.appendsPerSecond)} events/s (${audit.appendSeconds} s)`, '', ''],
                    [`audit append, batches of ${audit.batch}`, `${fmt(audit.batchedAppendsPerSecond)} events/s`, '', ''],
                  ]
                : []),
              ...(bigNotice
                ? [
                    [
                      'one notice, 20,000 indicators',
                      `${bigNotice.parts} parts, largest ${fmt(bigNotice.largestMessageBytes)} bytes, ${fmt(bigNotice.bytesPerIndicator)} bytes per indicator, sent in ${bigNotice.seconds} s`,
                      `<= ${fmt(bigNotice.limitBytes)} B`,
                      ok(bigNotice.met),
                    ],
                  ]
                : []),
              ...(startup
                ? [
                    ['start-up, takedown --help', `${startup.helpSeconds} s (median of 5)`, `<= ${TARGETS.startSeconds} s`, ok(startup.helpSeconds <= TARGETS.startSeconds)],
                    ['start-up, takedown status', `${startup.statusSeconds} s (median of 5)`, `<= ${TARGETS.startSeconds} s`, ok(startup.statusSeconds <= TARGETS.startSeconds)],
                  ]
                : []),
              ...(transitions
                ? [
                    ['transitions, answered + verified', `${transitions.answeredVerified.total} (notice ${transitions.answeredVerified.notice.transitions}, verify ${transitions.answeredVerified.verify.transitions}); $${transitions.costPer1000Cases.answeredVerified} per 1,000 cases`, '<= 8', ok(transitions.answeredVerified.met)],
                    ['  with the revival watch', `${transitions.withRevivalWatch.total} (verify ${transitions.withRevivalWatch.verify.transitions}); $${transitions.costPer1000Cases.withRevivalWatch} per 1,000 cases`, '', ''],
                    ['transitions, one escalation', `${transitions.oneEscalation.perCase} for the case (first notice ${transitions.oneEscalation.first.transitions} with its reminder, next ${transitions.oneEscalation.second.transitions}, verify ${transitions.oneEscalation.verify.transitions}); $${transitions.costPer1000Cases.oneEscalation} per 1,000 cases`, '<= 14', ok(transitions.oneEscalation.met)],
                    ['history, 10 reminder rounds', `${transitions.tenRounds.notice.awsEventsEstimate} AWS events (estimate), ${transitions.tenRounds.notice.localEvents} local, ${transitions.tenRounds.notice.transitions} transitions`, '<= 500', ok(transitions.tenRounds.met)],
                  ]
                : []),
            ],
          ) +
          '\n\n' +
          summary([
            ['submit (parse + store)', `${figures.intakeRouting.submitSeconds} s`],
            ['process CPU time', `intake + routing ${figures.intakeRouting.cpuSeconds} s; sending ${figures.sending.cpuSeconds} s (${figures.sending.cpuMsPerNotice} ms a notice); ceiling ${figures.ceiling.cpuSeconds} s (${figures.ceiling.cpuMsPerMessage} ms a message)`],
            ['main thread busy', `intake + routing ${figures.intakeRouting.mainThreadBusyPercent} %; sending ${figures.sending.mainThreadBusyPercent} % (${figures.sending.composeThreads} compose thread${figures.sending.composeThreads === 1 ? '' : 's'} beside it)`],
            ['status polls while sending', `${polling.polls} polls (${args.poll}), ${figures.sending.statusPollSeconds} s of the ${figures.sending.seconds} s`],
            ['peak RSS by phase', Object.entries(figures.memory.byPhaseMb).map(([k, v]) => `${k} ${v} MB`).join(', ')],
            ['peak JS heap by phase', Object.entries(figures.memory.heapUsedPeakByPhaseMb).map(([k, v]) => `${k} ${v} MB`).join(', ')],
            ['bench total', `${figures.totalSeconds} s`],
          ]) +
          '\n' +
          (aws ? `\n${awsBenchText(aws)}\n` : '') +
          (why ? `\n${whyText(why)}\n` : '') +
          (whyOther ? `\n${otherWhyText(whyOther)}\n` : '') +
          (comparison ? `\n${comparison}` : ''),
      );
    }
  } finally {
    profiler?.close();
    if (host) await host.close().catch(() => undefined);
    if (args.keep) log(`kept ${work}`);
    else rmSync(work, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  },
);
