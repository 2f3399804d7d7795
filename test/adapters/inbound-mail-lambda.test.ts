import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { S3Client } from '@aws-sdk/client-s3';
import { afterEach, describe, expect, it } from 'vitest';
import { listAll } from '../../lib/core/paging.js';
import { handleInboundMail, readInboundEnv } from '../../lib/adapters/aws/inbound-mail.js';
import { suffixOnlyAuthenticator } from '../../lib/adapters/mail/domains.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * The inbound mail Lambda's logic on real events: SES's receipt-rule Lambda action event and an S3 event, the
 * stored message read with the real S3 client from a path-style GetObject server on loopback, the SQLite store.
 */

let fixture: SentNotice | undefined;
let server: Server | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
});

const BUCKET = 'takedown-inbound-123456789012';

/** A bucket on loopback answering GetObject (path style) from a map of keys, recording what was asked. */
async function bucket(objects: Record<string, string>): Promise<{ s3: S3Client; asked: string[] }> {
  const asked: string[] = [];
  server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    asked.push(`${req.method} ${path}`);
    const key = path.slice(`/${BUCKET}/`.length);
    const body = path.startsWith(`/${BUCKET}/`) ? objects[key] : undefined;
    if (req.method !== 'GET' || body === undefined) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end('<Error><Code>NoSuchKey</Code><Message>The specified key does not exist.</Message></Error>');
      return;
    }
    const bytes = Buffer.from(body);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.length, etag: '"1"' }).end(bytes);
  });
  await new Promise<void>((ok) => server!.listen(0, '127.0.0.1', ok));
  const port = (server!.address() as AddressInfo).port;
  const s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    forcePathStyle: true,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
  });
  return { s3, asked };
}

function reply(f: SentNotice, from: string, sesHeaders: string[] = []): string {
  return [
    ...sesHeaders,
    `From: Abuse Desk <${from}>`,
    `To: ${f.replyTo}`,
    `Subject: Re: ${f.subject}`,
    'Message-ID: <r-778812@hoster.example>',
    'Date: Thu, 05 Jun 2025 10:00:00 +0000',
    'Content-Type: text/plain; charset=utf-8',
    '',
    'Hello,',
    '',
    'We have suspended the server at 192.0.2.10.',
    '',
  ].join('\r\n');
}

/** The event a receipt rule's Lambda action sends (after its S3 action stored the message). */
function sesEvent(f: SentNotice, messageId: string, verdicts: { spf: string; dkim: string; dmarc: string; dmarcPolicy?: string }): Record<string, unknown> {
  return {
    Records: [
      {
        eventSource: 'aws:ses',
        eventVersion: '1.0',
        ses: {
          receipt: {
            timestamp: '2025-06-05T10:00:01.000Z',
            processingTimeMillis: 412,
            recipients: [f.replyTo.toLowerCase()],
            spamVerdict: { status: 'PASS' },
            virusVerdict: { status: 'PASS' },
            spfVerdict: { status: verdicts.spf },
            dkimVerdict: { status: verdicts.dkim },
            dmarcVerdict: { status: verdicts.dmarc },
            ...(verdicts.dmarcPolicy ? { dmarcPolicy: verdicts.dmarcPolicy } : {}),
            action: { type: 'Lambda', functionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:Takedown-InboundMail', invocationType: 'Event' },
          },
          mail: {
            timestamp: '2025-06-05T10:00:00.500Z',
            source: 'abuse@hoster.example',
            messageId,
            destination: [f.replyTo.toLowerCase()],
            headersTruncated: false,
            headers: [{ name: 'From', value: 'Abuse Desk <abuse@hoster.example>' }],
            commonHeaders: { returnPath: 'abuse@hoster.example', from: ['Abuse Desk <abuse@hoster.example>'], to: [f.replyTo], messageId: '<r-778812@hoster.example>', subject: `Re: ${f.subject}` },
          },
        },
      },
    ],
  };
}

const ENV = readInboundEnv({ INBOUND_BUCKET: BUCKET });

async function caseStates(f: SentNotice): Promise<string[]> {
  return (await listAll((p) => f.store.listCases({ noticeId: f.notice.id }, p))).map((c) => c.state);
}

describe('handleInboundMail', () => {
  it('reads the message the S3 action stored under the SES message id and applies the answer, with its s3:// reference', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const { s3, asked } = await bucket({ 'inbound/o3vd8gf9cgdrud84ke5jlfjmn07hbhv1': reply(fixture, 'abuse@hoster.example') });

    const [result] = await handleInboundMail(fixture.deps, sesEvent(fixture, 'o3vd8gf9cgdrud84ke5jlfjmn07hbhv1', { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' }), { s3, env: ENV });

    expect(asked).toEqual([`GET /${BUCKET}/inbound/o3vd8gf9cgdrud84ke5jlfjmn07hbhv1`]);
    expect(result).toMatchObject({ matched: true, by: 'token', outcome: 'answer', intent: 'actioned' });
    expect(await caseStates(fixture)).toEqual(['actioned']);
  });

  it('keeps a reply SES found failing DMARC under p=reject for review, pointing at the stored message', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const { s3 } = await bucket({ 'inbound/k2p1': reply(fixture, 'abuse@hoster.example') });

    const [result] = await handleInboundMail(fixture.deps, sesEvent(fixture, 'k2p1', { spf: 'FAIL', dkim: 'GRAY', dmarc: 'FAIL', dmarcPolicy: 'reject' }), { s3, env: ENV });

    expect(result).toMatchObject({ outcome: 'review', reason: "DMARC fail under the From domain's p=reject (ses)" });
    const [item] = (await fixture.store.listReviews()).items;
    expect(item).toMatchObject({ reason: 'suspicious', rawRef: `s3://${BUCKET}/inbound/k2p1` });
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('reads an S3 event\'s URL-encoded key and takes the verdicts from the headers SES wrote into the stored copy', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const stored = reply(fixture, 'abuse@hoster.example', [
      'X-SES-Spam-Verdict: PASS',
      'X-SES-Virus-Verdict: PASS',
      'Authentication-Results: amazonses.com; spf=fail (spfCheck: 203.0.113.66 is not a permitted sender) smtp.mailfrom=abuse@hoster.example; dkim=none; dmarc=fail header.from=hoster.example',
    ]);
    const { s3, asked } = await bucket({ 'inbound/re run/k3': stored });
    const event = { Records: [{ eventVersion: '2.1', eventSource: 'aws:s3', awsRegion: 'eu-west-1', eventName: 'ObjectCreated:Put', s3: { s3SchemaVersion: '1.0', bucket: { name: BUCKET, arn: `arn:aws:s3:::${BUCKET}` }, object: { key: 'inbound/re+run/k3', size: stored.length } } }] };

    const [result] = await handleInboundMail(fixture.deps, event, { s3, env: ENV });

    expect(asked).toEqual([`GET /${BUCKET}/inbound/re run/k3`]);
    expect(result).toMatchObject({ outcome: 'review', reason: "DMARC fail, the From domain's policy unknown (ses-headers)" });
  });

  it('refuses an event it cannot read without a retry, and fails (so Lambda retries) when the object is missing', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const { s3 } = await bucket({});
    expect(await handleInboundMail(fixture.deps, { Records: [{ eventSource: 'aws:sqs' }] }, { s3, env: ENV })).toEqual([]);
    await expect(handleInboundMail(fixture.deps, sesEvent(fixture, 'missing', { spf: 'PASS', dkim: 'PASS', dmarc: 'PASS' }), { s3, env: ENV })).rejects.toThrow();
    expect(() => readInboundEnv({})).toThrow(/INBOUND_BUCKET/);
  });
});
