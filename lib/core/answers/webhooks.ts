import { createHmac, timingSafeEqual } from 'node:crypto';
import { AlreadyExistsError, StaleWriteError, TakedownError } from '../errors.js';
import { validRecipientSecrets, type SecretDeps } from './recipient-secrets.js';

/**
 * Standard Webhooks (standardwebhooks.com) verification of recipients' answers: `webhook-id`,
 * `webhook-timestamp` and `webhook-signature` headers, HMAC-SHA256 over `id.timestamp.body` keyed with the
 * base64 bytes after `whsec_`, several signatures per request (one per secret while a rotation is in grace).
 */

/** how far a sender's timestamp may be from ours, either way */
export const WEBHOOK_TOLERANCE_SECONDS = 5 * 60;
/** how long a verified webhook-id is remembered: longer than the tolerance, so a replay is stale or known */
export const WEBHOOK_REPLAY_WINDOW_SECONDS = 10 * 60;
export const WEBHOOK_SEEN_KIND = 'webhook-seen';

// the id becomes the answer's idempotency key, which allows these characters only
const WEBHOOK_ID = /^[A-Za-z0-9._:-]{1,100}$/;
const MAX_SIGNATURES = 10;

export type WebhookRefusal = 'unsigned' | 'stale' | 'bad-signature' | 'replayed';

const CODES: Readonly<Record<WebhookRefusal, string>> = {
  unsigned: 'WEBHOOK.UNSIGNED',
  stale: 'WEBHOOK.STALE',
  'bad-signature': 'WEBHOOK.BAD_SIGNATURE',
  replayed: 'WEBHOOK.REPLAYED',
};

/** A webhook that does not prove it comes from the recipient, now and once (HTTP 401). */
export class WebhookRefusedError extends TakedownError {
  readonly reason: WebhookRefusal;
  constructor(reason: WebhookRefusal, message: string) {
    super(CODES[reason], message);
    this.name = 'WebhookRefusedError';
    this.reason = reason;
  }
}

/** The three headers and the body exactly as received (the signature covers the bytes, not the JSON). */
export interface WebhookRequest {
  readonly id: string | undefined;
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: string;
}

export interface VerifiedWebhook {
  readonly id: string;
  /** the sender's time, seconds since the epoch */
  readonly timestamp: number;
}

function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret, 'base64');
}

/** The `webhook-signature` entry for a body: `v1,<base64 HMAC-SHA256 of id.timestamp.body>`. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  return `v1,${createHmac('sha256', keyOf(secret)).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

/**
 * Checks the headers, the timestamp (within `toleranceSeconds` of `now`) and that some v1 signature was made
 * with one of `secrets`, comparing in constant time. Pure: remembers nothing (see verifyWebhook).
 */
export function checkWebhookSignature(
  secrets: readonly string[],
  req: WebhookRequest,
  now: Date,
  toleranceSeconds = WEBHOOK_TOLERANCE_SECONDS,
): VerifiedWebhook {
  if (!req.id || !req.timestamp || !req.signature) {
    throw new WebhookRefusedError('unsigned', 'webhook-id, webhook-timestamp and webhook-signature headers are required');
  }
  if (!WEBHOOK_ID.test(req.id)) throw new WebhookRefusedError('unsigned', 'webhook-id must be 1 to 100 of A-Z a-z 0-9 . _ : -');
  if (!/^\d{1,12}$/.test(req.timestamp)) throw new WebhookRefusedError('unsigned', 'webhook-timestamp must be whole seconds since the epoch');
  const timestamp = Number(req.timestamp);
  if (Math.abs(now.getTime() / 1000 - timestamp) > toleranceSeconds) {
    throw new WebhookRefusedError('stale', `webhook-timestamp is more than ${toleranceSeconds} seconds from our time`);
  }
  const offered = req.signature
    .split(' ')
    .filter((s) => s.startsWith('v1,'))
    .slice(0, MAX_SIGNATURES)
    .map((s) => Buffer.from(s.slice(3), 'base64'));
  const signed = Buffer.from(`${req.id}.${req.timestamp}.${req.body}`, 'utf8');
  for (const secret of secrets) {
    const expected = createHmac('sha256', keyOf(secret)).update(signed).digest();
    for (const candidate of offered) {
      if (candidate.length === expected.length && timingSafeEqual(candidate, expected)) return { id: req.id, timestamp };
    }
  }
  throw new WebhookRefusedError('bad-signature', 'no signature verifies with the recipient\'s secret');
}

function seenKey(recipient: string, id: string): string {
  // neither part holds a space (see RecipientId and WEBHOOK_ID)
  return `${recipient} ${id}`;
}

/**
 * Verifies a recipient's webhook (see checkWebhookSignature) and remembers its id, so the same delivery
 * replayed is refused ('replayed'). `deps.clock` must be wall-clock time: senders stamp real time.
 */
export async function verifyWebhook(
  deps: SecretDeps,
  recipient: string,
  req: WebhookRequest,
  options: { toleranceSeconds?: number } = {},
): Promise<VerifiedWebhook> {
  const now = deps.clock.now();
  const verified = checkWebhookSignature(await validRecipientSecrets(deps, recipient), req, now, options.toleranceSeconds);
  // remembered only once verified: a forger cannot burn a recipient's ids
  const seen = {
    kind: WEBHOOK_SEEN_KIND,
    key: seenKey(recipient, verified.id),
    value: JSON.stringify({ at: now.toISOString() }),
    version: 1,
    expiresAt: new Date(now.getTime() + WEBHOOK_REPLAY_WINDOW_SECONDS * 1000).toISOString(),
  };
  try {
    await deps.store.putRecord(seen, 'absent');
  } catch (e) {
    if (!(e instanceof AlreadyExistsError)) throw e;
    // a store without a TTL sweep keeps expired marks: one past its window no longer counts
    const old = await deps.store.getRecord(WEBHOOK_SEEN_KIND, seen.key);
    if (old && (!old.expiresAt || old.expiresAt >= now.toISOString())) {
      throw new WebhookRefusedError('replayed', 'this webhook-id was received before');
    }
    try {
      if (old) await deps.store.putRecord({ ...seen, version: old.version + 1 }, old.version);
      else await deps.store.putRecord(seen, 'absent');
    } catch (again) {
      if (again instanceof StaleWriteError || again instanceof AlreadyExistsError) throw new WebhookRefusedError('replayed', 'this webhook-id was received before');
      throw again;
    }
  }
  return verified;
}

/**
 * Forgets a verified webhook-id whose answer could not be applied (a failure on our side, an invalid body),
 * so the sender's retry of the same delivery is not refused as a replay.
 */
export async function forgetWebhook(deps: Pick<SecretDeps, 'store'>, recipient: string, id: string): Promise<void> {
  await deps.store.deleteRecord(WEBHOOK_SEEN_KIND, seenKey(recipient, id));
}
