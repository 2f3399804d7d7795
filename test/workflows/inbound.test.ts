import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../lib/core/model.js';
import type { ReviewItem } from '../../lib/core/answers/review.js';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { api, outbox, submit, testHost, waitFor, type OutboxMessage } from './support.js';
import { runCli } from '../e2e/support.js';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import { SISIMAI } from '../support/fixtures.js';
import { parseReplyAddress, verpAddress } from '../../lib/core/routing/ids.js';

/*
 * Inbound mail end to end on the embedded host: real SMTP into the inbound server, the shipped notice workflow
 * waiting on its answer. A day of domain time is a day here, so nothing but the message under test can move a
 * notice.
 */

let host: (Host & { dispose(): Promise<void> }) | undefined;

afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

async function sentNotice(h: Host): Promise<{ notice: Notice; sent: OutboxMessage }> {
  const campaignId = await submit(h, ['192.0.2.10,ip,KE,C2 server']);
  const notice = await waitFor('the notice to be sent', async () => {
    const [n] = (await h.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n;
  });
  await waitFor('the workflow to wait for an answer', async () => (await h.store.getNotice(notice.id))?.taskToken !== undefined);
  return { notice, sent: outbox(h)[0]! };
}

/** Deliver raw bytes to the host's inbound SMTP server, as a remote MTA would. */
async function deliver(h: Host, raw: string, rcpt: string, from = ''): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: h.smtpPort, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from, to: [rcpt] }, raw: raw.replace(/\r?\n/g, '\r\n') });
  } finally {
    transport.close();
  }
}

/** The envelope sender (VERP) of a sent message, where the recipient's MTA sends its delivery reports. */
function envelopeOf(sent: OutboxMessage): string {
  const { noticeId, token } = parseReplyAddress('takedown@reply.example', sent.header('Reply-To')!)!;
  return verpAddress('takedown@reply.example', noticeId, token);
}

/** A delivery report from the recipient's MTA about our notice, returning its headers. */
function deliveryReportOf(sent: OutboxMessage, action: 'failed' | 'delayed', status: string, recipient: string): string {
  return deliveryReport({
    from: 'Mail Delivery System <MAILER-DAEMON@mx.hosting.example>',
    to: 'takedown@reply.example',
    messageId: '<bounce-1@mx.hosting.example>',
    reportingMta: 'mx.hosting.example',
    recipient,
    action,
    status,
    diagnostic: `${status.startsWith('5') ? '550' : '451'} ${status} mailbox problem`,
    originalHeaders: sent.raw.slice(0, sent.raw.indexOf('\r\n\r\n')),
  });
}

function reply(sent: OutboxMessage, body: string, extra: string[] = [], subject = `Re: ${sent.header('Subject')}`): string {
  return [
    'From: Abuse Desk <abuse@hosting.example>',
    `To: ${sent.header('Reply-To')}`,
    `Subject: ${subject}`,
    `Message-ID: <reply-${Math.random().toString(36).slice(2)}@hosting.example>`,
    `In-Reply-To: ${sent.header('Message-ID')}`,
    ...extra,
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\n');
}

async function eventTypes(h: Host, noticeId: string): Promise<string[]> {
  return (await h.store.listEvents({ noticeId })).map((e) => e.type);
}

const takedown = runCli;

describe('receiveMail on the embedded host', () => {
  it('marks the contact undeliverable on a permanent bounce and escalates its cases at once, without waiting for the deadline', async () => {
    host = await testHost(1);
    const { notice, sent } = await sentNotice(host);
    await deliver(host, deliveryReportOf(sent, 'failed', '5.1.1', notice.party.email), envelopeOf(sent));

    const escalated = await waitFor('the escalation', async () => {
      const all = (await host!.store.listNotices({ campaignId: notice.campaignId })).items;
      return all.find((n) => n.escalatedFrom?.includes(notice.id));
    });
    expect(escalated.party.email).not.toBe(notice.party.email);
    expect((await host.store.getNotice(notice.id))?.state).toBe('escalated');
    await waitFor('the first execution to end', () => host!.workflows.get(`notice-${notice.id}-r1`)?.status === 'succeeded');
    expect(host.workflows.get(`notice-${notice.id}-r1`)?.path.at(-1)).toBe('Escalated');
    expect(await eventTypes(host, notice.id)).toEqual(expect.arrayContaining(['mail.bounce', 'contact.undeliverable', 'notice.escalated']));
    const bounce = (await host.store.listEvents({ noticeId: notice.id })).find((e) => e.type === 'contact.undeliverable')!;
    expect(bounce.data).toMatchObject({ contact: notice.party.email, status: '5.1.1' });
    const cases = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['escalated']);
  });

  it('sends the notice to the party\'s next mailbox when the first bounces for good, and escalates only when that one bounces too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'takedown-fallback-'));
    const directory = join(dir, 'directory.yaml');
    writeFileSync(
      directory,
      [
        'networks:',
        '  - { cidr: 192.0.2.0/24, name: Example Hosting Ltd, abuse: abuse@hosting.example, country: KE, fallback: [noc@hosting.example] }',
        'certs:',
        '  - { country: KE, name: KE CERT, abuse: incidents@cert-ke.example }',
      ].join('\n'),
    );
    try {
      host = await testHost(1, { config: { directory, rdap: 'off' } });
      const { notice, sent } = await sentNotice(host);
      await deliver(host, deliveryReportOf(sent, 'failed', '5.1.1', 'abuse@hosting.example'), envelopeOf(sent));

      const again = await waitFor('the notice to go to the next mailbox', async () => {
        const n = await host!.store.getNotice(notice.id);
        return n?.state === 'sent' && n.round === 2 && n.taskToken !== undefined && n;
      });
      expect(again).toMatchObject({ contactIndex: 1, party: { email: 'noc@hosting.example' } });
      const [, second] = outbox(host);
      expect(second!.header('To')).toBe('noc@hosting.example');
      expect(second!.header('Subject')).toContain(`[${notice.tag}]`);
      expect(host.workflows.get(`notice-${notice.id}-r1`)?.path.at(-1)).toBe('Stopped');
      expect((await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p))).map((c) => c.state)).toEqual(['notified']);
      expect(await eventTypes(host, notice.id)).toEqual(expect.arrayContaining(['contact.undeliverable', 'notice.rerouted']));

      await deliver(host, deliveryReportOf(second!, 'failed', '5.1.1', 'noc@hosting.example'), envelopeOf(second!));
      const escalated = await waitFor('the escalation', async () =>
        (await host!.store.listNotices({ campaignId: notice.campaignId })).items.find((n) => n.escalatedFrom?.includes(notice.id)),
      );
      expect(escalated.party.email).toBe('incidents@cert-ke.example');
    } finally {
      await host?.dispose();
      host = undefined;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('records a delay warning and changes nothing else', async () => {
    host = await testHost(1);
    const { notice, sent } = await sentNotice(host);
    await deliver(host, deliveryReportOf(sent, 'delayed', '4.4.1', notice.party.email), 'takedown@reply.example');

    const event = await waitFor('the bounce event', async () => (await host!.store.listEvents({ noticeId: notice.id })).find((e) => e.type === 'mail.bounce'));
    expect(event.data).toMatchObject({ severity: 'delay', status: '4.4.1' });
    const after = (await host.store.getNotice(notice.id))!;
    expect(after.state).toBe('sent');
    expect(after.deadline).toBe(notice.deadline);
    expect((await host.store.listNotices({ campaignId: notice.campaignId })).items).toHaveLength(1);
    const cases = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['notified']);
  });

  it('marks the cases received on an automatic reply, keeps its ticket number, never acknowledges, and waits to the action deadline', async () => {
    host = await testHost(1);
    const { notice, sent } = await sentNotice(host);
    await deliver(
      host,
      reply(sent, 'Your report has been received as ticket 778812. Our team will look at it.', ['Auto-Submitted: auto-replied'], `[Ticket#778812] received: ${sent.header('Subject')}`),
      sent.header('Reply-To')!,
    );

    const [answer] = await waitFor('the answer', async () => {
      const list = await host!.store.listAnswers(notice.id);
      return list.length > 0 && list;
    });
    expect(answer).toMatchObject({ intent: 'received', source: 'mail', ticket: '778812' });
    const cases = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['received']);
    const after = (await host.store.getNotice(notice.id))!;
    expect(after.state).toBe('sent');
    // the desk has it: the wait runs to the step's action deadline, counted from the send
    expect(after.deadline).toBe(new Date(Date.parse(after.sentAt!) + after.actionDeadline * 1000).toISOString());
    expect(Date.parse(after.deadline!)).toBeGreaterThan(Date.parse(notice.deadline!));
  });

  it('queues a clear answer matched by its thread alone for a person to confirm, with the intent it read', async () => {
    host = await testHost(1);
    const { notice, sent } = await sentNotice(host);
    // sent to the plain mailbox (no token) by a client that kept only In-Reply-To: our Message-ID derives from the
    // notice id, which is no secret, so without the token the answer could be forged
    const raw = reply(sent, 'Bonjour,\n\nLe serveur a été suspendu ce matin.\n\nCordialement', [], 'RE: votre message').replace(`To: ${sent.header('Reply-To')}`, 'To: takedown@reply.example');
    await deliver(host, raw, 'takedown@reply.example');

    expect((await host.store.getNotice(notice.id))?.state).toBe('sent');
    expect(await host.store.listAnswers(notice.id)).toEqual([]);
    const [item] = (await host.store.listReviews()).items;
    expect(item).toMatchObject({ reason: 'unverified', noticeId: notice.id, matchedBy: 'thread' });
    expect(item!.classification).toMatchObject({ class: 'human', intent: 'actioned', phrase: 'a été suspendu' });
  });

  it('puts an unclear answer, an abuse report and unmatched mail on the review queue and applies none of them', async () => {
    host = await testHost(1);
    const { notice, sent } = await sentNotice(host);
    await deliver(host, reply(sent, 'Who are you and why do you write to us?'), sent.header('Reply-To')!);
    const arf = [
      'From: FBL <fbl@mailbox.example>',
      'To: takedown@reply.example',
      `Subject: FW: ${sent.header('Subject')}`,
      'MIME-Version: 1.0',
      'Content-Type: multipart/report; report-type=feedback-report; boundary="f0"',
      '',
      '--f0',
      'Content-Type: text/plain',
      '',
      'This is an abuse report for a message received from your system.',
      '--f0',
      'Content-Type: message/feedback-report',
      '',
      'Feedback-Type: abuse',
      'User-Agent: FBL/1.0',
      'Version: 1',
      '',
      '--f0',
      'Content-Type: text/rfc822-headers',
      '',
      sent.raw.slice(0, sent.raw.indexOf('\r\n\r\n')),
      '',
      '--f0--',
    ].join('\n');
    await deliver(host, arf, 'takedown@reply.example');
    await deliver(host, 'From: stranger@elsewhere.example\nTo: takedown@reply.example\nSubject: hello\n\nWe have removed it.\n', 'takedown@reply.example');

    const res = await waitFor('three review items', async () => {
      const r = await api<{ reviews: ReviewItem[] }>(host!, 'GET', '/reviews');
      return r.body.reviews.length === 3 && r;
    });
    expect(res.status).toBe(200);
    expect(res.body.reviews.map((r) => [r.reason, r.classification?.class, r.noticeId ?? null])).toEqual([
      ['unclear', 'human', notice.id],
      ['report', 'report', notice.id],
      ['unmatched', 'human', null],
    ]);
    expect(res.body.reviews[0]!.rawRef).toMatch(/^inbox\/.+\.eml$/);
    expect(await host.store.listAnswers(notice.id)).toEqual([]);
    expect((await host.store.getNotice(notice.id))?.state).toBe('sent');
    const cases = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['notified']);

    const paged = await api<{ reviews: ReviewItem[]; next?: string }>(host, 'GET', '/reviews?limit=2');
    expect(paged.body.reviews).toHaveLength(2);
    const rest = await api<{ reviews: ReviewItem[]; next?: string }>(host, 'GET', `/reviews?limit=2&after=${encodeURIComponent(paged.body.next!)}`);
    expect(rest.body.reviews.map((r) => r.reason)).toEqual(['unmatched']);
    expect((await api(host, 'GET', '/reviews?limit=0')).status).toBe(400);

    const cli = await takedown(['review', '--json', '--data-dir', host.files.dataDir]);
    expect(cli.code).toBe(0);
    expect((JSON.parse(cli.stdout) as { reviews: ReviewItem[] }).reviews.map((r) => r.reason)).toEqual(['unclear', 'report', 'unmatched']);
    const table = await takedown(['review', '--data-dir', host.files.dataDir]);
    expect(table.stdout).toMatch(/unclear\s+human\/unclear/);
  });
});

describe('takedown classify', () => {
  it('prints each message\'s class, the fields it extracted and why, and the same as JSON', async () => {
    const fixtures = fileURLToPath(new URL('../fixtures/replies/', import.meta.url));
    const bounce = `${SISIMAI}lhost-qmail-02.eml`;
    const json = await takedown(['classify', '--json', `${fixtures}fr-needs-info.eml`, bounce]);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as { file: string; classification: Record<string, unknown> }[];
    expect(parsed.map((p) => [p.classification.class, p.classification.intent ?? p.classification.severity])).toEqual([
      ['human', 'needs-info'],
      ['bounce', 'permanent'],
    ]);

    const text = await takedown(['classify', `${fixtures}ar-gmail-actioned.eml`]);
    expect(text.stdout).toMatch(/intent:\s+actioned/);
    expect(text.stdout).toMatch(/phrase:\s+"تم إيقاف"/);
    expect(text.stdout).toMatch(/reason:\s+actioned/);

    const missing = await takedown(['classify', `${fixtures}no-such.eml`]);
    expect(missing.code).toBe(2);
  });
});
