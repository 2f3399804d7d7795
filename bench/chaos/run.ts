import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { startDnsStub } from '../../lib/adapters/probe/dns-stub.js';
import { check, type CheckInput, type Findings, type StoreCounts } from './check.js';
import { between, uniform } from './random.js';
import { Recipients, recipientKeys } from './recipients.js';
import { startRelay, type FaultKind, type RelayLogLine } from './relay.js';
import { killHard, openLog, runCli, sleep, startServe, stopGently, type Serve } from './procs.js';
import { makeWorld } from './world.js';

/**
 * One chaos run: a campaign over many simulated recipients on the embedded host, its relay refusing a share of
 * every phase of every transaction, `takedown serve` SIGKILLed at random moments and started again, answers by
 * every channel meanwhile (and by hand, with and without a running host), then calm: faults off, the host left to
 * finish, stopped, and everything it recorded held against what was delivered and what was answered.
 */

export interface ChaosOptions {
  readonly seed: number;
  /** hosting networks and registrars: one first notice each */
  readonly networks: number;
  readonly registrars: number;
  /** indicators per network or registrar, at most */
  readonly perParty: number;
  /** SIGKILLs of `takedown serve` */
  readonly kills: number;
  /** real ms the kills are spread over */
  readonly killPhaseMs: number;
  /** domain seconds per real second */
  readonly scale: number;
  /** share of relay transactions that fail */
  readonly faultRate: number;
  /** real ms the host may take to finish once the faults stop */
  readonly settleTimeoutMs: number;
  /** where to keep the run (kept afterwards when given); a temporary directory, removed, otherwise */
  readonly runDir?: string;
  readonly log?: (line: string) => void;
}

/** The full run: ~400 notices, 10-12 kills. */
export function fullRun(seed: number): ChaosOptions {
  return { seed, networks: 260, registrars: 60, perParty: 3, kills: between(seed, 'kills', 10, 12), killPhaseMs: 150_000, scale: 7200, faultRate: 0.3, settleTimeoutMs: 300_000 };
}

/** The short run `npm test` keeps: ~50 notices, 3 kills, a minute or two. */
export function shortRun(seed: number): ChaosOptions {
  return { seed, networks: 30, registrars: 8, perParty: 2, kills: 3, killPhaseMs: 30_000, scale: 14_400, faultRate: 0.3, settleTimeoutMs: 120_000 };
}

export interface ChaosReport {
  readonly seed: number;
  readonly options: Omit<ChaosOptions, 'log' | 'runDir'>;
  readonly seconds: number;
  readonly runDir: string;
  readonly kills: number;
  /** serve exits nobody asked for */
  readonly unexpectedExits: number;
  readonly settled: boolean;
  readonly relay: { transactions: number; delivered: number; connections: number; faults: Record<FaultKind, number> };
  readonly answersByChannel: Record<string, number>;
  /** answers the recipients gave up on (a link unknown, a webhook refused) */
  readonly refusedAnswers: string[];
  readonly commands: Record<string, number>;
  readonly delivered: number;
  readonly counts: StoreCounts;
  readonly findings: Findings;
  readonly audit: { readonly valid: boolean; readonly output: string };
  /** real ms of every kill, to read the relay's log by */
  readonly killTimes: readonly number[];
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface CoordinatorItem {
  readonly kind: 'ack' | 'followup';
  readonly noticeId: string;
  readonly note: string;
  tries: number;
}

/** Runs the chaos and checks what it left. */
export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  const { seed } = options;
  const runDir = options.runDir ?? mkdtempSync(join(tmpdir(), 'takedown-chaos-'));
  const keep = options.runDir !== undefined;
  mkdirSync(runDir, { recursive: true });
  const dataDir = join(runDir, 'data');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  const serveLog: WriteStream = openLog(join(runDir, 'serve.log'));

  const world = makeWorld({ seed, networks: options.networks, registrars: options.registrars, perParty: options.perParty });
  writeFileSync(join(runDir, 'directory.yaml'), world.directoryYaml);
  writeFileSync(join(runDir, 'routing.yaml'), world.routingYaml);
  world.campaigns.forEach((csv, i) => writeFileSync(join(runDir, `campaign-${i + 1}.csv`), csv));
  const domains = [...world.parties.values()].map((p) => p.email.split('@')[1]!);
  const keys = recipientKeys(domains);
  // kept with the run: a reply that failed DKIM can be checked again afterwards
  writeFileSync(join(runDir, 'recipients-dkim.json'), JSON.stringify({ selector: 'chaos', privateKey: keys.privateKey, txt: keys.txt }));
  const dns = await startDnsStub(Object.fromEntries(Object.entries(keys.txt).map(([name, txt]) => [name, { TXT: txt }])));
  const relayLogFile = join(runDir, 'relay.jsonl');
  const relay = await startRelay({ seed, rate: options.faultRate, deliveredDir: join(runDir, 'delivered'), logFile: relayLogFile });
  const httpPort = await freePort();
  const smtpPort = await freePort();
  const httpUrl = `http://127.0.0.1:${httpPort}`;
  // every process that opens the data directory reads these: serve, a command with no host, `run` from a shell
  writeFileSync(
    join(dataDir, 'takedown.yaml'),
    JSON.stringify(
      {
        smtpUrl: relay.url,
        timeScale: options.scale,
        directory: join(runDir, 'directory.yaml'),
        routing: join(runDir, 'routing.yaml'),
        rdap: 'off',
        mailAuth: 'dns',
        mailDns: [dns.server],
        probes: 'off',
        httpPort,
        smtpPort,
        publicUrl: httpUrl,
        sendPerDomainPerMinute: 100_000,
      },
      null,
      2,
    ),
    { mode: 0o600 },
  );
  log(`chaos run, seed ${seed}: ${world.parties.size} recipients, ${world.indicators} indicators, ${options.kills} kills; in ${runDir}`);

  // real ms of every SIGKILL (and of every exit nobody asked for): a resend after one is an honest one
  const killTimes: number[] = [];
  let serve: Serve | undefined = await startServe(dataDir, serveLog);
  let kills = 0;
  let unexpectedExits = 0;
  let killing = false;
  const watchExit = (s: Serve) =>
    void s.exited.then(() => {
      if (!killing && serve === s && !stopping) {
        unexpectedExits++;
        killTimes.push(Date.now());
        log(`  ! takedown serve (pid ${s.pid}) exited on its own (code ${s.child.exitCode}); starting it again`);
        serve = undefined;
      }
    });
  let stopping = false;
  watchExit(serve);

  const commands: Record<string, number> = {};
  const count = (what: string) => (commands[what] = (commands[what] ?? 0) + 1);

  // webhook secrets, made as an operator makes them, with the host running
  const secrets = new Map<string, string>();
  const webhookParties = [...world.parties.values()].filter((p) => p.behaviour.startsWith('webhook'));
  const makeSecrets = (async () => {
    for (const p of webhookParties) {
      for (let attempt = 0; attempt < 5; attempt++) {
        const r = await runCli(['recipients', 'secret', 'create', p.id, '--data-dir', dataDir]);
        count('recipients secret create');
        if (r.code === 0) {
          secrets.set(p.id, r.stdout.trim());
          break;
        }
        log(`  (secret for ${p.id}: exit ${r.code}: ${r.stderr.trim().split('\n').pop()})`);
        await sleep(500);
      }
    }
  })();

  const coordinator: CoordinatorItem[] = [];
  const recipients = new Recipients(
    {
      seed,
      parties: world.parties,
      deliveredDir: join(runDir, 'delivered'),
      envelopeOf: (messageId) => envelopes.get(messageId),
      smtpPort,
      httpUrl,
      secretOf: (id) => secrets.get(id),
      hourMs: 3_600_000 / options.scale,
      coordinatorAck: (noticeId, note) => coordinator.push({ kind: 'ack', noticeId, note, tries: 0 }),
      coordinatorFollowup: (noticeId) => coordinator.push({ kind: 'followup', noticeId, note: '', tries: 0 }),
      log,
    },
    keys,
  );
  // the envelope sender of each delivered message, from the relay's log, for replies that go back to it
  const envelopes = new Map<string, string>();
  let relayLogRead = 0;
  const relayLog: RelayLogLine[] = [];
  const readRelayLog = () => {
    if (!existsSync(relayLogFile)) return;
    const text = readFileSync(relayLogFile, 'utf8');
    const lines = text.slice(relayLogRead).split('\n');
    const complete = lines.slice(0, -1);
    relayLogRead += complete.reduce((n, l) => n + l.length + 1, 0);
    for (const l of complete) {
      const line = JSON.parse(l) as RelayLogLine;
      relayLog.push(line);
      if (line.delivered && line.messageId && line.from !== undefined) envelopes.set(line.messageId, line.from);
    }
  };

  // the coordinator's commands, one at a time: with a host they go through its API, without one they record only
  let commandBusy = false;
  const runCoordinator = async (item: CoordinatorItem): Promise<void> => {
    const args =
      item.kind === 'ack'
        ? ['ack', item.noticeId, '--actioned', '--note', item.note, '--data-dir', dataDir]
        : ['followup', item.noticeId, '--message', 'The full address is in the notice above; a screenshot is in the attached evidence.', '--data-dir', dataDir];
    const r = await runCli(args, 90_000);
    const passive = /no host is serving/.test(r.stdout);
    count(`${item.kind}${passive ? ' (no host)' : ''}${r.code === 0 ? '' : ' failed'}`);
    if (r.code !== 0) log(`  (takedown ${item.kind} ${item.noticeId}: exit ${r.code}: ${r.stderr.trim().split('\n').pop()})`);
    if (r.code === 0) {
      if (item.kind === 'ack') recipients.recordAck(item.noticeId, item.note, passive);
      return;
    }
    item.tries++;
    if (item.tries < 8) coordinator.push(item);
    else log(`  ! gave up: takedown ${args.slice(0, 2).join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
  };
  const takeCommand = async (): Promise<boolean> => {
    if (commandBusy || !coordinator.length) return false;
    commandBusy = true;
    try {
      await runCoordinator(coordinator.shift()!);
    } finally {
      commandBusy = false;
    }
    return true;
  };

  // indicators with two cases not finished at once, seen in a snapshot of the store
  const twoHandsSeen = new Map<string, string>();
  const snapshot = () => {
    const file = join(dataDir, 'takedown.db');
    if (!existsSync(file)) return;
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const found = db
        .prepare(
          "SELECT indicator_value AS v, group_concat(id || ' ' || state, ', ') AS cases FROM cases WHERE state NOT IN ('actioned','verified-down','not-ours','disputed','cancelled','escalated','expired') GROUP BY indicator_value HAVING count(*) > 1",
        )
        .all() as { v: string; cases: string }[];
      for (const f of found) if (!twoHandsSeen.has(f.v)) twoHandsSeen.set(f.v, `during the run: ${f.cases}`);
    } catch {
      // the host may hold a write lock for a moment: the next snapshot reads
    } finally {
      db?.close();
    }
  };

  let loopsOn = true;
  const loops = (async () => {
    let tick = 0;
    while (loopsOn) {
      readRelayLog();
      await recipients.poll().catch((e: unknown) => log(`  (recipients: ${(e as Error).message})`));
      if (serve && !killing) void takeCommand();
      if (tick++ % 5 === 0) snapshot();
      if (!serve && !killing && !stopping) {
        serve = await startServe(dataDir, serveLog).catch((e: unknown) => {
          log(`  ! restart failed: ${(e as Error).message}`);
          return undefined;
        });
        if (serve) watchExit(serve);
      }
      await sleep(200);
    }
  })();

  // the campaign, through the API as a coordinator's tool submits it; the same Idempotency-Key on every try
  let campaignId: string | undefined;
  for (let attempt = 0; !campaignId; attempt++) {
    const res = await fetch(`${httpUrl}/campaigns`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${readFileSync(join(dataDir, 'api-key'), 'utf8').trim()}`, 'idempotency-key': `chaos-${seed}-1` },
      body: JSON.stringify({ name: `Chaos ${seed}`, submitter: 'chaos coordinator', content: world.campaigns[0], requireApproval: false, tlp: 'GREEN', format: 'csv' }),
    }).catch(() => undefined);
    if (res && (res.status === 201 || res.status === 200)) campaignId = ((await res.json()) as { campaign: { id: string } }).campaign.id;
    else if (attempt > 100) throw new Error(`the campaign could not be submitted: ${res?.status}`);
    else await sleep(500);
  }
  log(`campaign ${campaignId} submitted`);
  // the kills do not wait for the secrets: a webhook tries again until its recipient has one

  // the kills, at moments the seed chooses; in some of the windows without a host, commands run on their own
  const runCampaignAt = options.kills > 1 ? between(seed, 'run-campaign', 1, options.kills - 1) : 0;
  const step = options.killPhaseMs / Math.max(1, options.kills);
  for (let k = 1; k <= options.kills; k++) {
    await sleep(step * (0.5 + uniform(seed, `kill-at|${k}`)));
    while (commandBusy) await sleep(50);
    killing = true;
    killTimes.push(Date.now());
    if (serve) await killHard(serve);
    serve = undefined;
    kills++;
    const downMs = 300 + uniform(seed, `down|${k}`) * 2500;
    log(`kill ${k}/${options.kills} at ${((Date.now() - started) / 1000).toFixed(0)} s; down ${(downMs / 1000).toFixed(1)} s`);
    const downUntil = Date.now() + downMs;
    // commands with no host: they record and send nothing
    for (let i = 0; i < 2; i++) await takeCommand();
    if (k === runCampaignAt && world.campaigns[1]!.split('\n').length > 2) {
      const r = await runCli(['run', join(runDir, 'campaign-2.csv'), '--yes', '--tlp', 'GREEN', '--name', `Chaos ${seed} (run)`, '--data-dir', dataDir], 60_000);
      if (r.killed) killTimes.push(Date.now());
      count(`run${r.killed ? ' (killed at 60 s)' : r.code === 0 ? '' : ' failed'}`);
      log(`  takedown run campaign-2.csv: ${r.killed ? 'killed after 60 s' : `exit ${r.code}`}`);
    }
    await sleep(Math.max(0, downUntil - Date.now()));
    serve = await startServe(dataDir, serveLog).catch((e: unknown) => {
      log(`  ! restart failed: ${(e as Error).message}`);
      return undefined;
    });
    if (serve) watchExit(serve);
    killing = false;
  }

  // calm: no more faults; the host finishes what is open
  relay.calm();
  log(`faults off at ${((Date.now() - started) / 1000).toFixed(0)} s; settling`);
  const settleUntil = Date.now() + options.settleTimeoutMs;
  let settled = false;
  while (Date.now() < settleUntil) {
    await sleep(1000);
    if (!serve || !recipients.idle() || coordinator.length || commandBusy) continue;
    if (settledStore(dataDir)) {
      settled = true;
      break;
    }
  }
  log(settled ? `settled at ${((Date.now() - started) / 1000).toFixed(0)} s` : 'did not settle in time: what is open is reported');

  await makeSecrets;
  stopping = true;
  loopsOn = false;
  await loops;
  if (serve) await stopGently(serve);
  recipients.stop();
  readRelayLog();
  await recipients.poll().catch(() => undefined);
  const audit = await runCli(['audit', 'verify', '--data-dir', dataDir]);
  const evidence: CheckInput = { dataDir, delivered: recipients.delivered, relayLog, ledger: recipients.ledger, twoHandsSeen, kills: killTimes };
  // what the checks read besides the data directory, kept with the run: `npm run chaos -- --recheck <dir>`
  writeFileSync(join(runDir, 'evidence.json'), JSON.stringify({ ...evidence, relayLog: undefined, twoHandsSeen: [...twoHandsSeen] }));
  const { findings, counts } = check(evidence);
  serveLog.end();
  await relay.close();
  await dns.close();
  const report: ChaosReport = {
    seed,
    options: { seed, networks: options.networks, registrars: options.registrars, perParty: options.perParty, kills: options.kills, killPhaseMs: options.killPhaseMs, scale: options.scale, faultRate: options.faultRate, settleTimeoutMs: options.settleTimeoutMs },
    seconds: (Date.now() - started) / 1000,
    runDir,
    kills,
    unexpectedExits,
    settled,
    relay: { ...relay.counts, faults: { ...relay.faults } },
    answersByChannel: recipients.ledger.reduce<Record<string, number>>((acc, g) => ({ ...acc, [g.channel]: (acc[g.channel] ?? 0) + 1 }), {}),
    refusedAnswers: recipients.refused.map((r) => `${r.what}: ${r.why}`),
    commands,
    delivered: recipients.delivered.length,
    counts,
    findings,
    audit: { valid: audit.code === 0, output: (audit.stdout + audit.stderr).trim().slice(-2000) },
    killTimes,
  };
  writeFileSync(join(runDir, 'report.json'), JSON.stringify(report, null, 2));
  if (!keep && Object.values(findings).every((f) => f.count === 0) && report.audit.valid) rmSync(runDir, { recursive: true, force: true });
  return report;
}

/** Every campaign done and every message out: nothing is left for the host to do. */
function settledStore(dataDir: string): boolean {
  let db: Database.Database | undefined;
  try {
    db = new Database(join(dataDir, 'takedown.db'), { readonly: true, fileMustExist: true });
    const campaigns = (db.prepare('SELECT data FROM campaigns').all() as { data: string }[]).map((r) => JSON.parse(r.data) as { state: string });
    if (!campaigns.length || campaigns.some((c) => c.state !== 'done' && c.state !== 'cancelled')) return false;
    // every message out but those nothing is left to send (a notice that ended before its message was handed over)
    const live = new Set(['planned', 'sending', 'uncertain', 'sent']);
    const notices = new Map((db.prepare('SELECT id, state FROM notices').all() as { id: string; state: string }[]).map((n) => [n.id, n.state]));
    const unsent = new Set((db.prepare("SELECT key FROM records WHERE kind = 'unsent'").all() as { key: string }[]).map((r) => r.key));
    const pending = (db.prepare('SELECT data FROM outbound').all() as { data: string }[])
      .map((r) => JSON.parse(r.data) as { id: string; noticeId: string; kind: string; state: string })
      .some((o) => o.state !== 'sent' && (o.state === 'sending' || unsent.has(o.id) || o.kind !== 'notice' || live.has(notices.get(o.noticeId) ?? '')));
    return !pending;
  } catch {
    return false;
  } finally {
    db?.close();
  }
}

/** The checks again, on a run kept with --keep: after a change to the checks, or to read one more closely. */
export function recheck(runDir: string): ReturnType<typeof check> {
  const saved = JSON.parse(readFileSync(join(runDir, 'evidence.json'), 'utf8')) as Omit<CheckInput, 'twoHandsSeen' | 'relayLog'> & { twoHandsSeen: [string, string][] };
  const relayLog = readFileSync(join(runDir, 'relay.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as RelayLogLine);
  return check({ ...saved, dataDir: join(runDir, 'data'), relayLog, twoHandsSeen: new Map(saved.twoHandsSeen) });
}
