import nodemailer from 'nodemailer';
import type { Mail, SMTPPoolOptions, SMTPPoolSentMessageInfo } from 'nodemailer';
import type { MailDraft, Mailer, SentMail } from '../../core/ports.js';
import { MailRejectedError, MailTransientError } from '../../core/errors.js';
import { refusalScope } from '../../core/notices/index.js';

export { refusalScope };
import { signedComposer, type DkimKey } from './signed-compose.js';

export interface SmtpMailerOptions {
  /** `smtp://[user:pass@]host:port` or `smtps://…` */
  readonly url: string;
  /** shown to people as where the mail went; @default the url without its credentials */
  readonly destination?: string;
  /** @default 5 (nodemailer's pool default) */
  readonly maxConnections?: number;
  /** the name this host gives in EHLO @default the machine's host name (nodemailer's default) */
  readonly ehloName?: string;
  /**
   * DKIM-sign every message when it is composed (so the stored bytes, and a resend of them, carry the signature):
   * the signing domain (the From's, for DMARC alignment), the selector its public key is published under
   * (`<selector>._domainkey.<domain>` TXT), and the private key (PEM). @default no signature
   */
  readonly dkim?: DkimKey;
  /**
   * what composes the drafts instead of this thread (the host's compose threads, OffloadPool); it must compose as
   * signedComposer(dkim) does @default signedComposer(dkim), here
   */
  readonly composer?: { compose(draft: MailDraft): Promise<string> };
}

/** Sends notices through an SMTP relay (the embedded capture server or a real one) over pooled connections. */
export class SmtpMailer implements Mailer {
  readonly destination: string;
  private readonly composer: { compose(draft: MailDraft): Promise<string> };
  private readonly transport: Mail<SMTPPoolSentMessageInfo, SMTPPoolOptions>;

  constructor(options: SmtpMailerOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'smtp:' && url.protocol !== 'smtps:') {
      throw new TypeError(`unsupported mail relay scheme ${url.protocol}`);
    }
    const secure = url.protocol === 'smtps:';
    this.destination = options.destination ?? `${url.protocol}//${url.host}`;
    this.composer = options.composer ?? { compose: signedComposer(options.dkim) };
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
      ...(options.ehloName ? { name: options.ehloName } : {}),
      logger: false,
      debug: false,
    });
  }

  /** The exact bytes of a draft (see composeMessage), DKIM-signed when the mailer has a key. */
  compose(draft: MailDraft): Promise<string> {
    return this.composer.compose(draft);
  }

  /**
   * Sends `raw` unchanged. transportId is the Message-ID of the raw message: it is what we set and what a
   * relay keeps, whereas the queue id in the 250 text has no standard form (and the capture server's is a file name).
   */
  async sendRaw(envelope: { from: string; to: string; size?: number }, raw: string): Promise<SentMail> {
    let info: SMTPPoolSentMessageInfo;
    // SIZE= on MAIL FROM: a server whose limit is smaller says so before the upload, not after 58 MB of it
    const size = envelope.size ?? Buffer.byteLength(raw);
    try {
      info = await this.transport.sendMail({ envelope: { from: envelope.from, to: [envelope.to], size } as Mail.Envelope, raw });
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

/** The server's words, one line, its reply code and enhanced status taken off the front, at most 300 characters. */
function serverText(response: string | undefined): string | undefined {
  if (!response) return undefined;
  const line = response.replace(/\s+/g, ' ').replace(/^\d{3}[ -]?/, '').replace(/^[245]\.\d{1,3}\.\d{1,3}\s*/, '').trim();
  return line.slice(0, 300) || undefined;
}

/**
 * A 4xx, or a failure with no answer at all, is transient. A failure with no answer may have come after the
 * hand-over (a connection dropped while the relay owed its 250; nodemailer names every socket failure "CONN",
 * whatever the phase), so it counts as maybe delivered unless the connection never opened. A 5xx is a refusal
 * whose scope says whose fault it is (refusalScope). The exception's message names the code and step only: relays
 * quote the recipient's address in their text, which goes to the refusal's detail (recorded with the notice).
 */
function translateSmtpError(err: unknown): Error {
  const e = err as { responseCode?: unknown; code?: unknown; command?: unknown; originalCode?: unknown; response?: unknown; message?: unknown };
  const responseCode = typeof e?.responseCode === 'number' ? e.responseCode : undefined;
  const command = typeof e?.command === 'string' ? e.command.split(' ')[0]!.toUpperCase() : undefined;
  const code = typeof e?.code === 'string' ? e.code : undefined;
  const response = typeof e?.response === 'string' ? e.response : undefined;
  const message = typeof e?.message === 'string' ? e.message : '';
  // the server announced a SIZE smaller than the message: refused before a byte was uploaded
  const announced = code === 'EMESSAGE' ? /size larger than allowed (\d+)/i.exec(message) : null;
  if (announced) {
    const limit = Number(announced[1]);
    return new MailRejectedError(`the relay takes messages of at most ${limit} bytes (SIZE)`, { cause: err, scope: 'message', detail: { limit, step: 'MAIL', text: `SIZE ${limit}` } });
  }
  if (responseCode !== undefined) {
    const step = command === 'RCPT' || command === 'MAIL' || command === 'DATA' || command === 'AUTH' ? command : (command ?? (code === 'EAUTH' ? 'AUTH' : undefined));
    const what = `the relay answered ${responseCode}${step ? ` to ${step}` : ''}`;
    const enhanced = response ? /\b([245]\.\d{1,3}\.\d{1,3})\b/.exec(response)?.[1] : undefined;
    const text = serverText(response);
    if (responseCode < 500 || responseCode === 503) return new MailTransientError(what, { cause: err });
    const scope = refusalScope(responseCode, enhanced, step, text);
    const limit = scope === 'message' && text ? Number(/(\d{5,})\s*(bytes)?/i.exec(text)?.[1]) || undefined : undefined;
    const advice = scope === 'sender' ? ': the relay refuses our mail, check its settings' : '';
    return new MailRejectedError(`${what}${advice}`, { cause: err, scope, detail: { code: responseCode, ...(enhanced ? { enhanced } : {}), ...(text ? { text } : {}), ...(step ? { step } : {}), ...(limit ? { limit } : {}) } });
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
