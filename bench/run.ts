/**
 * `npm run bench`: one campaign the size of Africa Cyber Surge II (20,674 indicators, ~2,000 recipients) through
 * the embedded host, end to end, on loopback only. Measures; asserts nothing. Prints a table (or `--json`).
 *
 *   npm run bench [-- --json] [--keep] [--seed <n>]
 *
 * Phases: generate a directory and a campaign -> intake + routing (submit until the plan is built) -> sending
 * (approval until every notice is out, polled the way `takedown run` polls) -> the ceiling: raw pooled
 * nodemailer into the same capture server with as many messages of the same size.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { approveCampaign, submitCampaign } from '../lib/core/campaign.js';
import { campaignStatus } from '../lib/core/status.js';
import type { Notice } from '../lib/core/model.js';
import { startCaptureServer } from '../lib/adapters/mail/capture-server.js';
import { startHost, type Host } from '../lib/local/host.js';
import { summary, table } from '../lib/local/terminal.js';
import { DEFAULT_SPEC, generateBench } from './generate.js';

/** nodemailer's pool default, which SmtpMailer keeps unless told otherwise */
const MAX_CONNECTIONS = 5;
const TARGETS = { indicatorsPerSecond: 5_000, ceilingShare: 0.5, peakRssMb: 512 } as const;

interface Args {
  json: boolean;
  keep: boolean;
  seed: number;
}

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, keep: false, seed: DEFAULT_SPEC.seed };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--keep') args.keep = true;
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else if (a === '--help' || a === '-h') {
      process.stdout.write('usage: npm run bench [-- --json] [--keep] [--seed <n>]\n');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isInteger(args.seed)) throw new Error('--seed takes an integer');
  return args;
}

const log = (text: string): void => void process.stderr.write(`[bench] ${text}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const seconds = (ms: number) => Math.round(ms) / 1000;
const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Samples the resident set every 50 ms; keeps the peak of the whole run and of the current phase. */
class RssSampler {
  peak = 0;
  phasePeak = 0;
  private readonly timer: NodeJS.Timeout;
  constructor() {
    this.sample();
    this.timer = setInterval(() => this.sample(), 50);
    this.timer.unref();
  }
  sample(): void {
    const rss = process.memoryUsage.rss();
    if (rss > this.peak) this.peak = rss;
    if (rss > this.phasePeak) this.phasePeak = rss;
  }
  /** the peak since the last call, and start a new phase */
  phase(): number {
    this.sample();
    const p = this.phasePeak;
    this.phasePeak = 0;
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

function noticeIsOut(n: Notice): boolean {
  return !['planned', 'sending', 'uncertain'].includes(n.state);
}

function failedExecution(host: Host): string | undefined {
  const failed = host.workflows.list().find((e) => e.status === 'failed');
  return failed ? `workflow ${failed.name} failed: ${failed.error}` : undefined;
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
 * The same wait as the CLI's waitForSending (campaignStatus every 100 ms), with a count on stderr every few
 * seconds. Also times the polls themselves: they run on the same event loop as the sending.
 */
async function waitForSending(host: Host, campaignId: string): Promise<{ polls: number; pollMs: number }> {
  let polls = 0;
  let pollMs = 0;
  let lastShown = 0;
  const started = performance.now();
  for (;;) {
    const t = performance.now();
    const status = await campaignStatus(host.deps, campaignId);
    pollMs += performance.now() - t;
    polls++;
    const total = status.notices.length;
    const sent = status.notices.filter(noticeIsOut).length;
    if (status.campaign.state === 'running' && sent === total) return { polls, pollMs };
    if (performance.now() - lastShown >= 3000) {
      lastShown = performance.now();
      const elapsed = (lastShown - started) / 1000;
      log(`  sending: ${sent}/${total} notices out after ${elapsed.toFixed(1)} s (${status.campaign.state})`);
    }
    const failed = failedExecution(host);
    if (failed) throw new Error(failed);
    await sleep(100);
  }
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
  const sampler = new RssSampler();
  const runStarted = performance.now();
  const work = mkdtempSync(join(tmpdir(), 'takedown-bench-'));
  const machine = {
    node: process.version,
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryMb: Math.round(totalmem() / 1024 / 1024),
    platform: `${process.platform} ${process.arch}`,
  };
  log(`machine: node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}; work dir ${work}`);

  let host: Host | undefined;
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
    const rssGenerate = sampler.phase();

    // 2. the host
    t = performance.now();
    host = await startHost(
      { dataDir: join(work, 'host'), directory: directoryFile, logLevel: 'silent', httpPort: 0, smtpPort: 0 },
      { listen: false },
    );
    const hostStartMs = performance.now() - t;
    log(`host started in ${seconds(hostStartMs)} s`);
    sampler.phase();

    // 3. intake + routing: submit until the campaign leaves 'routing'
    const content = readFileSync(campaignFile, 'utf8');
    log('intake + routing ...');
    const campaignStarted = performance.now();
    const submitted = await submitCampaign(host.deps, {
      name: 'Bench: Africa Cyber Surge II size',
      tlp: 'AMBER',
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
    const planned = (await host.deps.store.getCampaign(campaignId))!;
    const rssRouting = sampler.phase();
    log(
      `  plan built in ${seconds(routingMs)} s (submit ${seconds(submitMs)} s): ${fmt(planned.counts.cases)} cases, ` +
        `${fmt(planned.counts.notices)} notices, ${planned.counts.unroutable} unroutable; state ${planned.state}`,
    );
    if (planned.state !== 'awaiting-approval') throw new Error(`expected the plan to await approval, it is ${planned.state}`);

    // 4. sending: approval until every notice is out
    log('sending ...');
    const sendStarted = performance.now();
    await approveCampaign(host.deps, campaignId, 'bench');
    const polling = await waitForSending(host, campaignId);
    const sendMs = performance.now() - sendStarted;
    const campaignMs = performance.now() - campaignStarted;
    const rssSending = sampler.phase();
    const final = await campaignStatus(host.deps, campaignId);
    const notices = final.notices.length;
    const outbox = emlFiles(host.files.outbox);
    log(`  ${fmt(notices)} notices out in ${seconds(sendMs)} s; ${fmt(outbox.length)} files in the outbox`);

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
    sampler.phase();

    // 5. the ceiling
    log(`ceiling: ${fmt(notices)} messages, raw nodemailer (pool, ${MAX_CONNECTIONS} connections) -> capture server ...`);
    const ceiling = await measureCeiling(join(work, 'ceiling'), notices, samples);
    const rssCeiling = sampler.phase();
    const ceilingMeanBytes = samples.reduce((s, m) => s + Buffer.byteLength(m), 0) / Math.max(1, samples.length);
    log(`  ${fmt(ceiling.stored)} messages stored in ${seconds(ceiling.ms)} s`);

    sampler.stop();
    const hwm = vmHwm();
    const peakRss = Math.max(sampler.peak, hwm ?? 0);

    const indicatorsPerSecond = planned.counts.indicators / (routingMs / 1000);
    const noticesPerSecond = notices / (sendMs / 1000);
    const ceilingPerSecond = notices / (ceiling.ms / 1000);
    const share = noticesPerSecond / ceilingPerSecond;

    const figures = {
      machine,
      campaign: {
        indicatorsSubmitted: planned.counts.submitted,
        indicatorsAccepted: planned.counts.indicators,
        networks: generated.directory.networks.length,
        cases: planned.counts.cases,
        notices,
        unroutable: planned.counts.unroutable,
        meanNoticeBytes: Math.round(meanBytes),
      },
      intakeRouting: {
        seconds: seconds(routingMs),
        submitSeconds: seconds(submitMs),
        indicatorsPerSecond: Math.round(indicatorsPerSecond),
        target: TARGETS.indicatorsPerSecond,
        met: indicatorsPerSecond >= TARGETS.indicatorsPerSecond,
      },
      sending: {
        seconds: seconds(sendMs),
        noticesPerSecond: Math.round(noticesPerSecond * 10) / 10,
        statusPolls: polling.polls,
        statusPollSeconds: seconds(polling.pollMs),
      },
      ceiling: {
        seconds: seconds(ceiling.ms),
        messages: notices,
        meanMessageBytes: Math.round(ceilingMeanBytes),
        messagesPerSecond: Math.round(ceilingPerSecond * 10) / 10,
        maxConnections: MAX_CONNECTIONS,
      },
      sendingShareOfCeiling: { percent: Math.round(share * 1000) / 10, target: TARGETS.ceilingShare * 100, met: share >= TARGETS.ceilingShare },
      wholeCampaignSeconds: seconds(campaignMs),
      memory: {
        peakRssMb: mb(peakRss),
        sampledPeakRssMb: mb(sampler.peak),
        vmHwmMb: hwm === undefined ? null : mb(hwm),
        byPhaseMb: { generate: mb(rssGenerate), intakeRouting: mb(rssRouting), sending: mb(rssSending), ceiling: mb(rssCeiling) },
        target: TARGETS.peakRssMb,
        met: mb(peakRss) <= TARGETS.peakRssMb,
      },
      totalSeconds: seconds(performance.now() - runStarted),
    };

    if (args.json) {
      process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
    } else {
      const ok = (met: boolean) => (met ? 'yes' : 'NO');
      process.stdout.write(
        '\n' +
          summary([
            ['machine', `node ${machine.node}, ${machine.cpus} x ${machine.cpuModel}, ${fmt(machine.memoryMb)} MB`],
            ['campaign', `${fmt(figures.campaign.indicatorsAccepted)} indicators, ${fmt(figures.campaign.networks)} networks in the directory`],
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
              ['ceiling (raw nodemailer)', `${fmt(ceilingPerSecond, 1)} messages/s (${figures.ceiling.seconds} s)`, '', ''],
              ['sending / ceiling', `${fmt(share * 100, 1)} %`, `>= ${TARGETS.ceilingShare * 100} %`, ok(figures.sendingShareOfCeiling.met)],
              ['peak RSS', `${fmt(mb(peakRss), 1)} MB (VmHWM ${hwm === undefined ? 'n/a' : fmt(mb(hwm), 1)})`, `<= ${TARGETS.peakRssMb} MB`, ok(figures.memory.met)],
            ],
          ) +
          '\n\n' +
          summary([
            ['submit (parse + store)', `${figures.intakeRouting.submitSeconds} s`],
            ['status polls while sending', `${polling.polls} polls, ${figures.sending.statusPollSeconds} s of the ${figures.sending.seconds} s`],
            ['peak RSS by phase', Object.entries(figures.memory.byPhaseMb).map(([k, v]) => `${k} ${v} MB`).join(', ')],
            ['bench total', `${figures.totalSeconds} s`],
          ]) +
          '\n',
      );
    }
  } finally {
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
