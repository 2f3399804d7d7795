import { InvalidInputError, type InputIssue } from './errors.js';
import type { Indicator, TLP } from './model.js';
import { normaliseIndicator } from './normalise.js';
import { isoDate, MAX_EVIDENCE, MAX_THREAT, type ExcludedItem, type ParseContext, type ParserOutput } from './intake-common.js';
import { looksLikeMisp, parseMisp } from './intake-misp.js';
import { looksLikeStix, parseStix, type StixSource } from './intake-stix.js';
import { JsonScanError, scanJson, type LazyElements, type ScannedJson } from './json-scan.js';
import { stricterTlp, tlpFromText } from './tlp.js';

export type { ExcludedItem, ExclusionKind } from './intake-common.js';

/**
 * Intake of a submitted file: all or nothing. Every bad item is reported at once (by line, STIX object id or
 * MISP attribute uuid), so a coordinator fixes the file in one pass, and nothing is accepted from a file that
 * has any, unless the coordinator asks to skip them: then they are listed instead. Items that are fine but not
 * to be notified (expired, unsupported, not meant for detection) are never errors; they are listed too.
 */

/** The formats read here; JSON ones are told apart by their shape, text ones by their first line. */
export type IntakeFormat = 'list' | 'csv' | 'stix' | 'misp';

/** Every format name a caller may ask for. */
export const INTAKE_FORMATS: readonly IntakeFormat[] = ['list', 'csv', 'stix', 'misp'];

export interface IntakeResult {
  readonly format: IntakeFormat;
  /** unique by canonical `value`, in source order; `tlp` is the item's own marking (absent: none) */
  readonly indicators: Indicator[];
  /** later occurrences of a value already seen, with where the first one was */
  readonly duplicates: { origin: string; value: string; firstOrigin: string }[];
  /** items not notified, and why (expired, unsupported, not for detection ...) */
  readonly excluded: ExcludedItem[];
  /** items with errors, left out because the caller asked to skip them (`skipInvalid`) */
  readonly skipped: InputIssue[];
}

export interface IntakeOptions {
  /** default 'auto' (see detectFormat) */
  readonly format?: IntakeFormat | 'auto';
  /** refuse the file when it holds more unique indicators than this */
  readonly maxIndicators?: number;
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

/** A text parser turns a whole file into indicators (origin set) and issues; it never throws on bad content. */
type TextParser = (text: string) => ParserOutput;

const TEXT_PARSERS: Readonly<Record<'list' | 'csv', TextParser>> = { list: parseList, csv: parseCsv };

/** The CSV column roles, by loosely matched header name (see columnKey). */
const COLUMNS = {
  indicator: ['indicator', 'value', 'ioc', 'observable'],
  type: ['type', 'kind'],
  country: ['country', 'cc', 'countrycode'],
  firstSeen: ['firstseen', 'seen'],
  evidence: ['evidence', 'comment', 'description', 'notes', 'note'],
  threat: ['threat', 'category', 'tag'],
  port: ['port'],
  tlp: ['tlp', 'marking', 'tlplevel', 'tlpmarking'],
} as const;
type Role = keyof typeof COLUMNS;

const ROLE_BY_NAME: ReadonlyMap<string, Role> = new Map(
  (Object.entries(COLUMNS) as [Role, readonly string[]][]).flatMap(([role, names]) => names.map((n) => [n, role])),
);

/**
 * Reads a file in any supported format; throws InvalidInputError naming every bad item, and accepts nothing
 * then, unless `skipInvalid` is set.
 */
export function parseIndicators(text: string, opts: IntakeOptions = {}): IntakeResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const requested = opts.format ?? 'auto';
  if (requested !== 'auto' && !INTAKE_FORMATS.includes(requested)) {
    throw new InvalidInputError(`unknown format ${String(requested).slice(0, 20)}`);
  }
  let format: IntakeFormat;
  let parsed: ParserOutput;
  if (requested === 'stix' || requested === 'misp' || (requested === 'auto' && looksLikeJson(body))) {
    const ctx: ParseContext = { now: opts.now ?? new Date() };
    try {
      const scanned = scanJson(body, 'objects');
      const shape = shapeOf(scanned);
      format = requested === 'auto' ? (shape ?? 'stix') : requested;
      if (format === 'stix' && (shape === 'stix' || requested === 'stix')) parsed = readStix(scanned, ctx);
      else if (format === 'misp' && (shape === 'misp' || requested === 'misp')) parsed = parseMisp(wholeOf(scanned), ctx);
      else parsed = { indicators: [], issues: [{ where: 'file', reason: 'JSON that is neither a STIX 2.1 bundle nor a MISP event' }], excluded: [] };
    } catch (e) {
      if (!(e instanceof JsonScanError)) throw e;
      // the position only: JSON.parse's own message quotes the text around the fault, which may hold an address
      const { line, column, element } = e.fault;
      const reason = `not valid JSON (line ${line}, column ${column}${element !== undefined ? `, in objects[${element}]` : ''})`;
      throw new InvalidInputError('the file is not valid JSON; nothing was accepted', [{ where: 'file', reason }]);
    }
  } else {
    format = requested === 'auto' ? detectTextFormat(body) : requested;
    parsed = TEXT_PARSERS[format as 'list' | 'csv'](body);
  }
  const { indicators: all, issues, excluded } = parsed;
  if (issues.length > 0 && !opts.skipInvalid) {
    const lines = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    throw new InvalidInputError(`${lines} in the ${format} file; nothing was accepted`, issues);
  }
  // an issue that is not about one item (the file itself) cannot be skipped
  const fatal = issues.find((i) => i.where === 'file');
  if (fatal) throw new InvalidInputError(`the ${format} file cannot be read; nothing was accepted`, [fatal]);

  const first = new Map<string, number>();
  const indicators: Indicator[] = [];
  const duplicates: IntakeResult['duplicates'] = [];
  for (const indicator of all) {
    const at = first.get(indicator.value);
    if (at === undefined) {
      first.set(indicator.value, indicators.length);
      indicators.push(indicator);
      continue;
    }
    const kept = indicators[at]!;
    duplicates.push({ origin: indicator.origin, value: indicator.value, firstOrigin: kept.origin });
    // the same value marked twice is handled under the stricter marking: never the looser of two sources
    if (kept.tlp !== indicator.tlp && (kept.tlp || indicator.tlp)) {
      const a = kept.tlp ?? opts.fallbackTlp;
      const b = indicator.tlp ?? opts.fallbackTlp;
      const tlp = a && b ? stricterTlp(a, b) : (a ?? b)!;
      indicators[at] = { ...kept, tlp };
    }
  }
  if (indicators.length === 0 && !opts.allowEmpty) {
    const why = summariseExcluded(excluded, issues.length);
    throw new InvalidInputError(`no indicators to notify in the file${why ? ` (${why})` : ''}`, [
      { where: 'file', reason: why ? `no indicators to notify: ${why}` : 'no indicators' },
    ]);
  }
  if (opts.maxIndicators !== undefined && indicators.length > opts.maxIndicators) {
    const reason = `${indicators.length} indicators; at most ${opts.maxIndicators} are accepted in one file`;
    throw new InvalidInputError('too many indicators in the file', [{ where: 'file', reason }]);
  }
  return { format, indicators, duplicates, excluded, skipped: issues };
}

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

/** The objects of a bundle (parsed one at a time), of a top-level array, or a lone object. */
function readStix(scanned: ScannedJson, ctx: ParseContext): ParserOutput {
  if (scanned.kind === 'array') return parseStix(lazySource(scanned.lazy), ctx);
  if (scanned.kind === 'object' && scanned.members.type === 'bundle') {
    if (scanned.lazy) return parseStix(lazySource(scanned.lazy), ctx);
    if (Array.isArray(scanned.members.objects)) return parseStix(scanned.members.objects, ctx);
    const where = typeof scanned.members.id === 'string' ? scanned.members.id : 'file';
    return { indicators: [], issues: [{ where, reason: 'a bundle without an objects list' }], excluded: [] };
  }
  return parseStix([wholeOf(scanned)], ctx);
}

const MARKING_DEFINITION = /"type"\s*:\s*"marking-definition"/;

/** Objects parsed one at a time; the marking definitions found first by a look at each object's text. */
function lazySource(lazy: LazyElements): StixSource {
  return {
    objects: lazy,
    *markingDefinitions() {
      for (const text of lazy.texts()) {
        if (!MARKING_DEFINITION.test(text)) continue;
        try {
          yield JSON.parse(text) as unknown;
        } catch {
          // the reading of every object reports where the text is not JSON
        }
      }
    },
  };
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

function detectTextFormat(body: string): 'list' | 'csv' {
  const firstLine = body.split(/\r\n|\n|\r/, 50).find((line) => line.trim() !== '') ?? '';
  if (!firstLine.includes(',')) return 'list';
  const names = firstLine.split(',').map((cell) => columnKey(cell.trim().replace(/^"(.*)"$/, '$1')));
  return names.some((name) => roleOf(name) === 'indicator') ? 'csv' : 'list';
}

function parseList(text: string): ParserOutput {
  const indicators: Indicator[] = [];
  const issues: InputIssue[] = [];
  const lines = text.split(/\r\n|\n|\r/);
  for (const [i, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) continue;
    // only a '#' after whitespace starts a comment: a '#' inside a URL is its fragment
    const value = trimmed.replace(/\s+#.*$/, '');
    const where = `line ${i + 1}`;
    const result = normaliseIndicator(value);
    if (result.ok) indicators.push({ ...result.indicator, origin: where });
    else issues.push({ where, reason: result.reason });
  }
  return { indicators, issues, excluded: [] };
}

function parseCsv(text: string): ParserOutput {
  // records are read one at a time: a 200,000-line file is never held as records and indicators at once
  const records = readCsv(text);
  const issues: InputIssue[] = [];
  const header = records.next().value;
  if (!header) return { indicators: [], issues, excluded: [] };
  if (header.problem) issues.push({ where: `line ${header.line}`, reason: header.problem });
  const where = `line ${header.line}`;
  const columns = new Map<Role, number>();
  for (const [i, cell] of header.fields.entries()) {
    const role = roleOf(columnKey(cell));
    if (role && !columns.has(role)) columns.set(role, i);
  }
  if (!columns.has('indicator')) {
    const reason = `the header has no indicator column (one of ${COLUMNS.indicator.join(', ')})`;
    issues.push({ where, reason });
    return { indicators: [], issues, excluded: [] };
  }

  const indicators: Indicator[] = [];
  for (const record of records) {
    const where = `line ${record.line}`;
    if (record.problem) {
      issues.push({ where, reason: record.problem });
      continue;
    }
    if (record.fields.length !== header.fields.length) {
      issues.push({ where, reason: `${record.fields.length} fields where the header has ${header.fields.length}` });
      continue;
    }
    const field = (role: Role): string | undefined => {
      const index = columns.get(role);
      const value = index === undefined ? undefined : record.fields[index]?.trim();
      return value === '' ? undefined : value;
    };
    const row = parseRow(field);
    if (row.ok) indicators.push({ ...row.indicator, origin: where });
    else issues.push({ where, reason: row.reasons.join('; ') });
  }
  return { indicators, issues, excluded: [] };
}

/** One CSV row to an indicator; collects every problem of the row, not just the first. */
function parseRow(
  field: (role: Role) => string | undefined,
): { ok: true; indicator: Omit<Indicator, 'origin'> } | { ok: false; reasons: string[] } {
  const reasons: string[] = [];
  const raw = field('indicator');
  const type = field('type');
  const normalised = raw === undefined ? undefined : normaliseIndicator(raw, type === undefined ? undefined : { type });
  if (raw === undefined) reasons.push('no indicator');
  else if (normalised && !normalised.ok) reasons.push(normalised.reason);

  const extra: Partial<Pick<Indicator, 'country' | 'firstSeen' | 'evidence' | 'threat' | 'port' | 'tlp'>> = {};
  const country = field('country');
  if (country !== undefined) {
    if (/^[A-Za-z]{2}$/.test(country)) extra.country = country.toUpperCase();
    else reasons.push('country is not a two-letter ISO 3166 code');
  }
  const seen = field('firstSeen');
  if (seen !== undefined) {
    const iso = isoDate(seen);
    if (iso) extra.firstSeen = iso;
    else reasons.push('first_seen is not a date (use YYYY-MM-DD or ISO 8601)');
  }
  const evidence = field('evidence');
  if (evidence !== undefined) {
    if (evidence.length <= MAX_EVIDENCE) extra.evidence = evidence;
    else reasons.push(`evidence is longer than ${MAX_EVIDENCE} characters`);
  }
  const threat = field('threat');
  if (threat !== undefined) {
    if (threat.length <= MAX_THREAT) extra.threat = threat;
    else reasons.push(`threat is longer than ${MAX_THREAT} characters`);
  }
  const port = field('port');
  if (port !== undefined) {
    const n = /^\d{1,5}$/.test(port) ? Number(port) : NaN;
    if (n >= 1 && n <= 65535) extra.port = n;
    else reasons.push('port is not a number from 1 to 65535');
  }
  const tlp = field('tlp');
  if (tlp !== undefined) {
    const level = tlpFromText(tlp);
    if (level) extra.tlp = level;
    else reasons.push('tlp is not one of CLEAR (WHITE), GREEN, AMBER, AMBER+STRICT, RED');
  }
  if (normalised?.ok && extra.port !== undefined && normalised.indicator.port !== undefined) {
    if (normalised.indicator.port !== extra.port) reasons.push('the port column differs from the port in the indicator');
  }
  if (reasons.length > 0 || !normalised?.ok) return { ok: false, reasons };
  return { ok: true, indicator: { ...normalised.indicator, ...extra } };
}

/** A header name reduced to what matters: `First Seen`, `first_seen` and `first-seen` are one name. */
function columnKey(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function roleOf(key: string): Role | undefined {
  return ROLE_BY_NAME.get(key) ?? (key.endsWith('s') ? ROLE_BY_NAME.get(key.slice(0, -1)) : undefined);
}

interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
  /** why the record could not be read */
  readonly problem: string | undefined;
}

/**
 * RFC 4180 records with the editor line each starts on (a quoted field may span lines). Blank lines are
 * skipped; an unterminated quote or text after a closing quote is the record's problem.
 */
function* readCsv(text: string): Generator<CsvRecord, undefined> {
  let line = 1;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const start = line;
    const fields: string[] = [];
    let problem: string | undefined;
    for (;;) {
      let value = '';
      if (text[i] === '"') {
        i++;
        let closed = false;
        // whole runs between quotes are sliced, never built a character at a time (one string node per character)
        const parts: string[] = [];
        while (i < n) {
          const quote = text.indexOf('"', i);
          const end = quote < 0 ? n : quote;
          const run = text.slice(i, end);
          line += countLines(run);
          parts.push(run);
          i = end;
          if (quote < 0) break;
          if (text[i + 1] === '"') {
            parts.push('"');
            i += 2;
            continue;
          }
          i++;
          closed = true;
          break;
        }
        value = parts.length === 1 ? parts[0]! : parts.join('');
        if (!closed) problem ??= 'a quoted field is not closed';
        // tolerate spaces after a closing quote, refuse anything else before the separator
        while (i < n && (text[i] === ' ' || text[i] === '\t')) i++;
        if (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') {
          problem ??= 'text after a closing quote';
          while (i < n && text[i] !== ',' && text[i] !== '\n' && text[i] !== '\r') i++;
        }
      } else {
        const end = nextDelimiter(text, i);
        value = text.slice(i, end);
        i = end;
      }
      fields.push(value);
      if (i < n && text[i] === ',') {
        i++;
        continue;
      }
      break;
    }
    if (text[i] === '\r') i++;
    if (text[i] === '\n') i++;
    line++;
    if (problem || !(fields.length === 1 && fields[0]!.trim() === '')) yield { line: start, fields, problem };
  }
  return undefined;
}

/** Line breaks in a run of text, CRLF counted once. */
function countLines(run: string): number {
  let count = 0;
  for (let i = run.indexOf('\n'); i >= 0; i = run.indexOf('\n', i + 1)) count++;
  if (run.includes('\r')) for (let i = 0; i < run.length; i++) if (run[i] === '\r' && run[i + 1] !== '\n') count++;
  return count;
}

function nextDelimiter(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === ',' || c === '\n' || c === '\r') return i;
  }
  return text.length;
}
