import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { fileSource } from '../../lib/local/file-source.js';
import { intakeProgress, routingProgress } from '../../lib/local/cli/shared/progress.js';
import { Progress, progressFrom } from '../../lib/local/cli/shared/terminal.js';

/*
 * The CLI's progress: a bar redrawn in place on a terminal, plain lines (a quarter at a time) when the output is
 * a file or a pipe, and nothing at all for work too small to wait for.
 */

const dir = mkdtempSync(join(tmpdir(), 'takedown-progress-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => vi.restoreAllMocks());

function stderrLines(): { lines: string[]; raw: string[] } {
  const raw: string[] = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    raw.push(String(chunk));
    return true;
  });
  return {
    raw,
    get lines() {
      return raw.join('').split('\n').filter(Boolean);
    },
  };
}

describe('the progress of a long command', () => {
  it('reads a large file twice with a line per quarter of each reading when stderr is not a terminal', async () => {
    const file = join(dir, 'big.txt');
    writeFileSync(file, `# filler\n${'198.51.100.1\n'.repeat(200_000)}`);
    const out = stderrLines();
    const source = intakeProgress(fileSource(file), file);
    let bytes = 0;
    for (let reading = 0; reading < 2; reading++) for await (const chunk of source.chunks()) bytes += chunk.length;
    expect(bytes).toBe(2 * (9 + 13 * 200_000));
    const lines = out.lines;
    expect(lines.filter((l) => l.startsWith('checking the file:'))).toHaveLength(4);
    expect(lines.filter((l) => l.startsWith('storing indicators:'))).toHaveLength(4);
    expect(lines.at(-1)).toMatch(/^storing indicators: \d+\/\d+ 2\.5 MB of 2\.5 MB$/);
  });

  it('shows nothing for a small file or a small campaign', async () => {
    const file = join(dir, 'small.txt');
    writeFileSync(file, '198.51.100.1\n');
    const out = stderrLines();
    for await (const _ of intakeProgress(fileSource(file), file).chunks()) void _;
    const routed = routingProgress();
    routed.total(3);
    await routed.resolver({ resolve: async (i) => i.map(() => ({})) }).resolve([{} as never, {} as never, {} as never]);
    routed.finish();
    expect(out.raw).toEqual([]);
  });

  it('counts routed indicators against the campaign\'s size', async () => {
    const out = stderrLines();
    const routed = routingProgress();
    routed.total(400);
    const resolver = routed.resolver({ resolve: async (i) => i.map(() => ({})) });
    for (let i = 0; i < 4; i++) await resolver.resolve(Array.from({ length: 100 }, () => ({}) as never));
    routed.finish();
    expect(out.lines).toEqual(['routing: 100/400 indicators', 'routing: 200/400 indicators', 'routing: 300/400 indicators', 'routing: 400/400 indicators']);
  });

  it('redraws one line in place on a terminal', () => {
    const written: string[] = [];
    const tty = { isTTY: true, write: (s: string) => written.push(s) } as unknown as NodeJS.WriteStream;
    const bar = new Progress('exporting', tty);
    bar.update(1, 4);
    bar.update(4, 4);
    bar.finish();
    expect(written[0]).toMatch(/^\rexporting \[#{8}\.{22}\] 1\/4$/);
    expect(written.at(-1)).toBe('\n');
    const quiet = progressFrom('x', 'items', 10);
    quiet.update(1, 5);
    quiet.finish();
  });
});
