/**
 * A map from strings to numbers for hundreds of thousands of keys, held in a few typed arrays instead of one
 * JS string and one map entry per key. What matters is not only its size (about a third of a Map's) but that it
 * is outside the JS heap: V8 lets the heap grow to several times what is live before it collects, so every
 * megabyte kept live on the heap during intake costs several of resident memory.
 */
export class CompactStringMap {
  /** the keys' UTF-16 code units, one after another: a byte each until a key needs more (most never do) */
  private chars: Uint8Array | Uint16Array = new Uint8Array(1 << 16);
  private used = 0;
  private starts = new Float64Array(1024);
  private lengths = new Uint32Array(1024);
  private hashes = new Int32Array(1024);
  private values = new Float64Array(1024);
  private count = 0;
  /** open addressing: entry index + 1, 0 for an empty slot */
  private slots = new Int32Array(2048);

  get size(): number {
    return this.count;
  }

  get(key: string): number | undefined {
    const entry = this.slots[this.slotOf(key, hashOf(key))]! - 1;
    return entry < 0 ? undefined : this.values[entry];
  }

  has(key: string): boolean {
    return this.slots[this.slotOf(key, hashOf(key))]! > 0;
  }

  /** Adds the key, or changes its number. */
  set(key: string, value: number): void {
    const h = hashOf(key);
    const slot = this.slotOf(key, h);
    const existing = this.slots[slot]! - 1;
    if (existing >= 0) {
      this.values[existing] = value;
      return;
    }
    if (this.count === this.values.length) this.growEntries();
    if (this.used + key.length > this.chars.length) this.growChars(this.used + key.length);
    if (this.chars instanceof Uint8Array && !LATIN1.test(key)) this.widen();
    const entry = this.count++;
    for (let i = 0; i < key.length; i++) this.chars[this.used + i] = key.charCodeAt(i);
    this.starts[entry] = this.used;
    this.lengths[entry] = key.length;
    this.hashes[entry] = h;
    this.values[entry] = value;
    this.used += key.length;
    this.slots[slot] = entry + 1;
    if (this.count * 2 > this.slots.length) this.rehash();
  }

  /** The slot that holds the key, or the empty slot where it would go. */
  private slotOf(key: string, h: number): number {
    const mask = this.slots.length - 1;
    for (let slot = h & mask; ; slot = (slot + 1) & mask) {
      const entry = this.slots[slot]! - 1;
      if (entry < 0) return slot;
      if (this.hashes[entry] === h && this.equals(entry, key)) return slot;
    }
  }

  private equals(entry: number, key: string): boolean {
    if (this.lengths[entry] !== key.length) return false;
    const start = this.starts[entry]!;
    for (let i = 0; i < key.length; i++) if (this.chars[start + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private growEntries(): void {
    const size = this.values.length * 2;
    const grow = <T extends Float64Array | Uint32Array | Int32Array>(a: T, make: (n: number) => T): T => {
      const b = make(size);
      b.set(a);
      return b;
    };
    this.starts = grow(this.starts, (n) => new Float64Array(n));
    this.lengths = grow(this.lengths, (n) => new Uint32Array(n));
    this.hashes = grow(this.hashes, (n) => new Int32Array(n));
    this.values = grow(this.values, (n) => new Float64Array(n));
  }

  private growChars(needed: number): void {
    let size = this.chars.length * 2;
    while (size < needed) size *= 2;
    const chars = this.chars instanceof Uint8Array ? new Uint8Array(size) : new Uint16Array(size);
    chars.set(this.chars.subarray(0, this.used));
    this.chars = chars;
  }

  private widen(): void {
    const chars = new Uint16Array(this.chars.length);
    chars.set(this.chars.subarray(0, this.used));
    this.chars = chars;
  }

  private rehash(): void {
    const slots = new Int32Array(this.slots.length * 2);
    const mask = slots.length - 1;
    for (let entry = 0; entry < this.count; entry++) {
      let slot = this.hashes[entry]! & mask;
      while (slots[slot] !== 0) slot = (slot + 1) & mask;
      slots[slot] = entry + 1;
    }
    this.slots = slots;
  }
}

const LATIN1 = /^[\u0000-\u00ff]*$/;

/**
 * A set of numbers (below 2^53, such as hashes) in one typed array: eight bytes a number, off the JS heap, where
 * a Set would keep a heap object for each.
 */
export class CompactNumberSet {
  /** open addressing: the number + 1, 0 for an empty slot */
  private slots = new Float64Array(1024);
  private count = 0;

  get size(): number {
    return this.count;
  }

  has(n: number): boolean {
    return this.slots[this.slotOf(n)] !== 0;
  }

  add(n: number): void {
    const slot = this.slotOf(n);
    if (this.slots[slot] !== 0) return;
    this.slots[slot] = n + 1;
    if (++this.count * 2 > this.slots.length) {
      const old = this.slots;
      this.slots = new Float64Array(old.length * 2);
      for (const v of old) if (v !== 0) this.slots[this.slotOf(v - 1)] = v;
    }
  }

  private slotOf(n: number): number {
    const mask = this.slots.length - 1;
    for (let slot = (n % 0x40000000) & mask; ; slot = (slot + 1) & mask) {
      const v = this.slots[slot]!;
      if (v === 0 || v === n + 1) return slot;
    }
  }
}

/** 53 bits of two 32-bit hashes of a string: two different strings share them about once in 2^53. */
export function hash53(key: string): number {
  let a = 0x811c9dc5;
  let b = 0x9747b28c ^ key.length;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 13;
  }
  return (a >>> 0) * 0x200000 + ((b >>> 0) >>> 11);
}

/** FNV-1a over UTF-16 code units, with a final mix so that the low bits (the slot) depend on every unit. */
function hashOf(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h;
}
