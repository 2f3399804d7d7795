import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Context } from 'aws-lambda';
import { MailRejectedError } from '../../lib/core/errors.js';
import type { AuditEvent } from '../../lib/core/model.js';
import type { Mailer } from '../../lib/core/ports.js';
import { countersOf } from '../../lib/adapters/metrics/events.js';
import { PrometheusMetrics } from '../../lib/adapters/metrics/prometheus.js';
import { emfEventCounter, lambdaObservability, observedHandler } from '../../lib/adapters/metrics/powertools.js';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import type { Host } from '../../lib/local/host.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * The metrics of both hosts, counted from the audit events the core appends: Prometheus on the embedded host
 * (scraped over HTTP from a real host that sent a real notice and took a real answer), CloudWatch EMF through
 * Powertools on Lambda.
 */

let host: Host & { dispose(): Promise<void> };
let auditorKey: string;

beforeAll(async () => {
  host = await testHost(1);
  auditorKey = (await createApiKey(host.store, { role: 'auditor', name: 'metrics scraper' })).key;
});
afterAll(async () => host?.dispose());

async function scrape(key: string | null = auditorKey): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`${host.httpUrl}/metrics`, { headers: key ? { authorization: `Bearer ${key}` } : {} });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

/** The value of one sample line, `name{labels} value`. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

describe('the embedded host\'s /metrics', () => {
  it('counts notices sent, answers by intent and channel, the send latency and the notices waiting, in the Prometheus format', async () => {
    const campaignId = await submit(host, ['198.51.100.7,ip,KE,c2 server']);
    const notice = await waitFor('the notice to wait', async () => {
      const [n] = (await host.store.listNotices({ campaignId })).items;
      return n?.state === 'sent' && n.taskToken !== undefined && n;
    });
    const before = await scrape();
    expect(before.status).toBe(200);
    expect(before.type).toContain('text/plain');
    expect(sample(before.text, 'takedown_messages_sent_total{kind="notice"}')).toBe(1);
    expect(sample(before.text, 'takedown_campaigns_submitted_total{format="csv"}')).toBe(1);
    expect(sample(before.text, 'takedown_notices{state="sent"}')).toBe(1);
    expect(sample(before.text, 'takedown_send_duration_seconds_count{outcome="sent"}')).toBe(1);
    expect(sample(before.text, 'takedown_review_queue_open')).toBe(0);

    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'acknowledged', note: 'looking into it' });
    const after = await scrape();
    expect(sample(after.text, 'takedown_answers_total{intent="acknowledged",source="api"}')).toBe(1);
  });

  it('is refused without a key', async () => {
    expect((await scrape(null)).status).toBe(401);
  });
});

describe('the counters', () => {
  it('count a refused send and time it', async () => {
    const metrics = new PrometheusMetrics({ store: host.store, processMetrics: false });
    const refusing: Mailer = { compose: async () => '', sendRaw: async () => Promise.reject(new MailRejectedError('550 no such user')) };
    await expect(metrics.timed(refusing).sendRaw({ from: 'a@example.org', to: 'b@example.org' }, 'raw')).rejects.toThrow(MailRejectedError);
    const text = await metrics.text();
    expect(sample(text, 'takedown_messages_refused_total{reason="rejected"}')).toBe(1);
    expect(sample(text, 'takedown_send_duration_seconds_count{outcome="rejected"}')).toBe(1);
  });

  it('read escalations, probes and takedowns from their events, and nothing from the others', () => {
    const ev = (type: string, data: Record<string, unknown> = {}) => ({ type, data });
    expect(countersOf(ev('case.escalated', { next: 'cert:KE' }))).toEqual([{ name: 'escalations', labels: { outcome: 'escalated' } }]);
    expect(countersOf(ev('case.expired'))).toEqual([{ name: 'escalations', labels: { outcome: 'expired' } }]);
    expect(countersOf(ev('probe.result', { verdict: 'down', method: 'http', phase: 'verify' }))).toEqual([{ name: 'probes', labels: { verdict: 'down', method: 'http', phase: 'verify' } }]);
    expect(countersOf(ev('case.verified-down'))).toEqual([{ name: 'takedowns_verified', labels: {} }]);
    // a label is never a free text that could carry an id or a body
    expect(countersOf(ev('answer.received', { intent: 'x'.repeat(200), source: 'api' }))[0]!.labels.intent).toBe('unknown');
    expect(countersOf(ev('routing.sources'))).toEqual([]);
  });
});

describe('Powertools on Lambda', () => {
  /** What Powertools wrote (its own Console over stdout and stderr) while `run` ran, one record a line. */
  async function captureStdout(run: () => Promise<void> | void): Promise<string[]> {
    const lines: string[] = [];
    const capture = (chunk: string | Uint8Array) => {
      lines.push(...String(chunk).split('\n').filter(Boolean));
      return true;
    };
    const spies = [vi.spyOn(process.stdout, 'write').mockImplementation(capture), vi.spyOn(process.stderr, 'write').mockImplementation(capture)];
    try {
      await run();
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    return lines;
  }

  it('write each audit-event counter as a CloudWatch EMF record with its labels as dimensions', async () => {
    const lines = await captureStdout(() => {
      const o = lambdaObservability();
      emfEventCounter(o.metrics)({ type: 'answer.received', data: { intent: 'actioned', source: 'webhook' } } as unknown as AuditEvent);
    });
    const emf = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((r) => '_aws' in r)!;
    const directive = (emf._aws as { CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] }).CloudWatchMetrics[0]!;
    expect(directive.Namespace).toBe('Takedown');
    expect(directive.Metrics).toEqual([{ Name: 'answers', Unit: 'Count' }]);
    expect(directive.Dimensions[0]).toEqual(expect.arrayContaining(['service', 'intent', 'source']));
    expect(emf).toMatchObject({ answers: 1, intent: 'actioned', source: 'webhook', service: 'takedown' });
  });

  it('run a handler with the invocation in every log record and flush the metrics even when it fails', async () => {
    // what Lambda sets in a container started for a request: Powertools reports a cold start only then
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    const o = lambdaObservability();
    const context = { functionName: 'takedown-SendNotice', awsRequestId: 'req-1', invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:takedown-SendNotice', memoryLimitInMB: '512' } as unknown as Context;
    const failing = observedHandler('SendNotice', o, async () => {
      o.logger.error('task failed', { noticeId: 'n0123456789abcdef' });
      o.metrics.addMetric('failures', 'Count', 1);
      throw new Error('boom');
    });
    const lines = await captureStdout(async () => {
      await expect(failing({}, context)).rejects.toThrow('boom');
    });
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const metricNames = records.flatMap((r) => ((r._aws as { CloudWatchMetrics?: { Metrics: { Name: string }[] }[] } | undefined)?.CloudWatchMetrics ?? []).flatMap((d) => d.Metrics.map((m) => m.Name)));
    expect(metricNames).toEqual(expect.arrayContaining(['ColdStart', 'failures']));
    const logged = records.find((r) => r.message === 'task failed')!;
    expect(logged).toMatchObject({ function_request_id: 'req-1', notice: 'n0123456789abcdef', service: 'takedown' });
    vi.unstubAllEnvs();
  });
});
