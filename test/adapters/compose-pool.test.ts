import type { Worker } from 'node:worker_threads';
import { authenticate } from 'mailauth';
import { afterEach, describe, expect, it } from 'vitest';
import type { MailDraft } from '../../lib/core/ports.js';
import { ComposePool } from '../../lib/adapters/mail/compose-pool.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { signedComposer, type DkimKey } from '../../lib/adapters/mail/signed-compose.js';
import { dkimRecords, dkimSigner } from '../support/dkim.js';
import { stubResolver } from '../support/mail-dns.js';

function draft(n: number, overrides: Partial<MailDraft> = {}): MailDraft {
  return {
    from: 'CERT Takedown Desk <takedown@cert.example>',
    to: `abuse-${n}@hosting.example`,
    replyTo: `takedown+tok${n}@reply.example`,
    subject: `Takedown request [TKD-${n}]: Opération Serengeti`,
    text: `Hello,\n\nplease take down 203.0.113.${n % 250}.\n\nMerci, CERT équipe — شكرا\n`,
    html: `<p>please take down <b>203.0.113.${n % 250}</b></p>`,
    messageId: `<ntc_${n}@cert.example>`,
    headers: { 'X-Takedown-Notice': `ntc_${n}` },
    attachments: [{ filename: 'report.json', contentType: 'application/json', content: `{"ip":"203.0.113.${n % 250}"}` }],
    ...overrides,
  };
}

/** The calling thread's composition, counted: what the pool falls back to. */
function counted(dkim?: DkimKey): { compose: (d: MailDraft) => Promise<string>; calls: () => number } {
  const compose = signedComposer(dkim);
  let calls = 0;
  return {
    compose: (d) => {
      calls++;
      return compose(d);
    },
    calls: () => calls,
  };
}

/** The pool's live threads (private): a test stops one to see what the pool does when a thread dies. */
function threadsOf(pool: ComposePool): { worker: Worker; jobs: Map<number, unknown> }[] {
  return (pool as unknown as { threads: { worker: Worker; jobs: Map<number, unknown> }[] }).threads;
}

let pool: ComposePool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('ComposePool', () => {
  it('composes on a thread the message the calling thread would, and composes nothing here', async () => {
    const inline = counted();
    pool = new ComposePool(2, undefined, inline.compose);
    const drafts = Array.from({ length: 40 }, (_, i) => draft(i));
    const raws = await Promise.all(drafts.map((d) => pool!.compose(d)));
    expect(inline.calls()).toBe(0);
    expect(threadsOf(pool).length).toBe(2);
    for (const [i, raw] of raws.entries()) {
      expect(raw).toMatch(/^[\x00-\x7f]*$/);
      expect(raw).not.toMatch(/[^\r]\n/);
      const [theirs, ours] = await Promise.all([parseMail(Buffer.from(raw)), parseMail(Buffer.from(await signedComposer()(drafts[i]!)))]);
      expect(theirs.messageId).toBe(`<ntc_${i}@cert.example>`);
      // the same but for what is drawn at random or read from the clock: the MIME boundary and the Date
      const same = (m: typeof theirs) => ({ ...m, raw: undefined, date: undefined, headers: { ...m.headers, 'content-type': undefined, date: undefined } });
      expect(same(theirs)).toEqual(same(ours));
      expect(theirs.text).toContain('شكرا');
    }
  });

  it('signs on the thread with the key it was given: the signature verifies for the From domain', async () => {
    const key = { ...dkimSigner('cert.example') };
    const inline = counted(key);
    pool = new ComposePool(1, key, inline.compose);
    const raw = await pool.compose(draft(7));
    expect(inline.calls()).toBe(0);
    expect(raw.startsWith('DKIM-Signature: ')).toBe(true);
    const resolver = stubResolver(dkimRecords('cert.example')) as unknown as NonNullable<Parameters<typeof authenticate>[1]>['resolver'];
    const options = { resolver, ip: '127.0.0.1', helo: 'mx.cert.example', sender: 'takedown@cert.example', trustReceived: false, disableArc: true, disableBimi: true };
    const verdict = await authenticate(raw, options);
    expect(verdict.dkim.results[0]).toMatchObject({ signingDomain: 'cert.example', status: { result: 'pass' } });
    const forged = await authenticate(raw.replace('203.0.113.7', '203.0.113.8'), options);
    expect(forged.dkim.results[0]?.status.result).not.toBe('pass');
  });

  it("fails a draft that cannot be composed with the calling thread's own error, and goes on", async () => {
    const inline = counted();
    pool = new ComposePool(1, undefined, inline.compose);
    // content given as a path must never be read: composeMessage refuses it
    const bad = draft(1, { attachments: [{ filename: 'f', contentType: 'text/plain', content: { path: '/etc/hostname' } as unknown as string }] });
    await expect(pool.compose(bad)).rejects.toThrow(/File access rejected/);
    expect(inline.calls()).toBe(1);
    // a draft a thread cannot even receive (a function does not clone) is composed here
    await expect(pool.compose({ ...draft(2), headers: { toString: (() => 'x') as unknown as string } })).resolves.toContain('ntc_2@cert.example');
    expect(inline.calls()).toBe(2);
    await expect(pool.compose(draft(3))).resolves.toContain('ntc_3@cert.example');
    expect(inline.calls()).toBe(2);
  });

  it("composes a dead thread's jobs here, says so, and starts a new thread for the next ones", async () => {
    const inline = counted();
    const deaths: unknown[] = [];
    pool = new ComposePool(1, undefined, inline.compose, (err) => deaths.push(err));
    await pool.compose(draft(0));
    const pending = Array.from({ length: 30 }, (_, i) => pool!.compose(draft(i + 1)));
    const [thread] = threadsOf(pool);
    expect(thread!.jobs.size).toBe(30);
    await thread!.worker.terminate();
    const raws = await Promise.all(pending);
    raws.forEach((raw, i) => expect(raw).toContain(`<ntc_${i + 1}@cert.example>`));
    expect(deaths).toHaveLength(1);
    // every job the thread had not answered was composed here
    expect(inline.calls()).toBeGreaterThan(0);
    expect(inline.calls()).toBeLessThanOrEqual(30);
    const before = inline.calls();
    await expect(pool.compose(draft(99))).resolves.toContain('<ntc_99@cert.example>');
    expect(inline.calls()).toBe(before);
    expect(threadsOf(pool)).toHaveLength(1);
    expect(threadsOf(pool)[0]).not.toBe(thread);
  });

  it('starts no thread after three deaths: everything is composed here', async () => {
    const inline = counted();
    const deaths: unknown[] = [];
    pool = new ComposePool(1, undefined, inline.compose, (err) => deaths.push(err));
    for (let i = 0; i < 3; i++) {
      await pool.compose(draft(i));
      await threadsOf(pool)[0]!.worker.terminate();
    }
    expect(deaths).toHaveLength(3);
    const before = inline.calls();
    await expect(pool.compose(draft(10))).resolves.toContain('<ntc_10@cert.example>');
    expect(inline.calls()).toBe(before + 1);
    expect(threadsOf(pool)).toHaveLength(0);
  });

  it('composes everything here with no threads, and after close', async () => {
    const inline = counted();
    pool = new ComposePool(0, undefined, inline.compose);
    await pool.compose(draft(1));
    expect(inline.calls()).toBe(1);
    expect(threadsOf(pool)).toHaveLength(0);
    const closing = new ComposePool(1, undefined, inline.compose);
    await closing.compose(draft(2));
    expect(inline.calls()).toBe(1);
    await closing.close();
    await closing.compose(draft(3));
    expect(inline.calls()).toBe(2);
    expect(threadsOf(closing)).toHaveLength(0);
  });
});

describe('composeThreadsOf', () => {
  it('gives the host one compose thread per core beyond the first, at most two, unless configured', async () => {
    const { availableParallelism } = await import('node:os');
    const { composeThreadsOf } = await import('../../lib/local/host.js');
    expect(composeThreadsOf({})).toBe(Math.min(2, availableParallelism() - 1));
    expect(composeThreadsOf({ composeThreads: 0 })).toBe(0);
    expect(composeThreadsOf({ composeThreads: 3 })).toBe(3);
  });
});
