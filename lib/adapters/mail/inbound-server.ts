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
  /** larger messages are refused with 552; @default 10 MB */
  readonly maxBytes?: number;
  /** stores the reply; a throw makes the sender retry later (451) */
  readonly onMail: (mail: InboundMail) => Promise<void>;
}

export interface InboundServer {
  readonly port: number;
  close(): Promise<void>;
}

const DEFAULT_MAX_BYTES = 10 * 1024 * 1024;

/**
 * Receives replies over SMTP. A message is answered 250 only after onMail has stored it; any failure is a
 * 451, so the sending MTA keeps it in its queue and tries again: a reply is never lost on our side.
 */
export async function startInboundServer(opts: InboundServerOptions): Promise<InboundServer> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const server = new SMTPServer({
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
