import type { AuditEvent } from '../../core/model.js';
import type { Store } from '../../core/ports.js';

/**
 * What the operation's metrics count, read from the audit events the core already appends. Every change the core
 * makes is an audited event, so counting events measures the same things on both hosts without a second channel
 * through the core that could drift from the record (and without touching the commands that append them). One
 * mapping here; the embedded host feeds it to Prometheus, Lambda to CloudWatch EMF.
 */

/** The counters an event can bump; names are unit-less, each host adds its own prefix and suffix. */
export type CounterName = 'messages_sent' | 'messages_uncertain' | 'bounces' | 'inbound_mail' | 'answers' | 'escalations' | 'probes' | 'takedowns_verified' | 'revivals' | 'campaigns_submitted';

export interface CounterSample {
  readonly name: CounterName;
  /** label values; keep them few and bounded (no ids) */
  readonly labels: Readonly<Record<string, string>>;
}

/** What each counter means, for the metrics' help text. */
export const COUNTER_HELP: Readonly<Record<CounterName, { help: string; labels: readonly string[] }>> = {
  messages_sent: { help: 'messages handed to the transport and accepted, by kind (notice, reminder, followup)', labels: ['kind'] },
  messages_uncertain: { help: 'hand-overs whose outcome was unknown after a crash, sent again with the same bytes', labels: [] },
  bounces: { help: 'delivery reports about a notice, by severity (permanent, transient, delay ...)', labels: ['severity'] },
  inbound_mail: { help: 'inbound messages matched to a notice, by how they were classified', labels: ['class'] },
  answers: { help: 'answers recorded, by intent and channel', labels: ['intent', 'source'] },
  escalations: { help: 'cases handed to the next party on their ladder (escalated) or with none left (expired)', labels: ['outcome'] },
  probes: { help: 'verification probes, by verdict, method and phase', labels: ['verdict', 'method', 'phase'] },
  takedowns_verified: { help: 'cases verified down by a probe', labels: [] },
  revivals: { help: 'verified takedowns that came back and were reopened', labels: [] },
  campaigns_submitted: { help: 'campaigns submitted, by source format', labels: ['format'] },
};

const text = (v: unknown, fallback = 'unknown'): string => (typeof v === 'string' && v.length > 0 && v.length <= 40 ? v : fallback);

/** The counters one audit event bumps (none for most events). */
export function countersOf(event: Pick<AuditEvent, 'type' | 'data'>): CounterSample[] {
  const d = event.data;
  switch (event.type) {
    case 'message.sent':
      return [{ name: 'messages_sent', labels: { kind: text(d.kind) } }];
    case 'message.uncertain':
      return [{ name: 'messages_uncertain', labels: {} }];
    case 'mail.bounce':
      return [{ name: 'bounces', labels: { severity: text(d.severity) } }];
    case 'mail.received':
      return [{ name: 'inbound_mail', labels: { class: text(d.class) } }];
    case 'answer.received':
      return [{ name: 'answers', labels: { intent: text(d.intent), source: text(d.source) } }];
    case 'case.escalated':
      return [{ name: 'escalations', labels: { outcome: 'escalated' } }];
    case 'case.expired':
      return [{ name: 'escalations', labels: { outcome: 'expired' } }];
    case 'probe.result':
      return [{ name: 'probes', labels: { verdict: text(d.verdict), method: text(d.method), phase: text(d.phase) } }];
    case 'case.verified-down':
      return [{ name: 'takedowns_verified', labels: {} }];
    case 'case.revived':
      return [{ name: 'revivals', labels: {} }];
    case 'campaign.submitted':
      return [{ name: 'campaigns_submitted', labels: { format: text(d.format) } }];
    default:
      return [];
  }
}

/**
 * The store, with `onEvent` told of every audit event once it is stored (an append that lost its chain slot and
 * is retried is counted once, when it lands). An observer that throws is ignored: metrics never fail a command.
 */
export function observeEvents<S extends Store>(store: S, onEvent: (event: AuditEvent) => void): S {
  const observed = (events: readonly AuditEvent[]): void => {
    for (const event of events) {
      try {
        onEvent(event);
      } catch {
        // a metric is not worth a failed command
      }
    }
  };
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'appendEvent') {
        return async (event: AuditEvent) => {
          await target.appendEvent(event);
          observed([event]);
        };
      }
      if (prop === 'appendEvents' && target.appendEvents) {
        return async (events: readonly AuditEvent[]) => {
          await target.appendEvents!(events);
          observed(events);
        };
      }
      const value = Reflect.get(target, prop, target) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
