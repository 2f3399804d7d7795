import { INTAKE_FORMATS, type ExcludedItem, type IntakeFormat, type IntakeSummary, type ParseContext, type TextReader } from './common.js';
import { InvalidInputError, type InputIssue } from '../errors.js';
import type { Indicator, TLP } from '../model.js';
import { decodedChunks, type TextSource } from './text-source.js';
import { FormatReader, SourceChangedError, looksLikeJson, shapeOf, type ReadPlan } from './readers.js';
import { Check, Emit, IGNORE, fromKept } from './sinks.js';
import { StixPriorCollector } from './formats/stix.js';
import { JsonScanError, scanJson } from './formats/json-scan.js';
import { detectTextFormat } from './formats/text.js';

export type { ExcludedItem, ExclusionKind, IntakeFormat, IntakeSummary } from './common.js';
export { INTAKE_FORMATS } from './common.js';

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
 *
 * A small file (the size of a whole operation's list, READ_ONCE) is read once: its first reading also keeps the
 * unique indicators (at most ~32 MB of heap), handed out from memory once the file is found acceptable. Reading it
 * again only spared memory the host can afford, and cost an eighth of an operation's intake and routing (the bench's
 * submit: 0.46 -> 0.29 s of 1.36 s).
 */

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
  /**
   * read a file once when it is no longer than this many characters and has no more unique indicators than
   * this many; a larger one is read twice (0: always twice) @default READ_ONCE
   */
  readonly readOnce?: { readonly chars: number; readonly indicators: number };
}

/**
 * The largest file read once: 8 Mi characters and 50,000 unique indicators (about 32 MB of indicators kept on
 * the heap at most, measured for 50,000 lines of 164 characters; Africa Cyber Surge II's list was 20,674 lines,
 * 2.3 MB).
 */
export const READ_ONCE = { chars: 8 * 1024 * 1024, indicators: 50_000 } as const;

/**
 * Reads a text in any supported format; throws InvalidInputError naming every bad item, and accepts nothing
 * then, unless `skipInvalid` is set.
 */
export function parseIndicators(text: string, opts: IntakeOptions = {}): IntakeResult {
  const passes = intakePasses(opts);
  const indicators: Indicator[] = [];
  let step = passes.next();
  while (!step.done) {
    const r = step.value;
    try {
      if (r.kept) {
        for (const indicator of r.kept) indicators.push(indicator);
        step = passes.next();
        continue;
      }
      if (opts.maxChars !== undefined && text.length > opts.maxChars) throw tooLong(opts.maxChars);
      r.chars?.(text.length);
      r.reader.push(text);
      r.reader.end();
      for (const indicator of r.take?.(1) ?? []) indicators.push(indicator);
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
 * `batchSize`) at a time; a refused file gives no batch at all. `last` is true on a batch known to be the last
 * (a streamed reading may find its last batch was the one before, and say nothing). Returns what parseIndicators
 * does, but the indicators.
 */
export async function readIndicators(
  source: TextSource,
  opts: IntakeOptions,
  onBatch: (indicators: Indicator[], last: boolean) => Promise<void>,
  batchSize = 1000,
): Promise<IntakeSummary> {
  const passes = intakePasses(opts);
  let step = passes.next();
  while (!step.done) {
    const r = step.value;
    try {
      if (r.kept) {
        for (let i = 0; i < r.kept.length; i += batchSize) await onBatch(r.kept.slice(i, i + batchSize), i + batchSize >= r.kept.length);
        step = passes.next();
        continue;
      }
      const { reader, take } = r;
      let chars = 0;
      for await (const text of decodedChunks(source)) {
        chars += text.length;
        if (opts.maxChars !== undefined && chars > opts.maxChars) throw tooLong(opts.maxChars);
        r.chars?.(chars);
        reader.push(text);
        const batch = take?.(batchSize);
        if (batch) await onBatch(batch, false);
      }
      reader.end();
      const rest = take?.(1);
      if (rest) await onBatch(rest, true);
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

/**
 * What a driver is asked to do next: a reading of the file (the text fed to `reader`, and after each piece what it
 * hands out), or handing out indicators a reading kept, with no reading.
 */
type Reading =
  | {
      readonly kept?: undefined;
      readonly reader: TextReader;
      /** the indicators read since the last call, when there are at least `min` */
      readonly take?: (min: number) => Indicator[] | undefined;
      /** told, before each piece is fed, how many characters of the file have been read, that piece's included */
      readonly chars?: (read: number) => void;
    }
  | { readonly kept: readonly Indicator[] };

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
  const once = opts.readOnce ?? READ_ONCE;
  const newCheck = (): Check => new Check(opts.fallbackTlp, once.indicators);
  let plan: ReadPlan = { json: 'stream' };
  let check = newCheck();
  let first = new FormatReader(requested, check, ctx, plan);
  // at most: streamed, then again knowing the markings and versions (or whole)
  for (let attempt = 0; ; attempt++) {
    const checking = check;
    yield* reading({ reader: first, chars: (read) => void (read > once.chars && checking.forget()) });
    if (!first.retry) break;
    if (attempt === 2) throw new Error(`intake: the file still asks to be read ${first.retry} after ${attempt + 1} readings`);
    if (first.retry === 'prior') {
      const collector = new StixPriorCollector();
      yield* reading({ reader: new FormatReader(requested, IGNORE, ctx, plan, collector) });
      plan = { ...plan, stixPrior: collector.prior() };
    } else plan = { json: 'whole' };
    check = newCheck();
    first = new FormatReader(requested, check, ctx, plan);
  }
  // what the first reading learnt of the markings spares the second from watching for late ones
  if (first.learnt && !plan.stixPrior) plan = { ...plan, stixPrior: first.learnt };
  const format = first.format!;
  const { issues, excludedItems: excluded } = check;
  if (issues.length > 0 && !opts.skipInvalid) {
    const lines = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    const itemsOnly = issues.every((i) => i.where !== 'file');
    throw new InvalidInputError(`${lines} in the ${format} file; nothing was accepted`, issues, {
      ...(itemsOnly ? { hint: `to take the file without ${issues.length === 1 ? 'this item' : 'these items'}, run it again with --skip-invalid (skipInvalid: true in the API): ${issues.length === 1 ? 'it is' : 'they are'} then listed in the plan and the audit record instead` } : {}),
    });
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
  if (check.kept) {
    const { indicators, duplicates } = fromKept(check, check.kept);
    yield { kept: indicators };
    return { ...summary, duplicates };
  }

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

/** "3 expired, 1 unsupported": why nothing is left, for a refusal message. */
function summariseExcluded(excluded: readonly ExcludedItem[], skipped: number): string {
  const counts = new Map<string, number>();
  for (const e of excluded) counts.set(e.kind, (counts.get(e.kind) ?? 0) + 1);
  if (skipped) counts.set('skipped as invalid', skipped);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ');
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
