/**
 * `npx tsx bench/audit.ts [--json] [--events <n>] [--chains <n>]`: the audit trail at the size of a large
 * campaign. Appends 100,000 events across 2,000 case chains of one campaign into a temporary SQLite store through
 * the commands' own appendEvent (link to the head, conditional put) three ways, each on a store of its own: one at
 * a time (a single command), 64 appends in flight (a running campaign's executions) and appendEvents in batches of
 * 10 (a notice's cases); then times verifyCampaign over the first. Measures; asserts nothing. Targets: appends at
 * a running campaign's pace >= 20,000 a second; the verification of 100,000 events under 60 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CryptoIds } from '../lib/adapters/runtime/ids.js';
import { SqliteStore } from '../lib/adapters/sqlite/store.sqlite.js';
import { WalCheckpoints } from '../lib/adapters/sqlite/wal-checkpoints.js';
import { appendEvent, appendEvents, verifyCampaign } from '../lib/core/audit/index.js';
import type { PhaseProfile, PhaseProfiler } from './profile.js';

export interface AuditBenchFigures {
  readonly events: number;
  readonly chains: number;
  /** one append at a time, each awaited before the next: a single command's pace */
  readonly appendSeconds: number;
  readonly appendsPerSecond: number;
  /** APPENDERS appends in flight at once, as a running campaign's executions make them (they share commits) */
  readonly appenders: number;
  readonly concurrentAppendsPerSecond: number;
  /** appendEvents with BATCH events a call, as a page of cases or a notice's cases are recorded */
  readonly batch: number;
  readonly batchedAppendsPerSecond: number;
  /** the target for the campaign's pace (concurrent appends) */
  readonly appendTarget: number;
  readonly verifySeconds: number;
  readonly verifiedPerSecond: number;
  readonly valid: boolean;
  /** seconds the verification of 100,000 events may take */
  readonly targetSeconds: number;
  /** the verification, scaled to 100,000 events, within the target */
  readonly met: boolean;
}

const TARGET_SECONDS = 60;
const APPEND_TARGET = 20_000;
const APPENDERS = 64;
const BATCH = 10;

type Deps = Parameters<typeof appendEvent>[0];

/** The n-th event of the bench: round robin, every append lands on another chain than the one before, as a running campaign's do. */
function nthEvent(campaignId: string, n: number, chains: number): NewEvent {
  const c = n % chains;
  return {
    campaignId,
    caseId: `case_${String(c).padStart(6, '0')}`,
    noticeId: `ntc_${String(c % 200).padStart(4, '0')}`,
    type: n < chains ? 'case.notified' : 'case.state-changed',
    actor: 'system',
    data: { n, from: 'notified', to: 'acknowledged', party: `hosting:10.${c % 250}.0.0/16`, sha256: 'ab'.repeat(32) },
  };
}
type NewEvent = Parameters<typeof appendEvent>[1];

/** What the commands get: the store, ids, and a clock a second further at each reading. */
function depsOf(store: SqliteStore): Deps {
  let tick = Date.parse('2025-03-01T08:00:00.000Z');
  return { store, ids: new CryptoIds(), clock: { now: () => new Date((tick += 1000)), engineSeconds: (s: number) => s } };
}

/** Appends `total` events (a campaign event, then `total - 1` case events) the way `mode` says; the seconds it took. */
async function appendAll(deps: Deps, campaignId: string, total: number, chains: number, mode: 'one' | 'concurrent' | 'batched'): Promise<number> {
  const started = performance.now();
  await appendEvent(deps, { campaignId, type: 'campaign.submitted', actor: 'bench', data: { indicators: chains } });
  if (mode === 'one') {
    for (let n = 1; n < total; n++) await appendEvent(deps, nthEvent(campaignId, n, chains));
  } else if (mode === 'batched') {
    for (let n = 1; n < total; n += BATCH) {
      await appendEvents(deps, Array.from({ length: Math.min(BATCH, total - n) }, (_, i) => nthEvent(campaignId, n + i, chains)));
    }
  } else {
    let next = 1;
    await Promise.all(
      Array.from({ length: APPENDERS }, async () => {
        while (next < total) await appendEvent(deps, nthEvent(campaignId, next++, chains));
      }),
    );
  }
  return (performance.now() - started) / 1000;
}

/**
 * The appends at a running campaign's pace (APPENDERS in flight) once more, on a store of their own, the main
 * thread sampled: where their time goes, for a report whose append bar is not met.
 */
export async function profileConcurrentAppends(
  profiler: PhaseProfiler,
  options: { events?: number; chains?: number } = {},
): Promise<{ events: number; appenders: number; eventsPerSecond: number; profile: PhaseProfile & { file: string } }> {
  const total = options.events ?? 100_000;
  const dir = mkdtempSync(join(tmpdir(), 'takedown-bench-audit-'));
  const file = join(dir, 'profiled.db');
  const store = new SqliteStore(file);
  const thread = new WalCheckpoints([file], () => undefined);
  try {
    const deps = depsOf(store);
    await profiler.start();
    const seconds = await appendAll(deps, 'cmp_bench_audit', total, options.chains ?? 2_000, 'concurrent');
    const profile = await profiler.stop('audit-append');
    return { events: total, appenders: APPENDERS, eventsPerSecond: Math.round(total / seconds), profile };
  } finally {
    await thread.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Append `events` events over `chains` case chains of one campaign, then verify the campaign; both timed. */
export async function runAuditBench(options: { events?: number; chains?: number; log?: (text: string) => void } = {}): Promise<AuditBenchFigures> {
  const total = options.events ?? 100_000;
  const chains = options.chains ?? 2_000;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'takedown-bench-audit-'));
  // each way of appending on a store of its own, so that none finds the file the one before it grew
  const stores: SqliteStore[] = [];
  const threads: WalCheckpoints[] = [];
  try {
    const storeOf = (name: string): Deps => {
      const file = join(dir, `${name}.db`);
      const store = new SqliteStore(file);
      stores.push(store);
      // as a running host's: its log copied back on a thread of its own
      threads.push(new WalCheckpoints([file], (m) => log(`audit: ${m}`)));
      return depsOf(store);
    };
    const campaignId = 'cmp_bench_audit';
    const count = total.toLocaleString('en-US');
    log(`audit: appending ${count} events over ${chains.toLocaleString('en-US')} case chains, one at a time ...`);
    const deps = storeOf('one');
    const appendSeconds = await appendAll(deps, campaignId, total, chains, 'one');
    log(`audit: appended in ${appendSeconds.toFixed(1)} s; ${count} again, ${APPENDERS} appenders at once ...`);
    const concurrent = storeOf('concurrent');
    const concurrentSeconds = await appendAll(concurrent, campaignId, total, chains, 'concurrent');
    log(`audit: appended in ${concurrentSeconds.toFixed(1)} s; ${count} again, ${BATCH} events a call ...`);
    const batched = storeOf('batched');
    const batchedSeconds = await appendAll(batched, campaignId, total, chains, 'batched');
    log(`audit: appended in ${batchedSeconds.toFixed(1)} s; verifying ...`);

    const started = performance.now();
    const report = await verifyCampaign({ store: deps.store }, campaignId);
    const verifyMs = performance.now() - started;
    if (report.events !== total) throw new Error(`verified ${report.events} events, appended ${total}`);
    log(`audit: verified ${report.events.toLocaleString('en-US')} events in ${report.chains.toLocaleString('en-US')} chains in ${(verifyMs / 1000).toFixed(1)} s: ${report.ok ? 'valid' : 'BROKEN'}`);
    // the chains the other two ways wrote must verify too, or their pace means nothing
    for (const other of [concurrent, batched]) {
      const r = await verifyCampaign({ store: other.store }, campaignId);
      if (!r.ok || r.events !== total) throw new Error(`the ${other === concurrent ? 'concurrent' : 'batched'} appends verify as ${r.ok ? 'valid' : 'BROKEN'} with ${r.events} events of ${total}`);
    }
    const scaled = (verifyMs / 1000) * (100_000 / total);
    const rate = (s: number) => Math.round(total / s);
    return {
      events: total,
      chains: report.chains,
      appendSeconds: Math.round(appendSeconds * 1000) / 1000,
      appendsPerSecond: rate(appendSeconds),
      appenders: APPENDERS,
      concurrentAppendsPerSecond: rate(concurrentSeconds),
      batch: BATCH,
      batchedAppendsPerSecond: rate(batchedSeconds),
      appendTarget: APPEND_TARGET,
      verifySeconds: Math.round(verifyMs) / 1000,
      verifiedPerSecond: Math.round(total / (verifyMs / 1000)),
      valid: report.ok,
      targetSeconds: TARGET_SECONDS,
      met: report.ok && scaled < TARGET_SECONDS,
    };
  } finally {
    for (const thread of threads) await thread.close();
    for (const store of stores) store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const arg = (name: string): number | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const figures = await runAuditBench({ events: arg('--events'), chains: arg('--chains'), log: (t) => void process.stderr.write(`[bench] ${t}\n`) });
  if (argv.includes('--json')) process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  else {
    process.stdout.write(
      `appended ${figures.events} events (${figures.chains} chains) in ${figures.appendSeconds} s (${figures.appendsPerSecond}/s one at a time, ` +
        `${figures.concurrentAppendsPerSecond}/s with ${figures.appenders} appenders, ${figures.batchedAppendsPerSecond}/s in batches of ${figures.batch}); ` +
        `verified in ${figures.verifySeconds} s (${figures.verifiedPerSecond}/s); target < ${figures.targetSeconds} s: ${figures.met ? 'met' : 'NOT met'}\n`,
    );
  }
}
