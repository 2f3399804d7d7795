/**
 * The log record both hosts write, whatever library writes it (pino on the embedded host, Powertools Logger on
 * Lambda): the same keys for the same ids, and nothing secret. A field named like a secret or a message body is
 * replaced, at every level and every depth, and so is any value that looks like one of our credentials, whatever
 * its field is called: a log line is read by more people than the data it describes.
 */

/** What a redacted value is replaced with. */
export const REDACTED = '[redacted]';

/** The service name every log record and metric carries. */
export const SERVICE_NAME = 'takedown';

/** The CloudWatch namespace of every metric the AWS host writes (here, not in metrics/powertools.ts, so the CDK app can name it without loading Powertools). */
export const METRICS_NAMESPACE = 'Takedown';

// names of fields that hold a secret or a message's content (matched whole, case-insensitive)
const SECRET_FIELD = /^(?:.*token|.*secret|.*password|.*passwd|.*api[-_]?key|.*auth[-_]?key|authorization|.*cookie|.*signature|credentials?|body|raw|text|html|content|payload)$/i;

// values that are credentials whatever their field: our API keys, bearer and basic headers
const SECRET_VALUE = /(?:\btkd_[A-Za-z0-9_-]{20,}|\b(?:Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,})/;

// the ids every record names the same way, whatever a caller called them
const ID_FIELDS: Readonly<Record<string, string>> = { campaignId: 'campaign', noticeId: 'notice', caseId: 'case' };

const MAX_DEPTH = 4;

function clean(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return SECRET_VALUE.test(value) ? REDACTED : value;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return { name: value.name };
  if (depth >= MAX_DEPTH) return '[nested]';
  if (Array.isArray(value)) return value.slice(0, 50).map((v) => clean(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_FIELD.test(k) ? REDACTED : clean(v, depth + 1);
  return out;
}

/** The fields of a log call as both hosts write them: ids under their shared names, secrets and bodies redacted. */
export function logFields(fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields ?? {})) {
    if (value === undefined) continue;
    const name = ID_FIELDS[key] ?? key;
    out[name] = SECRET_FIELD.test(name) ? REDACTED : clean(value, 1);
  }
  return out;
}
