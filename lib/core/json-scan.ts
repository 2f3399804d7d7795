/**
 * A JSON document read one top-level piece at a time. A STIX bundle of 200,000 indicators is ~100 MB of text;
 * JSON.parse of the whole of it holds every object at once (several times the text). Here the structure is
 * scanned first, the small top-level members are parsed whole, and the elements of one large array are parsed
 * one by one as the reader asks for them, so only the objects a reader keeps stay in memory.
 * Every piece goes through JSON.parse, so the document is still checked as strictly as JSON.parse checks it.
 */

/** Where a document stops being JSON: a 1-based line and column, and what was expected. */
export interface JsonFault {
  readonly line: number;
  readonly column: number;
  /** set when the fault is inside an element of the lazy array */
  readonly element?: number;
}

export class JsonScanError extends Error {
  constructor(readonly fault: JsonFault) {
    super(`not valid JSON (line ${fault.line}, column ${fault.column})`);
    this.name = 'JsonScanError';
  }
}

/** The elements of a large array, parsed when iterated; iterating throws JsonScanError at a bad element. */
export interface LazyElements extends Iterable<unknown> {
  readonly length: number;
  /** each element's text, unparsed: a cheap look before parsing */
  texts(): Iterable<string>;
}

export type ScannedJson =
  | { readonly kind: 'object'; readonly members: Record<string, unknown>; readonly lazy?: LazyElements }
  | { readonly kind: 'array'; readonly lazy: LazyElements }
  | { readonly kind: 'other'; readonly value: unknown };

const WS = new Set([32, 9, 10, 13]);

/** The 1-based line and column of an offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: offset - lineStart + 1 };
}

/**
 * Scans a JSON text whose top level is an object (its member `lazyKey`, when an array, is left lazy) or an
 * array (every element lazy). Anything else is parsed whole. Throws JsonScanError where the text is not JSON.
 */
export function scanJson(text: string, lazyKey: string): ScannedJson {
  const n = text.length;
  const fail = (offset: number, element?: number): never => {
    let at = offset;
    // brackets are only counted while scanning, so a fault is found a little late: on this (rare) path the whole
    // text is parsed once more for the exact place, when the parser says it
    if (element === undefined) {
      try {
        JSON.parse(text);
      } catch (e) {
        const pos = /position (\d+)/.exec((e as Error).message);
        if (pos) at = Number(pos[1]);
      }
    }
    throw new JsonScanError({ ...lineColumn(text, Math.min(at, n)), ...(element !== undefined ? { element } : {}) });
  };
  const skipWs = (i: number): number => {
    while (i < n && WS.has(text.charCodeAt(i))) i++;
    return i;
  };
  const skipString = (i: number): number => {
    let j = i + 1;
    for (;;) {
      const q = text.indexOf('"', j);
      if (q < 0) return fail(i);
      let slashes = 0;
      for (let b = q - 1; text.charCodeAt(b) === 92; b--) slashes++;
      if (slashes % 2 === 0) return q + 1;
      j = q + 1;
    }
  };
  /** The end (exclusive) of the value starting at i; brackets are only counted here, JSON.parse checks them. */
  const skipValue = (i: number): number => {
    const c = text.charCodeAt(i);
    if (c === 34) return skipString(i);
    if (c === 123 || c === 91) {
      let depth = 0;
      for (let j = i; j < n; ) {
        const ch = text.charCodeAt(j);
        if (ch === 34) {
          j = skipString(j);
          continue;
        }
        if (ch === 123 || ch === 91) depth++;
        else if (ch === 125 || ch === 93) {
          depth--;
          if (depth === 0) return j + 1;
        }
        j++;
      }
      return fail(i);
    }
    let j = i;
    while (j < n) {
      const ch = text.charCodeAt(j);
      if (ch === 44 || ch === 125 || ch === 93 || WS.has(ch)) break;
      j++;
    }
    return j === i ? fail(i) : j;
  };
  const parseAt = (start: number, end: number, element?: number): unknown => {
    try {
      return JSON.parse(text.slice(start, end)) as unknown;
    } catch (e) {
      const pos = /position (\d+)/.exec((e as Error).message);
      return fail(start + (pos ? Number(pos[1]) : 0), element);
    }
  };
  /** Element ranges of the array at i, as two numbers each; returns them and the end of the array. */
  const arrayRanges = (i: number): { starts: number[]; ends: number[]; end: number } => {
    const starts: number[] = [];
    const ends: number[] = [];
    let j = skipWs(i + 1);
    if (text.charCodeAt(j) === 93) return { starts, ends, end: j + 1 };
    for (;;) {
      j = skipWs(j);
      const end = skipValue(j);
      starts.push(j);
      ends.push(end);
      j = skipWs(end);
      const c = text.charCodeAt(j);
      if (c === 44) {
        j++;
        continue;
      }
      if (c === 93) return { starts, ends, end: j + 1 };
      return fail(j);
    }
  };
  const lazyOf = (starts: number[], ends: number[]): LazyElements => ({
    length: starts.length,
    *[Symbol.iterator]() {
      for (let k = 0; k < starts.length; k++) yield parseAt(starts[k]!, ends[k]!, k);
    },
    *texts() {
      for (let k = 0; k < starts.length; k++) yield text.slice(starts[k]!, ends[k]!);
    },
  });

  let i = skipWs(text.charCodeAt(0) === 0xfeff ? 1 : 0);
  const first = text.charCodeAt(i);
  if (first === 91) {
    const { starts, ends, end } = arrayRanges(i);
    if (skipWs(end) !== n) fail(skipWs(end));
    return { kind: 'array', lazy: lazyOf(starts, ends) };
  }
  if (first !== 123) return { kind: 'other', value: parseAt(i, n) };

  const members: Record<string, unknown> = {};
  let lazy: LazyElements | undefined;
  i = skipWs(i + 1);
  if (text.charCodeAt(i) === 125) i++;
  else {
    for (;;) {
      i = skipWs(i);
      if (text.charCodeAt(i) !== 34) fail(i);
      const keyEnd = skipString(i);
      const key = parseAt(i, keyEnd) as string;
      i = skipWs(keyEnd);
      if (text.charCodeAt(i) !== 58) fail(i);
      i = skipWs(i + 1);
      if (key === lazyKey && text.charCodeAt(i) === 91) {
        const { starts, ends, end } = arrayRanges(i);
        lazy = lazyOf(starts, ends);
        i = end;
      } else {
        const end = skipValue(i);
        // defined, not assigned: a member named __proto__ must stay a member
        Object.defineProperty(members, key, { value: parseAt(i, end), enumerable: true, writable: true, configurable: true });
        i = end;
      }
      i = skipWs(i);
      const c = text.charCodeAt(i);
      if (c === 44) {
        i++;
        continue;
      }
      if (c === 125) {
        i++;
        break;
      }
      fail(i);
    }
  }
  if (skipWs(i) !== n) fail(skipWs(i));
  return { kind: 'object', members, ...(lazy ? { lazy } : {}) };
}
