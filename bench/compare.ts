import { readFileSync } from 'node:fs';
import { table } from '../lib/local/cli/shared/terminal.js';

/**
 * The figures issue #17 ("Fast where it counts") holds the bench to, one number each, from a run's JSON
 * (`npm run bench -- --json`): what `--compare <previous.json>` prints side by side. A figure a run left out
 * (TAKEDOWN_BENCH_AWS=0 ...) is missing, not zero.
 */
export interface HeadlineFigure {
  readonly label: string;
  readonly value: number;
  readonly unit: string;
  /** which way is better */
  readonly better: 'higher' | 'lower';
  /** the bar, when the issue sets one */
  readonly target?: number;
}

export type Headline = Record<string, HeadlineFigure>;

/** The headline figures of a run's JSON (the shape bench/run.ts writes); the fields a run lacks are left out. */
export function headlineOf(run: any): Headline {
  const out: Headline = {};
  const put = (key: string, label: string, value: unknown, unit: string, better: 'higher' | 'lower', target?: number) => {
    if (typeof value === 'number' && Number.isFinite(value)) out[key] = { label, value, unit, better, ...(target === undefined ? {} : { target }) };
  };
  put('intakeRouting', 'intake + routing, 20,674 indicators', run?.intakeRouting?.indicatorsPerSecond, 'indicators/s', 'higher', 20_000);
  put('sending', 'sending', run?.sending?.noticesPerSecond, 'notices/s', 'higher');
  put('ceiling', 'raw SMTP ceiling, same run', run?.ceiling?.messagesPerSecond, 'messages/s', 'higher');
  put('sendingShare', 'sending / ceiling', run?.sendingShareOfCeiling?.percent, '%', 'higher', 50);
  put('cpuPerNotice', 'CPU per notice sent', run?.sending?.cpuMsPerNotice, 'ms', 'lower');
  put('cpuPerMessage', 'CPU per raw message', run?.ceiling?.cpuMsPerMessage, 'ms', 'lower');
  put('peakRss', 'peak RSS, the campaign', run?.memory?.peakRssMb, 'MB', 'lower', 512);
  for (const c of run?.intakeScale?.cases ?? []) {
    const kind = c.case === 'stored-csv' ? 'CSV' : c.case === 'stored-stix' ? 'STIX' : c.case;
    put(`routing200k-${kind}`, `200k routing after intake, ${kind}`, c.routingSeconds, 's', 'lower', 10);
    put(`peakRss200k-${kind}`, `peak RSS, 200k ${kind}`, c.peakRssMb, 'MB', 'lower', 512);
  }
  put('auditAppendOne', 'audit append, one at a time', run?.audit?.appendsPerSecond, 'events/s', 'higher');
  put('auditAppend', `audit append, ${run?.audit?.appenders ?? 64} in flight`, run?.audit?.concurrentAppendsPerSecond, 'events/s', 'higher', 20_000);
  put('auditAppendBatched', `audit append, batches of ${run?.audit?.batch ?? 10}`, run?.audit?.batchedAppendsPerSecond, 'events/s', 'higher');
  put('rdapLookups', 'RDAP lookups per network', run?.rdap?.lookupsPerNetwork, '', 'lower', 1);
  put('startHelp', 'start-up, `takedown --help`', run?.startup?.helpSeconds, 's', 'lower', 0.4);
  put('startStatus', 'start-up, `takedown status`', run?.startup?.statusSeconds, 's', 'lower', 0.4);
  put('awsRequests', 'AWS: DynamoDB requests per indicator', run?.aws?.dynamoRequestsPerIndicator, '', 'lower');
  put('awsWriteUnits', 'AWS: DynamoDB write units per indicator', run?.aws?.writeUnitsPerIndicator, '', 'lower');
  put('awsInvocations', 'AWS: Lambda invocations per notice', run?.aws?.lambdaInvocationsPerNotice, '', 'lower');
  put('awsCost', 'AWS: cost per notice', run?.aws?.cost?.perNotice, '$', 'lower');
  // a run's JSON may carry figures measured elsewhere (the baseline from the issue): they are kept as given
  for (const [key, f] of Object.entries<HeadlineFigure>(run?.headline ?? {})) if (!(key in out)) out[key] = f;
  return out;
}

/** The JSON of a run (stdout of `npm run bench -- --json`, npm's own header lines allowed before it). */
export function readRun(file: string): any {
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf('{');
  if (start < 0) throw new Error(`${file} holds no JSON`);
  try {
    return JSON.parse(text.slice(start));
  } catch (e) {
    throw new Error(`${file} is not the JSON of a bench run: ${(e as Error).message}`);
  }
}

const show = (f: HeadlineFigure | undefined): string => {
  if (!f) return '-';
  const v = Math.abs(f.value);
  // small amounts (a cost per notice) by their first significant digits, not rounded to nothing
  const text = v > 0 && v < 0.1 ? f.value.toPrecision(2) : f.value.toLocaleString('en-US', { maximumFractionDigits: v >= 100 ? 0 : v >= 10 ? 1 : 2 });
  return f.unit === '$' ? `$${text}` : `${text}${f.unit ? ` ${f.unit}` : ''}`;
};

/** Before and after side by side: every figure either run has, the change, and whether the after meets its bar. */
export function compareText(before: Headline, after: Headline, names: { before: string; after: string }): string {
  const keys = [...new Set([...Object.keys(after), ...Object.keys(before)])];
  const rows = keys.map((key) => {
    const a = after[key];
    const b = before[key];
    const f = a ?? b!;
    const change = a && b && b.value !== 0 ? `${a.value >= b.value ? '+' : ''}${(((a.value - b.value) / Math.abs(b.value)) * 100).toFixed(0)} %` : '';
    const bar = f.target === undefined ? '' : `${f.better === 'higher' ? '>=' : '<='} ${f.target.toLocaleString('en-US')}`;
    const met = !a || f.target === undefined ? '' : (f.better === 'higher' ? a.value >= f.target : a.value <= f.target) ? 'yes' : 'NO';
    return [f.label, show(b), show(a), change, bar, met];
  });
  return table([`figure`, `before (${names.before})`, `after (${names.after})`, 'change', 'target', 'met'], rows);
}
