import { DecryptCommand, EncryptCommand, KMSClient, type DecryptCommandOutput, type EncryptCommandOutput } from '@aws-sdk/client-kms';
import { SecretBoxError } from '../../core/errors.js';
import type { SecretBox } from '../../core/ports.js';

const FORMAT = 'kms1';
// bound into every ciphertext: a blob sealed for another purpose under the same key does not decrypt here, and
// CloudTrail shows what each Decrypt was for
const CONTEXT = { purpose: 'takedown-recipient-secret' } as const;

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

  async seal(plaintext: string): Promise<string> {
    let out: EncryptCommandOutput;
    try {
      out = await this.client.send(new EncryptCommand({ KeyId: this.keyId, Plaintext: Buffer.from(plaintext, 'utf8'), EncryptionContext: { ...CONTEXT } }));
    } catch (e) {
      throw new SecretBoxError(`KMS refused to encrypt (${(e as Error).name})`, { cause: e });
    }
    if (!out.CiphertextBlob) throw new SecretBoxError('KMS returned no ciphertext');
    return `${FORMAT}.${Buffer.from(out.CiphertextBlob).toString('base64url')}`;
  }

  async open(sealed: string): Promise<string> {
    const [format, data, ...rest] = sealed.split('.');
    if (format !== FORMAT || !data || rest.length) throw new SecretBoxError('not a value sealed by KMS');
    let out: DecryptCommandOutput;
    try {
      // the key id is passed so a blob made under some other key the role may use is refused, not decrypted
      out = await this.client.send(new DecryptCommand({ KeyId: this.keyId, CiphertextBlob: Buffer.from(data, 'base64url'), EncryptionContext: { ...CONTEXT } }));
    } catch (e) {
      throw new SecretBoxError(`KMS refused to decrypt (${(e as Error).name})`, { cause: e });
    }
    if (!out.Plaintext) throw new SecretBoxError('KMS returned no plaintext');
    return Buffer.from(out.Plaintext).toString('utf8');
  }
}
