import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { Tracer } from '@aws-lambda-powertools/tracer';
import type { Context } from 'aws-lambda';
import type { AuditEvent } from '../../core/model.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../runtime/log-fields.js';
import { PowertoolsLogger } from '../runtime/logger.powertools.js';
import type { LogLevel } from '../runtime/logger.js';
import { countersOf } from './events.js';

/**
 * The AWS host's observability: Powertools for AWS Lambda. The same audit-event counters as the embedded host's
 * Prometheus metrics (events.ts), written as CloudWatch embedded metric format (EMF) records on stdout, which
 * CloudWatch turns into metrics with no API call from the function; the logger of logger.powertools.ts; and the
 * X-Ray tracer (active when the function runs with tracing on, a no-op elsewhere).
 */

export { METRICS_NAMESPACE };

/** The Powertools trio of one Lambda container, made once (outside the handler, so cold starts are seen). */
export interface LambdaObservability {
  readonly logger: PowertoolsLogger;
  readonly metrics: Metrics;
  readonly tracer: Tracer;
}

/** Logger, metrics and tracer for a Lambda container. */
export function lambdaObservability(options: { readonly logLevel?: LogLevel; readonly namespace?: string } = {}): LambdaObservability {
  return {
    logger: new PowertoolsLogger(options.logLevel ?? 'info'),
    metrics: new Metrics({ namespace: options.namespace ?? METRICS_NAMESPACE, serviceName: SERVICE_NAME }),
    tracer: new Tracer({ serviceName: SERVICE_NAME }),
  };
}

/**
 * An audit-event observer (for observeEvents) that emits each counter as its own EMF record, its labels as the
 * record's dimensions: labels differ between counters, and one record has one set of dimensions.
 */
export function emfEventCounter(metrics: Metrics): (event: AuditEvent) => void {
  return (event) => {
    for (const sample of countersOf(event)) {
      const single = metrics.singleMetric();
      for (const [name, value] of Object.entries(sample.labels)) single.addDimension(name, value);
      single.addMetric(sample.name, MetricUnit.Count, 1);
    }
  };
}

/**
 * A Lambda handler with the invocation's context in every log record, a ColdStart metric, a traced subsegment
 * (with the error when it fails) and the buffered metrics flushed at the end, failed or not.
 */
export function observedHandler<E, R>(name: string, o: LambdaObservability, handler: (event: E, context: Context) => Promise<R>): (event: E, context: Context) => Promise<R> {
  return async (event, context) => {
    o.logger.powertools.addContext(context);
    o.metrics.captureColdStartMetric(context.functionName);
    const parent = o.tracer.isTracingEnabled() ? o.tracer.getSegment() : undefined;
    const sub = parent?.addNewSubsegment(`## ${name}`);
    if (sub) {
      o.tracer.setSegment(sub);
      o.tracer.annotateColdStart();
      o.tracer.addServiceNameAnnotation();
    }
    try {
      return await handler(event, context);
    } catch (e) {
      if (sub) o.tracer.addErrorAsMetadata(e as Error);
      throw e;
    } finally {
      if (sub && parent) {
        sub.close();
        o.tracer.setSegment(parent);
      }
      o.metrics.publishStoredMetrics();
    }
  };
}
