/**
 * `npx tsx bench/transitions.ts [--json]`: what the workflows cost on AWS, counted on the local engine. Each
 * scenario runs a one-indicator campaign on an embedded host (the shipped ASL, the real prober against a web
 * server and a DNS server on loopback) and reads the executions' paths: every state entered is one Step Functions
 * state transition, billed at $0.025 per 1,000. History events are the local engine's own event log, and an
 * estimate of AWS's history from the path (Task 5 events, a callback Task 6, Choice/Wait/Succeed 2, plus the
 * execution's start and end), since AWS caps an execution's history at 25,000 events.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { recordAnswer } from '../lib/core/answers/index.js';
import { listAll } from '../lib/core/paging.js';
import { submitCampaign } from '../lib/core/campaign/index.js';
import type { Notice } from '../lib/core/model.js';
import { createProber } from '../lib/adapters/probe/prober.js';
import { startDnsStub } from '../lib/adapters/probe/dns-stub.js';
import type { ExecutionRecord } from '../lib/adapters/local-sfn/workflows.local.js';
import { startHost, type Host } from '../lib/local/host.js';

/** AWS Step Functions Standard: $0.025 per 1,000 state transitions. */
export const PRICE_PER_TRANSITION = 0.025 / 1000;

export interface PathCount {
  readonly path: readonly string[];
  readonly transitions: number;
  readonly localEvents: number;
  readonly awsEventsEstimate: number;
}

export interface TransitionFigures {
  /** a notice answered "taken down", then verified down (no revival watch) */
  readonly answeredVerified: { readonly notice: PathCount; readonly verify: PathCount; readonly total: number; readonly target: 8; readonly met: boolean };
  /** the same, with the default revival watch (+1 day, +7 days) */
  readonly withRevivalWatch: { readonly verify: PathCount; readonly total: number };
  /** one reminder, escalation, the next party answers and it is verified: per execution, and for the whole case */
  readonly oneEscalation: { readonly first: PathCount; readonly second: PathCount; readonly verify: PathCount; readonly perCase: number; readonly target: 14; readonly met: boolean };
  /** ten reminders, then escalation: the history of the one execution */
  readonly tenRounds: { readonly notice: PathCount; readonly target: 500; readonly met: boolean };
  /** $ per 1,000 cases, one case per notice (the worst case: aggregation divides it by the cases per notice) */
  readonly costPer1000Cases: { readonly answeredVerified: number; readonly withRevivalWatch: number; readonly oneEscalation: number };
}

const DAY = 86400;

function awsEvents(path: readonly string[], definitionStates: Readonly<Record<string, string>>): number {
  let events = 2; // ExecutionStarted, ExecutionSucceeded
  for (const state of path) {
    const type = definitionStates[state];
    if (type === 'Callback') events += 6;
    else if (type === 'Task') events += 5;
    else events += 2;
  }
  return events;
}

/** The state types of the shipped workflows, callbacks apart: what each state costs in history events. */
const STATE_TYPES: Readonly<Record<string, string>> = {
  SendNotice: 'Task',
  AwaitAnswer: 'Callback',
  DeadlinePassed: 'Task',
  Undeliverable: 'Task',
  Probe: 'Task',
};

function count(record: ExecutionRecord | undefined): PathCount {
  const path = record?.path ?? [];
  return { path, transitions: path.length, localEvents: record?.events.length ?? 0, awsEventsEstimate: awsEvents(path, STATE_TYPES) };
}

interface Rig {
  readonly host: Host;
  readonly url: string;
  readonly site: { up: boolean };
  close(): Promise<void>;
}

async function rig(name: string, options: { scale: number; revivalChecks?: number[]; reminders?: number }): Promise<Rig> {
  const dir = mkdtempSync(join(tmpdir(), `takedown-transitions-${name}-`));
  const site = { up: true };
  const web = createServer((_req, res) => (site.up ? res.writeHead(200).end('<form>phish</form>') : res.writeHead(404).end('gone')));
  await new Promise<void>((ok) => web.listen(0, '127.0.0.1', ok));
  const port = (web.address() as AddressInfo).port;
  const dns = await startDnsStub({ 'page.bench.example': { A: ['127.0.0.1'] } });
  const directory = join(dir, 'directory.yaml');
  writeFileSync(
    directory,
    [
      'registrars:',
      '  - { suffix: bench.example, name: Bench Registrar, abuse: abuse@registrar.bench.example, country: KE }',
      'certs:',
      '  - { country: KE, name: KE CERT, abuse: incidents@cert.bench.example }',
    ].join('\n'),
  );
  const routing = join(dir, 'routing.yaml');
  const reminders = options.reminders ?? 1;
  writeFileSync(routing, ['rules:', '  - ladder:', `      - { party: registrar, answerDeadline: 24h, reminders: ${reminders} }`, `      - { party: cert, answerDeadline: 24h, reminders: ${reminders} }`].join('\n'));
  // the fixtures are on loopback, where probes go only when told
  const prober = createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0, allowAddresses: ['127.0.0.1/32'] });
  const host = await startHost(
    { dataDir: join(dir, 'data'), timeScale: options.scale, directory, routing, rdap: 'off', logLevel: 'silent', probes: 'on', ...(options.revivalChecks ? { revivalChecks: options.revivalChecks } : {}) },
    { listen: false, prober },
  );
  return {
    host,
    url: `http://page.bench.example:${port}/login`,
    site,
    async close() {
      await host.close();
      await dns.close();
      await new Promise<void>((ok) => web.close(() => ok()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function submitOne(r: Rig): Promise<string> {
  const content = `indicator,type,country,evidence\n${r.url},url,KE,phishing page`;
  const { campaign } = await submitCampaign(r.host.deps, { name: 'transitions', submitter: 'bench', content, requireApproval: false, tlp: 'GREEN', format: 'csv' });
  return campaign.id;
}

async function waiting(r: Rig, campaignId: string, email: string): Promise<Notice> {
  return until(`a notice to ${email} waiting`, async () => {
    const n = (await listAll((p) => r.host.store.listNotices({ campaignId }, p))).find((x) => x.party.email === email);
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
}

async function finished(r: Rig, name: string): Promise<ExecutionRecord> {
  return until(`${name} to finish`, async () => {
    const e = r.host.workflows.get(name);
    return e && e.status !== 'running' && e;
  });
}

async function answerAndVerify(r: Rig, notice: Notice): Promise<ExecutionRecord> {
  r.site.up = false;
  await recordAnswer(r.host.deps, notice.id, { intent: 'actioned', source: 'api' });
  const verify = await until('the verify execution', async () => r.host.workflows.list().find((e) => e.name.startsWith(`verify-${notice.id}-`)));
  return finished(r, verify.name);
}

/** Runs the scenarios; each on a host of its own. */
export async function runTransitionBench(): Promise<TransitionFigures> {
  // 1. answered and verified, no revival watch
  let r = await rig('answered', { scale: 1, revivalChecks: [] });
  let answered;
  try {
    const campaignId = await submitOne(r);
    const notice = await waiting(r, campaignId, 'abuse@registrar.bench.example');
    const verify = await answerAndVerify(r, notice);
    answered = { notice: count(await finished(r, `notice-${notice.id}-r1`)), verify: count(verify) };
  } finally {
    await r.close();
  }

  // 2. the same with the default revival watch, time compressed so the +7 days pass in a few seconds
  r = await rig('watch', { scale: 2 * DAY, revivalChecks: [DAY, 7 * DAY] });
  let watched;
  try {
    const campaignId = await submitOne(r);
    const notice = await waiting(r, campaignId, 'abuse@registrar.bench.example');
    watched = count(await answerAndVerify(r, notice));
  } finally {
    await r.close();
  }

  // 3. one reminder, escalation, answered and verified at the next party
  // a day in two seconds: slow enough that every wait is waited (faster, a deadline passes while a reminder is
  // being sent and the path skips the wait, which AWS at real time never does)
  r = await rig('escalation', { scale: DAY / 2, revivalChecks: [] });
  let escalation;
  try {
    const campaignId = await submitOne(r);
    const first = await waiting(r, campaignId, 'abuse@registrar.bench.example');
    const second = await waiting(r, campaignId, 'incidents@cert.bench.example');
    const firstRun = await finished(r, `notice-${first.id}-r1`);
    const verify = await answerAndVerify(r, second);
    escalation = { first: count(firstRun), second: count(await finished(r, `notice-${second.id}-r1`)), verify: count(verify) };
  } finally {
    await r.close();
  }

  // 4. ten reminders, then escalation
  r = await rig('rounds', { scale: DAY / 2, reminders: 10 });
  let rounds;
  try {
    const campaignId = await submitOne(r);
    const first = await waiting(r, campaignId, 'abuse@registrar.bench.example');
    rounds = count(await finished(r, `notice-${first.id}-r1`));
  } finally {
    await r.close();
  }

  const answeredTotal = answered.notice.transitions + answered.verify.transitions;
  const watchTotal = answered.notice.transitions + watched.transitions;
  const perCase = escalation.first.transitions + escalation.second.transitions + escalation.verify.transitions;
  const dollars = (transitions: number) => Math.round(transitions * 1000 * PRICE_PER_TRANSITION * 1000) / 1000;
  return {
    answeredVerified: { ...answered, total: answeredTotal, target: 8, met: answeredTotal <= 8 },
    withRevivalWatch: { verify: watched, total: watchTotal },
    oneEscalation: { ...escalation, perCase, target: 14, met: perCase <= 14 },
    tenRounds: { notice: rounds, target: 500, met: rounds.awsEventsEstimate <= 500 && rounds.localEvents <= 500 },
    costPer1000Cases: { answeredVerified: dollars(answeredTotal), withRevivalWatch: dollars(watchTotal), oneEscalation: dollars(perCase) },
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await runTransitionBench();
  process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
}
