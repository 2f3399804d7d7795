import { InvalidInputError, type InputIssue } from '../errors.js';
import type { Indicator, TLP } from '../model.js';
import type { ExcludedItem, ItemSink, ParseContext, ParserOutput, TextReader } from './common.js';
import { CompactStringMap } from './compact-map.js';
import { looksLikeMisp, parseMisp } from './misp.js';
import { looksLikeStix, parseStix, StixPriorCollector, StixReader, type StixPrior } from './stix.js';
import { CsvReader, detectTextFormat, ListReader, textFormatDecided } from './text.js';
import { JsonScanError, JsonStreamScanner, scanJson, type ScannedJson } from './json-scan.js';
import { decodedChunks, type TextSource } from './text-source.js';
import { stricterTlp, TLP_ORDER } from './tlp.js';

export type { ExcludedItem, ExclusionKind } from './common.js';

/**
 * Intake of a submitted file: all or nothing. Every bad item is reported at once (by line, STIX object id or
 * MISP attribute uuid), so a coordinator fixes the file in one pass, and nothing is accepted from a file that
 * has any, unless the coordinator asks to skip them: then they are listed instead. Items that are fine but not
 * to be notified (expired, unsupported, not meant for detection) are never errors; they are listed too.
 *
 * A file is read twice, a piece at a time, and never held whole: the first reading checks every item and keeps
 * only each unique value (with its place and marking) and what is listed (duplicates, exclusions, skipped
 * items); the second reading, which only happens when the first found the file acceptable, hands the unique
 * indicators out in batches as it meets them. So all or nothing needs no undo: nothing is handed out (stored)
 * before the whole file has been checked.
 */

/** The formats read here; JSON ones are told apart by their shape, text ones by their first line. */
export type IntakeFormat = 'list' | 'csv' | 'stix' | 'misp';

/** Every format name a caller may ask for. */
export const INTAKE_FORMATS: readonly IntakeFormat[] = ['list', 'csv', 'stix', 'misp'];

/** What a file gave, without its indicators (those are handed out in batches as the file is read). */
export interface IntakeSummary {
  readonly format: IntakeFormat;
  /** how many unique indicators (by canonical `value`) the file gave */
  readonly unique: number;
  /** later occurrences of a value already seen, with where the first one was */
  readonly duplicates: { origin: string; value: string; firstOrigin: string }[];
  /** items not notified, and why (expired, unsupported, not for detection ...) */
  readonly excluded: ExcludedItem[];
  /** items with errors, left out because the caller asked to skip them (`skipInvalid`) */
  readonly skipped: InputIssue[];
}

export interface IntakeResult extends IntakeSummary {
  /** unique by canonical `value`, in source order; `tlp` is the item's own marking (absent: none) */
  readonly indicators: Indicator[];
}

export interface IntakeOptions {
  /** default 'auto' (see detectFormat) */
  readonly format?: IntakeFormat | 'auto';
  /** refuse the file when it holds more unique indicators than this */
  readonly maxIndicators?: number;
  /** refuse a file longer than this many characters */
  readonly maxChars?: number;
  /** leave out the items with errors (and list them) instead of refusing the file */
  readonly skipInvalid?: boolean;
  /** validity windows are judged against this @default the current time */
  readonly now?: Date;
  /**
   * the level an unmarked item will be handled under (the campaign's): when one value comes both marked and
   * unmarked, the stricter of the two is kept
   */
  readonly fallbackTlp?: TLP;
  /** return an empty result instead of refusing a file with nothing to notify (a dry run shows why) */
  readonly allowEmpty?: boolean;
}

/**
 * Reads a text in any supported format; throws InvalidInputError naming every bad item, and accepts nothing
 * then, unless `skipInvalid` is set.
 */
export function parseIndicators(text: string, opts: IntakeOptions = {}): IntakeResult {
  const passes = intakePasses(opts);
  const indicators: Indicator[] = [];
  let step = passes.next();
  while (!step.done) {
    const { reader, take } = step.value;
    try {
      if (opts.maxChars !== undefined && text.length > opts.maxChars) throw tooLong(opts.maxChars);
      reader.push(text);
      reader.end();
      for (const indicator of take?.(1) ?? []) indicators.push(indicator);
    } catch (e) {
      step = passes.throw(e);
      continue;
    }
    step = passes.next();
  }
  return { ...step.value, indicators };
}

/**
 * Reads a file from a source, a piece at a time, with the same checks as parseIndicators. Only when the whole
 * file is acceptable are its unique indicators handed to `onBatch`, in source order, a batch (about
 * `batchSize`) at a time; a refused file gives no batch at all. Returns what parseIndicators does, but the
 * indicators.
 */
export async function readIndicators(
  source: TextSource,
  opts: IntakeOptions,
  onBatch: (indicators: Indicator[]) => Promise<void>,
  batchSize = 1000,
): Promise<IntakeSummary> {
  const passes = intakePasses(opts);
  let step = passes.next();
  while (!step.done) {
    const { reader, take } = step.value;
    try {
      let chars = 0;
      for await (const text of decodedChunks(source)) {
        chars += text.length;
        if (opts.maxChars !== undefined && chars > opts.maxChars) throw tooLong(opts.maxChars);
        reader.push(text);
        const batch = take?.(batchSize);
        if (batch) await onBatch(batch);
      }
      reader.end();
      const rest = take?.(1);
      if (rest) await onBatch(rest);
    } catch (e) {
      step = passes.throw(e);
      continue;
    }
    step = passes.next();
  }
  return step.value;
}

function tooLong(max: number): InvalidInputError {
  return new InvalidInputError('the file is too large', [{ where: 'content', reason: `longer than ${max} characters` }]);
}

/** One reading of the file asked of a driver: the text fed to `reader`, and after each piece what it hands out. */
interface Reading {
  readonly reader: TextReader;
  /** the indicators read since the last call, when there are at least `min` */
  readonly take?: (min: number) => Indicator[] | undefined;
}

/** How a JSON file is read: streamed (a bundle's objects one at a time) or, for what cannot be, whole. */
interface ReadPlan {
  readonly json: 'stream' | 'whole';
  readonly stixPrior?: StixPrior;
}

/** The second reading met something the first did not: the file changed in between. */
class SourceChangedError extends Error {
  constructor() {
    super('the file changed while it was read');
    this.name = 'SourceChangedError';
  }
}

/**
 * The readings of one intake and the checks between them, as a generator, so that one sequence serves a text
 * in memory (read at once) and a source (read a piece at a time, with waits for the store in between). A driver
 * that fails a reading throws into it here.
 */
function* intakePasses(opts: IntakeOptions): Generator<Reading, IntakeSummary, undefined> {
  const requested = opts.format ?? 'auto';
  if (requested !== 'auto' && !INTAKE_FORMATS.includes(requested)) {
    throw new InvalidInputError(`unknown format ${String(requested).slice(0, 20)}`);
  }
  const ctx: ParseContext = { now: opts.now ?? new Date() };
  let plan: ReadPlan = { json: 'stream' };
  let check = new Check(opts.fallbackTlp);
  let first = new FormatReader(requested, check, ctx, plan);
  // at most: streamed, then again knowing the markings and versions (or whole)
  for (let attempt = 0; ; attempt++) {
    yield* reading({ reader: first });
    if (!first.retry) break;
    if (attempt === 2) throw new Error(`intake: the file still asks to be read ${first.retry} after ${attempt + 1} readings`);
    if (first.retry === 'prior') {
      const collector = new StixPriorCollector();
      yield* reading({ reader: new FormatReader(requested, IGNORE, ctx, plan, collector) });
      plan = { ...plan, stixPrior: collector.prior() };
    } else plan = { json: 'whole' };
    check = new Check(opts.fallbackTlp);
    first = new FormatReader(requested, check, ctx, plan);
  }
  // what the first reading learnt of the markings spares the second from watching for late ones
  if (first.learnt && !plan.stixPrior) plan = { ...plan, stixPrior: first.learnt };
  const format = first.format!;
  const { issues, excludedItems: excluded } = check;
  if (issues.length > 0 && !opts.skipInvalid) {
    const lines = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    throw new InvalidInputError(`${lines} in the ${format} file; nothing was accepted`, issues);
  }
  // an issue that is not about one item (the file itself) cannot be skipped
  const fatal = issues.find((i) => i.where === 'file');
  if (fatal) throw new InvalidInputError(`the ${format} file cannot be read; nothing was accepted`, [fatal]);
  if (check.unique === 0 && !opts.allowEmpty) {
    const why = summariseExcluded(excluded, issues.length);
    throw new InvalidInputError(`no indicators to notify in the file${why ? ` (${why})` : ''}`, [
      { where: 'file', reason: why ? `no indicators to notify: ${why}` : 'no indicators' },
    ]);
  }
  if (opts.maxIndicators !== undefined && check.unique > opts.maxIndicators) {
    const reason = `${check.unique} indicators; at most ${opts.maxIndicators} are accepted in one file`;
    throw new InvalidInputError('too many indicators in the file', [{ where: 'file', reason }]);
  }
  const summary = { format, unique: check.unique, excluded, skipped: issues };
  if (check.unique === 0) return { ...summary, duplicates: [] };

  const emit = new Emit(check);
  const second = new FormatReader(requested, emit, ctx, plan);
  yield* reading({ reader: second, take: (min) => emit.take(min) });
  if (second.format !== format || !emit.complete()) throw changedError();
  return { ...summary, duplicates: emit.duplicates() };
}

/** One reading; what goes wrong in it becomes the InvalidInputError a submitter reads. */
function* reading(r: Reading): Generator<Reading, void, undefined> {
  try {
    yield r;
  } catch (e) {
    if (e instanceof JsonScanError) {
      // the position only: JSON.parse's own message quotes the text around the fault, which may hold an address
      const { line, column, element } = e.fault;
      const reason = `not valid JSON (line ${line}, column ${column}${element !== undefined ? `, in objects[${element}]` : ''})`;
      throw new InvalidInputError('the file is not valid JSON; nothing was accepted', [{ where: 'file', reason }]);
    }
    if (e instanceof SourceChangedError) throw changedError();
    throw e;
  }
}

function changedError(): InvalidInputError {
  return new InvalidInputError('the file changed while it was read; it was not accepted', [
    { where: 'file', reason: 'the second reading differs from the first: submit the file again once it is complete' },
  ]);
}

const IGNORE: ItemSink = { indicator: () => undefined, issue: () => undefined, excluded: () => undefined };

/** A TLP as a small number (0: none), to keep it beside a value's place in one number. */
const tlpCode = (tlp: TLP | undefined): number => (tlp ? TLP_ORDER.indexOf(tlp) + 1 : 0);
const tlpOf = (code: number): TLP | undefined => (code === 0 ? undefined : TLP_ORDER[code - 1]);
const TLP_SLOTS = 8;

/**
 * A copy of a string that holds nothing else alive. V8 cuts a string of 13 or more characters out of a larger one
 * as a view of it: a duplicate's value kept from a CSV field would keep its whole 64 KB piece of the file.
 */
const detach = (s: string): string => (s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string));

/**
 * The first reading: checks every item and keeps, per unique value, only its place among the unique values and
 * the marking it will be handled under (one number, in a map off the JS heap), and everything that is listed.
 */
class Check implements ItemSink {
  readonly places = new CompactStringMap();
  unique = 0;
  readonly duplicates: { origin: string; value: string; place: number }[] = [];
  readonly issues: InputIssue[] = [];
  readonly excludedItems: ExcludedItem[] = [];

  constructor(private readonly fallbackTlp: TLP | undefined) {}

  indicator(indicator: Indicator): void {
    const code = this.places.get(indicator.value);
    if (code === undefined) {
      this.places.set(indicator.value, this.unique * TLP_SLOTS + tlpCode(indicator.tlp));
      this.unique++;
      return;
    }
    const place = Math.floor(code / TLP_SLOTS);
    const kept = tlpOf(code % TLP_SLOTS);
    this.duplicates.push({ origin: detach(indicator.origin), value: detach(indicator.value), place });
    // the same value marked twice is handled under the stricter marking: never the looser of two sources
    if (kept !== indicator.tlp && (kept || indicator.tlp)) {
      const a = kept ?? this.fallbackTlp;
      const b = indicator.tlp ?? this.fallbackTlp;
      const tlp = a && b ? stricterTlp(a, b) : (a ?? b)!;
      this.places.set(indicator.value, place * TLP_SLOTS + tlpCode(tlp));
    }
  }

  issue(issue: InputIssue): void {
    this.issues.push(issue);
  }

  excluded(item: ExcludedItem): void {
    this.excludedItems.push(item);
  }
}

/**
 * The second reading: hands out each unique value where it first occurs, under the marking the first reading
 * settled on, and learns where each duplicate's first occurrence was. Anything the first reading did not see
 * means the file changed.
 */
class Emit implements ItemSink {
  private next = 0;
  private pending: Indicator[] = [];
  /** per place, the duplicates whose first occurrence it is */
  private readonly firstOf = new Map<number, number[]>();
  private readonly firstOrigins: string[] = [];

  constructor(private readonly check: Check) {
    check.duplicates.forEach((d, i) => {
      const list = this.firstOf.get(d.place);
      if (list) list.push(i);
      else this.firstOf.set(d.place, [i]);
    });
  }

  indicator(indicator: Indicator): void {
    const code = this.check.places.get(indicator.value);
    if (code === undefined) throw new SourceChangedError();
    const place = Math.floor(code / TLP_SLOTS);
    if (place < this.next) return;
    if (place > this.next) throw new SourceChangedError();
    this.next++;
    for (const i of this.firstOf.get(place) ?? []) this.firstOrigins[i] = indicator.origin;
    const tlp = tlpOf(code % TLP_SLOTS);
    this.pending.push(tlp === indicator.tlp ? indicator : { ...indicator, tlp });
  }

  issue(): void {}

  excluded(): void {}

  take(min: number): Indicator[] | undefined {
    if (this.pending.length === 0 || this.pending.length < min) return undefined;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  complete(): boolean {
    return this.next === this.check.unique;
  }

  duplicates(): IntakeSummary['duplicates'] {
    return this.check.duplicates.map((d, i) => ({ origin: d.origin, value: d.value, firstOrigin: this.firstOrigins[i]! }));
  }
}

/**
 * Reads one format, told from the start of the text unless it was asked for: JSON by its first character, CSV
 * or a list by its first non-blank line. Holds the start of the text only until it can tell.
 */
class FormatReader implements TextReader {
  format: IntakeFormat | undefined;
  /** set at the end when the text must be read again: as a whole, or knowing its markings and versions first */
  retry: 'whole' | 'prior' | undefined;
  /** a streamed STIX reading that needs no second look: the markings it found */
  learnt: StixPrior | undefined;
  private inner: TextReader | undefined;
  private json: JsonReader | undefined;
  private head = '';

  constructor(
    private readonly requested: IntakeFormat | 'auto',
    private readonly sink: ItemSink,
    private readonly ctx: ParseContext,
    private readonly plan: ReadPlan,
    private readonly collector?: StixPriorCollector,
  ) {}

  push(text: string): void {
    if (this.inner) {
      this.inner.push(text);
      return;
    }
    this.head += text;
    this.choose(false);
  }

  end(): void {
    if (!this.inner) this.choose(true);
    this.inner!.end();
    if (this.json) {
      this.format = this.json.format;
      this.retry = this.json.retry;
      this.learnt = this.json.learnt;
    }
  }

  private choose(final: boolean): void {
    const body = this.head.charCodeAt(0) === 0xfeff ? this.head.slice(1) : this.head;
    let kind: 'json' | 'csv' | 'list' | undefined;
    const r = this.requested;
    if (r === 'stix' || r === 'misp') kind = 'json';
    else if (r === 'csv' || r === 'list') kind = r;
    else {
      const start = /\S/.exec(body);
      if (start) kind = body[start.index] === '{' || body[start.index] === '[' ? 'json' : undefined;
      if (!kind && (start || final)) {
        if (!final && !textFormatDecided(body)) return;
        kind = detectTextFormat(body);
      }
      if (!kind) return;
    }
    if (kind === 'json') {
      this.json = new JsonReader(r as 'auto' | 'stix' | 'misp', this.sink, this.ctx, this.plan, this.collector);
      this.inner = this.json;
    } else {
      this.format = kind;
      this.inner = kind === 'csv' ? new CsvReader(this.sink) : new ListReader(this.sink);
    }
    const head = this.head;
    this.head = '';
    this.inner.push(head);
  }
}

/**
 * A JSON file. A STIX bundle (or a top-level list of STIX objects) is streamed: its objects are read one at a
 * time as the text comes. A MISP event, and any shape that only shows itself at the end, is read whole.
 */
class JsonReader implements TextReader {
  format: IntakeFormat | undefined;
  retry: 'whole' | 'prior' | undefined;
  learnt: StixPrior | undefined;
  private readonly scanner: JsonStreamScanner | undefined;
  private readonly parts: string[] = [];
  private readonly members: Record<string, unknown> = {};
  private other: { value: unknown } | undefined;
  /** the elements of the top-level list are STIX objects (decided by the first), or not */
  private listShape: 'stix' | 'neither' | undefined;
  private streamed = false;
  private stix: StixReader | undefined;

  constructor(
    private readonly requested: 'auto' | 'stix' | 'misp',
    private readonly sink: ItemSink,
    private readonly ctx: ParseContext,
    private readonly plan: ReadPlan,
    private readonly collector?: StixPriorCollector,
  ) {
    // MISP is read whole: an event is one object, not a list of independent ones
    if (requested === 'misp' || plan.json === 'whole') return;
    this.scanner = new JsonStreamScanner('objects', {
      member: (key, value) => {
        // defined, not assigned: a member named __proto__ must stay a member
        Object.defineProperty(this.members, key, { value, enumerable: true, writable: true, configurable: true });
      },
      element: (index, _text, parse) => this.element(index, parse),
      other: (value) => {
        this.other = { value };
      },
    });
  }

  push(text: string): void {
    if (this.scanner) this.scanner.push(text);
    else this.parts.push(text);
  }

  end(): void {
    if (!this.scanner) {
      const text = this.parts.join('');
      this.parts.length = 0;
      this.readWhole(scanJson(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, 'objects'));
      return;
    }
    this.scanner.end();
    if (this.collector) return;
    const top = this.scanner.topLevel;
    if (top === 'array') {
      // an empty list is read as STIX only when STIX was asked for
      if (this.listShape === 'stix' || (this.listShape === undefined && this.requested === 'stix')) this.finishStix();
      else {
        this.format = 'stix';
        this.sink.issue({ where: 'file', reason: NEITHER });
      }
      return;
    }
    if (top === 'object' && this.streamed) {
      const bundle = this.members.type === 'bundle' && (this.requested === 'stix' || !looksLikeMisp(this.members));
      if (bundle) this.finishStix();
      else this.retry = 'whole';
      return;
    }
    this.readWhole(top === 'object' ? { kind: 'object', members: this.members } : { kind: 'other', value: this.other?.value });
  }

  private element(index: number, parse: () => unknown): void {
    if (this.collector) {
      this.collector.object(parse(), index);
      return;
    }
    if (this.scanner!.topLevel === 'object') {
      this.streamed = true;
      this.stixReader().object(parse(), index);
      return;
    }
    if (index === 0) {
      const first = parse();
      this.listShape = this.requested === 'stix' || looksLikeStix([first]) ? 'stix' : 'neither';
      if (this.listShape === 'stix') this.stixReader().object(first, 0);
      return;
    }
    if (this.listShape === 'stix') this.stixReader().object(parse(), index);
  }

  private stixReader(): StixReader {
    this.stix ??= new StixReader(this.ctx, this.sink, this.plan.stixPrior);
    return this.stix;
  }

  private finishStix(): void {
    this.format = 'stix';
    const reader = this.stixReader();
    reader.finish();
    if (reader.needsPrior) this.retry = 'prior';
    else if (!this.plan.stixPrior) this.learnt = reader.learnt();
  }

  /** A document read whole, by its shape (or as the format asked for). */
  private readWhole(scanned: ScannedJson): void {
    const { format, parsed } = readScanned(scanned, this.requested, this.ctx);
    this.format = format;
    for (const i of parsed.indicators) this.sink.indicator(i);
    for (const i of parsed.issues) this.sink.issue(i);
    for (const e of parsed.excluded) this.sink.excluded(e);
  }
}

function readScanned(scanned: ScannedJson, requested: 'auto' | 'stix' | 'misp', ctx: ParseContext): { format: IntakeFormat; parsed: ParserOutput } {
  const shape = shapeOf(scanned);
  const format = requested === 'auto' ? (shape ?? 'stix') : requested;
  if (format === 'stix' && (shape === 'stix' || requested === 'stix')) return { format, parsed: readStix(scanned, ctx) };
  if (format === 'misp' && (shape === 'misp' || requested === 'misp')) return { format, parsed: parseMisp(wholeOf(scanned), ctx) };
  return { format, parsed: { indicators: [], issues: [{ where: 'file', reason: NEITHER }], excluded: [] } };
}

const NEITHER = 'JSON that is neither a STIX 2.1 bundle nor a MISP event';

/** "3 expired, 1 unsupported": why nothing is left, for a refusal message. */
function summariseExcluded(excluded: readonly ExcludedItem[], skipped: number): string {
  const counts = new Map<string, number>();
  for (const e of excluded) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  if (skipped) counts.set('skipped as invalid', skipped);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
}

function looksLikeJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

/** STIX or MISP by the shape of the top level (for an array, of its first element), or neither. */
function shapeOf(scanned: ScannedJson): 'stix' | 'misp' | undefined {
  if (scanned.kind === 'object') {
    if (looksLikeMisp(scanned.members)) return 'misp';
    if (scanned.members.type === 'bundle' || looksLikeStix(scanned.members)) return 'stix';
    return undefined;
  }
  if (scanned.kind === 'array') {
    for (const first of scanned.lazy) return looksLikeStix([first]) ? 'stix' : undefined;
    return undefined;
  }
  return undefined;
}

/** The whole document, its lazy array read in (for formats that are read whole). */
function wholeOf(scanned: ScannedJson): unknown {
  if (scanned.kind === 'other') return scanned.value;
  if (scanned.kind === 'array') return [...scanned.lazy];
  return scanned.lazy ? { ...scanned.members, objects: [...scanned.lazy] } : scanned.members;
}

/** The objects of a bundle, of a top-level array, or a lone object. */
function readStix(scanned: ScannedJson, ctx: ParseContext): ParserOutput {
  if (scanned.kind === 'array') return parseStix(scanned.lazy, ctx);
  if (scanned.kind === 'object' && scanned.members.type === 'bundle') {
    if (scanned.lazy) return parseStix(scanned.lazy, ctx);
    if (Array.isArray(scanned.members.objects)) return parseStix(scanned.members.objects, ctx);
    const where = typeof scanned.members.id === 'string' ? scanned.members.id : 'file';
    return { indicators: [], issues: [{ where, reason: 'a bundle without an objects list' }], excluded: [] };
  }
  return parseStix([wholeOf(scanned)], ctx);
}

/**
 * The format of a file from its content: STIX or MISP for JSON of their shape, 'csv' when the first line has
 * a comma and a known indicator column name, else 'list'.
 */
export function detectFormat(text: string): IntakeFormat {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  if (looksLikeJson(body)) {
    try {
      const shape = shapeOf(scanJson(body, 'objects'));
      if (shape) return shape;
    } catch (e) {
      if (!(e instanceof JsonScanError)) throw e;
    }
  }
  return detectTextFormat(body);
}
