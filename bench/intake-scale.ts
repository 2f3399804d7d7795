/**
 * Peak memory and time of intake and routing for a large file: 200,000 indicators as a CSV and as a STIX 2.1
 * bundle, through the embedded host (submit, then the campaign workflow routes every page and builds the
 * notices; nothing is sent) and through the dry run (`takedown plan`). Each case runs in a child process of
 * its own, so its peak resident set (the kernel's maxrss) is that case's and nothing else's.
 *
 *   npx tsx bench/intake-scale.ts [--count 200000] [--cases stored-csv,stored-stix,plan-csv,plan-stix] [--json]
 *                                 [--profile <dir>]
 *
 * With --profile, a stored case samples its main thread over routing (after intake) and reports where that time
 * went, as `npm run bench` does for a 200k routing over its bar.
 *
 * `npm run bench` runs the stored cases as part of its report (see runIntakeScale).
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { submitCampaign } from '../lib/core/campaign/index.js';
import { planSubmission } from '../lib/core/campaign/index.js';
import { parseIndicators } from '../lib/core/intake/index.js';
import { fileSource } from '../lib/local/file-source.js';
import { startHost } from '../lib/local/host.js';
import { boundHeapGrowth } from '../lib/local/heap.js';
import { DEFAULT_SPEC, generateBench } from './generate.js';
import { PhaseProfiler, type PhaseProfile } from './profile.js';

export const INTAKE_CASES = ['stored-csv', 'stored-stix', 'plan-csv', 'plan-stix'] as const;
export type IntakeCase = (typeof INTAKE_CASES)[number];

/** What one case measured. */
export interface IntakeFigures {
  readonly case: IntakeCase;
  readonly indicators: number;
  readonly fileMb: number;
  /** the kernel's peak resident set of the child process, start-up included */
  readonly peakRssMb: number;
  /** read and check the file and store its indicators (stored) or build the whole plan (plan) */
  readonly intakeSeconds: number;
  /** the campaign workflow's routing and notice building, until the plan is fixed (stored only) */
  readonly routingSeconds?: number;
  readonly cases?: number;
  readonly notices?: number;
  readonly withheld?: number;
  /** where the main thread's routing time went (stored cases run with a profile folder) */
  readonly profile?: PhaseProfile & { readonly file: string };
}

const GREEN = 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb';
const AMBER = 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421';
const RED = 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1';
const STIX_TYPE = { ipv4: 'ipv4-addr', ipv6: 'ipv6-addr', domain: 'domain-name', url: 'url' } as const;

const mb = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;
const secs = (ms: number) => Math.round(ms) / 1000;

/**
 * The same indicators as a STIX bundle a vendor would send: one indicator object each, most TLP:GREEN, one in
 * twenty AMBER (the campaign records the permission), one in fifty RED (withheld), one in a hundred expired.
 */
export function stixBundleOf(csv: string): string {
  const { indicators } = parseIndicators(csv);
  const objects = indicators.map((ind, i) => {
    const hex = i.toString(16).padStart(12, '0');
    const marking = i % 50 === 7 ? RED : i % 20 === 3 ? AMBER : GREEN;
    const value = ind.value.replace(/\\/g, '\\\\').replace(/'/g, "\\'");
    return {
      type: 'indicator',
      spec_version: '2.1',
      id: `indicator--5c0fe3a0-0000-4000-8000-${hex}`,
      created: '2024-08-01T00:00:00.000Z',
      modified: '2024-08-01T00:00:00.000Z',
      name: ind.threat ?? 'malicious infrastructure',
      ...(ind.evidence ? { description: ind.evidence } : {}),
      indicator_types: ['malicious-activity'],
      pattern: `[${STIX_TYPE[ind.kind]}:value = '${value}']`,
      pattern_type: 'stix',
      valid_from: '2024-08-01T00:00:00Z',
      ...(i % 100 === 11 ? { valid_until: '2024-09-01T00:00:00Z' } : {}),
      object_marking_refs: [marking],
    };
  });
  return JSON.stringify({ type: 'bundle', id: 'bundle--5c0fe3a0-0000-4000-8000-000000000000', objects });
}

/** Writes the directory, the CSV and the STIX bundle for `count` indicators into `dir`. */
export function writeIntakeFiles(dir: string, count: number, seed = DEFAULT_SPEC.seed): { directory: string; csv: string; stix: string } {
  // below Africa Cyber Surge II's size the directory shrinks with the file (a quick run of the script)
  const scale = Math.min(1, count / DEFAULT_SPEC.indicators);
  const generated = generateBench({
    ...DEFAULT_SPEC,
    seed,
    indicators: count,
    ...(scale < 1
      ? { ipv4Networks: Math.max(10, Math.floor(DEFAULT_SPEC.ipv4Networks * scale)), ipv6Networks: Math.max(2, Math.floor(DEFAULT_SPEC.ipv6Networks * scale)), perNetwork: 2, domainIndicators: Math.max(5, Math.floor(DEFAULT_SPEC.domainIndicators * scale)) }
      : {}),
  });
  const files = { directory: join(dir, 'directory.json'), csv: join(dir, 'campaign.csv'), stix: join(dir, 'campaign.stix.json') };
  writeFileSync(files.directory, JSON.stringify(generated.directory));
  writeFileSync(files.csv, generated.csv);
  writeFileSync(files.stix, stixBundleOf(generated.csv));
  return files;
}

/** One case, in this process; the parent reads the JSON line it prints. */
async function runCase(which: IntakeCase, dir: string, profileDir?: string): Promise<IntakeFigures> {
  const [mode, format] = which.split('-') as ['stored' | 'plan', 'csv' | 'stix'];
  const file = join(dir, format === 'csv' ? 'campaign.csv' : 'campaign.stix.json');
  const host = await startHost({ dataDir: join(dir, `host-${which}`), directory: join(dir, 'directory.json'), rdap: 'off', logLevel: 'silent', probes: 'off' }, { resume: false });
  try {
    // read as `takedown run` and `takedown plan` read it: from disk, a piece at a time
    const fileBytes = statSync(file).size;
    const input = () => ({
      name: `intake scale ${which}`,
      submitter: 'bench',
      content: fileSource(file),
      sourceName: file,
      requireApproval: true,
      // the AMBER share of the bundle may go to the operators; RED never does
      tlpPermission: { grantedBy: 'bench' },
    });
    const t0 = performance.now();
    if (mode === 'plan') {
      const plan = await planSubmission(host.deps, input());
      return {
        case: which,
        indicators: plan.counts.submitted + plan.counts.excluded,
        fileMb: mb(fileBytes),
        peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
        intakeSeconds: secs(performance.now() - t0),
        notices: plan.counts.recipients,
        withheld: plan.counts.withheld,
      };
    }
    const { campaign } = await submitCampaign(host.deps, input());
    const profiler = profileDir ? new PhaseProfiler(profileDir) : undefined;
    await profiler?.start();
    const t1 = performance.now();
    for (;;) {
      const c = await host.store.getCampaign(campaign.id);
      if (c && c.state !== 'routing') {
        const t2 = performance.now();
        const profile = await profiler?.stop(`routing-${which}`);
        profiler?.close();
        return {
          case: which,
          indicators: c.counts.submitted + (c.counts.excluded ?? 0),
          fileMb: mb(fileBytes),
          peakRssMb: mb(process.resourceUsage().maxRSS * 1024),
          intakeSeconds: secs(t1 - t0),
          routingSeconds: secs(t2 - t1),
          cases: c.counts.cases,
          notices: c.counts.notices,
          withheld: c.counts.withheld ?? 0,
          ...(profile ? { profile } : {}),
        };
      }
      const failed = host.workflows.list().find((e) => e.status === 'failed');
      if (failed) throw new Error(`the campaign workflow failed: ${failed.error}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    await host.close();
  }
}

/**
 * The heap limit a case runs under: TAKEDOWN_BENCH_HEAP_MB. The default 0 is V8's own limit, as the CLI ships,
 * which lets the heap grow far past what is live; a limit (e.g. 384) shows what is live, not what a user sees.
 */
export function heapLimitMb(): number {
  return Number(process.env.TAKEDOWN_BENCH_HEAP_MB ?? 0);
}

function heapFlags(): string[] {
  const mb = heapLimitMb();
  return mb > 0 ? [`--max-old-space-size=${mb}`] : [];
}

/** Runs one case in a child process of its own and returns what it measured. */
function childCase(which: IntakeCase, dir: string, profileDir?: string): Promise<IntakeFigures> {
  const self = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    const args = [...heapFlags(), '--import', 'tsx', self, '--child', which, '--dir', dir, ...(profileDir ? ['--profile', profileDir] : [])];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      if (code !== 0 || !line.startsWith('{')) reject(new Error(`intake case ${which} exited with ${code}`));
      else resolve(JSON.parse(line) as IntakeFigures);
    });
  });
}

/**
 * Generates the files once and runs each case in its own process; with `profileDir`, the stored cases' routing is
 * sampled (the figures then pay a few %) and each .cpuprofile is written there.
 */
export async function runIntakeScale(
  opts: { count?: number; cases?: readonly IntakeCase[]; log?: (s: string) => void; profileDir?: string } = {},
): Promise<IntakeFigures[]> {
  const count = opts.count ?? 200_000;
  const dir = mkdtempSync(join(tmpdir(), 'takedown-intake-'));
  try {
    opts.log?.(`generating ${count.toLocaleString('en-US')} indicators as CSV and STIX`);
    writeIntakeFiles(dir, count);
    const out: IntakeFigures[] = [];
    for (const which of opts.cases ?? INTAKE_CASES) {
      opts.log?.(`intake case ${which}`);
      out.push(await childCase(which, dir, opts.profileDir));
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv: readonly string[]): Promise<void> {
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const child = arg('--child');
  if (child) {
    // a case runs as `takedown run` would: with the heap the CLI gives itself
    boundHeapGrowth();
    if (!(INTAKE_CASES as readonly string[]).includes(child)) throw new Error(`unknown case ${child}`);
    process.stdout.write(JSON.stringify(await runCase(child as IntakeCase, arg('--dir')!, arg('--profile'))) + '\n');
    return;
  }
  const cases = (arg('--cases')?.split(',') ?? [...INTAKE_CASES]) as IntakeCase[];
  for (const c of cases) if (!(INTAKE_CASES as readonly string[]).includes(c)) throw new Error(`unknown case ${c}`);
  const profileDir = arg('--profile');
  if (argv.includes('--profile') && (!profileDir || profileDir.startsWith('--'))) throw new Error('--profile takes the folder to write the .cpuprofile files to');
  if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
  const figures = await runIntakeScale({ count: Number(arg('--count') ?? 200_000), cases, profileDir, log: (s) => process.stderr.write(`[intake] ${s}\n`) });
  if (argv.includes('--json')) process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  else for (const f of figures) process.stdout.write(`${JSON.stringify(f)}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
    process.exit(1);
  });
}
