/**
 * The CSV tokenizer under the CSV reader (text.ts): RFC 4180 records fed a piece at a time, pieces cut anywhere.
 */

/** The delimiters a CSV may use: a comma, a semicolon (Excel's in French and other locales), a tab. */
export type CsvDelimiter = ',' | ';' | '\t';

export interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
  /** why the record could not be read */
  readonly problem: string | undefined;
}

/** Where the tokenizer is in a record. */
const M = { RecordStart: 0, FieldStart: 1, Unquoted: 2, Quoted: 3, QuoteInQuoted: 4, AfterQuote: 5, Junk: 6, AfterCr: 7 } as const;
type Mode = (typeof M)[keyof typeof M];

const QUOTE = 34;
const CR = 13;
const LF = 10;

/**
 * RFC 4180 records with the editor line each starts on (a quoted field may span lines), fed a piece at a time.
 * Blank lines are skipped; an unterminated quote or text after a closing quote is the record's problem. A field
 * is kept as slices of the pieces it spans, never built a character at a time.
 */
export class CsvTokenizer {
  private mode: Mode = M.RecordStart;
  private line = 1;
  private recordLine = 1;
  private fields: string[] = [];
  private problem: string | undefined;
  private parts: string[] = [];
  private runStart = 0;
  /** inside a quoted field, the last character was a CR: an LF after it is the same line break */
  private cr = false;
  private started = false;
  private readonly COMMA: number;

  constructor(
    private readonly onRecord: (record: CsvRecord) => void,
    delimiter: CsvDelimiter = ',',
  ) {
    // named for the usual case; a semicolon or a tab file splits on its own character
    this.COMMA = delimiter.charCodeAt(0);
  }

  push(text: string): void {
    let s = text;
    if (!this.started && s.length > 0) {
      this.started = true;
      if (s.charCodeAt(0) === 0xfeff) s = s.slice(1);
    }
    const COMMA = this.COMMA;
    const n = s.length;
    this.runStart = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      switch (this.mode) {
        case M.AfterCr:
          this.mode = M.RecordStart;
          if (c === LF) break;
        // falls through: anything else starts the next record
        case M.RecordStart:
          this.recordLine = this.line;
          this.fields = [];
          this.problem = undefined;
        // falls through
        case M.FieldStart:
          this.parts = [];
          if (c === QUOTE) {
            this.mode = M.Quoted;
            this.runStart = i + 1;
            this.cr = false;
            break;
          }
          this.mode = M.Unquoted;
          this.runStart = i;
        // falls through
        case M.Unquoted:
          if (c === COMMA || c === LF || c === CR) {
            this.endField(s.slice(this.runStart, i));
            this.afterField(c);
          }
          break;
        case M.Quoted:
          if (c === QUOTE) {
            this.parts.push(s.slice(this.runStart, i));
            this.mode = M.QuoteInQuoted;
          } else if (c === LF) {
            if (!this.cr) this.line++;
          } else if (c === CR) this.line++;
          this.cr = c === CR;
          break;
        case M.QuoteInQuoted:
          if (c === QUOTE) {
            this.parts.push('"');
            this.runStart = i + 1;
            this.mode = M.Quoted;
            this.cr = false;
            break;
          }
          this.mode = M.AfterQuote;
        // falls through: the quote closed the field
        case M.AfterQuote:
          if (c === 32 || c === 9) break;
          if (c === COMMA || c === LF || c === CR) {
            this.endField('');
            this.afterField(c);
            break;
          }
          this.problem ??= 'text after a closing quote';
          this.mode = M.Junk;
          break;
        case M.Junk:
          if (c === COMMA || c === LF || c === CR) {
            this.endField('');
            this.afterField(c);
          }
          break;
      }
    }
    // a field still open at the end of the piece goes on in the next one
    if (this.mode === M.Unquoted || this.mode === M.Quoted) this.parts.push(s.slice(this.runStart));
  }

  end(): void {
    switch (this.mode) {
      case M.RecordStart:
      case M.AfterCr:
        return;
      case M.Quoted:
        this.problem ??= 'a quoted field is not closed';
        this.endField('');
        break;
      case M.FieldStart:
        // the text ended just after a comma: the record ends with an empty field
        this.parts = [];
        this.endField('');
        break;
      default:
        this.endField('');
    }
    this.endRecord();
  }

  private endField(last: string): void {
    const p = this.parts;
    this.fields.push(p.length === 0 ? last : p.length === 1 && last === '' ? p[0]! : p.join('') + last);
    this.parts = [];
  }

  private afterField(c: number): void {
    if (c === this.COMMA) {
      this.mode = M.FieldStart;
      return;
    }
    this.endRecord();
    this.mode = c === CR ? M.AfterCr : M.RecordStart;
  }

  private endRecord(): void {
    this.line++;
    const { fields, problem } = this;
    if (problem || !(fields.length === 1 && fields[0]!.trim() === '')) this.onRecord({ line: this.recordLine, fields, problem });
    this.fields = [];
  }
}
