import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import type { InboundMail } from '../../lib/core/ports.js';
import { startInboundServer, type InboundServer } from '../../lib/adapters/mail/inbound-server.js';
import { MailauthAuthenticator } from '../../lib/adapters/mail/mailauth.js';
import { stubResolver, txt } from '../support/mail-dns.js';

let server: InboundServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const DNS = {
  'TXT hoster.example': txt('v=spf1 ip4:192.0.2.0/24 -all'),
  'TXT _dmarc.hoster.example': txt('v=DMARC1; p=reject'),
};

const RAW = ['From: abuse@hoster.example', 'To: takedown@reply.example', 'Subject: Re: notice', 'Message-ID: <r1@hoster.example>', '', 'We removed it.', ''].join('\r\n');

/** One message over real SMTP into the inbound server, as a remote MTA greeting as `helo` would send it. */
async function receive(helo: string, mailFrom: string): Promise<InboundMail> {
  let received: InboundMail | undefined;
  server = await startInboundServer({
    onMail: async (mail) => {
      received = mail;
    },
  });
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: server.port, secure: false, ignoreTLS: true, name: helo });
  try {
    await transport.sendMail({ envelope: { from: mailFrom, to: ['takedown@reply.example'] }, raw: RAW });
  } finally {
    transport.close();
  }
  return received!;
}

describe('the inbound SMTP server', () => {
  it('passes the client address, its HELO name and MAIL FROM on with the message', async () => {
    const mail = await receive('mx.hoster.example', 'abuse@hoster.example');
    expect(mail.client).toEqual({ ip: expect.stringMatching(/^(::ffff:)?127\.0\.0\.1$/), helo: 'mx.hoster.example', mailFrom: 'abuse@hoster.example' });
    expect(mail.from).toBe('abuse@hoster.example');
  });
});

describe('MailauthAuthenticator', () => {
  it('judges SPF by the client, and takes neither SPF nor a DMARC failure as proof when the client is our own relay', async () => {
    const mail = await receive('mx.hoster.example', 'abuse@hoster.example');
    const auth = new MailauthAuthenticator({ resolver: stubResolver(DNS) });

    // over loopback the client is a relay of ours, not the sender
    expect(await auth.check(mail)).toMatchObject({ spf: 'none', dkim: 'none', dmarc: 'none', by: 'mailauth' });
    // the same message from a public address outside the domain's SPF record
    expect(await auth.check({ ...mail, client: { ...mail.client, ip: '203.0.113.66' } })).toMatchObject({ spf: 'fail', dmarc: 'fail', dmarcPolicy: 'reject' });
    expect(await auth.check({ ...mail, client: { ...mail.client, ip: '192.0.2.25' } })).toMatchObject({ spf: 'pass', dmarc: 'pass' });
  });

  it('reads the client from the topmost Received header when told an MX it trusts relays to it', async () => {
    const relayed = `Received: from mx.hoster.example (mx.hoster.example [192.0.2.25]) by mx.reply.example with ESMTP id r1; Thu, 05 Jun 2025 10:00:00 +0000\r\n${RAW}`;
    const auth = new MailauthAuthenticator({ resolver: stubResolver(DNS), trustReceived: true });
    const verdicts = await auth.check({ raw: relayed, to: [], subject: '', text: '', references: [], headers: {}, client: { ip: '127.0.0.1', mailFrom: 'abuse@hoster.example' } });
    expect(verdicts).toMatchObject({ spf: 'pass', dmarc: 'pass' });
  });
});
