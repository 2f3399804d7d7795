/**
 * The shape of an API key (`tkd_` + base64url of 32 random bytes): checked before any lookup, and by the CLI
 * reading the host's key file, which should not load the key store to do it.
 */
const KEY_SHAPE = /^tkd_[A-Za-z0-9_-]{43}$/;

/** True when `key` has the shape of an API key. */
export function looksLikeApiKey(key: string): boolean {
  return KEY_SHAPE.test(key);
}
