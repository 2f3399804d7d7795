/**
 * `npx tsx bench/audit.ts [--json] [--events <n>] [--chains <n>]`: the audit trail at the size of a large
 * campaign. Appends 100,000 events across 2,000 case chains of one campaign into a temporary SQLite store through
 * the commands' own appendEvent (head read, link, conditional put), then times verifyCampaign over all of them.
 * Measures; asserts nothing. Target: the verification of 100,000 events under 60 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CryptoIds } from '../lib/adapters/runtime/ids.js';
import { SqliteStore } from '../lib/adapters/sqlite/store.sqlite.js';
import { verifyCampaign } from '../lib/core/audit/index.js';
import { appendEvent } from '../lib/core/audit/index.js';

export interface AuditBenchFigures {
  readonly events: number;
  readonly chains: number;
  readonly appendSeconds: number;
  readonly appendsPerSecond: number;
  readonly verifySeconds: number;
  readonly verifiedPerSecond: number;
  readonly valid: boolean;
  /** seconds the verification of 100,000 events may take */
  readonly targetSeconds: number;
  /** the verification, scaled to 100,000 events, within the target */
  readonly met: boolean;
}

const TARGET_SECONDS = 60;

/** Append `events` events over `chains` case chains of one campaign, then verify the campaign; both timed. */
export async function runAuditBench(options: { events?: number; chains?: number; log?: (text: string) => void } = {}): Promise<AuditBenchFigures> {
  const total = options.events ?? 100_000;
  const chains = options.chains ?? 2_000;
  const log = options.log ?? (() => undefined);
  const dir = mkdtempSync(join(tmpdir(), 'takedown-bench-audit-'));
  const store = new SqliteStore(join(dir, 'audit.db'));
  try {
    let tick = Date.parse('2025-03-01T08:00:00.000Z');
    const deps = { store, ids: new CryptoIds(), clock: { now: () => new Date((tick += 1000)), engineSeconds: (s: number) => s } };
    const campaignId = 'cmp_bench_audit';
    log(`audit: appending ${total.toLocaleString('en-US')} events over ${chains.toLocaleString('en-US')} case chains ...`);
    let started = performance.now();
    await appendEvent(deps, { campaignId, type: 'campaign.submitted', actor: 'bench', data: { indicators: chains } });
    for (let n = 1; n < total; n++) {
      // round robin: every append lands on another chain than the one before, as a running campaign's do
      const c = n % chains;
      await appendEvent(deps, {
        campaignId,
        caseId: `case_${String(c).padStart(6, '0')}`,
        noticeId: `ntc_${String(c % 200).padStart(4, '0')}`,
        type: n < chains ? 'case.notified' : 'case.state-changed',
        actor: 'system',
        data: { n, from: 'notified', to: 'acknowledged', party: `hosting:10.${c % 250}.0.0/16`, sha256: 'ab'.repeat(32) },
      });
    }
    const appendMs = performance.now() - started;
    log(`audit: appended in ${(appendMs / 1000).toFixed(1)} s; verifying ...`);

    started = performance.now();
    const report = await verifyCampaign({ store }, campaignId);
    const verifyMs = performance.now() - started;
    if (report.events !== total) throw new Error(`verified ${report.events} events, appended ${total}`);
    log(`audit: verified ${report.events.toLocaleString('en-US')} events in ${report.chains.toLocaleString('en-US')} chains in ${(verifyMs / 1000).toFixed(1)} s: ${report.ok ? 'valid' : 'BROKEN'}`);
    const scaled = (verifyMs / 1000) * (100_000 / total);
    return {
      events: total,
      chains: report.chains,
      appendSeconds: Math.round(appendMs) / 1000,
      appendsPerSecond: Math.round(total / (appendMs / 1000)),
      verifySeconds: Math.round(verifyMs) / 1000,
      verifiedPerSecond: Math.round(total / (verifyMs / 1000)),
      valid: report.ok,
      targetSeconds: TARGET_SECONDS,
      met: report.ok && scaled < TARGET_SECONDS,
    };
  } finally {
    store.close();
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
      `appended ${figures.events} events (${figures.chains} chains) in ${figures.appendSeconds} s (${figures.appendsPerSecond}/s); ` +
        `verified in ${figures.verifySeconds} s (${figures.verifiedPerSecond}/s); target < ${figures.targetSeconds} s: ${figures.met ? 'met' : 'NOT met'}\n`,
    );
  }
}
