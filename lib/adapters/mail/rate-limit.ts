import { MailTransientError } from '../../core/errors.js';
import { domainOf } from '../../core/answers/index.js';
import type { Mailer, MailDraft, SentMail } from '../../core/ports.js';

export interface DomainRateOptions {
  /** messages per minute to one recipient domain @default 30 */
  readonly perMinute?: number;
  /** messages that may go at once before the spacing applies @default 5 */
  readonly burst?: number;
  /**
   * the longest a send waits for its turn; beyond it the send is refused as transient (nothing went out), so the
   * workflow backs off instead of holding a task slot @default 15000
   */
  readonly maxWaitMs?: number;
  readonly now?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
}

/**
 * A Mailer that spaces the messages to each recipient domain (a token bucket per domain), so a campaign with
 * many notices for one provider's desks does not flood it. Aggregation already makes it one notice per
 * recipient per campaign; this covers many recipients at one domain, reminders and escalations arriving together.
 * The limit holds per process: on AWS, per function container.
 */
export class DomainRateLimitedMailer implements Mailer {
  private readonly perMinute: number;
  private readonly burst: number;
  private readonly maxWaitMs: number;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  /** per domain: the theoretical arrival time (ms) of the next message at the steady rate (GCRA) */
  private readonly next = new Map<string, number>();

  constructor(
    private readonly inner: Mailer,
    options: DomainRateOptions = {},
  ) {
    this.perMinute = options.perMinute ?? 30;
    this.burst = options.burst ?? 5;
    this.maxWaitMs = options.maxWaitMs ?? 15_000;
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    if (!(this.perMinute > 0) || !(this.burst >= 1)) throw new Error('the send rate must be positive');
  }

  compose(draft: MailDraft): Promise<string> {
    return this.inner.compose(draft);
  }

  async sendRaw(envelope: { from: string; to: string }, raw: string): Promise<SentMail> {
    const wait = this.take(domainOf(envelope.to));
    if (wait > 0) await this.sleep(wait);
    return this.inner.sendRaw(envelope, raw);
  }

  /** Takes a slot for the domain and returns how long to wait for it; refuses (transient) when that is too long. */
  private take(domain: string): number {
    const interval = 60_000 / this.perMinute;
    const now = this.now();
    // the generic cell rate algorithm: `burst` messages may go at once, then one per interval
    const tat = Math.max(this.next.get(domain) ?? now, now);
    const wait = Math.max(0, tat - now - (this.burst - 1) * interval);
    if (wait > this.maxWaitMs) {
      throw new MailTransientError(`sending to ${domain} is rate limited (${this.perMinute}/min): try again later`, { maybeDelivered: false });
    }
    this.next.set(domain, tat + interval);
    if (this.next.size > 10_000) this.forgetIdle(now);
    return wait;
  }

  private forgetIdle(now: number): void {
    for (const [domain, at] of this.next) if (at < now - 60_000) this.next.delete(domain);
  }
}
