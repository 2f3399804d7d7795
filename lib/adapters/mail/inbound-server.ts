import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { InboundMail } from '../../core/ports.js';
import { closeServer } from './capture-server.js';
import { parseMail } from './parse.js';

export interface InboundServerOptions {
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** @default 0 (any free port) */
  readonly port?: number;
  /** larger messages are refused with 552; @default 2 MiB (a notice's bounce returns its headers, not megabytes) */
  readonly maxBytes?: number;
  /**
   * whether a RCPT TO address is one of ours (a reply address, an envelope sender, the mailbox itself); every
   * other is refused with 550 before any data is taken. @default every address (a test's capture)
   */
  readonly acceptRecipient?: (address: string) => boolean;
  /** recipients of one message @default 10 */
  readonly maxRecipients?: number;
  /** connections open at once, from everyone; more are refused with 421 @default 20 */
  readonly maxConnections?: number;
  /** connections one client address may open a minute; more are refused with 421 @default 30 */
  readonly connectionsPerMinutePerClient?: number;
  /** the time of the rate limit's window (tests move it) @default Date.now */
  readonly now?: () => number;
  /** stores the reply; a throw makes the sender retry later (451) */
  readonly onMail: (mail: InboundMail) => Promise<void>;
}

export interface InboundServer {
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 2 * 1024 * 1024;

/** An SMTP refusal with its reply code (smtp-server sends `responseCode`). */
function refusal(code: number, message: string): Error {
  return Object.assign(new Error(message), { responseCode: code });
}

/** Connections per client address in the current minute; a new minute starts every count over. */
class ConnectionRate {
  private minute = -1;
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly perMinute: number,
    private readonly now: () => number,
  ) {}

  /** Count a connection; false when the client is over its allowance this minute. */
  take(client: string): boolean {
    const minute = Math.floor(this.now() / 60_000);
    if (minute !== this.minute) {
      this.minute = minute;
      this.counts.clear();
    }
    const n = (this.counts.get(client) ?? 0) + 1;
    this.counts.set(client, n);
    return n <= this.perMinute;
  }
}

/**
 * Receives replies over SMTP. A message is answered 250 only after onMail has stored it; any failure is a
 * 451, so the sending MTA keeps it in its queue and tries again: a reply is never lost on our side. It is no open
 * mailbox: only our own addresses are accepted as recipients, a message has a size limit, and the connections
 * open at once and per client a minute are bounded, so nobody fills the inbox or holds every slot.
 */
export async function startInboundServer(opts: InboundServerOptions): Promise<InboundServer> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const maxRecipients = opts.maxRecipients ?? 10;
  const rate = new ConnectionRate(opts.connectionsPerMinutePerClient ?? 30, opts.now ?? Date.now);
  const server = new SMTPServer({
    maxClients: opts.maxConnections ?? 20,
    // a client that stops talking gives its slot back
    socketTimeout: 60_000,
    onConnect(session, callback) {
      if (!rate.take(session.remoteAddress)) return callback(refusal(421, 'too many connections from your address; try again later'));
      callback();
    },
    onRcptTo(address, session, callback) {
      if (session.envelope.rcptTo.length >= maxRecipients) return callback(refusal(452, 'too many recipients'));
      if (opts.acceptRecipient && !opts.acceptRecipient(address.address)) return callback(refusal(550, 'no such mailbox here'));
      callback();
    },
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    // the logger would print addresses and commands; a reply's content is personal data
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 5_000,
    size: maxBytes,
    // smtp-server answers 552 itself, whatever onData says, once the DATA went over `size`
    rejectOversized: true,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      // a stream error may still be followed by 'end': answer once
      let answered = false;
      const answer: typeof callback = (...args) => {
        if (answered) return;
        answered = true;
        callback(...args);
      };
      stream.on('data', (chunk: Buffer) => {
        // past the limit the bytes are drained, not kept: the answer is 552 anyway
        if (!stream.sizeExceeded) chunks.push(chunk);
      });
      stream.on('error', (err) => answer(err));
      stream.on('end', () => {
        if (answered) return;
        if (stream.sizeExceeded) {
          answer(Object.assign(new Error('message too large'), { responseCode: 552 }));
          return;
        }
        const envelopeTo = session.envelope.rcptTo.map((r) => r.address);
        // who connected, as SPF needs it: the address, the HELO name and MAIL FROM ('' for a bounce's null sender)
        const mailFrom = session.envelope.mailFrom;
        const client = {
          ip: session.remoteAddress,
          helo: session.hostNameAppearsAs,
          mailFrom: mailFrom === false ? undefined : mailFrom.address,
        };
        parseMail(Buffer.concat(chunks), envelopeTo)
          .then((mail) => opts.onMail({ ...mail, client }))
          .then(
            () => answer(null, 'OK: reply received'),
            () => answer(Object.assign(new Error('could not take the message now, try again later'), { responseCode: 451 })),
          );
      });
    },
  });

  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      server.server.off('error', reject);
      resolve();
    });
  });
  return { port: (server.server.address() as AddressInfo).port, close: () => closeServer(server) };
}
