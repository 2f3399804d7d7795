import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRecipientSecret, validRecipientSecrets, type SecretDeps } from '../../lib/core/answers/recipient-secrets.js';
import { signWebhook, verifyWebhook } from '../../lib/core/answers/webhooks.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { KeyFileSecretBox } from '../../lib/adapters/secrets/keyfile.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';

/*
 * A recipient's webhook secret is sealed for that recipient: whoever can write the database cannot move one
 * recipient's sealed secret into another's record and then answer, with the first recipient's secret, for the
 * second recipient's notices.
 */

let dir: string;
let store: SqliteStore;
let deps: SecretDeps;
const NOW = Date.parse('2026-03-02T10:00:00Z');

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-bind-'));
  store = new SqliteStore(join(dir, 'takedown.db'));
  deps = { store, clock: new ScaledClock({ realNow: () => NOW }), secrets: new KeyFileSecretBox(join(dir, 'secret.key')) };
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const A = 'hosting:192.0.2.0/24';
const B = 'cert:KE';

describe('a sealed webhook secret', () => {
  it('does not open for another recipient when its sealed value is copied into that recipient\'s record', async () => {
    const a = await createRecipientSecret(deps, A);
    await createRecipientSecret(deps, B);
    // the database writer moves A's sealed secret into B's record
    const fromA = JSON.parse((await store.getRecord('webhook-secret', A))!.value) as { current: { sealed: string } };
    const recordB = (await store.getRecord('webhook-secret', B))!;
    const valueB = JSON.parse(recordB.value) as { current: { sealed: string } };
    await store.putRecord({ ...recordB, value: JSON.stringify({ ...valueB, current: { ...valueB.current, sealed: fromA.current.sealed } }), version: recordB.version + 1 }, recordB.version);

    const body = JSON.stringify({ recipient: B, noticeId: 'TKD-n0123456789abcdef', intent: 'actioned' });
    const ts = Math.floor(NOW / 1000);
    const request = { id: 'msg_1', timestamp: String(ts), signature: signWebhook(a.secret, 'msg_1', ts, body), body };
    await expect(verifyWebhook(deps, B, request)).rejects.toThrow(/sealed for someone else|does not authenticate/);
  });

  it('sealed before secrets were bound still opens, and is sealed again bound to its recipient on first use', async () => {
    // a value as the previous version sealed it: AES-GCM under the key file, its only associated data the key's id
    await new KeyFileSecretBox(join(dir, 'secret.key')).seal('x', 'create the key file');
    const key = Buffer.from(readFileSync(join(dir, 'secret.key'), 'utf8').trim(), 'base64');
    const id = createHash('sha256').update(key).digest('hex').slice(0, 8);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(`kf1.${id}`));
    const body = Buffer.concat([cipher.update('whsec_b2xkLXNlY3JldA==', 'utf8'), cipher.final()]);
    const legacy = `kf1.${id}.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
    await store.putRecord({ kind: 'webhook-secret', key: B, value: JSON.stringify({ recipient: B, current: { sealed: legacy, createdAt: '2026-01-01T00:00:00Z' } }), version: 1 }, 'absent');

    expect(await validRecipientSecrets(deps, B)).toEqual(['whsec_b2xkLXNlY3JldA==']);
    const resealed = JSON.parse((await store.getRecord('webhook-secret', B))!.value) as { current: { sealed: string } };
    expect(resealed.current.sealed).toMatch(/^kf2\./);
    expect(await validRecipientSecrets(deps, B)).toEqual(['whsec_b2xkLXNlY3JldA==']);
    await expect(deps.secrets.open(resealed.current.sealed, `webhook-secret:${A}`)).rejects.toThrow();
  });
});
