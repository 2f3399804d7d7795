import { describe, expect, it } from 'vitest';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';

const ids = new CryptoIds();
const BASE32 = /^[0-9a-hjkmnp-tv-z]+$/;

describe('CryptoIds', () => {
  it('derives the ids it derived before: a campaign routed again finds its stored cases and notices', () => {
    // values from the implementation that appended one character at a time; a change of alphabet, bit order,
    // separator or prefix handling would re-route every stored campaign into new, duplicate cases and notices
    expect(ids.derive('c', 'cmp_k83sammgkafmgsev', 'http://198.51.100.7/panel/', '0')).toBe('cb33a4axxk874x45b');
    expect(ids.derive('n', 'cmp_k83sammgkafmgsev', 'abuse@net-908.bench.example', '0', '')).toBe('ny146etwj9w4w53sv');
    expect(ids.derive('cmp_', 'é', '')).toBe('cmp_c4sz5mpwdjprvezw');
  });

  it('gives new ids as prefix + 16 base32 characters and tokens of 32, all different', () => {
    const made = Array.from({ length: 2000 }, () => ids.newId('evt_'));
    for (const id of made) expect(id).toMatch(/^evt_[0-9a-hjkmnp-tv-z]{16}$/);
    expect(new Set(made).size).toBe(made.length);
    const token = ids.newToken();
    expect(token).toHaveLength(32);
    expect(token).toMatch(BASE32);
  });

  it('matches a token only against its own hash', () => {
    const token = ids.newToken();
    expect(ids.tokenMatches(token, ids.hash(token))).toBe(true);
    expect(ids.tokenMatches(ids.newToken(), ids.hash(token))).toBe(false);
    expect(ids.tokenMatches(token, 'not hex')).toBe(false);
  });
});
