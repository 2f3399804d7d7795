import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, EncryptCommand, type DecryptCommandOutput, type EncryptCommandOutput } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AlreadyExistsError, NotFoundError } from '../../lib/core/errors.js';
import {
  createRecipientSecret,
  listRecipientSecrets,
  RECIPIENT_SECRET_KIND,
  rotateRecipientSecret,
  type SecretDeps,
} from '../../lib/core/answers/recipient-secrets.js';
import { SecretBoxError } from '../../lib/core/errors.js';
import { checkWebhookSignature, forgetWebhook, signWebhook, verifyWebhook, WebhookRefusedError, type WebhookRequest } from '../../lib/core/answers/webhooks.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { KeyFileSecretBox } from '../../lib/adapters/secrets/keyfile.js';
import { KmsSecretBox, type KmsClientLike } from '../../lib/adapters/secrets/kms.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';

// the test vector published with the Standard Webhooks reference libraries: a receiver that reproduces it
// verifies what any Standard Webhooks sender library signs
const VECTOR = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  timestamp: 1614265330,
  body: '{"test": 2432232314}',
  signature: 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=',
};

let dir: string;
let store: SqliteStore;
let box: KeyFileSecretBox;
const T0 = Date.parse('2026-03-02T10:00:00Z');

/** The system clock's code, stopped at a chosen real time. */
function clockAt(ms: number): ScaledClock {
  return new ScaledClock({ realNow: () => ms });
}

function depsAt(ms: number): SecretDeps {
  return { store, clock: clockAt(ms), secrets: box };
}

function signed(secret: string, id: string, atMs: number, body: string): WebhookRequest {
  const ts = Math.floor(atMs / 1000);
  return { id, timestamp: String(ts), signature: signWebhook(secret, id, ts, body), body };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-webhooks-'));
  store = new SqliteStore(join(dir, 'takedown.db'));
  box = new KeyFileSecretBox(join(dir, 'keys', 'secret.key'));
});
afterAll(() => {
  store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('signWebhook', () => {
  it('reproduces the Standard Webhooks reference signature', () => {
    expect(signWebhook(VECTOR.secret, VECTOR.id, VECTOR.timestamp, VECTOR.body)).toBe(VECTOR.signature);
  });
});

describe('checkWebhookSignature', () => {
  const vectorRequest = (over: Partial<WebhookRequest> = {}): WebhookRequest => ({
    id: VECTOR.id,
    timestamp: String(VECTOR.timestamp),
    signature: VECTOR.signature,
    body: VECTOR.body,
    ...over,
  });
  const vectorTime = new Date(VECTOR.timestamp * 1000);
  const refusal = (fn: () => unknown): string | undefined => {
    try {
      fn();
      return undefined;
    } catch (e) {
      return e instanceof WebhookRefusedError ? e.reason : `unexpected ${String(e)}`;
    }
  };

  it('accepts the reference request at its own time', () => {
    expect(checkWebhookSignature([VECTOR.secret], vectorRequest(), vectorTime)).toEqual({ id: VECTOR.id, timestamp: VECTOR.timestamp });
  });

  it('accepts a request whose signatures include one valid among others', () => {
    const req = vectorRequest({ signature: `v1,bm9wZQ== v1a,c29tZXRoaW5n ${VECTOR.signature}` });
    expect(checkWebhookSignature([VECTOR.secret], req, vectorTime).id).toBe(VECTOR.id);
  });

  it('refuses a signature made with another secret', () => {
    expect(refusal(() => checkWebhookSignature(['whsec_' + Buffer.alloc(32, 7).toString('base64')], vectorRequest(), vectorTime))).toBe('bad-signature');
  });

  it('refuses a body changed by one character', () => {
    expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest({ body: '{"test": 2432232315}' }), vectorTime))).toBe('bad-signature');
  });

  it('refuses a signature of the wrong length without comparing it', () => {
    expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest({ signature: 'v1,AAAA' }), vectorTime))).toBe('bad-signature');
  });

  it('refuses a timestamp more than five minutes away, either way', () => {
    expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest(), new Date(vectorTime.getTime() + 301_000)))).toBe('stale');
    expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest(), new Date(vectorTime.getTime() - 301_000)))).toBe('stale');
    expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest(), new Date(vectorTime.getTime() + 299_000)))).toBeUndefined();
  });

  it('refuses a request without one of its headers', () => {
    for (const missing of ['id', 'timestamp', 'signature'] as const) {
      expect(refusal(() => checkWebhookSignature([VECTOR.secret], vectorRequest({ [missing]: undefined }), vectorTime))).toBe('unsigned');
    }
  });

  it('refuses a recipient that has no secret', () => {
    expect(refusal(() => checkWebhookSignature([], vectorRequest(), vectorTime))).toBe('bad-signature');
  });
});

describe('verifyWebhook', () => {
  const recipient = 'hosting:192.0.2.0/24';
  let secret: string;

  beforeAll(async () => {
    secret = (await createRecipientSecret(depsAt(T0), recipient)).secret;
  });

  it('accepts a request signed with the recipient\'s secret and refuses its id a second time', async () => {
    const first = signed(secret, 'msg_once', T0, '{"noticeId":"n1"}');
    await expect(verifyWebhook(depsAt(T0), recipient, first)).resolves.toMatchObject({ id: 'msg_once' });
    await expect(verifyWebhook(depsAt(T0 + 1000), recipient, first)).rejects.toMatchObject({ reason: 'replayed' });
    // freshly signed, same id: still the same delivery
    await expect(verifyWebhook(depsAt(T0 + 2000), recipient, signed(secret, 'msg_once', T0 + 2000, '{"noticeId":"n1"}'))).rejects.toMatchObject({ reason: 'replayed' });
  });

  it('remembers nothing of a forged request, so the genuine one with that id still passes', async () => {
    const forged = signed('whsec_' + Buffer.alloc(32, 1).toString('base64'), 'msg_forged_first', T0, '{}');
    await expect(verifyWebhook(depsAt(T0), recipient, forged)).rejects.toMatchObject({ reason: 'bad-signature' });
    await expect(verifyWebhook(depsAt(T0), recipient, signed(secret, 'msg_forged_first', T0, '{}'))).resolves.toMatchObject({ id: 'msg_forged_first' });
  });

  it('keeps the ids of one recipient apart from another\'s', async () => {
    const other = 'registrar:example';
    const otherSecret = (await createRecipientSecret(depsAt(T0), other)).secret;
    await verifyWebhook(depsAt(T0), recipient, signed(secret, 'msg_shared', T0, '{}'));
    await expect(verifyWebhook(depsAt(T0), other, signed(otherSecret, 'msg_shared', T0, '{}'))).resolves.toMatchObject({ id: 'msg_shared' });
  });

  it('accepts an id again once its replay window has passed and it is fresh', async () => {
    await verifyWebhook(depsAt(T0), recipient, signed(secret, 'msg_later', T0, '{}'));
    const later = T0 + 11 * 60_000;
    await expect(verifyWebhook(depsAt(later), recipient, signed(secret, 'msg_later', later, '{}'))).resolves.toMatchObject({ id: 'msg_later' });
  });

  it('accepts an id again after forgetWebhook (an answer that was not applied)', async () => {
    await verifyWebhook(depsAt(T0), recipient, signed(secret, 'msg_retry', T0, '{}'));
    await forgetWebhook({ store }, recipient, 'msg_retry');
    await expect(verifyWebhook(depsAt(T0 + 5000), recipient, signed(secret, 'msg_retry', T0 + 5000, '{}'))).resolves.toMatchObject({ id: 'msg_retry' });
  });
});

describe('rotateRecipientSecret', () => {
  const recipient = 'cert:KE';
  const hour = 3600_000;

  it('lets the old and the new secret verify during the grace period, and only the new one after', async () => {
    const old = (await createRecipientSecret(depsAt(T0), recipient)).secret;
    const rotated = await rotateRecipientSecret(depsAt(T0 + hour), recipient);
    expect(rotated.secret).not.toBe(old);
    expect(rotated.previousValidUntil).toBe(new Date(T0 + 25 * hour).toISOString());

    const inGrace = T0 + 24 * hour;
    await expect(verifyWebhook(depsAt(inGrace), recipient, signed(old, 'msg_old_in_grace', inGrace, '{}'))).resolves.toBeDefined();
    await expect(verifyWebhook(depsAt(inGrace), recipient, signed(rotated.secret, 'msg_new_in_grace', inGrace, '{}'))).resolves.toBeDefined();
    // a sender in the middle of switching signs with both
    const both = { ...signed(old, 'msg_both', inGrace, '{}') };
    const withNew = signed(rotated.secret, 'msg_both', inGrace, '{}');
    await expect(verifyWebhook(depsAt(inGrace), recipient, { ...both, signature: `${both.signature} ${withNew.signature}` })).resolves.toBeDefined();

    const after = T0 + 25 * hour + 1000;
    await expect(verifyWebhook(depsAt(after), recipient, signed(old, 'msg_old_after', after, '{}'))).rejects.toMatchObject({ reason: 'bad-signature' });
    await expect(verifyWebhook(depsAt(after), recipient, signed(rotated.secret, 'msg_new_after', after, '{}'))).resolves.toBeDefined();
  });

  it('drops a secret replaced twice, and with no grace drops the replaced one at once', async () => {
    const r = 'cert:GH';
    const first = (await createRecipientSecret(depsAt(T0), r)).secret;
    const second = (await rotateRecipientSecret(depsAt(T0), r)).secret;
    const third = (await rotateRecipientSecret(depsAt(T0), r, { graceSeconds: 0 })).secret;
    for (const [s, id] of [[first, 'a'], [second, 'b']] as const) {
      await expect(verifyWebhook(depsAt(T0), r, signed(s, `msg_${id}`, T0, '{}'))).rejects.toMatchObject({ reason: 'bad-signature' });
    }
    await expect(verifyWebhook(depsAt(T0), r, signed(third, 'msg_c', T0, '{}'))).resolves.toBeDefined();
  });

  it('refuses to rotate a secret that does not exist, and to create one twice', async () => {
    await expect(rotateRecipientSecret(depsAt(T0), 'cert:ZZ')).rejects.toBeInstanceOf(NotFoundError);
    await createRecipientSecret(depsAt(T0), 'cert:NG');
    await expect(createRecipientSecret(depsAt(T0), 'cert:NG')).rejects.toBeInstanceOf(AlreadyExistsError);
  });
});

describe('recipient secrets at rest', () => {
  it('keeps the key file private and stores the secret sealed, never in the clear', async () => {
    const issued = await createRecipientSecret(depsAt(T0), 'upstream:AS64500');
    expect(issued.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(issued.secret.slice(6), 'base64')).toHaveLength(32);
    expect(statSync(join(dir, 'keys', 'secret.key')).mode & 0o077).toBe(0);

    const record = await store.getRecord(RECIPIENT_SECRET_KIND, 'upstream:AS64500');
    const bare = issued.secret.slice('whsec_'.length);
    expect(record?.value).toBeDefined();
    expect(record!.value).not.toContain(bare);
    expect(record!.value).not.toContain(Buffer.from(bare, 'base64').toString('hex'));
    for (const file of ['takedown.db', 'takedown.db-wal'].filter((f) => existsSync(join(dir, f)))) {
      const bytes = readFileSync(join(dir, file), { flag: 'r' }).toString('latin1');
      expect(bytes).not.toContain(bare);
    }
    const listed = JSON.stringify(await listRecipientSecrets(depsAt(T0)));
    expect(listed).toContain('upstream:AS64500');
    expect(listed).not.toContain(bare);
  });

  it('opens a sealed value only with the key it was sealed under, and refuses an altered one', async () => {
    const sealed = await box.seal('whsec_c2VjcmV0', 'webhook-secret:cert:KE');
    expect(await box.open(sealed, 'webhook-secret:cert:KE')).toBe('whsec_c2VjcmV0');
    const otherBox = new KeyFileSecretBox(join(dir, 'other', 'secret.key'));
    await expect(otherBox.open(sealed, 'webhook-secret:cert:KE')).rejects.toBeInstanceOf(SecretBoxError);
    const data = sealed.split('.')[2]!;
    const flipped = Buffer.from(data, 'base64url');
    flipped[flipped.length - 20]! ^= 1;
    await expect(box.open(sealed.replace(data, flipped.toString('base64url')), 'webhook-secret:cert:KE')).rejects.toBeInstanceOf(SecretBoxError);
  });

  it('opens a sealed value only for the recipient it was sealed for', async () => {
    const sealed = await box.seal('whsec_c2VjcmV0', 'webhook-secret:cert:KE');
    expect(box.bound(sealed)).toBe(true);
    await expect(box.open(sealed, 'webhook-secret:hosting:192.0.2.0/24')).rejects.toBeInstanceOf(SecretBoxError);
  });

  it('refuses a key file that others can read', async () => {
    const path = join(dir, 'loose', 'secret.key');
    await new KeyFileSecretBox(path).seal('x', 'test');
    chmodSync(path, 0o644);
    const error = await new KeyFileSecretBox(path).seal('x', 'test').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretBoxError);
    expect(String((error as Error).message)).toMatch(/chmod 600/);
  });
});

describe('KmsSecretBox', () => {
  // no KMS runs locally: a stand-in for the service that enforces what KMS enforces (key and context)
  function fakeKms(): KmsClientLike & { calls: string[] } {
    const calls: string[] = [];
    const send = async (command: EncryptCommand | DecryptCommand): Promise<EncryptCommandOutput | DecryptCommandOutput> => {
      const context = JSON.stringify(command.input.EncryptionContext);
      if (command instanceof EncryptCommand) {
        calls.push(`encrypt ${command.input.KeyId} ${context}`);
        const blob = Buffer.concat([Buffer.from(`${command.input.KeyId}|${context}|`), Buffer.from(command.input.Plaintext!).map((b) => b ^ 0x5a)]);
        return { CiphertextBlob: blob, $metadata: {} };
      }
      calls.push(`decrypt ${command.input.KeyId} ${context}`);
      const blob = Buffer.from(command.input.CiphertextBlob!);
      const prefix = Buffer.from(`${command.input.KeyId}|${context}|`);
      if (!blob.subarray(0, prefix.length).equals(prefix)) throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
      return { Plaintext: blob.subarray(prefix.length).map((b) => b ^ 0x5a), $metadata: {} };
    };
    return { calls, send } as KmsClientLike & { calls: string[] };
  }

  it('seals with Encrypt and opens with Decrypt under the configured key, a purpose and its owner as the context', async () => {
    const kms = fakeKms();
    const kmsBox = new KmsSecretBox({ keyId: 'alias/takedown', client: kms });
    const sealed = await kmsBox.seal('whsec_a2V5', 'webhook-secret:cert:KE');
    expect(sealed).toMatch(/^kms2\./);
    expect(sealed).not.toContain('a2V5');
    expect(await kmsBox.open(sealed, 'webhook-secret:cert:KE')).toBe('whsec_a2V5');
    await expect(kmsBox.open(sealed, 'webhook-secret:cert:GH')).rejects.toBeInstanceOf(SecretBoxError);
    expect(kms.calls.slice(0, 2)).toEqual([
      'encrypt alias/takedown {"purpose":"takedown-recipient-secret","owner":"webhook-secret:cert:KE"}',
      'decrypt alias/takedown {"purpose":"takedown-recipient-secret","owner":"webhook-secret:cert:KE"}',
    ]);
  });

  it('still opens a value sealed before owners were bound, with the purpose alone', async () => {
    const kms = fakeKms();
    const blob = Buffer.concat([Buffer.from('alias/takedown|{"purpose":"takedown-recipient-secret"}|'), Buffer.from('whsec_b2xk').map((b) => b ^ 0x5a)]);
    const legacy = `kms1.${blob.toString('base64url')}`;
    const kmsBox = new KmsSecretBox({ keyId: 'alias/takedown', client: kms });
    expect(await kmsBox.open(legacy, 'webhook-secret:cert:KE')).toBe('whsec_b2xk');
    expect(kmsBox.bound(legacy)).toBe(false);
  });

  it('turns a refusal of KMS into SecretBoxError naming only the error', async () => {
    const sealed = await new KmsSecretBox({ keyId: 'alias/one', client: fakeKms() }).seal('whsec_a2V5', 'webhook-secret:cert:KE');
    const error = await new KmsSecretBox({ keyId: 'alias/other', client: fakeKms() }).open(sealed, 'webhook-secret:cert:KE').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as Error).message).toBe('KMS refused to decrypt (InvalidCiphertextException)');
  });
});
