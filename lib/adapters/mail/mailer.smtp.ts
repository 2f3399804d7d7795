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
 * 5xx means the relay will refuse this message again; everything else (4xx, 503 "bad sequence", a
 * refused connection, a time-out) may pass on a later try. The server's text is left out of the message:
 * relays quote the recipient address in it.
 */
function translateSmtpError(err: unknown): Error {
  const e = err as { responseCode?: unknown; code?: unknown; command?: unknown };
  const responseCode = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e?.command === 'string' ? e.command.split(' ')[0] : undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  if (responseCode !== undefined) {
    const what = `the relay answered ${responseCode}${command ? ` to ${command}` : ''}`;
    if (responseCode >= 500 && responseCode !== 503) return new MailRejectedError(what, { cause: err });
    return new MailTransientError(what, { cause: err });
  }
  return new MailTransientError(`sending through the relay failed (${code ?? 'unknown error'})`, { cause: err });
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
