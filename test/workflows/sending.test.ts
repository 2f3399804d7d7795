import { createHash, createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { authenticate } from 'mailauth';
import { stubResolver, txt } from '../support/mail-dns.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHost, type Host } from '../../lib/local/host.js';
import { holdsNoToken, sendingHalt } from '../../lib/core/notices/index.js';
import { listAll } from '../../lib/core/paging.js';
import type { Notice } from '../../lib/core/model.js';
import { startStrictMta, type Received, type StrictMta } from '../support/strict-mta.js';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import nodemailer from 'nodemailer';
import { submit, testHost, waitFor } from './support.js';
import { runCli } from '../e2e/support.js';

/**
 * Notices through an SMTP server that answers as real MTAs do (SIZE, 552 5.3.4, 5.7.1): the notice workflow on the
 * shipped ASL, on the embedded host, sending through it.
 */

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const header = (raw: string, name: string) =>
  new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(raw.slice(0, raw.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' '))?.[1]?.trim() ?? '';
/** URL indicators on Example Hosting Ltd's network (examples/directory.yaml): one recipient for all of them */
const urls = (n: number) => Array.from({ length: n }, (_, i) => `http://192.0.2.10/login/${i}/verify.php,url,KE,phishing kit seen by the vendor`);

let host: (Host & { dispose(): Promise<void> }) | undefined;
let mta: StrictMta | undefined;
afterEach(async () => {
  await host?.dispose();
  await mta?.close();
  host = undefined;
  mta = undefined;
});

async function notices(h: Host, campaignId: string): Promise<Notice[]> {
  return listAll((p) => h.store.listNotices({ campaignId }, p));
}

async function eventTypes(h: Host, noticeId: string): Promise<string[]> {
  return (await h.store.listEvents({ noticeId })).map((e) => e.type);
}

describe('sending notices that real mail servers accept', () => {
  it('delivers a 20,000-indicator notice to one hoster in numbered parts of one thread, each under 10 MB', async () => {
    mta = await startStrictMta({ size: 10_240_000 });
    host = await testHost(1, { config: { smtpUrl: mta.url } });
    const campaignId = await submit(host, urls(20_000));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all.length === 1 && all[0]!.state === 'sent' ? all : undefined;
    }, 120_000);

    const parts = mta.received.filter((m) => header(m.raw, 'Subject').includes(notice!.tag));
    expect(parts.length).toBeGreaterThan(1);
    for (const m of parts) expect(Buffer.byteLength(m.raw)).toBeLessThanOrEqual(10_240_000);
    // one thread: the same tag and reply address in every part, "part k of n" in each subject
    expect(new Set(parts.map((m) => header(m.raw, 'Reply-To'))).size).toBe(1);
    const numbers = parts.map((m) => /\(part (\d+) of (\d+)\)/.exec(header(m.raw, 'Subject'))?.slice(1).map(Number));
    expect(numbers.map((n) => n?.[0]).sort((a, b) => a! - b!)).toEqual(parts.map((_, i) => i + 1));
    expect(new Set(numbers.map((n) => n?.[1]))).toEqual(new Set([parts.length]));
    // every indicator is in exactly one part's CSV
    const ranges = parts.map((m) => /indicators (\d+) to (\d+) of 20000/.exec(m.raw.replace(/=\r\n/g, '').replace(/\s+/g, ' '))!.slice(1).map(Number));
    const covered = ranges.sort((a, b) => a[0]! - b[0]!);
    expect(covered[0]![0]).toBe(1);
    for (let i = 1; i < covered.length; i++) expect(covered[i]![0]).toBe(covered[i - 1]![1]! + 1);
    expect(covered[covered.length - 1]![1]).toBe(20_000);
    const out = (await host.store.listOutbound(notice!.id))[0]!;
    expect(out.parts).toHaveLength(parts.length);
    expect(out.parts!.reduce((n, p) => n + p.count, 0)).toBe(20_000);
    // the record holds the hash of each part's exact bytes, not the bytes: far from a DynamoDB item's 400 KB
    expect(JSON.stringify(out).length).toBeLessThan(20_000);
    for (const p of out.parts!) expect(parts.map((m) => sha256(m.raw))).toContain(p.sha256);
  }, 180_000);

  it("announces SIZE on MAIL FROM, and splits smaller before uploading a byte when the relay's SIZE is under the limit", async () => {
    mta = await startStrictMta({ size: 1_000_000 });
    host = await testHost(1, { config: { smtpUrl: mta.url } });
    const campaignId = await submit(host, urls(1_500));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all[0]?.state === 'sent' ? all : undefined;
    }, 60_000);

    // the first composition (10 MB parts) was refused by the client itself on the server's SIZE: nothing uploaded
    const accepted = mta.received.reduce((n, m) => n + Buffer.byteLength(m.raw), 0);
    expect(mta.uploaded()).toBe(accepted);
    expect(mta.received.length).toBeGreaterThan(1);
    for (const m of mta.received) {
      expect(m.announcedSize).toBe(Buffer.byteLength(m.raw));
      expect(m.announcedSize!).toBeLessThanOrEqual(1_000_000);
    }
    const types = await eventTypes(host, notice!.id);
    expect(types).toContain('message.resized');
    expect(types).not.toContain('contact.undeliverable');
    expect(types).not.toContain('notice.escalated');
  }, 60_000);

  it('splits smaller when the server refuses the message for its size after the upload (552 5.3.4), and escalates nothing', async () => {
    mta = await startStrictMta({ data: (raw) => (raw.length > 800_000 ? { code: 552, message: '5.3.4 Error: message file too big' } : undefined) });
    host = await testHost(1, { config: { smtpUrl: mta.url } });
    const campaignId = await submit(host, urls(1_000));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all[0]?.state === 'sent' ? all : undefined;
    }, 60_000);

    expect(mta.received.length).toBeGreaterThan(1);
    for (const m of mta.received) expect(m.raw.length).toBeLessThanOrEqual(800_000);
    expect(await notices(host, campaignId)).toHaveLength(1);
    const refused = (await host.store.listEvents({ noticeId: notice!.id })).find((e) => e.type === 'message.resized');
    expect(refused?.data).toMatchObject({ refusal: { scope: 'message', code: 552, enhanced: '5.3.4', step: 'DATA' } });
  }, 60_000);

  it('halts sending when the relay refuses us, escalates nothing, and goes on by itself once the relay accepts', async () => {
    mta = await startStrictMta({ rcptTo: () => ({ code: 554, message: '5.7.1 <abuse@hosting.example>: Relay access denied' }) });
    host = await testHost(1, { config: { smtpUrl: mta.url } });
    const campaignId = await submit(host, urls(2));
    const halt = await waitFor('sending to halt', async () => {
      const h = await sendingHalt(host!.deps);
      // the halt is recorded before its event, and the notice given back to planned after it: wait for the event too
      return h && (await host!.store.listEvents({ campaignId })).some((e) => e.type === 'sending.halted') ? h : undefined;
    }, 20_000);
    expect(halt.refusal).toMatchObject({ scope: 'sender', code: 554, enhanced: '5.7.1', step: 'RCPT' });
    expect(halt.refusal.text).toContain('Relay access denied');
    const [notice] = await notices(host, campaignId);
    // nobody's mailbox is dead: the notice waits unsent, nothing escalates, no case expires
    expect(notice!.state).toBe('planned');
    expect(notice!.refusal).toMatchObject({ scope: 'sender', code: 554 });
    const types = await eventTypes(host, notice!.id);
    expect(types).toContain('sending.halted');
    expect(types).not.toContain('notice.escalated');
    expect(await notices(host, campaignId)).toHaveLength(1);

    mta.set({ rcptTo: () => undefined });
    await waitFor('the notice to be sent once the relay accepts', async () => (await host!.store.getNotice(notice!.id))?.state === 'sent', 30_000);
    expect(await sendingHalt(host.deps)).toBeUndefined();
    expect(await eventTypes(host, notice!.id)).toContain('sending.resumed');
    expect(mta.received).toHaveLength(1);
  }, 60_000);

  it('holds a notice a server refuses by policy (554 5.7.1) for a person, and escalates nothing', async () => {
    mta = await startStrictMta({ data: () => ({ code: 554, message: '5.7.1 Message rejected as spam by Content Filtering' }) });
    host = await testHost(1, { config: { smtpUrl: mta.url } });
    const campaignId = await submit(host, urls(2));
    const notice = await waitFor('the notice to be held', async () => {
      const [n] = await notices(host!, campaignId);
      // the notice is held before its event is written: wait for both
      return n?.state === 'paused' && (await eventTypes(host!, n.id)).includes('notice.held') ? n : undefined;
    }, 20_000);
    expect(notice.paused?.reason).toMatch(/^refused by a server: 554 5\.7\.1/);
    expect(notice.refusal).toMatchObject({ scope: 'policy', code: 554, enhanced: '5.7.1', step: 'DATA', text: 'Message rejected as spam by Content Filtering' });
    const types = await eventTypes(host, notice.id);
    expect(types).toEqual(expect.arrayContaining(['message.refused', 'notice.held']));
    expect(types).not.toContain('contact.undeliverable');
    expect(await notices(host, campaignId)).toHaveLength(1);
    expect(await sendingHalt(host.deps)).toBeUndefined();
  }, 30_000);

  it('sends from a VERP envelope on the reply domain whatever the From says, with an EHLO name of its own', async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, fromAddress: 'CERT desk <desk@cert.example>', ehloName: 'mx1.cert.example' } });
    const campaignId = await submit(host, urls(1));
    await waitFor('the notice to be sent', async () => (await notices(host!, campaignId))[0]?.state === 'sent', 20_000);
    const [m] = mta.received;
    const [notice] = await notices(host, campaignId);
    expect(header(m!.raw, 'From')).toBe('CERT desk <desk@cert.example>');
    const token = /^takedown\+n[0-9a-z]{16}\.([0-9a-z]+)@reply\.example$/.exec(header(m!.raw, 'Reply-To'))![1];
    expect(m!.mailFrom).toBe(`takedown+b.${notice!.id}.${token}@reply.example`);
    expect(m!.mailFrom.split('@')[0]!.length).toBeLessThanOrEqual(64);
    expect(m!.ehlo).toBe('mx1.cert.example');
  }, 30_000);

  it('keeps only a copy with its tokens masked, and the hash of the exact bytes it sent', async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, publicUrl: 'https://takedown.example' } });
    const campaignId = await submit(host, urls(3));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all[0]?.state === 'sent' ? all : undefined;
    }, 20_000);
    const delivered = mta.received[0]!.raw;
    expect(holdsNoToken(delivered)).toBe(false);
    const out = (await host.store.listOutbound(notice!.id))[0]!;
    const part = out.parts![0]!;
    const kept = (await host.deps.messages.get(part.rawKey))!;
    // what went out is proven by its hash; what is kept opens nothing: no reply token, no answer link
    expect(part.sha256).toBe(sha256(delivered));
    expect(holdsNoToken(kept)).toBe(true);
    expect(kept.length).toBe(delivered.length);
    expect(part.maskedSha256).toBe(sha256(kept));
    const differing = [...kept].filter((ch, i) => ch !== delivered[i]);
    expect(new Set(differing)).toEqual(new Set(['x']));
    const sent = (await host.store.listEvents({ noticeId: notice!.id })).find((e) => e.type === 'message.sent');
    expect(sent?.data).toMatchObject({ sha256: sha256(delivered), maskedSha256: sha256(kept) });
  }, 30_000);
});

describe('takedown status after refusals', () => {
  it('counts as sent only what a server accepted, and shows each refusal in the server\'s words', async () => {
    // the hoster's mailbox is dead; the CERT it escalates to gets the notice
    mta = await startStrictMta({ rcptTo: (to) => (to === 'abuse@hosting.example' ? { code: 550, message: '5.1.1 <abuse@hosting.example>: Recipient address rejected: User unknown' } : undefined) });
    host = await testHost(1, { config: { smtpUrl: mta.url, rdap: 'off', escalationWindowSeconds: 1 } });
    const campaignId = await submit(host, urls(1));
    await waitFor('the escalation to be sent', async () => (await notices(host!, campaignId)).some((n) => n.party.id === 'cert:KE' && n.state === 'sent'), 20_000);

    const status = await runCli(['status', campaignId, '--data-dir', host.files.dataDir]);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/notices sent:\s+1\b/);
    expect(status.stdout).toMatch(/notices refused:\s+1\b/);
    const refusedRow = status.stdout.split('\n').find((l) => l.includes('abuse@hosting.example>') && l.includes('escalated'));
    expect(refusedRow).toContain('550 5.1.1 <abuse@hosting.example>: Recipient address rejected: User unknown');
  }, 45_000);
});

describe('delivery reports read for what they are', () => {
  /** A report from the recipient's MX about the notice, sent to its VERP envelope, quoting nothing of it. */
  async function reportTo(h: Host, sent: Received, status: string, diagnostic: string): Promise<void> {
    const raw = deliveryReport({
      from: 'Mail Delivery System <MAILER-DAEMON@mx.hosting.example>',
      to: sent.mailFrom,
      reportingMta: 'mx.hosting.example',
      recipient: 'abuse@hosting.example',
      action: 'failed',
      status,
      diagnostic: `smtp; ${diagnostic}`,
      originalHeaders: 'Subject: (not returned)',
    });
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.smtpPort, secure: false, ignoreTLS: true });
    try {
      await transport.sendMail({ envelope: { from: '', to: [sent.mailFrom] }, raw });
    } finally {
      transport.close();
    }
  }

  it("sends a notice again in smaller parts when the recipient's server reports it too big (5.3.4), and escalates nothing", async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, rdap: 'off', escalationWindowSeconds: 1 } });
    const campaignId = await submit(host, urls(80));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all[0]?.state === 'sent' ? all : undefined;
    }, 20_000);
    const first = mta.received[0]!;
    await reportTo(host, first, '5.3.4', '552 5.3.4 Error: message file too big');

    const resent = await waitFor('the notice to go again', async () => {
      const n = await host!.store.getNotice(notice!.id);
      return n?.state === 'sent' && (n.resends ?? 0) === 1 ? n : undefined;
    }, 20_000);
    const again = mta.received.slice(1);
    expect(again.length).toBeGreaterThan(1);
    for (const m of again) expect(m.raw.length).toBeLessThan(first.raw.length);
    expect(resent.refusal).toMatchObject({ scope: 'message', enhanced: '5.3.4', code: 552, step: 'dsn' });
    const types = (await host.store.listEvents({ noticeId: notice!.id })).map((e) => e.type);
    expect(types).toContain('notice.resent');
    expect(types).not.toContain('contact.undeliverable');
    expect(await notices(host, campaignId)).toHaveLength(1);
  }, 45_000);

  it("holds a notice the recipient's server refused by policy (a 5.7.1 report) for a person, and escalates nothing", async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, rdap: 'off', escalationWindowSeconds: 1 } });
    const campaignId = await submit(host, urls(2));
    const [notice] = await waitFor('the notice to be sent', async () => {
      const all = await notices(host!, campaignId);
      return all[0]?.state === 'sent' ? all : undefined;
    }, 20_000);
    await reportTo(host, mta.received[0]!, '5.7.1', '550 5.7.1 Message rejected per DMARC policy for cert.example');

    const held = await waitFor('the notice to be held', async () => {
      const n = await host!.store.getNotice(notice!.id);
      return n?.state === 'paused' ? n : undefined;
    }, 20_000);
    expect(held.paused?.reason).toMatch(/^refused by a server: 550 5\.7\.1/);
    expect(held.refusal).toMatchObject({ scope: 'policy', enhanced: '5.7.1', step: 'dsn', text: expect.stringContaining('DMARC policy') });
    expect((await host.store.listEvents({ noticeId: notice!.id })).map((e) => e.type)).not.toContain('contact.undeliverable');
    expect(await notices(host, campaignId)).toHaveLength(1);
  }, 45_000);
});

describe('outgoing mail that arrives', () => {
  it('renders and composes first notices on a compose thread, DKIM-signed there as they would be here', async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, composeThreads: 1, fromAddress: 'CERT desk <desk@cert.example>', dkimSelector: 'takedown2026' } });
    const offload = host.deps.offload!;
    const rendered = vi.spyOn(offload, 'renderAndCompose');
    const here = vi.spyOn(offload as unknown as { doHere: (job: unknown) => Promise<unknown> }, 'doHere');
    const campaignId = await submit(host, urls(2));
    await waitFor('the notice to be sent', async () => (await notices(host!, campaignId))[0]?.state === 'sent', 20_000);
    expect(rendered).toHaveBeenCalledTimes(1);
    // done by the thread, nothing here: a job a thread failed or could not take would have been redone here
    expect(here).not.toHaveBeenCalled();
    expect((offload as unknown as { threads: unknown[] }).threads).toHaveLength(1);
    const raw = mta.received[0]!.raw;
    expect(raw.startsWith('DKIM-Signature: ')).toBe(true);
    expect(raw).toContain('http://192.0.2.10/login/1/verify.php');

    // a command's host composes what little it sends on its own thread
    const dataDir = mkdtempSync(join(tmpdir(), 'takedown-cmd-'));
    const command = await startHost({ dataDir, logLevel: 'silent' }, { passive: true });
    expect(command.deps.offload).toBeUndefined();
    await command.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 30_000);

  it("DKIM-signs notices with the data directory's key, a signature the recipient's server verifies for the From's domain", async () => {
    mta = await startStrictMta();
    host = await testHost(1, { config: { smtpUrl: mta.url, fromAddress: 'CERT desk <desk@cert.example>', dkimSelector: 'takedown2026' } });
    const campaignId = await submit(host, urls(2));
    await waitFor('the notice to be sent', async () => (await notices(host!, campaignId))[0]?.state === 'sent', 20_000);
    const raw = mta.received[0]!.raw;
    expect(raw.startsWith('DKIM-Signature: ')).toBe(true);

    // the record an operator publishes for the key the host made (mode 0600 beside the database)
    expect(statSync(host.files.dkimKey).mode & 0o777).toBe(0o600);
    const p = createPublicKey(readFileSync(host.files.dkimKey, 'utf8')).export({ type: 'spki', format: 'der' }).toString('base64');
    const resolver = stubResolver({ 'TXT takedown2026._domainkey.cert.example': txt(`v=DKIM1; k=rsa; p=${p}`) }) as unknown as NonNullable<Parameters<typeof authenticate>[1]>['resolver'];
    const verdict = await authenticate(raw, { resolver, ip: '127.0.0.1', helo: 'mx.cert.example', sender: mta.received[0]!.mailFrom, trustReceived: false, disableArc: true, disableBimi: true });
    const [signature] = verdict.dkim.results;
    expect(signature).toMatchObject({ signingDomain: 'cert.example', selector: 'takedown2026', status: { result: 'pass', aligned: 'cert.example' } });

    // a tampered copy fails: the signature covers the body
    const forged = raw.replace('192.0.2.10', '192.0.2.99');
    const broken = await authenticate(forged, { resolver, ip: '127.0.0.1', helo: 'mx.cert.example', sender: mta.received[0]!.mailFrom, trustReceived: false, disableArc: true, disableBimi: true });
    expect(broken.dkim.results[0]?.status.result).not.toBe('pass');
    expect(broken.dkim.results[0]?.status.comment).toMatch(/body hash/);
  }, 30_000);
});
