import type { Indicator } from '../../model.js';
import { normaliseIndicator } from '../normalise.js';
import { isoDate, MAX_EVIDENCE, MAX_THREAT, type ItemSink, type TextReader } from '../common.js';
import { tlpFromText } from '../../tlp.js';
import { CsvTokenizer, type CsvDelimiter, type CsvRecord } from './csv-tokenizer.js';

/**
 * The text formats, read as a stream: a CSV with a header, and a plain list with one indicator a line. Both
 * take the text a piece at a time, in pieces cut anywhere (inside a quoted field, between CR and LF), and hand
 * each row on the moment it is complete, named by the editor line it starts on.
 */

/** The CSV column roles, by loosely matched header name (see columnKey). */
const COLUMNS = {
  // and the names a French or Portuguese spreadsheet gives them
  indicator: ['indicator', 'value', 'ioc', 'observable', 'indicateur', 'valeur', 'indicador', 'valor'],
  type: ['type', 'kind', 'tipo'],
  country: ['country', 'cc', 'countrycode', 'pays', 'pais'],
  firstSeen: ['firstseen', 'seen'],
  evidence: ['evidence', 'comment', 'description', 'notes', 'note', 'preuve', 'commentaire', 'evidencia', 'prova', 'comentario'],
  threat: ['threat', 'category', 'tag', 'menace', 'categorie', 'ameaca', 'categoria'],
  port: ['port'],
  tlp: ['tlp', 'marking', 'tlplevel', 'tlpmarking'],
} as const;
type Role = keyof typeof COLUMNS;

const ROLE_BY_NAME: ReadonlyMap<string, Role> = new Map(
  (Object.entries(COLUMNS) as [Role, readonly string[]][]).flatMap(([role, names]) => names.map((n) => [n, role])),
);

export type { CsvDelimiter } from './csv-tokenizer.js';
const DELIMITERS: readonly CsvDelimiter[] = [',', ';', '\t'];

/** The cells of a header line split on a delimiter, outside quotes. */
function headerCells(line: string, delimiter: string): string[] {
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (const ch of line) {
    if (ch === '"') quoted = !quoted;
    else if (ch === delimiter && !quoted) {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells.map((c) => columnKey(c.trim()));
}

/**
 * How the first non-blank line (of the first 50) says a text is laid out: a CSV when, split on a comma, a
 * semicolon or a tab, it names an indicator column (a header of one column, `indicator` alone, counts too; it
 * cannot be an indicator itself); its delimiter is the one that found the column. Anything else is a list.
 */
export function sniffText(body: string): { format: 'list' } | { format: 'csv'; delimiter: CsvDelimiter } {
  const firstLine = body.split(/\r\n|\n|\r/, 50).find((line) => line.trim() !== '') ?? '';
  for (const delimiter of DELIMITERS) {
    if (!firstLine.includes(delimiter)) continue;
    if (headerCells(firstLine, delimiter).some((name) => roleOf(name) === 'indicator')) return { format: 'csv', delimiter };
  }
  // one column: its name alone on the line
  const lone = headerCells(firstLine, '\u0000');
  if (lone.length === 1 && roleOf(lone[0]!) === 'indicator') return { format: 'csv', delimiter: ',' };
  return { format: 'list' };
}

/** 'csv' when the first non-blank line names an indicator column (see sniffText), else 'list'. */
export function detectTextFormat(body: string): 'list' | 'csv' {
  return sniffText(body).format;
}

/**
 * Whether the start of a text is enough to tell CSV from a list: a non-blank line has ended, or 50 lines have.
 * The same lines detectTextFormat looks at.
 */
export function textFormatDecided(head: string): boolean {
  let lines = 0;
  let from = 0;
  for (const m of head.matchAll(/\r\n|\n|\r/g)) {
    if (head.slice(from, m.index).trim() !== '') return true;
    from = m.index + m[0].length;
    if (++lines >= 50) return true;
  }
  return false;
}

/** A plain list: one indicator a line; blank lines and `#` or `//` comments are skipped. */
export class ListReader implements TextReader {
  private carry = '';
  private line = 0;
  /** a CR ended the last piece: an LF starting the next one belongs to it */
  private cr = false;
  private started = false;

  constructor(private readonly sink: ItemSink) {}

  push(text: string): void {
    let s = text;
    if (!this.started && s.length > 0) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    let from = 0;
    if (this.cr && s.charCodeAt(0) === 10) from = 1;
    this.cr = false;
    const breaks = /\r\n|\n|\r/g;
    breaks.lastIndex = from;
    for (let m = breaks.exec(s); m; m = breaks.exec(s)) {
      const piece = s.slice(from, m.index);
      this.read(this.carry === '' ? piece : this.carry + piece);
      this.carry = '';
      from = m.index + m[0].length;
      if (m[0] === '\r' && from === s.length) this.cr = true;
    }
    const rest = s.slice(from);
    if (rest) this.carry = this.carry === '' ? rest : this.carry + rest;
  }

  end(): void {
    this.read(this.carry);
    this.carry = '';
  }

  private read(line: string): void {
    this.line++;
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith('//')) return;
    // only a '#' after whitespace starts a comment: a '#' inside a URL is its fragment
    const value = trimmed.replace(/\s+#.*$/, '');
    const where = `line ${this.line}`;
    const result = normaliseIndicator(value);
    if (result.ok) this.sink.indicator({ ...result.indicator, origin: where });
    else this.sink.issue({ where, reason: describeRefusal(value, undefined, result.reason) });
  }
}


/**
 * A CSV with a header row naming its columns (loosely: `First Seen`, `first_seen` and `first-seen` are one name),
 * split on its delimiter (comma, semicolon or tab: see sniffText).
 */
export class CsvReader implements TextReader {
  private readonly tokenizer: CsvTokenizer;
  private header: CsvRecord | undefined;
  private columns: Map<Role, number> | undefined;
  /** the header has no indicator column: the rest is not read */
  private refused = false;

  constructor(
    private readonly sink: ItemSink,
    delimiter: CsvDelimiter = ',',
  ) {
    this.tokenizer = new CsvTokenizer((r) => this.record(r), delimiter);
  }

  push(text: string): void {
    this.tokenizer.push(text);
  }

  end(): void {
    this.tokenizer.end();
  }

  private record(record: CsvRecord): void {
    if (this.refused) return;
    if (!this.header) {
      this.header = record;
      if (record.problem) this.sink.issue({ where: `line ${record.line}`, reason: record.problem });
      const columns = new Map<Role, number>();
      for (const [i, cell] of record.fields.entries()) {
        const role = roleOf(columnKey(cell));
        if (role && !columns.has(role)) columns.set(role, i);
      }
      if (!columns.has('indicator')) {
        this.refused = true;
        this.sink.issue({ where: `line ${record.line}`, reason: `the header has no indicator column (one of ${COLUMNS.indicator.join(', ')})` });
      }
      this.columns = columns;
      return;
    }
    const where = `line ${record.line}`;
    if (record.problem) {
      this.sink.issue({ where, reason: record.problem });
      return;
    }
    const width = this.header.fields.length;
    // a spreadsheet pads rows with empty cells past the header's: only text there, or a short row, is a mistake
    const padded = record.fields.length > width && record.fields.slice(width).every((f) => f.trim() === '');
    if (record.fields.length !== width && !padded) {
      const hint = record.fields.length > width ? ' (a value holding the delimiter needs quotes)' : '';
      this.sink.issue({ where, reason: `${record.fields.length} fields where the header has ${width}${hint}` });
      return;
    }
    const columns = this.columns!;
    const field = (role: Role): string | undefined => {
      const index = columns.get(role);
      const value = index === undefined ? undefined : record.fields[index]?.trim();
      return value === '' ? undefined : value;
    };
    const row = parseRow(field);
    if (row.ok) this.sink.indicator({ ...row.indicator, origin: where });
    else this.sink.issue({ where, reason: row.reasons.join('; ') });
  }
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
  else if (normalised && !normalised.ok) reasons.push(describeRefusal(raw, type, normalised.reason));

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

/** What each declared type expects, in words a person fixing the file can act on. */
const EXPECTED: Readonly<Record<string, string>> = {
  ip: 'an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1',
  ipv4: 'an IPv4 address, like 192.0.2.1',
  ipv6: 'an IPv6 address, like 2001:db8::1',
  domain: 'a domain name, like bad.example',
  hostname: 'a host name, like www.bad.example',
  url: 'a URL with its scheme, like https://bad.example/login',
  uri: 'a URL with its scheme, like https://bad.example/login',
  link: 'a URL with its scheme, like https://bad.example/login',
};

/**
 * The value as a refusal may show it: the file's own text, clipped, and for a URL without its query and fragment
 * (a phishing URL's query may carry a victim's address; the rest is what the coordinator needs to find the line).
 */
export function shownValue(raw: string): string {
  let text = raw.trim().replace(/[\p{Cc}]/gu, ' ');
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^hxxps?:/i.test(text)) text = text.replace(/[?#].*$/s, (rest) => (rest ? '?…' : ''));
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** A refusal that names the value, the declared type and what was expected. */
function describeRefusal(raw: string, type: string | undefined, reason: string): string {
  const declared = type?.trim().toLowerCase();
  const expected = declared ? EXPECTED[declared] : undefined;
  if (declared && expected) return `'${shownValue(raw)}' declared as ${declared}: ${reason.replace(/^declared as \S+ but /, '')}; expected ${expected}`;
  return `'${shownValue(raw)}': ${reason}`;
}

/** A header name reduced to what matters: `First Seen`, `first_seen` and `first-seen` are one name. */
function columnKey(name: string): string {
  return name.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().replace(/[^a-z0-9]/g, '');
}

function roleOf(key: string): Role | undefined {
  return ROLE_BY_NAME.get(key) ?? (key.endsWith('s') ? ROLE_BY_NAME.get(key.slice(0, -1)) : undefined);
}
