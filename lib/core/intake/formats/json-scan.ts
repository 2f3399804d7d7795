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

/** What a JSON document read as a stream gives, in document order. */
export interface JsonStreamHandler {
  /** a member of the top-level object, parsed whole (every member but the lazy array) */
  member(key: string, value: unknown): void;
  /** one element of the lazy array; `parse` throws JsonScanError (with `element`) where the element is not JSON */
  element(index: number, text: string, parse: () => unknown): void;
  /** the top level is neither an object nor an array: its value */
  other(value: unknown): void;
}

/** The reader's states: where it is in the document's structure. */
const S = { Start: 0, ObjFirst: 1, ObjKey: 2, Key: 3, Colon: 4, MemberValue: 5, Value: 6, ObjAfter: 7, ElemFirst: 8, ElemNext: 9, ElemAfter: 10, End: 11 } as const;
type State = (typeof S)[keyof typeof S];

/** What a captured value becomes when it is complete. */
const Target = { Member: 0, Element: 1, Other: 2 } as const;
type Target = (typeof Target)[keyof typeof Target];

const OPEN_OBJECT = 123;
const OPEN_ARRAY = 91;
const CLOSE_OBJECT = 125;
const CLOSE_ARRAY = 93;
const QUOTE = 34;
const BACKSLASH = 92;
const isWs = (c: number) => c === 32 || c === 10 || c === 13 || c === 9;

/**
 * The same reading as scanJson, fed a piece of text at a time (`push`, then `end`): the top-level members are
 * parsed whole, and the elements of the lazy array (the top-level array, or the member `lazyKey` of the
 * top-level object) are handed out one by one as soon as each is complete, so no more than one element's text
 * is held. Brackets are matched as they come, so a fault is named where it is (line and column); the content
 * of each piece is checked by JSON.parse. Throws JsonScanError from `push` or `end`.
 */
export class JsonStreamScanner {
  private state: State = S.Start;
  private target: Target = Target.Other;
  /** the top-level member being read, and whether the lazy array is a member (else it is the top level) */
  private key = '';
  private lazyIsMember = false;
  private index = 0;
  /** the text of the piece being captured: earlier chunks' parts, and where it starts in the current chunk */
  private parts: string[] = [];
  private capturing = false;
  private capStart = 0;
  private capLine = 1;
  private capColumn = 1;
  /** inside a captured value */
  private stack: number[] = [];
  private inString = false;
  private escape = false;
  private literal = false;
  /** position: chars before the current chunk, the line, and where it starts */
  private base = 0;
  private line = 1;
  private lineStart = 0;
  private kind: 'object' | 'array' | 'other' | undefined;

  constructor(
    private readonly lazyKey: string,
    private readonly handler: JsonStreamHandler,
  ) {}

  /** 'object', 'array' or 'other' once the first character has been read */
  get topLevel(): 'object' | 'array' | 'other' | undefined {
    return this.kind;
  }

  push(chunk: string): void {
    const n = chunk.length;
    let i = 0;
    if (this.base === 0 && chunk.charCodeAt(0) === 0xfeff) {
      // a byte order mark is not part of the document: columns count from after it
      i = 1;
      this.lineStart = 1;
    }
    for (; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) {
        this.line++;
        this.lineStart = this.base + i + 1;
      }
      if (this.state === S.Value || this.state === S.Key) {
        if (this.inString) {
          if (this.escape) this.escape = false;
          else if (c === BACKSLASH) this.escape = true;
          else if (c === QUOTE) {
            this.inString = false;
            if (this.stack.length === 0) this.complete(chunk, i + 1);
          }
          continue;
        }
        if (this.literal) {
          if (c === 44 || c === CLOSE_OBJECT || c === CLOSE_ARRAY || isWs(c)) {
            this.complete(chunk, i);
            // the delimiter belongs to what follows: read it again in the new state
            if (c === 10) this.line--;
            i--;
          }
          continue;
        }
        if (c === QUOTE) this.inString = true;
        else if (c === OPEN_OBJECT) this.stack.push(CLOSE_OBJECT);
        else if (c === OPEN_ARRAY) this.stack.push(CLOSE_ARRAY);
        else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
          if (this.stack.pop() !== c) this.fail(i);
          if (this.stack.length === 0) this.complete(chunk, i + 1);
        }
        continue;
      }
      if (isWs(c)) continue;
      switch (this.state) {
        case S.Start:
          if (c === OPEN_OBJECT) {
            this.kind = 'object';
            this.state = S.ObjFirst;
          } else if (c === OPEN_ARRAY) {
            this.kind = 'array';
            this.lazyIsMember = false;
            this.state = S.ElemFirst;
          } else {
            this.kind = 'other';
            this.begin(i, c, Target.Other);
          }
          break;
        case S.ObjFirst:
          if (c === CLOSE_OBJECT) this.state = S.End;
          else if (c === QUOTE) this.beginKey(i);
          else this.fail(i);
          break;
        case S.ObjKey:
          if (c === QUOTE) this.beginKey(i);
          else this.fail(i);
          break;
        case S.Colon:
          if (c === 58) this.state = S.MemberValue;
          else this.fail(i);
          break;
        case S.MemberValue:
          if (c === OPEN_ARRAY && this.key === this.lazyKey) {
            this.lazyIsMember = true;
            this.state = S.ElemFirst;
          } else this.begin(i, c, Target.Member);
          break;
        case S.ObjAfter:
          if (c === 44) this.state = S.ObjKey;
          else if (c === CLOSE_OBJECT) this.state = S.End;
          else this.fail(i);
          break;
        case S.ElemFirst:
          if (c === CLOSE_ARRAY) this.state = this.lazyIsMember ? S.ObjAfter : S.End;
          else this.begin(i, c, Target.Element);
          break;
        case S.ElemNext:
          this.begin(i, c, Target.Element);
          break;
        case S.ElemAfter:
          if (c === 44) this.state = S.ElemNext;
          else if (c === CLOSE_ARRAY) this.state = this.lazyIsMember ? S.ObjAfter : S.End;
          else this.fail(i);
          break;
        default:
          this.fail(i);
      }
    }
    if (this.capturing) {
      this.parts.push(chunk.slice(this.capStart));
      this.capStart = 0;
    }
    this.base += n;
  }

  end(): void {
    // a number (or true, false, null) at the top level ends with the text
    if (this.capturing && this.literal && this.stack.length === 0) this.complete('', 0);
    if (this.state !== S.End) this.fail(0, true);
  }

  private beginKey(i: number): void {
    this.state = S.Key;
    this.startCapture(i);
    this.inString = true;
  }

  private begin(i: number, c: number, target: Target): void {
    this.target = target;
    this.state = S.Value;
    this.startCapture(i);
    this.literal = false;
    if (c === QUOTE) this.inString = true;
    else if (c === OPEN_OBJECT) this.stack.push(CLOSE_OBJECT);
    else if (c === OPEN_ARRAY) this.stack.push(CLOSE_ARRAY);
    else if (c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110) this.literal = true;
    else this.fail(i);
  }

  private startCapture(i: number): void {
    this.capturing = true;
    this.capStart = i;
    this.parts = [];
    this.capLine = this.line;
    this.capColumn = this.base + i - this.lineStart + 1;
  }

  /** The captured piece ends before `end` in the current chunk. */
  private complete(chunk: string, end: number): void {
    const last = chunk.slice(this.capStart, end);
    const text = this.parts.length === 0 ? last : this.parts.join('') + last;
    this.parts = [];
    this.capturing = false;
    this.literal = false;
    const at = { line: this.capLine, column: this.capColumn };
    if (this.state === S.Key) {
      this.key = parsePiece(text, at) as string;
      this.state = S.Colon;
      return;
    }
    if (this.target === Target.Member) {
      this.handler.member(this.key, parsePiece(text, at));
      this.state = S.ObjAfter;
    } else if (this.target === Target.Element) {
      const index = this.index++;
      this.state = S.ElemAfter;
      this.handler.element(index, text, () => parsePiece(text, at, index));
    } else {
      this.handler.other(parsePiece(text, at));
      this.state = S.End;
    }
  }

  private fail(i: number, atEnd = false): never {
    const offset = atEnd ? this.base : this.base + i;
    throw new JsonScanError({ line: this.line, column: offset - this.lineStart + 1 });
  }
}

/** JSON.parse of one piece, a fault placed in the whole document from where the piece starts. */
function parsePiece(text: string, at: { line: number; column: number }, element?: number): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const pos = /position (\d+)/.exec((e as Error).message);
    const rel = lineColumn(text, pos ? Math.min(Number(pos[1]), text.length) : 0);
    const line = at.line + rel.line - 1;
    const column = rel.line === 1 ? at.column + rel.column - 1 : rel.column;
    throw new JsonScanError({ line, column, ...(element !== undefined ? { element } : {}) });
  }
}
