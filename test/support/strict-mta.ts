import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/** One message as the server saw it: the envelope, what MAIL FROM announced, the EHLO name, the bytes. */
export interface Received {
  readonly mailFrom: string;
  readonly rcptTo: readonly string[];
  /** the SIZE= parameter of MAIL FROM, when the client announced one */
  readonly announcedSize?: number;
  readonly ehlo: string;
  readonly raw: string;
}

/** A refusal the server answers with at one step, or undefined to go on. */
export type Refusal = { readonly code: number; readonly message: string } | undefined;

export interface StrictMtaOptions {
  /** advertised in EHLO (SIZE); a MAIL FROM announcing more is refused with 552 before any byte is uploaded */
  readonly size?: number;
  /** refuse MAIL FROM, RCPT TO, or the message once uploaded (its bytes in hand) */
  readonly mailFrom?: (address: string) => Refusal;
  readonly rcptTo?: (address: string) => Refusal;
  readonly data?: (raw: string, session: SMTPServerSession) => Refusal;
}

export interface StrictMta {
  readonly url: string;
  readonly received: Received[];
  /** bytes of message content the server read, accepted or not */
  readonly uploaded: () => number;
  /** every MAIL FROM it was asked, refused or not */
  readonly attempts: string[];
  /** change how it answers from now on */
  set(options: StrictMtaOptions): void;
  close(): Promise<void>;
}

function refuse(r: NonNullable<Refusal>): Error {
  return Object.assign(new Error(r.message), { responseCode: r.code });
}

/**
 * An SMTP server for the tests, as a real MTA answers: it advertises SIZE, refuses a MAIL FROM announcing more,
 * and refuses at MAIL FROM, RCPT TO or after DATA as the test asks, in the reply codes and enhanced statuses
 * Postfix uses. It keeps what it accepted, with the envelope and the EHLO name the client gave.
 */
export async function startStrictMta(initial: StrictMtaOptions = {}): Promise<StrictMta> {
  let options = initial;
  const received: Received[] = [];
  const attempts: string[] = [];
  let uploaded = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    disableReverseLookup: true,
    closeTimeout: 2_000,
    // smtp-server advertises SIZE and refuses a bigger announced SIZE itself (552 5.3.4) when this is set
    ...(initial.size ? { size: initial.size } : {}),
    onMailFrom(address, _session, callback) {
      attempts.push(address.address);
      const r = options.mailFrom?.(address.address);
      callback(r ? refuse(r) : undefined);
    },
    onRcptTo(address, _session, callback) {
      const r = options.rcptTo?.(address.address);
      callback(r ? refuse(r) : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        uploaded += c.length;
        chunks.push(c);
      });
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        if ((stream as unknown as { sizeExceeded?: boolean }).sizeExceeded) return callback(refuse({ code: 552, message: '5.3.4 Error: message file too big' }));
        const r = options.data?.(raw, session);
        if (r) return callback(refuse(r));
        const args = session.envelope.mailFrom ? (session.envelope.mailFrom as { args?: Record<string, string> }).args : undefined;
        received.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          ...(args?.SIZE ? { announcedSize: Number(args.SIZE) } : {}),
          ehlo: session.hostNameAppearsAs,
          raw,
        });
        callback(null, 'OK: queued');
      });
    },
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  const port = (server.server.address() as AddressInfo).port;
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    attempts,
    uploaded: () => uploaded,
    set(next) {
      options = { ...options, ...next };
    },
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
