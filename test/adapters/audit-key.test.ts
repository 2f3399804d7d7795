import { createHmac, randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, GenerateDataKeyWithoutPlaintextCommand, type DecryptCommandOutput, type GenerateDataKeyWithoutPlaintextCommandOutput } from '@aws-sdk/client-kms';
import { afterAll, describe, expect, it } from 'vitest';
import { loadAuditKeyFile, readAuditKeyFile } from '../../lib/adapters/secrets/audit-key.file.js';
import { createAuditDataKey, kmsAuditKey, type KmsAuditClient } from '../../lib/adapters/secrets/audit-key.kms.js';

/*
 * The audit key on both hosts: a 0600 key file beside the database, and a KMS-encrypted data key decrypted once
 * per container. No KMS runs locally: a stand-in enforces what KMS enforces (the key and the encryption context).
 */

const dir = mkdtempSync(join(tmpdir(), 'takedown-audit-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the audit key file', () => {
  it('is made 0600 on first use, gives the same MACs when read again, and is never made by a reader', async () => {
    const path = join(dir, 'a', 'audit.key');
    expect(await readAuditKeyFile(path)).toBeUndefined();
    const key = await loadAuditKeyFile(path);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = (await readAuditKeyFile(path))!;
    expect(again.keyId).toBe(key.keyId);
    expect(await again.mac('m')).toBe(await key.mac('m'));
    expect(key.keyId).toMatch(/^[0-9a-f]{12}$/);
  });

  it('is refused when others can read it', async () => {
    const path = join(dir, 'b', 'audit.key');
    await loadAuditKeyFile(path);
    chmodSync(path, 0o644);
    await expect(loadAuditKeyFile(path)).rejects.toThrow(/chmod 600/);
  });
});

describe('the KMS audit key', () => {
  function fakeKms(): KmsAuditClient & { calls: string[] } {
    const calls: string[] = [];
    const plain = randomBytes(32);
    const send = async (command: DecryptCommand | GenerateDataKeyWithoutPlaintextCommand): Promise<DecryptCommandOutput | GenerateDataKeyWithoutPlaintextCommandOutput> => {
      const context = JSON.stringify(command.input.EncryptionContext);
      if (command instanceof GenerateDataKeyWithoutPlaintextCommand) {
        calls.push(`generate ${command.input.KeyId} ${context}`);
        return { CiphertextBlob: Buffer.from(`${command.input.KeyId}|${context}`), $metadata: {} };
      }
      calls.push(`decrypt ${command.input.KeyId} ${context}`);
      if (Buffer.from(command.input.CiphertextBlob!).toString() !== `${command.input.KeyId}|${context}`) throw Object.assign(new Error('InvalidCiphertextException'), { name: 'InvalidCiphertextException' });
      return { Plaintext: plain, $metadata: {} };
    };
    return Object.assign({ send } as KmsAuditClient, { calls, plain });
  }

  it('decrypts its data key once per container, for the audit purpose only, and MACs in memory', async () => {
    const kms = fakeKms();
    const encryptedDataKey = await createAuditDataKey('alias/takedown-audit', kms);
    const key = kmsAuditKey({ kmsKeyId: 'alias/takedown-audit', encryptedDataKey, client: kms });
    await key.ready();
    const macs = await Promise.all(['a', 'b', 'c'].map((m) => key.mac(m)));
    expect(macs[0]).toBe(createHmac('sha256', (kms as unknown as { plain: Buffer }).plain).update('a').digest('hex'));
    expect(kms.calls).toEqual([
      'generate alias/takedown-audit {"purpose":"takedown-audit-mac"}',
      'decrypt alias/takedown-audit {"purpose":"takedown-audit-mac"}',
    ]);
  });

  it('says KMS refused, naming only the error, and asks again next time', async () => {
    const kms = fakeKms();
    const key = kmsAuditKey({ kmsKeyId: 'alias/other', encryptedDataKey: Buffer.from('alias/takedown-audit|{}').toString('base64'), client: kms });
    await expect(key.mac('a')).rejects.toThrow('KMS refused to decrypt the audit key (InvalidCiphertextException)');
    await expect(key.mac('a')).rejects.toThrow();
    expect(kms.calls).toHaveLength(2);
  });
});
