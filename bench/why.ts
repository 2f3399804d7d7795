/**
 * Where the time went for the bars of the report that are not the campaign's (run.ts profiles the campaign's
 * itself): 200,000 indicators routed after intake, the audit trail's appends at a running campaign's pace, a
 * command's start. Each bar not met runs once more, profiled, so the report's figures stay those of unprofiled
 * runs; the .cpuprofile files are kept for Chrome DevTools.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import type { Profiler } from 'node:inspector';
import { join } from 'node:path';
import { profileConcurrentAppends } from './audit.js';
import { runIntakeScale, type IntakeCase } from './intake-scale.js';
import { PhaseProfiler, STARTUP_PARTS, profileText, summarizeProfile, type PhaseProfile } from './profile.js';

export interface OtherWhy {
  /** where the .cpuprofile files are */
  readonly dir: string;
  readonly routing200k?: {
    readonly budgetSeconds: number;
    readonly cases: readonly { readonly case: IntakeCase; readonly indicators: number; readonly seconds: number; readonly profile: PhaseProfile }[];
  };
  readonly audit?: { readonly target: number; readonly appenders: number; readonly events: number; readonly eventsPerSecond: number; readonly profile: PhaseProfile };
  readonly startup?: {
    readonly budgetSeconds: number;
    readonly command: string;
    readonly seconds: number;
    /** the main thread, and the thread Node.js runs module hooks (tsx's) on */
    readonly threads: readonly { readonly label: string; readonly profile: PhaseProfile }[];
  };
}

export interface OtherBarsUnmet {
  readonly routing200k?: { readonly cases: readonly IntakeCase[]; readonly budgetSeconds: number };
  readonly audit?: { readonly target: number };
  /** the slower command, as run.ts measured it */
  readonly startup?: { readonly bin: string; readonly args: readonly string[]; readonly env: NodeJS.ProcessEnv; readonly budgetSeconds: number };
}

/**
 * Profiles, once more each, what `unmet` names; the files go to `dir`. A part whose profiled run fails is left out
 * of the answer with a line on the log, as the campaign's is: the figures measured before it still stand.
 */
export async function explainOtherBars(unmet: OtherBarsUnmet, dir: string, log: (text: string) => void): Promise<OtherWhy> {
  mkdirSync(dir, { recursive: true });
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
    log(`why: ${what} once more, profiled ...`);
    try {
      return await run();
    } catch (e) {
      log(`why: the profiled run of ${what} failed (${(e as Error).message}); no profile of it in this report`);
      return undefined;
    }
  };
  const slow = unmet.routing200k;
  const routing200k = slow
    ? await attempt(`routing ${slow.cases.join(', ')}`, async () => {
        const runs = await runIntakeScale({ cases: slow.cases, profileDir: dir, log });
        const cases = runs.filter((r) => r.profile).map((r) => ({ case: r.case, indicators: r.indicators, seconds: r.routingSeconds ?? 0, profile: r.profile! }));
        return { budgetSeconds: slow.budgetSeconds, cases };
      })
    : undefined;
  const target = unmet.audit?.target;
  const audit =
    target !== undefined
      ? await attempt("the audit appends at a running campaign's pace", async () => {
          const profiler = new PhaseProfiler(dir);
          try {
            return { target, ...(await profileConcurrentAppends(profiler)) };
          } finally {
            profiler.close();
          }
        })
      : undefined;
  const start = unmet.startup;
  const startup = start ? await attempt(`takedown ${start.args.join(' ')}`, async () => profileStart(start, join(dir, 'startup'))) : undefined;
  return { dir, routing200k, audit, startup };
}

/** One command's start under `node --cpu-prof`, every thread's profile written to `into`. */
function profileStart(start: NonNullable<OtherBarsUnmet['startup']>, into: string): NonNullable<OtherWhy['startup']> {
  const command = `takedown ${start.args.join(' ')}`;
  mkdirSync(into, { recursive: true });
  const t = performance.now();
  const r = spawnSync(process.execPath, ['--cpu-prof', `--cpu-prof-dir=${into}`, '--cpu-prof-interval=250', start.bin, ...start.args], { env: start.env, encoding: 'utf8' });
  const seconds = Math.round(performance.now() - t) / 1000;
  if (r.status !== 0) {
    const reason = r.stderr.split('\n').find((l) => /\bError\b/.test(l))?.trim() ?? r.stderr.trim().slice(0, 200);
    throw new Error(`${command} exited with ${r.status ?? r.signal}: ${reason}`);
  }
  return { budgetSeconds: start.budgetSeconds, command, seconds, threads: startupThreads(into) };
}

/** The profiles `node --cpu-prof` wrote, one a thread (CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile), main thread first. */
function startupThreads(dir: string): { label: string; profile: PhaseProfile }[] {
  return readdirSync(dir)
    .map((f) => ({ f, thread: Number(/^CPU\.\d+\.\d+\.\d+\.(\d+)\.\d+\.cpuprofile$/.exec(f)?.[1] ?? NaN) }))
    .filter(({ thread }) => Number.isInteger(thread))
    .sort((a, b) => a.thread - b.thread)
    .map(({ f, thread }) => ({
      label: thread === 0 ? 'main thread' : `thread ${thread}`,
      profile: summarizeProfile(JSON.parse(readFileSync(join(dir, f), 'utf8')) as Profiler.Profile, 10, STARTUP_PARTS),
    }));
}

const fmt = (n: number) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });

export function otherWhyText(why: OtherWhy): string {
  const lines = [`Where the time went for the other bars not met (each run once more, profiled; profiles in ${why.dir})`];
  const phases: { label: string; profile: PhaseProfile }[] = [];
  for (const c of why.routing200k?.cases ?? []) {
    lines.push(
      `- routing ${fmt(c.indicators)} indicators (${c.case}) after intake: the bar allows ${why.routing200k!.budgetSeconds} s; ` +
        `the profiled run took ${c.seconds} s, the main thread busy ${(c.profile.busyMs / 1000).toFixed(3)} s of it`,
    );
    phases.push({ label: `routing ${c.case}`, profile: c.profile });
  }
  if (why.audit) {
    const a = why.audit;
    lines.push(
      `- audit append, ${a.appenders} in flight: the bar is ${fmt(a.target)} events/s; the profiled run appended ${fmt(a.events)} at ` +
        `${fmt(a.eventsPerSecond)}/s, the main thread busy ${(a.profile.busyMs / 1000).toFixed(3)} s`,
    );
    phases.push({ label: 'audit append', profile: a.profile });
  }
  if (phases.length > 0) lines.push(profileText(phases));
  if (why.startup) {
    const s = why.startup;
    lines.push(`- start-up, ${s.command}: the bar allows ${s.budgetSeconds} s; the profiled run took ${s.seconds} s (Node.js runs tsx's module hooks on a thread of their own)`);
    lines.push(profileText(s.threads, 'part of the start'));
  }
  return lines.join('\n');
}
