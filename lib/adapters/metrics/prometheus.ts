import { performance } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MailRejectedError, MailTransientError } from '../../core/errors.js';
import type { AuditEvent, NoticeState } from '../../core/model.js';
import type { Mailer, Store } from '../../core/ports.js';
import { listAll } from '../../core/paging.js';
import { reviewQueue } from '../../core/answers/index.js';
import { COUNTER_HELP, countersOf, type CounterName } from './events.js';

/**
 * The embedded host's metrics in the Prometheus text format (`GET /metrics`): counters from the audit events
 * (events.ts), the send latency and the transport's refusals from the mailer, and queue depths read from the store
 * when scraped. One registry per host, so two hosts in one process (the tests) never mix their numbers.
 */

const PREFIX = 'takedown_';
// the notice states that are a queue: waiting to go, going, unsure, waiting for an answer, held
const QUEUED_STATES: readonly NoticeState[] = ['planned', 'sending', 'uncertain', 'sent', 'paused'];

export interface PrometheusMetricsOptions {
  /** the store the queue depths are read from when scraped */
  readonly store: Store;
  /** how many workflow executions run now */
  readonly runningExecutions?: () => number;
  /** also the process's own metrics (memory, event loop lag, CPU) @default true */
  readonly processMetrics?: boolean;
}

/** Prometheus metrics of one embedded host. */
export class PrometheusMetrics {
  readonly registry = new Registry();
  private readonly counters = new Map<CounterName, Counter>();
  private readonly sendSeconds: Histogram;
  private readonly refused: Counter;

  constructor(options: PrometheusMetricsOptions) {
    const registers = [this.registry];
    for (const [name, { help, labels }] of Object.entries(COUNTER_HELP) as [CounterName, { help: string; labels: readonly string[] }][]) {
      this.counters.set(name, new Counter({ name: `${PREFIX}${name}_total`, help, labelNames: [...labels], registers }));
    }
    this.sendSeconds = new Histogram({
      name: `${PREFIX}send_duration_seconds`,
      help: 'time the transport took to accept (or refuse) one message',
      labelNames: ['outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.refused = new Counter({ name: `${PREFIX}messages_refused_total`, help: 'messages the transport refused, for good (rejected) or for now (transient)', labelNames: ['reason'], registers });
    const store = options.store;
    new Gauge({
      name: `${PREFIX}notices`,
      help: 'notices in each queue state (planned, sending, uncertain, sent = waiting for an answer, paused)',
      labelNames: ['state'],
      registers,
      async collect() {
        for (const state of QUEUED_STATES) this.set({ state }, (await listAll((p) => store.listNotices({ state }, p))).length);
      },
    });
    new Gauge({
      name: `${PREFIX}review_queue_open`,
      help: 'inbound messages waiting for a person to read them',
      registers,
      async collect() {
        this.set((await reviewQueue({ store })).open.length);
      },
    });
    if (options.runningExecutions) {
      const running = options.runningExecutions;
      new Gauge({
        name: `${PREFIX}workflow_executions_running`,
        help: 'workflow executions running on the embedded engine',
        registers,
        collect() {
          this.set(running());
        },
      });
    }
    if (options.processMetrics !== false) collectDefaultMetrics({ register: this.registry, prefix: PREFIX });
  }

  /** Count an audit event (hand it to observeEvents). */
  readonly onEvent = (event: AuditEvent): void => {
    for (const sample of countersOf(event)) this.counters.get(sample.name)?.inc(sample.labels);
  };

  /** The mailer with each send timed and each refusal counted. */
  timed(mailer: Mailer): Mailer {
    return {
      compose: (draft) => mailer.compose(draft),
      sendRaw: async (envelope, raw) => {
        const started = performance.now();
        const seconds = () => (performance.now() - started) / 1000;
        try {
          const sent = await mailer.sendRaw(envelope, raw);
          this.sendSeconds.observe({ outcome: 'sent' }, seconds());
          return sent;
        } catch (e) {
          const reason = e instanceof MailRejectedError ? 'rejected' : e instanceof MailTransientError ? 'transient' : 'error';
          this.sendSeconds.observe({ outcome: reason }, seconds());
          this.refused.inc({ reason });
          throw e;
        }
      },
    };
  }

  /** The content type of `text()`. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** Every metric in the Prometheus text format. */
  text(): Promise<string> {
    return this.registry.metrics();
  }
}
