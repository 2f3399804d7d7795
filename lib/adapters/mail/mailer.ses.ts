import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { MailDraft, Mailer, SentMail } from '../../core/ports.js';
import { MailRejectedError, MailTransientError } from '../../core/errors.js';
import { composeMessage } from './compose.js';

export interface SesMailerOptions {
  /** an SDK client to reuse (tests point one at a local endpoint); @default a new client for `region` */
  readonly client?: SESv2Client;
  /** @default the SDK's region resolution (AWS_REGION) */
  readonly region?: string;
  /** SES configuration set for event publishing (bounces, complaints) */
  readonly configurationSet?: string;
}

// refusals SES repeats for the same message and account: a retry cannot help, a person must act.
// Throttling, daily quota, a paused account and 5xx stay transient: the same send can pass later.
const REJECTED = new Set([
  'MessageRejected',
  'MailFromDomainNotVerifiedException',
  'AccountSuspendedException',
  'BadRequestException',
]);

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
  async sendRaw(envelope: { from: string; to: string }, raw: string): Promise<SentMail> {
    let messageId: string | undefined;
    try {
      const out = await this.client.send(
        new SendEmailCommand({
          FromEmailAddress: envelope.from,
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

/** Names the SES error and HTTP status only: SES messages quote the identities (addresses) that failed. */
function translateSesError(err: unknown): Error {
  const e = err as { name?: unknown; $metadata?: { httpStatusCode?: unknown } };
  const name = typeof e?.name === 'string' ? e.name : 'Error';
  const status = typeof e?.$metadata?.httpStatusCode === 'number' ? ` (HTTP ${e.$metadata.httpStatusCode})` : '';
  if (REJECTED.has(name)) return new MailRejectedError(`SES refused the message: ${name}${status}`, { cause: err });
  return new MailTransientError(`sending through SES failed: ${name}${status}`, { cause: err });
}
