import { createHash } from 'node:crypto';

/**
 * Seeded decisions for the chaos run. Each one is a hash of the seed and a key naming what is decided (a
 * connection's ordinal, a message's n-th attempt, a recipient's address), not the next number of one shared
 * stream: the order in which a run meets its decisions depends on timing, and a shared stream would give every
 * later decision another value as soon as one arrived early.
 */

/** A number in [0, 1) from the seed and the key. */
export function uniform(seed: number, key: string): number {
  const h = createHash('sha256').update(`${seed}|${key}`).digest();
  return h.readUInt32BE(0) / 4294967296;
}

/** True with probability p. */
export function chance(seed: number, key: string, p: number): boolean {
  return uniform(seed, key) < p;
}

/** One of the items, evenly. */
export function pick<T>(seed: number, key: string, items: readonly T[]): T {
  return items[Math.floor(uniform(seed, key) * items.length)]!;
}

/** A whole number in [min, max]. */
export function between(seed: number, key: string, min: number, max: number): number {
  return min + Math.floor(uniform(seed, key) * (max - min + 1));
}
