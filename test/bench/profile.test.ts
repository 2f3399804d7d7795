import type { Profiler } from 'node:inspector';
import { describe, expect, it } from 'vitest';
import { STARTUP_PARTS, profileText, summarizeProfile } from '../../bench/profile.js';

/** A node of a synthetic .cpuprofile: its frame and children. */
function node(id: number, functionName: string, url: string, children: number[] = []): Profiler.ProfileNode {
  return { id, callFrame: { functionName, url, scriptId: '0', lineNumber: 9, columnNumber: 0 }, children };
}

const repo = 'file:///home/x/takedown';
// root -> timers (node:) -> send (core notices) -> put (sqlite adapter) -> run (native, no url)
//                                              -> render (core notices)
//      -> gc, idle, program
//      -> a Node.js internal only: writev under node:net
const nodes = [
  node(1, '(root)', '', [2, 7, 8, 9, 10]),
  node(2, 'processTimers', 'node:internal/timers', [3]),
  node(3, 'sendNotice', `${repo}/lib/core/notices/sending/send.ts`, [4, 6]),
  node(4, 'put', `${repo}/lib/adapters/messages/messages.sqlite.ts`, [5]),
  node(5, 'run', ''),
  node(6, 'render', `${repo}/lib/core/notices/render/text.ts`),
  node(7, '(garbage collector)', ''),
  node(8, '(idle)', ''),
  node(9, '(program)', ''),
  node(10, 'onStreamRead', 'node:internal/stream_base_commons', [11]),
  node(11, 'writev', ''),
];

/** A profile whose samples land on the given nodes, each for the given microseconds. */
function profileOf(spans: [id: number, us: number][]): Profiler.Profile {
  const samples = spans.map(([id]) => id);
  // timeDeltas[i] is the gap before sample i; a sample's time is the gap to the next one (the last one's, to the end)
  const timeDeltas = [0, ...spans.slice(0, -1).map(([, us]) => us)];
  const total = spans.reduce((s, [, us]) => s + us, 0);
  return { nodes, startTime: 1_000, endTime: 1_000 + total, samples, timeDeltas };
}

describe('bench profile summary', () => {
  const summary = summarizeProfile(
    profileOf([
      [5, 3_000], // SQLite, charged to the adapter that ran the statement, not to the notices code that asked
      [6, 2_000], // notices
      [5, 1_000],
      [7, 1_500], // GC
      [8, 2_000], // idle
      [9, 500], // V8 itself
      [11, 1_000], // a Node.js internal with no code of ours above it
    ]),
  );
  const ms = (part: RegExp) => summary.parts.find((p) => part.test(p.part))?.ms;

  it('charges each sample to the first known part from its leaf up', () => {
    expect(ms(/^SQLite/)).toBe(4);
    expect(ms(/^notices/)).toBe(2);
    expect(ms(/^garbage/)).toBe(1.5);
    expect(ms(/^idle/)).toBe(2);
    expect(ms(/^Node\.js/)).toBe(1);
    expect(ms(/^other/)).toBe(0.5);
  });

  it('counts every sample once, and idle apart from busy', () => {
    expect(summary.ms).toBe(11);
    expect(summary.busyMs).toBe(9);
    expect(summary.parts.reduce((s, p) => s + p.percent, 0)).toBeCloseTo(100, 0);
    // largest first
    expect(summary.parts[0]!.part).toMatch(/^SQLite/);
  });

  it('lists where samples stopped, idle left out, with no line number for transpiled TypeScript', () => {
    expect(summary.top[0]).toEqual({ fn: 'run', part: expect.stringMatching(/^SQLite/), ms: 4 });
    expect(summary.top.map((f) => f.fn)).toContain('render text.ts');
    expect(summary.top.some((f) => f.fn === '(idle)')).toBe(false);
  });

  it('prints the parts side by side, per unit of work where one is given', () => {
    const text = profileText([
      { label: 'routing', profile: summary },
      { label: 'sending', profile: summary, per: { count: 4, unit: 'notice' } },
    ]);
    const sqlite = text.split('\n').find((l) => l.startsWith('SQLite'))!;
    expect(sqlite).toContain('4 (36.4 %)');
    expect(sqlite).toContain('4, 1.00 (36.4 %)');
    // idle is the last part, then the busy total
    const lines = text.split('\n');
    const idle = lines.findIndex((l) => l.startsWith('idle'));
    expect(lines[idle + 1]).toMatch(/^busy \(all but idle\)\s+9\s+9, 2\.25/);
  });
});

describe('bench profile summary of a command start', () => {
  // root -> our module's top level -> a dependency's top level (zod)
  //      -> tsx's hook -> a Node.js internal -> a native leaf
  //      -> our module's own code
  //      -> the module loader alone
  const start = [
    node(1, '(root)', '', [2, 4, 7, 8]),
    node(2, '(anonymous)', `${repo}/lib/local/cli/main.ts`, [3]),
    node(3, '(anonymous)', `${repo}/node_modules/zod/lib/index.mjs`),
    node(4, 'load', `${repo}/node_modules/tsx/dist/register.mjs`, [5]),
    node(5, 'readFile', 'node:internal/fs/promises', [6]),
    node(6, 'read', ''),
    node(7, 'parseArgs', `${repo}/bin/takedown.ts`),
    node(8, 'compileSourceTextModule', 'node:internal/modules/esm/utils'),
  ];
  const profile = (spans: [id: number, us: number][]): Profiler.Profile => ({ ...profileOf(spans), nodes: start });
  const summary = summarizeProfile(profile([[3, 4_000], [6, 3_000], [7, 1_000], [8, 2_000]]), 10, STARTUP_PARTS);
  const ms = (part: RegExp) => summary.parts.find((p) => part.test(p.part))?.ms;

  it("charges a module's time to tsx, to the dependency it loads, or to our code, and the loader's own to Node.js", () => {
    expect(ms(/^dependencies/)).toBe(4);
    expect(ms(/^TypeScript loader/)).toBe(3);
    expect(ms(/^our modules/)).toBe(1);
    expect(ms(/^Node\.js/)).toBe(2);
    expect(summary.busyMs).toBe(10);
  });

  it('names the first column as it is told', () => {
    expect(profileText([{ label: 'main thread', profile: summary }], 'part of the start').split('\n')[0]).toMatch(/^part of the start\s+main thread: ms/);
  });
});
