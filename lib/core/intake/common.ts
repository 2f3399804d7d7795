import type { InputIssue } from '../errors.js';
import type { Indicator } from '../model.js';

/**
 * What every intake parser shares: its output shape, the reasons an item is left out without being an error,
 * and the date reading all formats use.
 */

/**
 * Why an item of a valid file is not notified. These are facts about the intelligence, not mistakes in the file:
 * they never make a file fail, and the plan lists them.
 */
export type ExclusionKind = 'expired' | 'not-yet-valid' | 'revoked' | 'deleted' | 'unsupported' | 'not-for-detection';

/** An item of the file that is not notified, with where it is and why. */
export interface ExcludedItem {
  readonly where: string;
  readonly kind: ExclusionKind;
  readonly reason: string;
  /** the canonical value, when the item names one the orchestrator could read */
  readonly value?: string;
}

/** A parser's whole answer: it never throws on bad content, it reports it. */
export interface ParserOutput {
  readonly indicators: Indicator[];
  /** errors: the file is refused unless they are skipped */
  readonly issues: InputIssue[];
  readonly excluded: ExcludedItem[];
}

/** Where a reader puts each item the moment it has read it, so that nothing of the file has to pile up. */
export interface ItemSink {
  indicator(indicator: Indicator): void;
  issue(issue: InputIssue): void;
  excluded(item: ExcludedItem): void;
}

/** A format reader fed the text a piece at a time: `push` as often as there is text, then `end` once. */
export interface TextReader {
  push(text: string): void;
  end(): void;
}

/** What a parser may need beyond the text. */
export interface ParseContext {
  /** validity windows (STIX valid_until) are judged against this */
  readonly now: Date;
}

export const MAX_EVIDENCE = 4000;
export const MAX_THREAT = 100;

/** Cuts free text to a field's limit (the limit is the schema's, the source's text may be longer). */
export function clipText(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= max ? flat : `${flat.slice(0, max - 1)}…`;
}

/**
 * A date or date-time as ISO-8601 UTC; a time without an offset is taken as UTC (not the server's zone, which
 * would make the same file mean different things on different machines).
 */
export function isoDate(text: string): string | undefined {
  // a file's dates repeat (20,674 lines of the bench campaign hold 28): each is read once, ~24 -> 0.5 ms for them all
  if (text.length > MAX_KEPT_LENGTH) return readIsoDate(text);
  const known = readDates.get(text);
  if (known !== undefined || readDates.has(text)) return known;
  const iso = readIsoDate(text);
  if (readDates.size >= MAX_READ_DATES) readDates.clear();
  // a copy: the text may be a slice of a whole chunk of the file, which the key would keep alive after the intake
  readDates.set([...text].join(''), iso);
  return iso;
}

const MAX_READ_DATES = 4096;
// the longest date-time read (with nanoseconds and an offset) is 35 characters
const MAX_KEPT_LENGTH = 40;
const readDates = new Map<string, string | undefined>();

function readIsoDate(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(text.trim());
  if (!m) return undefined;
  const [, y, mo, d, h = '00', mi = '00', s = '00', fraction = '', zone = 'Z'] = m;
  // Date.parse rolls 2024-02-30 over into March; a real calendar date must survive the round trip.
  const day = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (day.getUTCFullYear() !== Number(y) || day.getUTCMonth() !== Number(mo) - 1 || day.getUTCDate() !== Number(d)) {
    return undefined;
  }
  if (Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) return undefined;
  const offset = zone.toUpperCase() === 'Z' ? 'Z' : zone.replace(/^([+-]\d{2}):?(\d{2})$/, '$1:$2');
  const ms = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${fraction.slice(0, 4)}${offset}`);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

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
