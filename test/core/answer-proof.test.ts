import { generateKeyPairSync } from 'node:crypto';
import { dkimSign } from 'mailauth';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { replyTokenExpiresAt } from '../../lib/core/answers/proof.js';
import { listAll } from '../../lib/core/paging.js';
import { parseReplyAddress, verpAddress } from '../../lib/core/routing/ids.js';
import type { Clock, InboundMail } from '../../lib/core/ports.js';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import { MailauthAuthenticator } from '../../lib/adapters/mail/mailauth.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { stubResolver, txt } from '../support/mail-dns.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * The attacks of "nobody can fake an answer": each message below was applied as an answer before, by anyone who
 * knew the notice's public tag or held a forwarded copy of it. Mail authentication is on (as `takedown serve`
 * runs it) and asks a table, never the network: hoster.example publishes a DKIM key but no DMARC policy, so an
 * unsigned message from it is neither proved nor disproved.
 */

let fixture: SentNotice | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DNS = {
  'TXT desk._domainkey.hoster.example': txt(`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`),
  'TXT desk._domainkey.mx.hoster.example': txt(`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`),
  'TXT desk._domainkey.forwarded.example': txt(`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`),
};
// the attacker's own mail server, somewhere on the internet
const ATTACKER = { ip: '203.0.113.66', helo: 'mail.attacker.example', mailFrom: 'x@attacker.example' };
const TAKEN_DOWN = 'Hello,\r\n\r\nWe have suspended the server at 192.0.2.10.\r\n\r\nRegards,\r\nAbuse team';

function authenticated(): Promise<SentNotice> {
  return sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver(DNS) }) });
}

function message(headers: string[], body: string): string {
  return [...headers, 'Date: Thu, 05 Jun 2025 10:00:00 +0000', 'MIME-Version: 1.0', 'Content-Type: text/plain; charset=utf-8', '', body, ''].join('\r\n');
}

function reply(f: SentNotice, from: string, body: string, to = f.replyTo): string {
  return message([`From: Abuse Desk <${from}>`, `To: ${to}`, `Subject: Re: ${f.subject}`, `Message-ID: <r-${Math.random().toString(36).slice(2)}@x.example>`], body);
}

async function signed(raw: string, domain: string): Promise<string> {
  // mailauth signs with signatureData only; its type declarations ask for the fields at the top level instead
  const options = { signTime: new Date(), signatureData: [{ signingDomain: domain, selector: 'desk', privateKey: PRIVATE_KEY }] } as unknown as Parameters<typeof dkimSign>[1];
  const result = await dkimSign(raw, options);
  expect(result.errors).toEqual([]);
  return result.signatures + raw;
}

async function inbound(raw: string, client: InboundMail['client'] = ATTACKER, envelopeTo: string[] = []): Promise<InboundMail> {
  const mail = await parseMail(Buffer.from(raw), envelopeTo);
  return { ...mail, client };
}

async function caseStates(f: SentNotice): Promise<string[]> {
  return (await listAll((p) => f.store.listCases({ noticeId: f.notice.id }, p))).map((c) => c.state);
}

async function reviewReasons(f: SentNotice): Promise<string[]> {
  return (await f.store.listReviews()).items.map((r) => String(r.reason));
}

/** A permanent failure report for the contact, as any mail server writes one. */
function failureReport(f: SentNotice, from: string, to: string, originalHeaders?: string): string {
  return deliveryReport({
    from: `Mail Delivery System <${from}>`,
    to,
    subject: `Undelivered Mail Returned to Sender: ${f.subject}`,
    messageId: `<dsn-${Math.random().toString(36).slice(2)}@x.example>`,
    reportingMta: from.split('@')[1]!,
    recipient: 'abuse@hoster.example',
    action: 'failed',
    status: '5.1.1',
    diagnostic: '550 5.1.1 no such mailbox',
    // only the subject (its public tag) unless the forger holds more
    originalHeaders: originalHeaders ?? `Subject: ${f.subject}`,
  });
}

describe('receiveMail: a bounce changes a case only when it proves it came back from the notice\'s delivery', () => {
  it('queues a forged bounce that names the notice by its public tag only, and escalates nothing', async () => {
    fixture = await authenticated();
    const raw = failureReport(fixture, 'MAILER-DAEMON@attacker.example', 'takedown@reply.example');
    const result = await receiveMail(fixture.deps, await inbound(raw));

    expect(result).toMatchObject({ class: 'bounce', by: 'tag', outcome: 'review' });
    expect(await reviewReasons(fixture)).toEqual(['unverified']);
    expect(await caseStates(fixture)).toEqual(['notified']);
    const types = (await fixture.store.listEvents({ noticeId: fixture.notice.id })).map((e) => e.type);
    expect(types).not.toContain('contact.undeliverable');
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('sent');
  });

  it('queues a forged bounce that returns the reply token from an unauthenticated sender', async () => {
    fixture = await authenticated();
    const raw = failureReport(fixture, 'MAILER-DAEMON@mx.hoster.example', 'takedown@reply.example', `Reply-To: ${fixture.replyTo}\r\nSubject: ${fixture.subject}`);
    const result = await receiveMail(fixture.deps, await inbound(raw));

    expect(result).toMatchObject({ class: 'bounce', by: 'token', outcome: 'review' });
    expect(result.reason).toMatch(/unauthenticated/);
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('escalates on a bounce delivered to the notice\'s envelope sender (VERP), which no copy of the notice carries', async () => {
    fixture = await authenticated();
    const { token } = parseReplyAddress('takedown@reply.example', fixture.replyTo)!;
    const verp = verpAddress('takedown@reply.example', fixture.notice.id, token);
    const raw = failureReport(fixture, 'MAILER-DAEMON@mx.hoster.example', verp);
    const result = await receiveMail(fixture.deps, await inbound(raw, ATTACKER, [verp]));

    expect(result).toMatchObject({ class: 'bounce', by: 'envelope', outcome: 'event' });
    const types = (await fixture.store.listEvents({ noticeId: fixture.notice.id })).map((e) => e.type);
    expect(types).toContain('contact.undeliverable');
  });

  it('escalates on a bounce returning the reply token, signed by the contact\'s own mail domain', async () => {
    fixture = await authenticated();
    const raw = await signed(failureReport(fixture, 'MAILER-DAEMON@mx.hoster.example', 'takedown@reply.example', `Reply-To: ${fixture.replyTo}\r\nSubject: ${fixture.subject}`), 'mx.hoster.example');
    const result = await receiveMail(fixture.deps, await inbound(raw));

    expect(result).toMatchObject({ class: 'bounce', by: 'token', outcome: 'event' });
    const types = (await fixture.store.listEvents({ noticeId: fixture.notice.id })).map((e) => e.type);
    expect(types).toContain('contact.undeliverable');
  });

  it('ignores an envelope sender whose token is not the notice\'s', async () => {
    fixture = await authenticated();
    const verp = verpAddress('takedown@reply.example', fixture.notice.id, 'a'.repeat(26));
    const raw = failureReport(fixture, 'MAILER-DAEMON@attacker.example', verp);
    const result = await receiveMail(fixture.deps, await inbound(raw, ATTACKER, [verp]));
    expect(result).toMatchObject({ by: 'tag', outcome: 'review' });
    expect(await caseStates(fixture)).toEqual(['notified']);
  });
});

describe('receiveMail: an automatic reply moves the clock only with the reply token', () => {
  it('queues a tag-only auto-reply with a From spoofed at the contact\'s domain and leaves the deadline where it was', async () => {
    fixture = await authenticated();
    const before = (await fixture.store.getNotice(fixture.notice.id))!.deadline;
    const raw = message(
      ['From: Abuse Desk <abuse@hoster.example>', 'To: takedown@reply.example', `Subject: Automatic reply: ${fixture.subject}`, 'Auto-Submitted: auto-replied', 'Message-ID: <auto-1@attacker.example>'],
      'I am out of the office until next month.',
    );
    const result = await receiveMail(fixture.deps, await inbound(raw));

    expect(result).toMatchObject({ class: 'auto-reply', by: 'tag', outcome: 'review' });
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect(await caseStates(fixture)).toEqual(['notified']);
    expect((await fixture.store.getNotice(fixture.notice.id))!.deadline).toBe(before);
  });
});

describe('receiveMail: "taken down" closes cases only from an authenticated sender', () => {
  it('queues a reply carrying a forwarded token with a From spoofed at the contact\'s domain, and closes nothing', async () => {
    fixture = await authenticated();
    const result = await receiveMail(fixture.deps, await inbound(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN)));

    expect(result).toMatchObject({ class: 'human', by: 'token', outcome: 'review' });
    expect(await reviewReasons(fixture)).toEqual(['unauthenticated']);
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('applies the same reply when the contact\'s domain signed it', async () => {
    fixture = await authenticated();
    const result = await receiveMail(fixture.deps, await inbound(await signed(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN), 'hoster.example')));
    expect(result).toMatchObject({ outcome: 'answer', intent: 'actioned', by: 'token' });
    expect(await caseStates(fixture)).toEqual(['actioned']);
  });

  it('never applies an answer from someone the notice was forwarded to, however well their own domain signs it', async () => {
    fixture = await authenticated();
    const raw = await signed(reply(fixture, 'analyst@forwarded.example', TAKEN_DOWN), 'forwarded.example');
    const result = await receiveMail(fixture.deps, await inbound(raw));
    expect(result).toMatchObject({ outcome: 'review' });
    expect(await reviewReasons(fixture)).toEqual(['suspicious']);
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('still applies an unauthenticated acknowledgement with the token: it closes nothing', async () => {
    fixture = await authenticated();
    const result = await receiveMail(fixture.deps, await inbound(reply(fixture, 'abuse@hoster.example', 'Hello,\r\n\r\nThank you, we are investigating.\r\n')));
    expect(result).toMatchObject({ outcome: 'answer', intent: 'acknowledged' });
  });
});

describe('receiveMail: reply tokens expire with their notice', () => {
  it('queues a late reply whose token outlived the closed notice by more than the grace period', async () => {
    fixture = await authenticated();
    const closed = (await fixture.store.getNotice(fixture.notice.id))!;
    await fixture.store.saveNotice({ ...closed, state: 'closed', version: closed.version + 1 });
    const expiresAt = replyTokenExpiresAt({ ...closed, state: 'closed' })!;
    const later: Clock = { now: () => new Date(Date.parse(expiresAt) + 1000), engineSeconds: (s) => s };
    const raw = await signed(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN), 'hoster.example');
    const result = await receiveMail({ ...fixture.deps, clock: later }, await inbound(raw));

    expect(result).toMatchObject({ by: 'token', outcome: 'review' });
    expect(await reviewReasons(fixture)).toEqual(['expired']);
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
  });

  it('never expires the token of a notice that still waits for its answer', () => {
    expect(replyTokenExpiresAt({ state: 'sent', deadline: '2020-01-01T00:00:00.000Z', updatedAt: '2020-01-01T00:00:00.000Z' })).toBeUndefined();
    expect(replyTokenExpiresAt({ state: 'escalated', deadline: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-02T00:00:00.000Z' })).toBe('2026-02-01T00:00:00.000Z');
  });
});
