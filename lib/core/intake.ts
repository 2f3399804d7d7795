import { InvalidInputError, type InputIssue } from './errors.js';
import type { Indicator } from './model.js';
import { normaliseIndicator } from './normalise.js';

/**
 * Intake of a submitted file: all or nothing. Every bad line is reported at once, so a coordinator fixes the
 * file in one pass, and nothing is accepted from a file that has any bad line.
 */

/** The formats parsed here; STIX and MISP join by adding a parser to PARSERS and a rule to detectFormat. */
export type IntakeFormat = 'list' | 'csv';

export interface IntakeResult {
  readonly format: IntakeFormat;
  /** unique by canonical `value`, in source order */
  readonly indicators: Indicator[];
  /** later occurrences of a value already seen, with where the first one was */
  readonly duplicates: { origin: string; value: string; firstOrigin: string }[];
}

export interface IntakeOptions {
  /** default 'auto' (see detectFormat) */
  readonly format?: IntakeFormat | 'auto';
  /** refuse the file when it holds more unique indicators than this */
  readonly maxIndicators?: number;
}

/** A parser turns a whole file into indicators (origin set) and issues; it never throws on bad content. */
type Parser = (text: string) => { indicators: Indicator[]; issues: InputIssue[] };

const PARSERS: Readonly<Record<IntakeFormat, Parser>> = { list: parseList, csv: parseCsv };

/** The CSV column roles, by loosely matched header name (see columnKey). */
const COLUMNS = {
  indicator: ['indicator', 'value', 'ioc', 'observable'],
  type: ['type', 'kind'],
  country: ['country', 'cc', 'countrycode'],
  firstSeen: ['firstseen', 'seen'],
  evidence: ['evidence', 'comment', 'description', 'notes', 'note'],
  threat: ['threat', 'category', 'tag'],
  port: ['port'],
} as const;
type Role = keyof typeof COLUMNS;

const ROLE_BY_NAME: ReadonlyMap<string, Role> = new Map(
  (Object.entries(COLUMNS) as [Role, readonly string[]][]).flatMap(([role, names]) => names.map((n) => [n, role])),
);

const MAX_EVIDENCE = 4000;
const MAX_THREAT = 100;

/** Parses a list or CSV of indicators; throws InvalidInputError naming every bad line, and accepts nothing then. */
export function parseIndicators(text: string, opts: IntakeOptions = {}): IntakeResult {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const format = !opts.format || opts.format === 'auto' ? detectFormat(body) : opts.format;
  const parser = PARSERS[format];
  if (!parser) throw new InvalidInputError(`unknown format ${String(format).slice(0, 20)}`);
  const { indicators: all, issues } = parser(body);
  if (issues.length > 0) {
    const lines = issues.length === 1 ? '1 problem' : `${issues.length} problems`;
    throw new InvalidInputError(`${lines} in the ${format} file; nothing was accepted`, issues);
  }

  const firstOrigin = new Map<string, string>();
  const indicators: Indicator[] = [];
  const duplicates: IntakeResult['duplicates'] = [];
  for (const indicator of all) {
    const first = firstOrigin.get(indicator.value);
    if (first === undefined) {
      firstOrigin.set(indicator.value, indicator.origin);
      indicators.push(indicator);
    } else {
      duplicates.push({ origin: indicator.origin, value: indicator.value, firstOrigin: first });
    }
  }
  if (indicators.length === 0) {
    throw new InvalidInputError('no indicators in the file', [{ where: 'file', reason: 'no indicators' }]);
  }
  if (opts.maxIndicators !== undefined && indicators.length > opts.maxIndicators) {
    const reason = `${indicators.length} indicators; at most ${opts.maxIndicators} are accepted in one file`;
    throw new InvalidInputError('too many indicators in the file', [{ where: 'file', reason }]);
  }
  return { format, indicators, duplicates };
}

/** 'csv' when the first line has a comma and a known indicator column name, else 'list'. */
export function detectFormat(text: string): IntakeFormat {
  const body = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const firstLine = body.split(/\r\n|\n|\r/).find((line) => line.trim() !== '') ?? '';
  if (!firstLine.includes(',')) return 'list';
  const names = firstLine.split(',').map((cell) => columnKey(cell.trim().replace(/^"(.*)"$/, '$1')));
  return names.some((name) => roleOf(name) === 'indicator') ? 'csv' : 'list';
}

function parseList(text: string): { indicators: Indicator[]; issues: InputIssue[] } {
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
  return { indicators, issues };
}

function parseCsv(text: string): { indicators: Indicator[]; issues: InputIssue[] } {
  const records = readCsv(text);
  const issues: InputIssue[] = [];
  const header = records[0];
  if (!header) return { indicators: [], issues };
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
    return { indicators: [], issues };
  }

  const indicators: Indicator[] = [];
  for (const record of records.slice(1)) {
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
  return { indicators, issues };
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

  const extra: Partial<Pick<Indicator, 'country' | 'firstSeen' | 'evidence' | 'threat' | 'port'>> = {};
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
  if (normalised?.ok && extra.port !== undefined && normalised.indicator.port !== undefined) {
    if (normalised.indicator.port !== extra.port) reasons.push('the port column differs from the port in the indicator');
  }
  if (reasons.length > 0 || !normalised?.ok) return { ok: false, reasons };
  return { ok: true, indicator: { ...normalised.indicator, ...extra } };
}

/**
 * A date or date-time as ISO-8601 UTC; a time without an offset is taken as UTC (not the server's zone, which
 * would make the same file mean different things on different machines).
 */
function isoDate(text: string): string | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.exec(text);
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
function readCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
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
        while (i < n) {
          const c = text[i]!;
          if (c === '"') {
            if (text[i + 1] === '"') {
              value += '"';
              i += 2;
              continue;
            }
            i++;
            closed = true;
            break;
          }
          if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
          value += c;
          i++;
        }
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
    if (problem || !(fields.length === 1 && fields[0]!.trim() === '')) records.push({ line: start, fields, problem });
  }
  return records;
}

function nextDelimiter(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === ',' || c === '\n' || c === '\r') return i;
  }
  return text.length;
}
