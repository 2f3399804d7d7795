import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import type { Profiler } from 'node:inspector';
import { table } from '../lib/local/cli/shared/terminal.js';

/**
 * Where the main thread's time went in a phase of the bench: V8's sampling profiler over the phase, each sample
 * charged to the part of the system that asked for the work (the first frame, from the sample's leaf up, that
 * belongs to a known part: a SQLite statement called by the notices code is SQLite's, the JSON of its rows
 * too). This is what "targets not met are reported with the profile that shows why" (issue #17) reads.
 */

/** A part of the system, told apart by the files its frames come from (the first rule that matches wins). */
export interface Part {
  readonly name: string;
  readonly files: RegExp;
}

const PARTS: readonly Part[] = [
  // before the SMTP client: the relay's files are mail adapters too
  { name: 'outbox relay (capture server, in process)', files: /\/node_modules\/smtp-server\/|\/lib\/adapters\/mail\/capture-server\./ },
  { name: 'SMTP client and MIME', files: /\/node_modules\/(nodemailer|mailsplit|libmime|libqp|libbase64)\/|\/lib\/adapters\/mail\// },
  { name: 'SQLite (statements and the JSON of rows)', files: /\/node_modules\/better-sqlite3\/|\/lib\/adapters\/(sqlite|messages)\// },
  { name: 'workflow engine (ASL, JSONPath)', files: /\/node_modules\/(aws-local-stepfunctions|jsonpath-plus)\/|\/lib\/adapters\/local-sfn\// },
  { name: 'compose threads (hand-over)', files: /\/lib\/adapters\/offload\// },
  { name: 'intake (parse, normalise)', files: /\/lib\/core\/intake\// },
  { name: 'routing (resolve, decide)', files: /\/lib\/core\/routing\/|\/lib\/adapters\/(rdap|directory)\// },
  { name: 'notices (plan, render, send)', files: /\/lib\/core\/notices\/|\/lib\/adapters\/templates\// },
  { name: 'audit trail', files: /\/lib\/core\/audit\// },
  { name: 'campaign steps', files: /\/lib\/core\/campaign\// },
  { name: 'rest of the code', files: /\/(lib|bench)\// },
];
/** The parts of a command's start: loading and compiling modules, before any work. */
export const STARTUP_PARTS: readonly Part[] = [
  { name: 'TypeScript loader (tsx, esbuild)', files: /\/node_modules\/(tsx|esbuild|get-tsconfig)\// },
  { name: "dependencies' modules (node_modules)", files: /\/node_modules\// },
  { name: 'our modules (lib, bin)', files: /\/(lib|bin)\// },
];
const GC = 'garbage collection';
const IDLE = 'idle (waiting on I/O or timers)';
const NODE = 'Node.js (module loader, streams, sockets, files, timers)';
const OTHER = 'other (V8, native)';

export interface PartTime {
  readonly part: string;
  readonly ms: number;
  /** of the phase's samples, idle included */
  readonly percent: number;
}

export interface FunctionTime {
  /** `name file:line` */
  readonly fn: string;
  readonly part: string;
  readonly ms: number;
}

export interface PhaseProfile {
  readonly ms: number;
  readonly busyMs: number;
  readonly parts: readonly PartTime[];
  /** where the samples stopped (self time), largest first */
  readonly top: readonly FunctionTime[];
}

/** The part a frame's file belongs to, or undefined for a frame of no known part (natives, Node.js internals). */
function partOfUrl(url: string, parts: readonly Part[]): string | undefined {
  if (url === '' || url.startsWith('node:')) return undefined;
  return parts.find((p) => p.files.test(url))?.name;
}

/** Sums a `.cpuprofile` by part (the bench's PARTS unless told others) and by function (self time). */
export function summarizeProfile(profile: Profiler.Profile, topCount = 10, parts: readonly Part[] = PARTS): PhaseProfile {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parentOf.set(c, n.id);
  const partOfNode = new Map<number, string>();
  const partOf = (id: number): string => {
    const known = partOfNode.get(id);
    if (known !== undefined) return known;
    const leaf = byId.get(id)!.callFrame;
    let part: string | undefined;
    if (leaf.functionName === '(garbage collector)') part = GC;
    else if (leaf.functionName === '(idle)') part = IDLE;
    else {
      let sawNode = false;
      for (let cur: number | undefined = id; cur !== undefined && part === undefined; cur = parentOf.get(cur)) {
        const url = byId.get(cur)!.callFrame.url;
        if (url.startsWith('node:')) sawNode = true;
        part = partOfUrl(url, parts);
      }
      part ??= sawNode ? NODE : OTHER;
    }
    partOfNode.set(id, part);
    return part;
  };

  const timeByNode = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // a sample's time is the gap to the next one (the last sample's, the gap to the profile's end)
  let at = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    at += deltas[i] ?? 0;
    const gap = i + 1 < samples.length ? (deltas[i + 1] ?? 0) : profile.endTime - at;
    timeByNode.set(samples[i]!, (timeByNode.get(samples[i]!) ?? 0) + Math.max(0, gap));
  }

  const byPart = new Map<string, number>();
  const functions = new Map<string, { part: string; us: number }>();
  let total = 0;
  for (const [id, us] of timeByNode) {
    total += us;
    const part = partOf(id);
    byPart.set(part, (byPart.get(part) ?? 0) + us);
    const f = byId.get(id)!.callFrame;
    if (part === IDLE) continue;
    // TypeScript runs transpiled (tsx): its line numbers are the transpiled code's, not the source's, so left out
    const where = f.url ? ` ${f.url.replace(/^.*\//, '')}${/\.[cm]?tsx?$/.test(f.url) ? '' : `:${f.lineNumber + 1}`}` : '';
    const key = `${f.functionName || '(anonymous)'}${where}`;
    const entry = functions.get(key) ?? { part, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const ms = (us: number) => Math.round(us / 100) / 10;
  return {
    ms: ms(total),
    busyMs: ms(total - (byPart.get(IDLE) ?? 0)),
    parts: [...byPart]
      .sort((a, b) => b[1] - a[1])
      .map(([part, us]) => ({ part, ms: ms(us), percent: total > 0 ? Math.round((us / total) * 1000) / 10 : 0 })),
    top: [...functions]
      .sort((a, b) => b[1].us - a[1].us)
      .slice(0, topCount)
      .map(([fn, { part, us }]) => ({ fn, part, ms: ms(us) })),
  };
}

/**
 * Samples the main thread over the phases it is told of, one at a time; each phase's profile is written to
 * `<dir>/<phase>.cpuprofile` (open it in Chrome DevTools) and summed up.
 */
export class PhaseProfiler {
  private readonly session = new Session();
  private started = false;

  /** @param intervalUs the sampling interval: 1 ms costs the phase a few percent, finer costs more */
  constructor(
    private readonly dir: string,
    private readonly intervalUs = 1000,
  ) {
    this.session.connect();
  }

  async start(): Promise<void> {
    if (!this.started) {
      await this.session.post('Profiler.enable');
      await this.session.post('Profiler.setSamplingInterval', { interval: this.intervalUs });
      this.started = true;
    }
    await this.session.post('Profiler.start');
  }

  async stop(phase: string): Promise<PhaseProfile & { file: string }> {
    const { profile } = await this.session.post('Profiler.stop');
    const file = `${this.dir}/${phase}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    return { ...summarizeProfile(profile), file };
  }

  close(): void {
    this.session.disconnect();
  }
}

/** The phases' parts side by side, in ms and in ms per unit of work (a notice, an indicator). */
export function profileText(phases: readonly { label: string; profile: PhaseProfile; per?: { count: number; unit: string } }[], heading = 'main thread'): string {
  const names = new Set<string>();
  for (const { profile } of phases) for (const p of profile.parts) names.add(p.part);
  // the largest parts of the first phase first, idle last
  const order = [...names].sort((a, b) => (a === IDLE ? 1 : b === IDLE ? -1 : msOf(phases, b) - msOf(phases, a)));
  const cell = (profile: PhaseProfile, name: string, per?: { count: number }) => {
    const part = profile.parts.find((p) => p.part === name);
    if (!part) return '';
    const each = per ? `, ${(part.ms / per.count).toFixed(2)}` : '';
    return `${Math.round(part.ms)}${each} (${part.percent} %)`;
  };
  const header = [heading, ...phases.map((p) => `${p.label}: ms${p.per ? `, ms a ${p.per.unit}` : ''}`)];
  const rows = order.map((name) => [name, ...phases.map((p) => cell(p.profile, name, p.per))]);
  rows.push(['busy (all but idle)', ...phases.map((p) => `${Math.round(p.profile.busyMs)}${p.per ? `, ${(p.profile.busyMs / p.per.count).toFixed(2)}` : ''}`)]);
  const tops = phases.map(
    (p) => `${p.label}, where the samples stopped: ${p.profile.top.slice(0, 6).map((f) => `${f.fn} ${Math.round(f.ms)} ms`).join('; ')}`,
  );
  return `${table(header, rows)}\n${tops.join('\n')}`;
}

function msOf(phases: readonly { profile: PhaseProfile }[], name: string): number {
  return phases.reduce((s, { profile }) => s + (profile.parts.find((p) => p.part === name)?.ms ?? 0), 0);
}
