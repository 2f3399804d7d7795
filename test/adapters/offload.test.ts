import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Worker } from 'node:worker_threads';
import { authenticate } from 'mailauth';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { MailDraft } from '../../lib/core/ports.js';
import { OffloadPool } from '../../lib/adapters/offload/pool.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { signedComposer } from '../../lib/adapters/mail/signed-compose.js';
import { fileTemplateSource } from '../../lib/adapters/templates/templates.fs.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { TakedownError } from '../../lib/core/errors.js';
import { CAMPAIGN, indicator, input, kase, notice, party } from '../core/render-fixtures.js';
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

const FOLDERS = () => fileTemplateSource().noticeFolders();

/** Counts the jobs the pool does on the calling thread (its fallback), by watching its private doHere. */
function counted(pool: OffloadPool): () => number {
  const spy = vi.spyOn(pool as unknown as { doHere: (job: unknown) => Promise<unknown> }, 'doHere');
  return () => spy.mock.calls.length;
}

/** The pool's live threads (private): a test stops one to see what the pool does when a thread dies. */
function threadsOf(pool: OffloadPool): { worker: Worker; jobs: Map<number, unknown> }[] {
  return (pool as unknown as { threads: { worker: Worker; jobs: Map<number, unknown> }[] }).threads;
}

let pool: OffloadPool | undefined;
afterEach(async () => {
  await pool?.close();
  pool = undefined;
});

describe('OffloadPool', () => {
  it('composes on a thread the message the calling thread would, and does nothing here', async () => {
    pool = new OffloadPool(2, undefined, FOLDERS);
    const here = counted(pool);
    const drafts = Array.from({ length: 40 }, (_, i) => draft(i));
    const raws = await Promise.all(drafts.map((d) => pool!.compose(d)));
    expect(here()).toBe(0);
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
    pool = new OffloadPool(1, dkimSigner('cert.example'), FOLDERS);
    const here = counted(pool);
    const raw = await pool.compose(draft(7));
    expect(here()).toBe(0);
    expect(raw.startsWith('DKIM-Signature: ')).toBe(true);
    const resolver = stubResolver(dkimRecords('cert.example')) as unknown as NonNullable<Parameters<typeof authenticate>[1]>['resolver'];
    const options = { resolver, ip: '127.0.0.1', helo: 'mx.cert.example', sender: 'takedown@cert.example', trustReceived: false, disableArc: true, disableBimi: true };
    const verdict = await authenticate(raw, options);
    expect(verdict.dkim.results[0]).toMatchObject({ signingDomain: 'cert.example', status: { result: 'pass' } });
    const forged = await authenticate(raw.replace('203.0.113.7', '203.0.113.8'), options);
    expect(forged.dkim.results[0]?.status.result).not.toBe('pass');
  });

  it("fails a draft that cannot be composed with the calling thread's own error, and goes on", async () => {
    const warnings: string[] = [];
    pool = new OffloadPool(1, undefined, FOLDERS, (message) => warnings.push(message));
    const here = counted(pool);
    // content given as a path must never be read: composeMessage refuses it
    const bad = draft(1, { attachments: [{ filename: 'f', contentType: 'text/plain', content: { path: '/etc/hostname' } as unknown as string }] });
    await expect(pool.compose(bad)).rejects.toThrow(/File access rejected/);
    expect(here()).toBe(1);
    // failing here too, the draft was bad: no disagreement to report
    expect(warnings).toEqual([]);
    // a draft a thread cannot even receive (a function does not clone) is composed here
    const uncloneable = { ...draft(2), headers: { toString: (() => 'x') as unknown as string } };
    await expect(pool.compose(uncloneable)).resolves.toContain('ntc_2@cert.example');
    await expect(pool.compose(uncloneable)).resolves.toContain('ntc_2@cert.example');
    expect(here()).toBe(3);
    expect(warnings).toEqual(['a job could not be handed to a compose thread; it is done on the main thread']);
    await expect(pool.compose(draft(3))).resolves.toContain('ntc_3@cert.example');
    expect(here()).toBe(3);
  });

  it("composes a dead thread's jobs here, says so, and starts a new thread for the next ones", async () => {
    const deaths: string[] = [];
    pool = new OffloadPool(1, undefined, FOLDERS, (message) => deaths.push(message));
    const here = counted(pool);
    await pool.compose(draft(0));
    const pending = Array.from({ length: 30 }, (_, i) => pool!.compose(draft(i + 1)));
    const [thread] = threadsOf(pool);
    expect(thread!.jobs.size).toBe(30);
    await thread!.worker.terminate();
    const raws = await Promise.all(pending);
    raws.forEach((raw, i) => expect(raw).toContain(`<ntc_${i + 1}@cert.example>`));
    expect(deaths).toEqual(['a compose thread died; its work is done on the main thread']);
    // every job the thread had not answered was composed here
    expect(here()).toBeGreaterThan(0);
    expect(here()).toBeLessThanOrEqual(30);
    const before = here();
    await expect(pool.compose(draft(99))).resolves.toContain('<ntc_99@cert.example>');
    expect(here()).toBe(before);
    expect(threadsOf(pool)).toHaveLength(1);
    expect(threadsOf(pool)[0]).not.toBe(thread);
  });

  it('says so when a thread fails a job the main thread does: a thread that cannot do its work is not silent', async () => {
    const warnings: { message: string; detail: Record<string, unknown> }[] = [];
    // the threads get templates without English, which no render can use; the main thread is made to succeed
    pool = new OffloadPool(1, undefined, () => ({}), (message, detail) => warnings.push({ message, detail }));
    const here = vi.spyOn(pool as unknown as { doHere: (job: unknown) => Promise<unknown> }, 'doHere').mockResolvedValue({ raw: 'composed here', draft: draft(1) });
    const { templates: _, ...job } = input();
    await expect(pool.renderAndCompose(job)).resolves.toEqual({ raw: 'composed here', draft: draft(1) });
    await expect(pool.renderAndCompose(job)).resolves.toEqual({ raw: 'composed here', draft: draft(1) });
    expect(here).toHaveBeenCalledTimes(2);
    // once: a thread that cannot work would otherwise fill the log, a line per notice
    expect(warnings).toEqual([{ message: 'a compose thread failed a job the main thread did', detail: { job: 'render' } }]);
  });

  it('stops every thread after three deaths, says so, and composes everything here from then on', async () => {
    const told: string[] = [];
    pool = new OffloadPool(2, undefined, FOLDERS, (message) => told.push(message));
    const here = counted(pool);
    // two jobs at once: two threads; one of them dies three times, the other survives until the third death
    await Promise.all([pool.compose(draft(0)), pool.compose(draft(1))]);
    expect(threadsOf(pool)).toHaveLength(2);
    for (let i = 0; i < 3; i++) {
      await threadsOf(pool)[0]!.worker.terminate();
      if (i < 2) await Promise.all([pool.compose(draft(2 + i)), pool.compose(draft(4 + i))]);
    }
    expect(told).toEqual([
      ...Array(3).fill('a compose thread died; its work is done on the main thread'),
      'compose threads are off after 3 deaths: everything is rendered and composed on the main thread',
    ]);
    await new Promise((r) => setTimeout(r, 50));
    expect(threadsOf(pool)).toHaveLength(0);
    const before = here();
    await expect(pool.compose(draft(10))).resolves.toContain('<ntc_10@cert.example>');
    expect(here()).toBe(before + 1);
    expect(threadsOf(pool)).toHaveLength(0);
  });

  it('stops a thread that owes an answer too long and does its jobs here', async () => {
    const told: { message: string; detail: Record<string, unknown> }[] = [];
    // a thread takes hundreds of milliseconds to load what it runs: with 10 ms allowed, its first jobs are overdue
    pool = new OffloadPool(1, undefined, FOLDERS, (message, detail) => told.push({ message, detail }), 10);
    const here = counted(pool);
    const raws = await Promise.all(Array.from({ length: 5 }, (_, i) => pool!.compose(draft(i))));
    raws.forEach((raw, i) => expect(raw).toContain(`<ntc_${i}@cert.example>`));
    expect(here()).toBe(5);
    expect(told.map((t) => t.message)).toEqual([
      'a compose thread owed an answer too long; it is stopped and its work done on the main thread',
      'a compose thread died; its work is done on the main thread',
    ]);
    expect(told[0]!.detail).toEqual({ jobs: 5, seconds: 0.01 });
    expect(threadsOf(pool)).toHaveLength(0);
  });

  it('does the job here when a thread cannot even be started', async () => {
    const told: string[] = [];
    // templates a thread cannot be given (a function does not clone): new Worker throws
    pool = new OffloadPool(1, undefined, () => ({ en: { 'notice.txt': (() => 'x') as unknown as string } }), (message) => told.push(message));
    const here = counted(pool);
    await expect(pool.compose(draft(1))).resolves.toContain('<ntc_1@cert.example>');
    expect(here()).toBe(1);
    expect(told).toEqual(['a compose thread died; its work is done on the main thread']);
  });

  it('finishes every job in flight when closed: those still on a thread are done here', async () => {
    pool = new OffloadPool(1, undefined, FOLDERS);
    const pending = Array.from({ length: 30 }, (_, i) => pool!.compose(draft(i)));
    await pool.close();
    const raws = await Promise.all(pending);
    raws.forEach((raw, i) => expect(raw).toContain(`<ntc_${i}@cert.example>`));
    expect(threadsOf(pool)).toHaveLength(0);
  });

  it('composes everything here with no threads, and after close', async () => {
    pool = new OffloadPool(0, undefined, FOLDERS);
    const here = counted(pool);
    await pool.compose(draft(1));
    expect(here()).toBe(1);
    expect(threadsOf(pool)).toHaveLength(0);
    const closing = new OffloadPool(1, undefined, FOLDERS);
    const closingHere = counted(closing);
    await closing.compose(draft(2));
    expect(closingHere()).toBe(0);
    await closing.close();
    await closing.compose(draft(3));
    expect(closingHere()).toBe(1);
    expect(threadsOf(closing)).toHaveLength(0);
  });
});

describe('OffloadPool and the life of the process', () => {
  it('keeps a process alive while a thread owes it a job, and lets it exit once its threads are idle', async () => {
    // a process whose only work is one job on a thread: nothing else holds its event loop
    const dir = mkdtempSync(join(tmpdir(), 'offload-life-'));
    const lib = new URL('../../lib/', import.meta.url).pathname;
    const script = join(dir, 'life.mts');
    writeFileSync(
      script,
      [
        `import { OffloadPool } from '${lib}adapters/offload/pool.ts';`,
        `import { fileTemplateSource } from '${lib}adapters/templates/templates.fs.ts';`,
        `const pool = new OffloadPool(1, undefined, () => fileTemplateSource().noticeFolders());`,
        `const draft = { from: 'a@cert.example', to: 'abuse@hosting.example', replyTo: 'r@reply.example', subject: 's', text: 't', messageId: '<m@cert.example>' };`,
        // the first job starts the thread; the second is posted to a thread that is up and idle
        `await pool.compose(draft);`,
        `pool.compose({ ...draft, messageId: '<n@cert.example>' }).then((raw) => console.log('composed on', pool.running, 'thread', raw.includes('<n@cert.example>')));`,
      ].join('\n'),
    );
    try {
      const started = Date.now();
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script], { timeout: 20_000 });
      // the job was answered before the process ended, and the idle thread did not hold it for the watchdog's minute
      expect(stdout.trim()).toBe('composed on 1 thread true');
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 30_000);
});

describe('OffloadPool.renderAndCompose', () => {
  it('renders on a thread the draft renderNotice makes here, with the same templates, and composes it', async () => {
    pool = new OffloadPool(1, undefined, FOLDERS);
    const here = counted(pool);
    // a party in Senegal: the French templates too, so the thread has the whole template set, not English alone
    const { templates, ...job } = input({ notice: notice(party({ country: 'SN' })) });
    const { draft: theirs, raw } = await pool.renderAndCompose(job);
    expect(here()).toBe(0);
    expect(theirs).toEqual(renderNotice({ ...job, templates }));
    expect(theirs.text).toContain('English version');
    expect(theirs.text).not.toBe(renderNotice({ ...job, templates, notice: notice(party()) }).text);
    const parsed = await parseMail(Buffer.from(raw));
    expect(parsed.subject).toBe(theirs.subject);
    expect(parsed.messageId).toBe(job.messageId);
    for (const c of job.cases) expect(parsed.text).toContain(c.indicator.value);
  });

  it("does a job too big for a thread's capped heap here: a notice of more than 500 cases, a draft of more than 4 Mi characters", async () => {
    pool = new OffloadPool(1, undefined, FOLDERS);
    const here = counted(pool);
    const many = Array.from({ length: 501 }, (_, i) => kase(`c-${i}`, indicator(`http://198.51.100.${i % 250}/kit/${i}/login.php`)));
    const { templates: _, ...job } = input({ cases: many });
    const { raw } = await pool.renderAndCompose(job);
    expect(raw).toContain('198.51.100.7');
    await pool.compose(draft(1, { text: 'x'.repeat(4 * 1024 * 1024 + 1) }));
    expect(here()).toBe(2);
    expect(threadsOf(pool)).toHaveLength(0);
    await pool.renderAndCompose({ ...job, cases: many.slice(0, 3) });
    expect(here()).toBe(2);
    expect(threadsOf(pool)).toHaveLength(1);
  });

  it("fails a notice that must not be rendered with the calling thread's own error", async () => {
    pool = new OffloadPool(1, undefined, FOLDERS);
    const here = counted(pool);
    const { templates: _, ...job } = input({ cases: [kase('c-red', indicator('203.0.113.9', { tlp: 'RED' }))], campaign: CAMPAIGN });
    const failure = await pool.renderAndCompose(job).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(TakedownError);
    expect((failure as TakedownError).code).toBe('TLP.RED');
    expect(here()).toBe(1);
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
