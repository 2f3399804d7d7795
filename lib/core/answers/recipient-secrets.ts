import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { AlreadyExistsError, InvalidInputError, NotFoundError, StaleWriteError } from '../errors.js';
import type { Clock, Store, StoredRecord } from '../ports.js';
import type { SecretBox } from '../ports.js';

/**
 * Each recipient's webhook secret (a recipient is a party id, `Notice.party.id`), sealed at rest: an HMAC key
 * must be read back in the clear to check a signature, so it is encrypted (SecretBox), never hashed. The
 * plaintext leaves this module only at creation and rotation, for the operator to hand to the recipient once.
 */

export const RECIPIENT_SECRET_KIND = 'webhook-secret';
/** how long the secret a rotation replaces still verifies, so the recipient can switch without losing answers */
export const DEFAULT_ROTATION_GRACE_SECONDS = 24 * 3600;

/** What these commands use: the store, the time (wall-clock time: a sender's clock is real) and the SecretBox. */
export interface SecretDeps {
  readonly store: Store;
  readonly clock: Clock;
  readonly secrets: SecretBox;
}

/** A party id as routing makes them (`hosting:192.0.2.0/24`, `registrar:example`, `cert:KE`). */
export const RecipientId = z
  .string()
  .max(300)
  .regex(/^[a-z][a-z0-9-]*:\S+$/, 'a recipient is a party id such as hosting:192.0.2.0/24 or cert:KE');

const Sealed = z.object({ sealed: z.string().min(1), createdAt: z.string() });
const StoredSecret = z.object({
  recipient: z.string(),
  current: Sealed,
  previous: Sealed.extend({ validUntil: z.string() }).optional(),
});
type StoredSecret = z.infer<typeof StoredSecret>;

/** A secret as shown once, to be handed to the recipient. */
export interface IssuedSecret {
  readonly recipient: string;
  /** `whsec_` + base64 of 32 random bytes, as Standard Webhooks writes secrets */
  readonly secret: string;
  readonly createdAt: string;
  /** after a rotation: until when the replaced secret still verifies */
  readonly previousValidUntil?: string;
}

/** What `list` shows of a recipient's secret: never the secret. */
export interface RecipientSecretInfo {
  readonly recipient: string;
  readonly createdAt: string;
  /** present while a replaced secret still verifies */
  readonly previousValidUntil?: string;
}

function recipientOf(raw: string): string {
  const parsed = RecipientId.safeParse(raw);
  if (!parsed.success) throw new InvalidInputError('the recipient is not valid', parsed.error.issues.map((i) => ({ where: 'recipient', reason: i.message })));
  return parsed.data;
}

function newSecret(): string {
  return `whsec_${randomBytes(32).toString('base64')}`;
}

function parseStored(record: StoredRecord): StoredSecret {
  return StoredSecret.parse(JSON.parse(record.value));
}

/** What a recipient's secret is sealed for: it opens for that recipient only. */
function contextOf(recipient: string): string {
  return `${RECIPIENT_SECRET_KIND}:${recipient}`;
}

function record(recipient: string, value: StoredSecret, version: number): StoredRecord {
  return { kind: RECIPIENT_SECRET_KIND, key: recipient, value: JSON.stringify(value), version };
}

/** Creates the first webhook secret of a recipient; AlreadyExistsError when it has one (rotate it instead). */
export async function createRecipientSecret(deps: SecretDeps, recipient: string): Promise<IssuedSecret> {
  const id = recipientOf(recipient);
  const secret = newSecret();
  const createdAt = deps.clock.now().toISOString();
  const value: StoredSecret = { recipient: id, current: { sealed: await deps.secrets.seal(secret, contextOf(id)), createdAt } };
  try {
    await deps.store.putRecord(record(id, value, 1), 'absent');
  } catch (e) {
    if (e instanceof AlreadyExistsError) throw new AlreadyExistsError('webhook-secret', id);
    throw e;
  }
  return { recipient: id, secret, createdAt };
}

/**
 * Replaces a recipient's secret. The replaced one keeps verifying for `graceSeconds` (default 24 h) so the
 * recipient's ticket system can switch without a refused answer; a secret replaced before is dropped at once.
 */
export async function rotateRecipientSecret(deps: SecretDeps, recipient: string, options: { graceSeconds?: number } = {}): Promise<IssuedSecret> {
  const id = recipientOf(recipient);
  const grace = options.graceSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS;
  if (!Number.isInteger(grace) || grace < 0 || grace > 30 * 24 * 3600) {
    throw new InvalidInputError('the grace period is not valid', [{ where: 'grace', reason: 'whole seconds from 0 to 30 days' }]);
  }
  const found = await deps.store.getRecord(RECIPIENT_SECRET_KIND, id);
  if (!found) throw new NotFoundError('webhook-secret', id);
  const stored = parseStored(found);
  const now = deps.clock.now();
  const secret = newSecret();
  const createdAt = now.toISOString();
  const validUntil = new Date(now.getTime() + grace * 1000).toISOString();
  const value: StoredSecret = {
    recipient: id,
    current: { sealed: await deps.secrets.seal(secret, contextOf(id)), createdAt },
    ...(grace > 0 ? { previous: { ...stored.current, validUntil } } : {}),
  };
  // conditional on the version read: of two rotations at once one wins, and the other is told (StaleWriteError)
  await deps.store.putRecord(record(id, value, found.version + 1), found.version);
  return { recipient: id, secret, createdAt, ...(grace > 0 ? { previousValidUntil: validUntil } : {}) };
}

/** Every recipient with a webhook secret, in recipient order, without the secrets. */
export async function listRecipientSecrets(deps: Pick<SecretDeps, 'store' | 'clock'>): Promise<RecipientSecretInfo[]> {
  const now = deps.clock.now().toISOString();
  const out: RecipientSecretInfo[] = [];
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords(RECIPIENT_SECRET_KIND, { limit: 500, ...(after ? { after } : {}) });
    for (const r of page.items) {
      const s = parseStored(r);
      out.push({
        recipient: s.recipient,
        createdAt: s.current.createdAt,
        ...(s.previous && s.previous.validUntil > now ? { previousValidUntil: s.previous.validUntil } : {}),
      });
    }
    after = page.next;
  } while (after);
  return out;
}

/** The secrets a signature of this recipient may be made with now: the current one, and a replaced one in its grace period. */
export async function validRecipientSecrets(deps: SecretDeps, recipient: string): Promise<string[]> {
  const found = await deps.store.getRecord(RECIPIENT_SECRET_KIND, recipient);
  if (!found) return [];
  const stored = parseStored(found);
  // the record's key is whose secret it is: a record whose body names someone else was moved, and opens for nobody
  if (stored.recipient !== recipient) return [];
  const now = deps.clock.now().toISOString();
  const sealed = [stored.current.sealed, ...(stored.previous && stored.previous.validUntil > now ? [stored.previous.sealed] : [])];
  const secrets = await Promise.all(sealed.map((s) => deps.secrets.open(s, contextOf(recipient))));
  if (!sealed.every((s) => deps.secrets.bound(s))) await resealBound(deps, found, stored, secrets);
  return secrets;
}

/** Seal again, bound to its recipient, a secret sealed before values were bound; a concurrent change wins. */
async function resealBound(deps: SecretDeps, found: StoredRecord, stored: StoredSecret, plaintexts: readonly string[]): Promise<void> {
  const context = contextOf(stored.recipient);
  const value: StoredSecret = {
    ...stored,
    current: { ...stored.current, sealed: deps.secrets.bound(stored.current.sealed) ? stored.current.sealed : await deps.secrets.seal(plaintexts[0]!, context) },
    ...(stored.previous
      ? { previous: { ...stored.previous, sealed: deps.secrets.bound(stored.previous.sealed) || plaintexts[1] === undefined ? stored.previous.sealed : await deps.secrets.seal(plaintexts[1], context) } }
      : {}),
  };
  try {
    await deps.store.putRecord(record(stored.recipient, value, found.version + 1), found.version);
  } catch (e) {
    if (!(e instanceof StaleWriteError)) throw e;
  }
}
