import { timingSafeEqual } from 'node:crypto';
import type { AuditKey } from '../ports.js';

/** The start of every `mac` field this version writes: `hmac-sha256:<key id>:<hex>`. */
export const MAC_PREFIX = 'hmac-sha256:';

/** The `mac` field for a message under a key. */
export async function macField(key: AuditKey, message: string): Promise<string> {
  // the MAC first: a key that loads itself (KMS) knows its id only once loaded
  const hex = await key.mac(message);
  return `${MAC_PREFIX}${key.keyId}:${hex}`;
}

/** Whether `field` is the MAC of `message` under `key` (compared in constant time), or made under another key. */
export async function macMatches(key: AuditKey, message: string, field: string): Promise<'ok' | 'other-key' | 'mismatch'> {
  if (!field.startsWith(MAC_PREFIX)) return 'mismatch';
  const [keyId, hex] = field.slice(MAC_PREFIX.length).split(':');
  const expected = Buffer.from(await key.mac(message), 'hex');
  if (keyId !== key.keyId) return 'other-key';
  const given = Buffer.from(hex ?? '', 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected) ? 'ok' : 'mismatch';
}
