import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runPasses, type Pass } from '../../lib/local/sweeps.js';

/*
 * The running host's timers (startSweeps runs its two passes through runPasses): on fake timers, each pass a
 * promise the test settles, so what overlaps, what waits and what is skipped shows.
 */
interface Held {
  readonly name: string;
  finish(): void;
  fail(e: Error): void;
}

let running: Held[];
let warned: [string, Record<string, unknown> | undefined][];
const log = { warn: (message: string, fields?: Record<string, unknown>) => void warned.push([message, fields]) };

function pass(name: string, everyMs: number): Pass {
  return {
    name,
    everyMs,
    run: () =>
      new Promise<void>((resolve, reject) => {
        running.push({ name, finish: resolve, fail: reject });
      }),
  };
}

/** Lets the promise chain move after a timer or a settle. */
async function settle(): Promise<void> {
  await vi.advanceTimersByTimeAsync(0);
}

beforeEach(() => {
  vi.useFakeTimers();
  running = [];
  warned = [];
});

afterEach(() => {
  vi.useRealTimers();
});

describe('runPasses', () => {
  it('runs each pass at its interval, one at a time: a pass due while another runs waits for it', async () => {
    const stop = runPasses([pass('unsent', 30), pass('sweep', 100)], log);
    await vi.advanceTimersByTimeAsync(30);
    expect(running.map((r) => r.name)).toEqual(['unsent']);
    running[0]!.finish();
    await vi.advanceTimersByTimeAsync(30);
    expect(running.map((r) => r.name)).toEqual(['unsent', 'unsent']);
    // the sweep comes due while the second unsent pass runs: it waits, it does not start beside it
    await vi.advanceTimersByTimeAsync(40);
    expect(running.map((r) => r.name)).toEqual(['unsent', 'unsent']);
    running[1]!.finish();
    await settle();
    expect(running.map((r) => r.name)).toEqual(['unsent', 'unsent', 'sweep']);
    running[2]!.finish();
    await settle();
    void stop();
  });

  it('queues a pass once however many of its ticks pass while it runs or waits', async () => {
    const stop = runPasses([pass('sweep', 100), pass('unsent', 10)], log);
    await vi.advanceTimersByTimeAsync(10);
    expect(running.map((r) => r.name)).toEqual(['unsent']);
    // nine more unsent ticks while it runs (each skipped), and the sweep's (queued)
    await vi.advanceTimersByTimeAsync(95);
    running[0]!.finish();
    await settle();
    expect(running.map((r) => r.name)).toEqual(['unsent', 'sweep']);
    // four unsent ticks while the sweep runs
    await vi.advanceTimersByTimeAsync(40);
    running[1]!.finish();
    await settle();
    // one unsent pass was queued behind the sweep, not four
    expect(running.map((r) => r.name)).toEqual(['unsent', 'sweep', 'unsent']);
    running[2]!.finish();
    await settle();
    expect(running).toHaveLength(3);
    void stop();
  });

  it('logs a failed pass by its error name alone and runs it again at its next tick', async () => {
    const stop = runPasses([pass('sweep', 50)], log);
    await vi.advanceTimersByTimeAsync(50);
    const secret = Object.assign(new Error('token tk_live_123 refused'), { name: 'MailTransientError' });
    running[0]!.fail(secret);
    await settle();
    expect(warned).toEqual([['sweep failed; it runs again later', { error: 'MailTransientError' }]]);
    await vi.advanceTimersByTimeAsync(50);
    expect(running).toHaveLength(2);
    running[1]!.finish();
    await settle();
    void stop();
  });

  it('stops its timers and waits for the pass under way', async () => {
    const stop = runPasses([pass('sweep', 50)], log);
    await vi.advanceTimersByTimeAsync(50);
    let stopped = false;
    const stopping = stop().then(() => (stopped = true));
    await settle();
    expect(stopped).toBe(false);
    running[0]!.finish();
    await stopping;
    expect(stopped).toBe(true);
    // no tick after the stop
    await vi.advanceTimersByTimeAsync(500);
    expect(running).toHaveLength(1);
  });
});
