import nodemailer from 'nodemailer';
import type { Mail, SMTPPoolOptions, SMTPPoolSentMessageInfo } from 'nodemailer';
import type { MailDraft, Mailer, SentMail } from '../../core/ports.js';
import { MailRejectedError, MailTransientError } from '../../core/errors.js';
import { composeMessage } from './compose.js';

export interface SmtpMailerOptions {
  /** `smtp://[user:pass@]host:port` or `smtps://…` */
  readonly url: string;
  /** shown to people as where the mail went; @default the url without its credentials */
  readonly destination?: string;
  /** @default 5 (nodemailer's pool default) */
  readonly maxConnections?: number;
}

/** Sends notices through an SMTP relay (the embedded capture server or a real one) over pooled connections. */
export class SmtpMailer implements Mailer {
  readonly destination: string;
  private readonly transport: Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;

  constructor(options: SmtpMailerOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      throw new TypeError(`unsupported mail relay scheme ${url.protocol}`);
    }
    const secure = url.protocol === 'smtps:';
    this.destination = options.destination ?? `${url.protocol}//${url.host}`;
    this.transport = nodemailer.createTransport({
      // a greeting costs ~100 ms on smtp-server; reusing connections is what makes bulk sends fast
      pool: true,
      maxConnections: options.maxConnections ?? 5,
      host: url.hostname,
      port: url.port ? Number(url.port) : secure ? 465 : 25,
      secure,
      auth: url.username
        ? { user: decodeURIComponent(url.username), pass: decodeURIComponent(url.password) }
        : undefined,
      logger: false,
      debug: false,
    });
  }

  /** The exact bytes of a draft (see composeMessage). */
  compose(draft: MailDraft): Promise<string> {
    return composeMessage(draft);
  }

  /**
   * Sends `raw` unchanged. transportId is the Message-ID of the raw message: it is what we set and what a
   * relay keeps, whereas the queue id in the 250 text has no standard form (and the capture server's is a file name).
   */
  async sendRaw(envelope: { from: string; to: string }, raw: string): Promise<SentMail> {
    let info: SMTPPoolSentMessageInfo;
    try {
      info = await this.transport.sendMail({ envelope: { from: envelope.from, to: [envelope.to] }, raw });
    } catch (err) {
      throw translateSmtpError(err);
    }
    const transportId = messageIdOf(raw) ?? info.messageId ?? queueIdOf(info.response) ?? '';
    return { transportId, destination: this.destination };
  }

  /** Closes the pooled connections. */
  async close(): Promise<void> {
    this.transport.close();
  }
}

/**
 * A 5xx to RCPT or to the message itself means this recipient's message will be refused again: the notice is
 * undeliverable. A 5xx elsewhere (AUTH 535, MAIL FROM 550 "relaying denied") is our relay refusing us, a
 * setting to fix, and must not mark every recipient undeliverable: it is transient for the workflow, which
 * retries and then fails visibly. A failure with no answer at all may have come after the hand-over (a
 * connection dropped while the relay owed its 250; nodemailer names every socket failure "CONN", whatever the
 * phase), so it counts as maybe delivered unless the connection never opened. The server's text is left out
 * of the message: relays quote the recipient address in it.
 */
function translateSmtpError(err: unknown): Error {
  const e = err as { responseCode?: unknown; code?: unknown; command?: unknown; originalCode?: unknown };
  const responseCode = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e?.command === 'string' ? e.command.split(' ')[0]!.toUpperCase() : undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (responseCode !== undefined) {
    const what = `the relay answered ${responseCode}${command ? ` to ${command}` : ''}`;
    const refusesRecipient = command === 'RCPT' || command === 'DATA';
    if (responseCode >= 500 && responseCode !== 503 && refusesRecipient) return new MailRejectedError(what, { cause: err });
    if (responseCode >= 500) return new MailTransientError(`${what}: the relay refuses our mail, check its settings`, { cause: err });
    return new MailTransientError(what, { cause: err });
  }
  const original = typeof e?.originalCode === 'string' ? e.originalCode : undefined;
  const neverConnected = code === 'EDNS' || original === 'ECONNREFUSED' || original === 'ENOTFOUND' || code === 'ECONNREFUSED';
  return new MailTransientError(`sending through the relay failed (${original ?? code ?? 'unknown error'})`, { cause: err, maybeDelivered: !neverConnected });
}

/** The Message-ID header of a raw message, angle brackets included. */
function messageIdOf(raw: string): string | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const match = /^message-id:[ \t]*(\S.*?)[ \t]*$/im.exec(head);
  return match?.[1];
}

/** "250 2.0.0 Ok: queued as 4ABC123" -> "4ABC123", when a relay says so. */
function queueIdOf(response: string | undefined): string | undefined {
  return response ? /queued as\s+(\S+)/i.exec(response)?.[1] : undefined;
}
