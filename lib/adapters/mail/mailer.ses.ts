import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { MailDraft, Mailer, SentMail } from '../../core/ports.js';
import { MailRejectedError, MailTransientError, type RefusalScope } from '../../core/errors.js';
import { composeMessage } from './compose.js';

export interface SesMailerOptions {
  /** an SDK client to reuse (tests point one at a local endpoint); @default a new client for `region` */
  readonly client?: SESv2Client;
  /** @default the SDK's region resolution (AWS_REGION) */
  readonly region?: string;
  /** SES configuration set for event publishing (bounces, complaints) */
  readonly configurationSet?: string;
}

// SES's own refusals of our account or identity: nobody's mailbox is at fault, every message would be refused
const OUR_ACCOUNT = new Set([
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'SendingPausedException',
  'AccessDeniedException',
  'NotFoundException',
]);

/**
 * Whose fault an SES refusal is (see RefusalScope). MessageRejected covers the sandbox and unverified identities
 * ("Email address is not verified": our account's state, whoever the recipient is), an illegal address (the
 * recipient) and content SES will not send (policy); a daily quota is our account's too. Throttling and SES's
 * own failures are not refusals: they stay transient.
 */
export function sesRefusalScope(name: string, text: string): RefusalScope | undefined {
  if (OUR_ACCOUNT.has(name)) return 'sender';
  if (name === 'MessageRejected') {
    if (/not verified|sandbox|identit(y|ies) failed/i.test(text)) return 'sender';
    if (/illegal address|invalid (recipient|address)|address (is )?(blacklisted|suppressed)|suppression list/i.test(text)) return 'recipient';
    if (/too (big|large)|length|size/i.test(text)) return 'message';
    return 'policy';
  }
  if (name === 'LimitExceededException' && /quota/i.test(text)) return 'sender';
  if (name === 'BadRequestException') {
    if (/too (big|large)|length|size|megabytes/i.test(text)) return 'message';
    if (/address|recipient|domain/i.test(text)) return 'recipient';
    return 'policy';
  }
  return undefined;
}

/** Sends notices through Amazon SES (v2 API) as raw MIME, so the bytes we composed and hashed are the ones sent. */
export class SesMailer implements Mailer {
  readonly destination = 'ses';
  private readonly client: SESv2Client;
  private readonly configurationSet: string | undefined;

  constructor(options: SesMailerOptions = {}) {
    this.client = options.client ?? new SESv2Client(options.region ? { region: options.region } : {});
    this.configurationSet = options.configurationSet;
  }

  /** The exact bytes of a draft (see composeMessage). */
  compose(draft: MailDraft): Promise<string> {
    return composeMessage(draft);
  }

  /** Sends `raw` as is; transportId is the SES MessageId, since SES replaces our Message-ID header. */
  async sendRaw(envelope: { from: string; to: string; size?: number }, raw: string): Promise<SentMail> {
    let messageId: string | undefined;
    const from = headerFrom(raw) ?? envelope.from;
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          // the From identity SES checks is the header's; the envelope sender (VERP, on the reply domain) gets the
          // bounces SES forwards, besides the configuration set's events
          FromEmailAddress: from,
          ...(envelope.from.toLowerCase() !== from.toLowerCase() ? { FeedbackForwardingEmailAddress: envelope.from } : {}),
          Destination: { ToAddresses: [envelope.to] },
          Content: { Raw: { Data: Buffer.from(raw, 'utf8') } },
          ConfigurationSetName: this.configurationSet,
        }),
      );
      messageId = out.MessageId;
    } catch (err) {
      throw translateSesError(err);
    }
    if (!messageId) throw new MailTransientError('SES accepted the request but returned no MessageId');
    return { transportId: messageId, destination: this.destination };
  }
}

/**
 * Names the SES error and HTTP status only in the exception's message: SES quotes the identities (addresses) that
 * failed; its words go to the refusal's detail, recorded with the notice.
 */
function translateSesError(err: unknown): Error {
  const e = err as { name?: unknown; message?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const http = typeof e?.$metadata?.httpStatusCode === 'number' ? e.$metadata.httpStatusCode : undefined;
  const status = http !== undefined ? ` (HTTP ${http})` : '';
  const text = typeof e?.message === 'string' ? e.message.replace(/\s+/g, ' ').trim().slice(0, 300) : '';
  const scope = sesRefusalScope(name, text);
  if (scope) {
    const limit = scope === 'message' ? SES_MAX_MESSAGE_BYTES : undefined;
    const advice = scope === 'sender' ? ': our SES account or identity refuses the send, check it' : '';
    return new MailRejectedError(`SES refused the message: ${name}${status}${advice}`, { cause: err, scope, detail: { ...(http !== undefined ? { code: http } : {}), step: name, ...(text ? { text } : {}), ...(limit ? { limit } : {}) } });
  }
  return new MailTransientError(`sending through SES failed: ${name}${status}`, { cause: err });
}

/** SES v2's largest raw message (40 MB, the encoded MIME included). */
export const SES_MAX_MESSAGE_BYTES = 40 * 1024 * 1024;

/** The address of a raw message's From header. */
function headerFrom(raw: string): string | undefined {
  const end = raw.search(/\r?\n\r?\n/);
  const head = (end === -1 ? raw : raw.slice(0, end)).replace(/\r?\n[ \t]+/g, ' ');
  const value = /^from:[ \t]*(.+)$/im.exec(head)?.[1];
  if (!value) return undefined;
  return (/<([^<>]+)>/.exec(value)?.[1] ?? value).trim();
}
