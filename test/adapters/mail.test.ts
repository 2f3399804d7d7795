import { isUtf8 } from 'node:buffer';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SESv2Client } from '@aws-sdk/client-sesv2';
import nodemailer from 'nodemailer';
import { SMTPServer, type SMTPServerAddress } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailRejectedError, MailTransientError } from '../../lib/core/errors.js';
import type { InboundMail, MailDraft } from '../../lib/core/ports.js';
import { startCaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { composeMessage } from '../../lib/adapters/mail/compose.js';
import { startInboundServer } from '../../lib/adapters/mail/inbound-server.js';
import { SesMailer } from '../../lib/adapters/mail/mailer.ses.js';
import { refusalScope, SmtpMailer } from '../../lib/adapters/mail/mailer.smtp.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { SISIMAI } from '../support/fixtures.js';

function draft(overrides: Partial<MailDraft> = {}): MailDraft {
  return {
    from: 'CERT Takedown Desk <takedown@cert.example>',
    to: 'abuse@hosting.example',
    replyTo: 'takedown+tok3n@reply.example',
    subject: 'Takedown request [TKD-42]: 3 indicators, Opération Serengeti',
    text: 'Hello,\n\nplease take down:\n- 203.0.113.7 (C2 server)\n- http://bad.example/login\n\nMerci, CERT équipe\n',
    messageId: '<ntc_42.1@cert.example>',
    headers: { 'X-Takedown-Notice': 'ntc_42', 'Auto-Submitted': 'auto-generated' },
    attachments: [{ filename: 'report.json', contentType: 'application/json', content: '{"ip":"203.0.113.7"}' }],
    ...overrides,
  };
}

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'mail-test-'));
}

async function emlFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.eml')).sort();
}

/** a port nothing listens on: bound, read, released */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** an SMTP server whose RCPT answer the test decides */
async function refusingServer(code: number, text: string, at: 'RCPT' | 'MAIL' = 'RCPT'): Promise<{ port: number; close(): Promise<void> }> {
  const refuse = (callback: (err?: Error | null) => void) => callback(Object.assign(new Error(text), { responseCode: code }));
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    onMailFrom(_address: SMTPServerAddress, _session, callback) {
      if (at === 'MAIL') refuse(callback);
      else callback();
    },
    onRcptTo(_address: SMTPServerAddress, _session, callback) {
      refuse(callback);
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const c of server.connections) c.close();
      }),
  };
}

describe('composeMessage', () => {
  it('sets our Message-ID, threads on In-Reply-To and keeps every line CRLF and 7-bit', async () => {
    const raw = await composeMessage(draft({ inReplyTo: '<ntc_41.1@cert.example>' }));

    expect(raw).toMatch(/^Message-ID: <ntc_42\.1@cert\.example>\r$/m);
    expect(raw).toMatch(/^In-Reply-To: <ntc_41\.1@cert\.example>\r$/m);
    expect(raw).toMatch(/^References: <ntc_41\.1@cert\.example>\r$/m);
    expect(raw).toMatch(/^X-Takedown-Notice: ntc_42\r$/m);
    expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(raw).toMatch(/^[\x00-\x7f]*$/);
  });

  it('round-trips subject, body, reply address and attachment through a parser', async () => {
    const d = draft();
    const parsed = await parseMail(await composeMessage(d));

    expect(parsed.subject).toBe(d.subject);
    expect(parsed.text.replace(/\r\n/g, '\n')).toBe(d.text);
    expect(parsed.headers['reply-to']).toBe('takedown+tok3n@reply.example');
    expect(parsed.headers['x-takedown-notice']).toBe('ntc_42');
    expect(parsed.messageId).toBe('<ntc_42.1@cert.example>');
    expect(parsed.raw).toContain('filename=report.json');
    expect(parsed.raw).toContain(Buffer.from('{"ip":"203.0.113.7"}').toString('base64'));
  });
});

describe('SmtpMailer', () => {
  let dir: string;
  let capture: Awaited<ReturnType<typeof startCaptureServer>>;
  let mailer: SmtpMailer;

  beforeAll(async () => {
    dir = join(await tempDir(), 'outbox');
    capture = await startCaptureServer({ dir });
    mailer = new SmtpMailer({ url: capture.url });
  });

  afterAll(async () => {
    await mailer.close();
    await capture.close();
    await rm(join(dir, '..'), { recursive: true, force: true });
  });

  it('hands the capture server exactly the composed bytes, kept as an .eml file', async () => {
    const raw = await mailer.compose(draft());

    const sent = await mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, raw);

    expect(sent).toEqual({ transportId: '<ntc_42.1@cert.example>', destination: capture.url });
    const files = await emlFiles(dir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-\d{6}-[0-9a-f]{8}\.eml$/);
    const stored = await readFile(join(dir, files[0]!), 'utf8');
    expect(stored).toBe(raw);
    expect(stored).toContain('Message-ID: <ntc_42.1@cert.example>');
  });

  it('lands both of two concurrent sends, each in its own file, with no temp file left', async () => {
    const before = await emlFiles(dir);
    const [a, b] = await Promise.all([
      mailer.compose(draft({ messageId: '<ntc_a@cert.example>', to: 'abuse@a.example' })),
      mailer.compose(draft({ messageId: '<ntc_b@cert.example>', to: 'abuse@b.example' })),
    ]);

    const sent = await Promise.all([
      mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@a.example' }, a!),
      mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@b.example' }, b!),
    ]);

    expect(sent.map((s) => s.transportId).sort()).toEqual(['<ntc_a@cert.example>', '<ntc_b@cert.example>']);
    const added = (await emlFiles(dir)).filter((f) => !before.includes(f));
    expect(added).toHaveLength(2);
    const bodies = await Promise.all(added.map((f) => readFile(join(dir, f), 'utf8')));
    expect(bodies.some((x) => x.includes('<ntc_a@cert.example>'))).toBe(true);
    expect(bodies.some((x) => x.includes('<ntc_b@cert.example>'))).toBe(true);
    expect((await readdir(dir)).filter((f) => !f.endsWith('.eml'))).toEqual([]);
  });

  it('reports a 550 on RCPT as MailRejectedError naming the code but not the recipient', async () => {
    const server = await refusingServer(550, '5.1.1 <gone@hosting.example>: mailbox unavailable');
    const refused = new SmtpMailer({ url: `smtp://127.0.0.1:${server.port}` });
    try {
      const raw = await composeMessage(draft({ to: 'gone@hosting.example' }));

      const error = await refused.sendRaw({ from: 'takedown@cert.example', to: 'gone@hosting.example' }, raw).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MailRejectedError);
      expect((error as Error).name).toBe('MailRejectedError');
      expect((error as Error).message).toContain('550');
      expect((error as Error).message).not.toContain('gone@hosting.example');
      expect((error as Error).cause).toBeDefined();
    } finally {
      await refused.close();
      await server.close();
    }
  });

  it('reports a 451 on RCPT as MailTransientError', async () => {
    const server = await refusingServer(451, '4.7.1 greylisted, try again later');
    const refused = new SmtpMailer({ url: `smtp://127.0.0.1:${server.port}` });
    try {
      const raw = await composeMessage(draft());

      const error = await refused.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, raw).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MailTransientError);
      expect((error as Error).message).toContain('451');
      expect((error as Error).message).not.toContain('abuse@hosting.example');
    } finally {
      await refused.close();
      await server.close();
    }
  });

  it('reports a refused connection as MailTransientError', async () => {
    const nobody = new SmtpMailer({ url: `smtp://127.0.0.1:${await closedPort()}` });
    try {
      const error = await nobody.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await composeMessage(draft())).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MailTransientError);
      // nothing can have gone out: a retry is a first send
      expect((error as MailTransientError).maybeDelivered).toBe(false);
    } finally {
      await nobody.close();
    }
  });

  it('reports a connection dropped after the message was handed over as maybe delivered', async () => {
    // a relay that takes the whole message, then dies before its 250
    const server = createNetServer((socket) => {
      let buffer = '';
      let inData = false;
      socket.write('220 relay.example ESMTP\r\n');
      socket.on('data', (chunk) => {
        buffer += chunk.toString('latin1');
        for (;;) {
          if (inData) {
            if (!buffer.includes('\r\n.\r\n')) return;
            socket.destroy();
            return;
          }
          const end = buffer.indexOf('\r\n');
          if (end === -1) return;
          const line = buffer.slice(0, end).toUpperCase();
          buffer = buffer.slice(end + 2);
          if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 relay.example\r\n');
          else if (line.startsWith('DATA')) {
            inData = true;
            socket.write('354 go ahead\r\n');
          } else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
          else socket.write('250 ok\r\n');
        }
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const port = (server.address() as { port: number }).port;
    const dropping = new SmtpMailer({ url: `smtp://127.0.0.1:${port}` });
    try {
      const error = await dropping.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await composeMessage(draft())).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(MailTransientError);
      expect((error as MailTransientError).maybeDelivered).toBe(true);
    } finally {
      await dropping.close();
      await new Promise<void>((ok) => server.close(() => ok()));
    }
  });

  it('does not call the recipient undeliverable when the relay refuses us (a 5xx to MAIL FROM)', async () => {
    const server = await refusingServer(550, '5.7.1 relaying denied', 'MAIL');
    const refused = new SmtpMailer({ url: `smtp://127.0.0.1:${server.port}` });
    try {
      const error = await refused.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await composeMessage(draft())).catch((e: unknown) => e);

      // our relay refusing us is nobody's dead mailbox: a refusal of the sender, which halts sending (never escalates)
      expect(error).toBeInstanceOf(MailRejectedError);
      expect((error as MailRejectedError).scope).toBe('sender');
      expect((error as MailRejectedError).detail).toMatchObject({ code: 550, enhanced: '5.7.1', step: 'MAIL' });
      expect((error as Error).message).toMatch(/550 to MAIL.*check its settings/);
    } finally {
      await refused.close();
      await server.close();
    }
  });

  it.each([
    [550, '5.1.1', 'RCPT', '<gone@hosting.example>: Recipient address rejected: User unknown', 'recipient'],
    [550, '5.2.1', 'RCPT', 'Mailbox disabled', 'recipient'],
    [550, '5.4.4', 'RCPT', 'Unable to route', 'recipient'],
    [552, '5.3.4', 'DATA', 'Error: message file too big', 'message'],
    [552, '5.2.3', 'DATA', 'Message exceeds local size limit', 'message'],
    [552, undefined, 'DATA', 'Message size exceeds fixed maximum message size', 'message'],
    [554, '5.7.1', 'DATA', 'Message rejected as spam', 'policy'],
    [550, '5.7.26', 'DATA', 'Unauthenticated email from cert.example is not accepted due to domain\'s DMARC policy', 'policy'],
    [554, '5.7.1', 'RCPT', '<abuse@hosting.example>: Relay access denied', 'sender'],
    [530, '5.7.0', 'MAIL', 'Authentication required', 'sender'],
    [535, '5.7.8', 'AUTH', 'Authentication credentials invalid', 'sender'],
    [550, undefined, 'MAIL', 'Sender address rejected', 'sender'],
    [550, undefined, 'RCPT', 'No such user here', 'recipient'],
    [554, undefined, 'DATA', 'Transaction failed', 'policy'],
  ] as const)('reads %s %s to %s ("%s") as a refusal of the %s', (code, enhanced, step, text, scope) => {
    expect(refusalScope(code, enhanced, step, text)).toBe(scope);
  });

  it('shows a relay url to people without its credentials', async () => {
    const withAuth = new SmtpMailer({ url: 'smtp://user:s3cret@relay.example:2525' });
    try {
      expect(withAuth.destination).toBe('smtp://relay.example:2525');
    } finally {
      await withAuth.close();
    }
  });
});

describe('startInboundServer', () => {
  const received: InboundMail[] = [];
  let failing = false;
  let inbound: Awaited<ReturnType<typeof startInboundServer>>;
  let client: ReturnType<typeof nodemailer.createTransport>;

  beforeAll(async () => {
    inbound = await startInboundServer({
      maxBytes: 64 * 1024,
      onMail: async (mail) => {
        if (failing) throw new Error('store is down');
        received.push(mail);
      },
    });
    client = nodemailer.createTransport({ host: '127.0.0.1', port: inbound.port, secure: false, ignoreTLS: true, logger: false });
  });

  afterAll(async () => {
    client.close();
    await inbound.close();
  });

  function reply(extra: { text?: string } = {}) {
    return client.sendMail({
      from: 'Abuse Desk <Abuse@Hosting.example>',
      to: 'takedown+TOKEN@reply.example',
      cc: 'noc@hosting.example',
      subject: 'Re: Takedown request [TKD-42]',
      inReplyTo: '<ntc_42.1@cert.example>',
      references: ['<ntc_42.1@cert.example>'],
      text: extra.text ?? 'Done, the server is offline.\n\n> please take down:\n> - 203.0.113.7 (C2 server)\n',
    });
  }

  it('hands a reply to onMail with the plus address, the subject and the thread', async () => {
    received.length = 0;

    const info = await reply();

    expect(info.response).toMatch(/^250/);
    expect(received).toHaveLength(1);
    const mail = received[0]!;
    expect(mail.to).toContain('takedown+token@reply.example');
    expect(mail.to).toContain('noc@hosting.example');
    expect(new Set(mail.to).size).toBe(mail.to.length);
    expect(mail.from).toBe('abuse@hosting.example');
    expect(mail.subject).toBe('Re: Takedown request [TKD-42]');
    expect(mail.inReplyTo).toBe('<ntc_42.1@cert.example>');
    expect(mail.references).toEqual(['<ntc_42.1@cert.example>']);
    expect(mail.text).toContain('> please take down:');
    expect(mail.raw).toContain('Subject: Re: Takedown request [TKD-42]');
  });

  it('answers 4xx when onMail fails, so the sender keeps the reply and retries', async () => {
    received.length = 0;
    failing = true;
    try {
      const error = (await reply().catch((e: unknown) => e)) as { responseCode?: number };

      expect(error.responseCode).toBe(451);
      expect(received).toHaveLength(0);
    } finally {
      failing = false;
    }
    // the retry of the same message goes through
    await reply();
    expect(received).toHaveLength(1);
  });

  it('refuses a message over maxBytes with 552', async () => {
    received.length = 0;

    const error = (await reply({ text: 'x'.repeat(100 * 1024) }).catch((e: unknown) => e)) as { responseCode?: number };

    expect(error.responseCode).toBe(552);
    expect(received).toHaveLength(0);
  });
});

describe('parseMail', () => {
  it('reads every message of the sisimai corpus into a subject and a recipient list', async () => {
    const files = (await readdir(SISIMAI)).filter((f) => f.endsWith('.eml'));
    expect(files.length).toBeGreaterThanOrEqual(629);

    let withRecipients = 0;
    for (const file of files) {
      const bytes = await readFile(join(SISIMAI, file));
      const mail = await parseMail(bytes, ['bounces+tok@reply.example']).catch((e: unknown) => {
        throw new Error(`${file}: ${String(e)}`);
      });
      expect(typeof mail.subject, file).toBe('string');
      expect(Array.isArray(mail.to), file).toBe(true);
      expect(mail.to, file).toContain('bounces+tok@reply.example');
      expect(mail.to.every((a) => a === a.toLowerCase()), file).toBe(true);
      expect(Object.values(mail.headers).every((v) => typeof v === 'string'), file).toBe(true);
      expect(Buffer.from(mail.raw, isUtf8(bytes) ? 'utf8' : 'latin1').equals(bytes), file).toBe(true);
      if (mail.to.length > 1) withRecipients += 1;
    }
    expect(withRecipients).toBeGreaterThan(files.length / 2);
  });

  it('keeps the exact bytes of utf-8 and latin-1 mail in raw', async () => {
    const utf8 = Buffer.from('Subject: caf\u00e9\r\nTo: a@b.example\r\n\r\nna\u00efve \u2713\r\n', 'utf8');
    const latin1 = Buffer.from('Subject: x\r\nTo: a@b.example\r\nContent-Type: text/plain; charset=iso-8859-1\r\n\r\ncaf\xe9\r\n', 'latin1');

    expect(Buffer.from((await parseMail(utf8)).raw, 'utf8').equals(utf8)).toBe(true);
    const parsed = await parseMail(latin1);
    expect(Buffer.from(parsed.raw, 'latin1').equals(latin1)).toBe(true);
    expect(parsed.text.trim()).toBe('caf\u00e9');
  });

  it('takes the text from the HTML part when there is no text part, and joins repeated headers', async () => {
    const raw = [
      'Received: from a.example by b.example',
      'Received: from c.example',
      '  by d.example',
      'From: "Desk" <desk@isp.example>',
      'To: A <A@x.example>, b@x.example',
      'Cc: a@x.example',
      'Subject: =?UTF-8?Q?R=C3=A9ponse?=',
      'Date: not a date',
      'List-Id: <abuse.isp.example>',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><body><p>Removed <b>today</b>.</p></body></html>',
      '',
    ].join('\r\n');

    const mail = await parseMail(raw, ['B@X.example']);

    expect(mail.text).toContain('Removed today.');
    expect(mail.subject).toBe('Réponse');
    expect(mail.to).toEqual(['a@x.example', 'b@x.example']);
    expect(mail.headers.received).toBe('from a.example by b.example\nfrom c.example by d.example');
    expect(mail.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(mail.headers.date).toBe('not a date');
    expect(mail.headers['list-id']).toBe('<abuse.isp.example>');
    expect(mail.headers.from).toBe('"Desk" <desk@isp.example>');
    expect(mail.date).toBeUndefined();
    expect((await parseMail('Date: Thu, 29 Apr 2009 00:00:00 +0200\r\n\r\nx')).date).toBe('2009-04-28T22:00:00.000Z');
    expect(mail.references).toEqual([]);
    expect(mail.raw).toBe(raw);
  });
});

describe('SesMailer', () => {
  type Seen = { method?: string; url?: string; body: string };
  const seen: Seen[] = [];
  let answer: { status: number; headers: Record<string, string>; body: string };
  let server: Server;
  let client: SESv2Client;

  beforeAll(async () => {
    server = createServer((req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        res.end(answer.body);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    client = new SESv2Client({
      endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
      maxAttempts: 1,
    });
  });

  afterAll(async () => {
    client.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('posts the raw bytes intact and returns the SES MessageId as transportId', async () => {
    seen.length = 0;
    answer = { status: 200, headers: {}, body: JSON.stringify({ MessageId: '010001abc-ses-id-000000' }) };
    const mailer = new SesMailer({ client, configurationSet: 'takedown' });
    const raw = await mailer.compose(draft());

    const sent = await mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, raw);

    expect(sent).toEqual({ transportId: '010001abc-ses-id-000000', destination: 'ses' });
    expect(seen).toHaveLength(1);
    expect(seen[0]!.method).toBe('POST');
    expect(seen[0]!.url).toBe('/v2/email/outbound-emails');
    const body = JSON.parse(seen[0]!.body) as {
      FromEmailAddress: string;
      Destination: { ToAddresses: string[] };
      Content: { Raw: { Data: string } };
      ConfigurationSetName: string;
    };
    expect(body.FromEmailAddress).toBe('takedown@cert.example');
    expect(body.Destination.ToAddresses).toEqual(['abuse@hosting.example']);
    expect(body.ConfigurationSetName).toBe('takedown');
    expect(Buffer.from(body.Content.Raw.Data, 'base64').toString('utf8')).toBe(raw);
  });

  it('turns a 400 MessageRejected into MailRejectedError without the address', async () => {
    answer = {
      status: 400,
      headers: { 'x-amzn-errortype': 'MessageRejected' },
      body: JSON.stringify({ message: 'Email address is not verified: abuse@hosting.example' }),
    };
    const mailer = new SesMailer({ client });

    const error = await mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await mailer.compose(draft())).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MailRejectedError);
    expect((error as Error).message).toContain('MessageRejected');
    expect((error as Error).message).not.toContain('abuse@hosting.example');
  });

  it('turns throttling into MailTransientError', async () => {
    answer = {
      status: 429,
      headers: { 'x-amzn-errortype': 'TooManyRequestsException' },
      body: JSON.stringify({ message: 'Too many requests' }),
    };
    const mailer = new SesMailer({ client });

    const error = await mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await mailer.compose(draft())).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MailTransientError);
    expect((error as Error).message).toContain('TooManyRequestsException');
  });

  it.each([
    ['MessageRejected', 400, 'Email address is not verified. The following identities failed the check in region EU-WEST-1: abuse@hosting.example', 'sender'],
    ['SendingPausedException', 400, 'Sending is paused for this account.', 'sender'],
    ['AccountSuspendedException', 400, 'Account suspended.', 'sender'],
    ['LimitExceededException', 400, 'Daily message quota exceeded.', 'sender'],
    ['MessageRejected', 400, 'Illegal address', 'recipient'],
    ['MessageRejected', 400, 'Email address is on the suppression list for your account.', 'recipient'],
    ['BadRequestException', 400, 'Message length is more than 40 megabytes.', 'message'],
  ] as const)('reads SES %s (%s, "%s") as a refusal of the %s', async (type, status, message, scope) => {
    answer = { status, headers: { 'x-amzn-errortype': type }, body: JSON.stringify({ message }) };
    const mailer = new SesMailer({ client });

    const error = await mailer.sendRaw({ from: 'takedown@cert.example', to: 'abuse@hosting.example' }, await mailer.compose(draft())).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(MailRejectedError);
    expect((error as MailRejectedError).scope).toBe(scope);
    expect((error as MailRejectedError).detail).toMatchObject({ code: status, step: type, text: message });
    // the exception's own message names the error, never the address SES quotes
    expect((error as Error).message).not.toContain('abuse@hosting.example');
  });

  it('sends the bounces SES forwards to the envelope sender (VERP) while the From stays the checked identity', async () => {
    answer = { status: 200, headers: {}, body: JSON.stringify({ MessageId: 'ses-2' }) };
    const mailer = new SesMailer({ client });
    const raw = await mailer.compose(draft());

    await mailer.sendRaw({ from: 'takedown+b.n0123456789abcdef.abcdefghijklmnopqrstuvwxyz@reply.example', to: 'abuse@hosting.example' }, raw);

    const body = JSON.parse(seen[seen.length - 1]!.body) as { FromEmailAddress: string; FeedbackForwardingEmailAddress?: string };
    expect(body.FromEmailAddress).toBe('takedown@cert.example');
    expect(body.FeedbackForwardingEmailAddress).toBe('takedown+b.n0123456789abcdef.abcdefghijklmnopqrstuvwxyz@reply.example');
  });
});
