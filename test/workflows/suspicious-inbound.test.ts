import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../lib/local/host.js';
import { outbox, submit, testHost, waitFor } from './support.js';

/*
 * A spoofed reply end to end on the embedded host: real SMTP into its inbound server, a notice waiting for an
 * answer. DNS checks are off (the default), so the sender's domain alone betrays it.
 */

let host: (Host & { dispose(): Promise<void> }) | undefined;
afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

describe('the embedded host receiving a spoofed reply', () => {
  it('keeps a reply carrying the token but sent from another domain for review, and the notice keeps waiting', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitFor('the notice to wait for an answer', async () => {
      const [n] = (await host!.store.listNotices({ campaignId })).items;
      return n?.state === 'sent' && n.taskToken !== undefined && n;
    });
    const sent = outbox(host)[0]!;
    const raw = [
      'From: "Abuse Desk" <abuse-desk@freemail.example>',
      `To: ${sent.header('Reply-To')}`,
      `Subject: Re: ${sent.header('Subject')}`,
      'Message-ID: <spoof-1@freemail.example>',
      '',
      'We have suspended the server. Case closed.',
      '',
    ].join('\r\n');
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true, name: 'mx.freemail.example' });
    try {
      await transport.sendMail({ envelope: { from: 'abuse-desk@freemail.example', to: [sent.header('Reply-To')!] }, raw });
    } finally {
      transport.close();
    }

    const [item] = await waitFor('the review item', async () => {
      const items = (await host!.store.listReviews()).items;
      return items.length > 0 && items;
    });
    expect(item).toMatchObject({ reason: 'suspicious', noticeId: notice.id, matchedBy: 'token' });
    expect(await host.store.listAnswers(notice.id)).toEqual([]);
    const after = (await host.store.getNotice(notice.id))!;
    expect(after.state).toBe('sent');
    expect(after.taskToken).toBe(notice.taskToken);
  });
});
