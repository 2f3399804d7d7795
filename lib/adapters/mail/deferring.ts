import type { MailDraft, Mailer, SentMail } from '../../core/ports.js';

/**
 * The mailer of a command run while no host serves the data directory: it composes (the bytes are stored, the
 * message recorded) but hands nothing over. The next `takedown serve` sends what was deferred, through the
 * transport the data directory's settings name, so a command never sends where nobody configured it to.
 */
export class DeferringMailer implements Mailer {
  constructor(private readonly inner: Pick<Mailer, 'compose'>) {}

  compose(draft: MailDraft): Promise<string> {
    return this.inner.compose(draft);
  }

  async sendRaw(): Promise<SentMail> {
    return { transportId: '', destination: 'deferred until takedown serve runs', deferred: true };
  }
}
