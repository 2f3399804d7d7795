import { connect, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { afterEach, describe, expect, it } from 'vitest';
import { startInboundServer, type InboundServer, type InboundServerOptions } from '../../lib/adapters/mail/inbound-server.js';
import type { InboundMail } from '../../lib/core/ports.js';
import { testHost } from '../workflows/support.js';
import type { Host } from '../../lib/local/host.js';

/*
 * The inbound SMTP server is no open mailbox: only our reply and bounce addresses are recipients, a message has a
 * size limit, and connections are bounded at once and per client a minute. Real SMTP on loopback.
 */

let server: InboundServer | undefined;
let host: (Host & { dispose(): Promise<void> }) | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await server?.close();
  server = undefined;
  await host?.dispose();
  host = undefined;
});

async function send(port: number, to: string, body = 'hello'): Promise<{ ok: boolean; code?: number; message?: string }> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    await transport.sendMail({ envelope: { from: 'someone@elsewhere.example', to: [to] }, raw: `From: someone@elsewhere.example\r\nTo: ${to}\r\nSubject: hi\r\n\r\n${body}\r\n` });
    return { ok: true };
  } catch (e) {
    const err = e as { responseCode?: number; response?: string };
    return { ok: false, code: err.responseCode, message: err.response };
  } finally {
    transport.close();
  }
}

/** The server's greeting on a fresh connection: its first reply line. */
function greeting(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    sockets.push(socket);
    socket.once('data', (d) => resolve(d.toString('utf8').split('\r\n')[0]!));
    socket.once('error', reject);
  });
}

async function start(options: Partial<InboundServerOptions> = {}): Promise<{ port: number; received: InboundMail[] }> {
  const received: InboundMail[] = [];
  server = await startInboundServer({ onMail: async (m) => void received.push(m), ...options });
  return { port: server.port, received };
}

describe('the inbound SMTP server of a running host', () => {
  it('refuses a recipient that is not one of our reply or bounce addresses, and takes one that is', async () => {
    host = await testHost(1);
    const refused = await send(host.smtpPort!, 'postmaster@reply.example');
    expect(refused).toMatchObject({ ok: false, code: 550 });
    const relay = await send(host.smtpPort!, 'victim@gmail.com');
    expect(relay).toMatchObject({ ok: false, code: 550 });
    const ours = await send(host.smtpPort!, `takedown+n0123456789abcdef.${'a'.repeat(26)}@reply.example`);
    expect(ours.ok).toBe(true);
    const bounce = await send(host.smtpPort!, `takedown+b.n0123456789abcdef.${'a'.repeat(26)}@reply.example`);
    expect(bounce.ok).toBe(true);
  });
});

describe('startInboundServer', () => {
  it('refuses a message over the size limit with 552 and keeps nothing of it', async () => {
    const { port, received } = await start({ maxBytes: 64 * 1024 });
    const result = await send(port, 'takedown@reply.example', 'x'.repeat(200 * 1024));
    expect(result).toMatchObject({ ok: false, code: 552 });
    expect(received).toEqual([]);
  });

  it('allows 2 MiB by default, not 10 MB', async () => {
    const { port, received } = await start();
    const result = await send(port, 'takedown@reply.example', 'x'.repeat(3 * 1024 * 1024));
    expect(result).toMatchObject({ ok: false, code: 552 });
    expect(received).toEqual([]);
  });

  it('refuses connections beyond the limit of connections open at once', async () => {
    const { port } = await start({ maxConnections: 2 });
    const first = await Promise.all([greeting(port), greeting(port)]);
    expect(first.every((g) => g.startsWith('220'))).toBe(true);
    expect(await greeting(port)).toMatch(/^421 /);
  });

  it('refuses a client past its connections a minute, and takes it again the next minute', async () => {
    let now = Date.parse('2026-03-02T10:00:10Z');
    const { port } = await start({ connectionsPerMinutePerClient: 3, now: () => now });
    const answers: string[] = [];
    for (let i = 0; i < 4; i++) {
      answers.push(await greeting(port));
      sockets.pop()!.destroy();
    }
    expect(answers.slice(0, 3).every((a) => a.startsWith('220'))).toBe(true);
    expect(answers[3]).toMatch(/^421 /);
    now += 60_000;
    expect(await greeting(port)).toMatch(/^220 /);
  });
});
