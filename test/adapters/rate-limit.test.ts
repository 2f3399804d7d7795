import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MailTransientError } from '../../lib/core/errors.js';
import { startCaptureServer, type CaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { SmtpMailer } from '../../lib/adapters/mail/mailer.smtp.js';
import { DomainRateLimitedMailer } from '../../lib/adapters/mail/rate-limit.js';
import { domainOf } from '../../lib/core/answers/mail-auth.js';

/*
 * The per-domain send rate in front of a real SMTP relay (the capture server on loopback). Time is the
 * limiter's own injected clock: the test reads the waits it asks for, never the wall clock.
 */

let dir: string;
let capture: CaptureServer;
let smtp: SmtpMailer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-rate-'));
  capture = await startCaptureServer({ dir });
  smtp = new SmtpMailer({ url: capture.url, destination: dir });
});

afterAll(async () => {
  await smtp.close();
  await capture.close();
  rmSync(dir, { recursive: true, force: true });
});

function raw(to: string, n: number): string {
  return [`From: takedown@reply.example`, `To: ${to}`, `Subject: notice ${n}`, `Message-ID: <n${n}@reply.example>`, '', 'body', ''].join('\r\n');
}

describe('DomainRateLimitedMailer', () => {
  it('lets a burst go at once, then spaces the messages to one domain, while other domains are not held up', async () => {
    let now = 0;
    const waits: number[] = [];
    const mailer = new DomainRateLimitedMailer(smtp, {
      perMinute: 60,
      burst: 2,
      maxWaitMs: 60_000,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    const before = readdirSync(dir).length;
    for (let i = 0; i < 4; i++) await mailer.sendRaw({ from: 'takedown@reply.example', to: `desk${i}@Hoster.example` }, raw(`desk${i}@hoster.example`, i));
    await mailer.sendRaw({ from: 'takedown@reply.example', to: 'abuse@other.example' }, raw('abuse@other.example', 9));
    // two at once, then one a second (60/min), each measured from the same instant; the other domain waits 0
    expect(waits).toEqual([1000, 2000]);
    now = 10_000;
    await mailer.sendRaw({ from: 'takedown@reply.example', to: 'desk9@hoster.example' }, raw('desk9@hoster.example', 10));
    expect(waits).toEqual([1000, 2000]);
    // every message reached the relay
    expect(readdirSync(dir).length - before).toBe(6);
  });

  it('refuses as transient, sending nothing, when the wait would be longer than allowed', async () => {
    const mailer = new DomainRateLimitedMailer(smtp, { perMinute: 6, burst: 1, maxWaitMs: 5000, now: () => 0, sleep: async () => undefined });
    const before = readdirSync(dir).length;
    await mailer.sendRaw({ from: 'takedown@reply.example', to: 'a@busy.example' }, raw('a@busy.example', 20));
    const refused = await mailer.sendRaw({ from: 'takedown@reply.example', to: 'b@busy.example' }, raw('b@busy.example', 21)).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(MailTransientError);
    expect((refused as MailTransientError).maybeDelivered).toBe(false);
    expect(readdirSync(dir).length - before).toBe(1);
  });

  it('reads the domain of an address however it is written', () => {
    expect(domainOf('Abuse Desk <abuse@Hoster.Example>')).toBe('hoster.example');
    expect(domainOf('abuse@sub.hoster.example')).toBe('sub.hoster.example');
  });
});
