import { DecryptCommand, EncryptCommand, KMSClient, type DecryptCommandOutput, type EncryptCommandOutput } from '@aws-sdk/client-kms';
import { SecretBoxError } from '../../core/errors.js';
import type { SecretBox } from '../../core/ports.js';

// kms1: sealed before values were bound to their owner; kms2: the owner is in the encryption context
const LEGACY_FORMAT = 'kms1';
const FORMAT = 'kms2';
// bound into every ciphertext: a blob sealed for another purpose (or another recipient) under the same key does not
// decrypt here, and CloudTrail shows what each Decrypt was for
const PURPOSE = { purpose: 'takedown-recipient-secret' } as const;

/** The two calls the box makes; KMSClient is one, a test may hand in another. */
export interface KmsClientLike {
  send(command: EncryptCommand): Promise<EncryptCommandOutput>;
  send(command: DecryptCommand): Promise<DecryptCommandOutput>;
}

export interface KmsSecretBoxOptions {
  /** the KMS key (id, ARN or alias) secrets are sealed under */
  readonly keyId: string;
  /** @default a new KMSClient for the SDK's region (AWS_REGION) */
  readonly client?: KmsClientLike;
}

/** Seals secrets with AWS KMS Encrypt/Decrypt (symmetric key); the plaintext never leaves the function. */
export class KmsSecretBox implements SecretBox {
  private readonly keyId: string;
  private readonly client: KmsClientLike;

  constructor(options: KmsSecretBoxOptions) {
    this.keyId = options.keyId;
    this.client = options.client ?? new KMSClient({});
  }

  async seal(plaintext: string, context: string): Promise<string> {
    let out: EncryptCommandOutput;
    try {
      out = await this.client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: { ...PURPOSE, owner: context } }));
    } catch (e) {
      throw new SecretBoxError(`KMS refused to encrypt (${(e as Error).name})`, { cause: e });
    }
    if (!out.CiphertextBlob) throw new SecretBoxError('KMS returned no ciphertext');
    return `${FORMAT}.${Buffer.from(out.CiphertextBlob).toString('base64url')}`;
  }

  async open(sealed: string, context: string): Promise<string> {
    const [format, data, ...rest] = sealed.split('.');
    if ((format !== FORMAT && format !== LEGACY_FORMAT) || !data || rest.length) throw new SecretBoxError('not a value sealed by KMS');
    const encryptionContext = format === FORMAT ? { ...PURPOSE, owner: context } : { ...PURPOSE };
    let out: DecryptCommandOutput;
    try {
      // the key id is passed so a blob made under some other key the role may use is refused, not decrypted
      out = await this.client.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: Buffer.from(data, 'base64url'), EncryptionContext: encryptionContext }));
    } catch (e) {
      throw new SecretBoxError(`KMS refused to decrypt (${(e as Error).name})`, { cause: e });
    }
    if (!out.Plaintext) throw new SecretBoxError('KMS returned no plaintext');
    return Buffer.from(out.Plaintext).toString('utf8');
  }

  bound(sealed: string): boolean {
    return sealed.startsWith(`${FORMAT}.`);
  }
}
