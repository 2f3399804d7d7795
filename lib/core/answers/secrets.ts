import { TakedownError } from '../errors.js';

/**
 * Encryption at rest for secrets the host must read back in the clear: a webhook's HMAC key cannot be checked
 * against a hash. One adapter per host: a key file on the embedded host, KMS on AWS.
 */
export interface SecretBox {
  /** the plaintext encrypted and authenticated, as text safe to store in a record */
  seal(plaintext: string): Promise<string>;
  /** the plaintext of `seal`'s output; SecretBoxError when it was altered or sealed under another key */
  open(sealed: string): Promise<string>;
}

/** A sealed secret cannot be opened (altered, another key, the key service refused); the message holds no secret. */
export class SecretBoxError extends TakedownError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('SECRETS.UNAVAILABLE', message, options);
    this.name = 'SecretBoxError';
  }
}
