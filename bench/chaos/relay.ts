import { createHash } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import nodemailer from 'nodemailer';
import { startCaptureServer, type CaptureServer } from '../../lib/adapters/mail/capture-server.js';
import { chance, pick } from './random.js';

/**
 * The chaos run's SMTP relay: a small SMTP server of its own (smtp-server has no hook to refuse the DATA command
 * itself, nor to drop a connection after the message and before its 250), in front of a capture server that keeps
 * every message it delivered. It refuses a share of transactions at every phase, the way a relay under load or in
 * maintenance does, and every decision is a hash of the seed and what the relay sees (the connection's ordinal;
 * the envelope sender, which is one per message we send, and how often it was tried), so a seed replays the same
 * faults for the same attempts.
 */

/** Where a transaction is refused or cut. */
export const FAULT_KINDS = [
  'drop-before-greeting',
  'mail-421',
  'mail-451',
  'rcpt-421',
  'rcpt-451',
  'data-421',
  'data-451',
  'after-data-421',
  'after-data-451',
  'drop-after-data',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const TRANSACTION_FAULTS = FAULT_KINDS.filter((k) => k !== 'drop-before-greeting');

export interface RelayOptions {
  readonly seed: number;
  /** the share of transactions (and of new connections) that fail @default 0.3 */
  readonly rate?: number;
  /** where the capture behind the relay writes each delivered message */
  readonly deliveredDir: string;
  /** one JSON line per transaction and dropped connection */
  readonly logFile: string;
}

/** One line of the relay's log. */
export interface RelayLogLine {
  /** real time, ms, when the transaction began (MAIL FROM) or the connection was dropped */
  readonly at: number;
  readonly conn: number;
  readonly from?: string;
  readonly to?: string[];
  /** the attempt of this envelope sender, from 1 */
  readonly attempt?: number;
  readonly fault?: FaultKind;
  /** whether the message reached the capture (a drop after DATA delivers it: the client never hears so) */
  readonly delivered: boolean;
  readonly messageId?: string;
  readonly sha256?: string;
  /** real time, ms, when the transaction ended */
  readonly end: number;
  /** the client went away in the middle of it */
  readonly aborted?: boolean;
}

export interface Relay {
  readonly url: string;
  readonly port: number;
  /** faults by kind so far */
  readonly faults: Record<FaultKind, number>;
  /** transactions begun, delivered */
  readonly counts: { transactions: number; delivered: number; connections: number };
  /** stop injecting faults: everything passes from now on */
  calm(): void;
  close(): Promise<void>;
}

/** Starts the relay and its capture on loopback. */
export async function startRelay(options: RelayOptions): Promise<Relay> {
  const rate = options.rate ?? 0.3;
  const capture: CaptureServer = await startCaptureServer({ dir: options.deliveredDir });
  const forward = nodemailer.createTransport({ host: '127.0.0.1', port: capture.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 2, logger: false });
  const faults = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const counts = { transactions: 0, delivered: 0, connections: 0 };
  const attempts = new Map<string, number>();
  const sockets = new Set<Socket>();
  let calm = false;
  const log = (line: RelayLogLine) => appendFileSync(options.logFile, JSON.stringify(line) + '\n');

  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const conn = ++counts.connections;
    if (!calm && chance(options.seed, `conn|${conn}`, rate / 3)) {
      faults['drop-before-greeting']++;
      const at = Date.now();
      log({ at, conn, fault: 'drop-before-greeting', delivered: false, end: at });
      socket.destroy();
      return;
    }
    new Session(socket, conn, {
      decide: (from) => {
        const attempt = (attempts.get(from) ?? 0) + 1;
        attempts.set(from, attempt);
        counts.transactions++;
        const fault = !calm && chance(options.seed, `tx|${from}|${attempt}`, rate) ? pick(options.seed, `kind|${from}|${attempt}`, TRANSACTION_FAULTS) : undefined;
        if (fault) faults[fault]++;
        return { attempt, fault };
      },
      deliver: async (envelope, bytes) => {
        await forward.sendMail({ envelope: { from: envelope.from, to: envelope.to }, raw: bytes });
        counts.delivered++;
      },
      log,
    }).start();
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as { port: number }).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    port,
    faults,
    counts,
    calm: () => void (calm = true),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((ok) => server.close(() => ok()));
      forward.close();
      await capture.close();
    },
  };
}

interface SessionHooks {
  decide(from: string): { attempt: number; fault: FaultKind | undefined };
  deliver(envelope: { from: string; to: string[] }, bytes: Buffer): Promise<void>;
  log(line: RelayLogLine): void;
}

/** One SMTP connection: EHLO, then transactions of MAIL, RCPT, DATA, each of which may meet its fault. */
class Session {
  private buffer = Buffer.alloc(0);
  private mode: 'command' | 'data' | 'busy' = 'command';
  private tx: { at: number; from: string; to: string[]; attempt: number; fault: FaultKind | undefined } | undefined;
  /** a message handed to the capture and not yet logged: its outcome is the delivery's, whatever the client does */
  private delivering = false;

  constructor(
    private readonly socket: Socket,
    private readonly conn: number,
    private readonly hooks: SessionHooks,
  ) {}

  start(): void {
    // a transaction cut off by the client (a host killed mid-send) is logged too: it was an attempt. One whose
    // message is being handed to the capture is not: it is logged delivered (or not) when that ends, as a relay
    // that took the whole message delivers it though the socket that sent it is gone
    this.socket.on('close', () => {
      if (!this.delivering) this.finish(undefined, false, {}, true);
    });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.pump();
    });
    this.reply('220 chaos-relay.test ESMTP ready');
  }

  private reply(line: string): void {
    if (!this.socket.destroyed) this.socket.write(line + '\r\n');
  }

  /** Ends the transaction in the log, and closes the connection after a 421 as a relay that says so does. */
  private finish(fault: FaultKind | undefined, delivered: boolean, extra: { messageId?: string; sha256?: string } = {}, aborted = false): void {
    const tx = this.tx;
    this.tx = undefined;
    if (!tx) return;
    this.hooks.log({ at: tx.at, conn: this.conn, from: tx.from, to: tx.to, attempt: tx.attempt, ...(fault ? { fault } : {}), delivered, ...extra, ...(aborted ? { aborted } : {}), end: Date.now() });
  }

  private refuse(fault: FaultKind): void {
    const code = fault.endsWith('421') ? 421 : 451;
    this.finish(fault, false);
    this.reply(code === 421 ? '421 4.3.2 chaos: service not available, closing the channel' : '451 4.3.0 chaos: try again later');
    if (code === 421) this.socket.end();
  }

  private pump(): void {
    for (;;) {
      if (this.mode === 'busy') return;
      if (this.mode === 'data') {
        const end = this.dataEnd();
        if (end === undefined) return;
        const content = this.buffer.subarray(0, end.content);
        this.buffer = this.buffer.subarray(end.next);
        this.mode = 'busy';
        void this.onMessage(unstuff(content)).finally(() => {
          if (this.mode === 'busy') this.mode = 'command';
          this.pump();
        });
        return;
      }
      const eol = this.buffer.indexOf('\r\n');
      if (eol < 0) return;
      const line = this.buffer.subarray(0, eol).toString('latin1');
      this.buffer = this.buffer.subarray(eol + 2);
      this.command(line);
    }
  }

  /** Where the data ends: the content up to and with the CRLF before the lone dot, and where the next command begins. */
  private dataEnd(): { content: number; next: number } | undefined {
    if (this.buffer.subarray(0, 3).toString('latin1') === '.\r\n') return { content: 0, next: 3 };
    const at = this.buffer.indexOf('\r\n.\r\n');
    return at < 0 ? undefined : { content: at + 2, next: at + 5 };
  }

  private command(line: string): void {
    const verb = line.slice(0, 4).toUpperCase();
    switch (verb) {
      case 'EHLO':
        this.reply('250-chaos-relay.test');
        this.reply('250-SIZE 104857600');
        this.reply('250-8BITMIME');
        return this.reply('250 SMTPUTF8');
      case 'HELO':
        return this.reply('250 chaos-relay.test');
      case 'MAIL': {
        const from = /<([^>]*)>/.exec(line)?.[1] ?? '';
        const { attempt, fault } = this.hooks.decide(from);
        this.tx = { at: Date.now(), from, to: [], attempt, fault };
        if (fault === 'mail-421' || fault === 'mail-451') return this.refuse(fault);
        return this.reply('250 2.1.0 sender ok');
      }
      case 'RCPT': {
        if (!this.tx) return this.reply('503 5.5.1 MAIL first');
        this.tx.to.push(/<([^>]*)>/.exec(line)?.[1] ?? '');
        const fault = this.tx.fault;
        if (fault === 'rcpt-421' || fault === 'rcpt-451') return this.refuse(fault);
        return this.reply('250 2.1.5 recipient ok');
      }
      case 'DATA': {
        if (!this.tx?.to.length) return this.reply('503 5.5.1 RCPT first');
        const fault = this.tx.fault;
        if (fault === 'data-421' || fault === 'data-451') return this.refuse(fault);
        this.mode = 'data';
        return this.reply('354 end data with <CR><LF>.<CR><LF>');
      }
      case 'RSET':
        this.finish(undefined, false);
        return this.reply('250 2.0.0 reset');
      case 'NOOP':
        return this.reply('250 2.0.0 ok');
      case 'QUIT':
        this.reply('221 2.0.0 bye');
        this.socket.end();
        return;
      default:
        return this.reply('502 5.5.2 command not implemented');
    }
  }

  private async onMessage(bytes: Buffer): Promise<void> {
    const tx = this.tx!;
    const fault = tx.fault;
    const facts = { messageId: messageIdOf(bytes), sha256: createHash('sha256').update(bytes).digest('hex') };
    if (fault === 'after-data-421' || fault === 'after-data-451') {
      // refused after the upload: nothing was delivered, and the client is told so
      this.finish(fault, false, facts);
      this.reply(fault === 'after-data-421' ? '421 4.3.2 chaos: shutting down, message not accepted' : '451 4.3.0 chaos: queue full, message not accepted');
      if (fault === 'after-data-421') this.socket.end();
      return;
    }
    this.delivering = true;
    try {
      await this.hooks.deliver({ from: tx.from, to: tx.to }, bytes);
    } catch {
      this.finish(undefined, false, facts);
      this.reply('451 4.3.0 the capture behind the relay failed');
      return;
    } finally {
      this.delivering = false;
    }
    if (fault === 'drop-after-data') {
      // the nastiest: delivered, and the connection dies before the client hears the 250
      this.finish(fault, true, facts);
      this.mode = 'busy';
      this.socket.destroy();
      return;
    }
    this.finish(undefined, true, facts);
    this.reply('250 2.0.0 ok: delivered');
  }
}

/** Dot-unstuffing (RFC 5321 4.5.2): a line that starts with two dots started with one. */
function unstuff(data: Buffer): Buffer {
  const text = data.toString('latin1');
  return Buffer.from(text.replace(/(^|\r\n)\.\./g, '$1.'), 'latin1');
}

function messageIdOf(bytes: Buffer): string | undefined {
  const text = bytes.toString('latin1');
  const end = text.search(/\r?\n\r?\n/);
  const head = (end < 0 ? text : text.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  return /^message-id:[ \t]*(\S+)/im.exec(head)?.[1];
}
