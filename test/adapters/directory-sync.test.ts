import { describe, expect, it } from 'vitest';
import { directorySync } from '../../lib/adapters/mail/capture-server.js';

/*
 * The outbox relay's shared fsync of its directory (a group commit): a rename is durable once a sync that started
 * after it has ended. The directory handle here is one whose syncs the test ends, so what waits for what shows.
 */
function handles() {
  const syncs: { end(): void; fail(e: Error): void }[] = [];
  let opened = 0;
  let closed = 0;
  const open = async () => {
    opened++;
    return {
      sync: () => new Promise<void>((resolve, reject) => void syncs.push({ end: resolve, fail: reject })),
      close: async () => void closed++,
    };
  };
  return { open, syncs, counts: () => ({ opened, closed }) };
}

/** Lets every settled promise's callbacks run. */
const settle = () => new Promise((r) => setImmediate(r));

function watch(p: Promise<void>): { done: () => boolean | Error } {
  let done: boolean | Error = false;
  p.then(
    () => (done = true),
    (e: Error) => (done = e),
  );
  return { done: () => done };
}

describe('directorySync', () => {
  it('makes a caller that came during a sync wait for the next one, which every such caller shares', async () => {
    const h = handles();
    const dir = directorySync(h.open);
    const a = watch(dir.sync());
    await settle();
    expect(h.syncs).toHaveLength(1);
    // b and c renamed while the first sync ran: it may not cover them
    const b = watch(dir.sync());
    const c = watch(dir.sync());
    h.syncs[0]!.end();
    await settle();
    expect([a.done(), b.done(), c.done()]).toEqual([true, false, false]);
    expect(h.syncs).toHaveLength(2);
    h.syncs[1]!.end();
    await settle();
    expect([b.done(), c.done()]).toEqual([true, true]);
    // one handle for all of it
    expect(h.counts()).toEqual({ opened: 1, closed: 0 });
    await dir.close();
    expect(h.counts()).toEqual({ opened: 1, closed: 1 });
  });

  it('fails the callers of a sync that failed, and opens the directory again for the next', async () => {
    const h = handles();
    const dir = directorySync(h.open);
    const a = watch(dir.sync());
    await settle();
    h.syncs[0]!.fail(Object.assign(new Error('EIO'), { code: 'EIO' }));
    await settle();
    expect(a.done()).toBeInstanceOf(Error);
    expect(h.counts()).toEqual({ opened: 1, closed: 1 });
    const b = watch(dir.sync());
    await settle();
    h.syncs[1]!.end();
    await settle();
    expect(b.done()).toBe(true);
    expect(h.counts()).toEqual({ opened: 2, closed: 1 });
    await dir.close();
  });

  it('closes only once the syncs under way and the one waited for have ended', async () => {
    const h = handles();
    const dir = directorySync(h.open);
    void dir.sync();
    await settle();
    const b = watch(dir.sync());
    let closed = false;
    const closing = dir.close().then(() => (closed = true));
    h.syncs[0]!.end();
    await settle();
    expect([closed, b.done()]).toEqual([false, false]);
    h.syncs[1]!.end();
    await closing;
    expect([closed, b.done(), h.counts().closed]).toEqual([true, true, 1]);
  });

  it('syncs a message stored after close on a handle of its own, closed after it', async () => {
    const h = handles();
    const dir = directorySync(h.open);
    await dir.close();
    const late = watch(dir.sync());
    await settle();
    h.syncs[0]!.end();
    await settle();
    expect(late.done()).toBe(true);
    expect(h.counts()).toEqual({ opened: 1, closed: 1 });
  });
});
