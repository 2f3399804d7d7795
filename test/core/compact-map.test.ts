import { describe, expect, it } from 'vitest';
import { CompactNumberSet, CompactStringMap, hash53 } from '../../lib/core/intake/compact-map.js';

describe('CompactStringMap', () => {
  it('answers as a Map does over many keys, through every growth, updates included', () => {
    const compact = new CompactStringMap();
    const map = new Map<string, number>();
    // a seeded sequence: the same keys every run, with repeats, shared prefixes, empty and non-ASCII keys
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
    const key = (n: number) => ['', 'a', 'ab', 'http://evil.example/', 'xn--bcher-kva.', 'bücher.', '支付😀.', '192.0.2.'][n % 8]! + String(n >>> 3);
    for (let i = 0; i < 60_000; i++) {
      const k = key(next() % 40_000);
      const v = next() % 1_000_000;
      compact.set(k, v);
      map.set(k, v);
    }
    expect(compact.size).toBe(map.size);
    for (const [k, v] of map) expect(compact.get(k)).toBe(v);
    for (let n = 40_000; n < 41_000; n++) {
      expect(compact.get(key(n))).toBeUndefined();
      expect(compact.has(key(n))).toBe(false);
    }
    expect(compact.has(key(1))).toBe(map.has(key(1)));
  });

  it('tells apart keys that differ only in one code unit, or only in length', () => {
    const m = new CompactStringMap();
    m.set('192.0.2.1', 1);
    m.set('192.0.2.10', 2);
    m.set('192.0.2.1\u0000', 3);
    m.set('\ud83d', 4);
    m.set('\ud83d\ude00', 5);
    expect([m.get('192.0.2.1'), m.get('192.0.2.10'), m.get('192.0.2.1\u0000'), m.get('\ud83d'), m.get('\ud83d\ude00'), m.get('192.0.2.11')]).toEqual([1, 2, 3, 4, 5, undefined]);
  });
});

describe('CompactNumberSet', () => {
  it('holds what a Set holds, through every growth', () => {
    const compact = new CompactNumberSet();
    const set = new Set<number>();
    for (let i = 0; i < 20_000; i++) {
      const n = hash53(`indicator--${i % 15_000}`);
      compact.add(n);
      set.add(n);
    }
    expect(compact.size).toBe(set.size);
    for (const n of set) expect(compact.has(n)).toBe(true);
    for (let i = 15_000; i < 16_000; i++) expect(compact.has(hash53(`indicator--${i}`))).toBe(false);
    compact.add(0);
    compact.add(2 ** 53 - 1);
    expect([compact.has(0), compact.has(2 ** 53 - 1), compact.has(1)]).toEqual([true, true, false]);
  });
});
