import { StixPriorCollector, StixReader, looksLikeStix, parseStix, type StixPrior } from './formats/stix.js';
import type { ItemSink, ParseContext, ParserOutput, TextReader } from './common.js';
import type { IntakeFormat } from './common.js';
import { CsvReader, ListReader, sniffText, textFormatDecided, type CsvDelimiter } from './formats/text.js';
import { JsonStreamScanner, scanJson, type ScannedJson } from './formats/json-scan.js';
import { looksLikeMisp, parseMisp } from './formats/misp.js';

/**
 * The readers a reading runs: the file's format is found from its first bytes (JSON shape, CSV header, list),
 * then its items go to the sink a piece at a time.
 */

/** How a JSON file is read: streamed (a bundle's objects one at a time) or, for what cannot be, whole. */
export interface ReadPlan {
  readonly json: 'stream' | 'whole';
  readonly stixPrior?: StixPrior;
}

/** The second reading met something the first did not: the file changed in between. */
export class SourceChangedError extends Error {
  constructor() {
    super('the file changed while it was read');
    this.name = 'SourceChangedError';
  }
}

/**
 * Reads one format, told from the start of the text unless it was asked for: JSON by its first character, CSV
 * or a list by its first non-blank line. Holds the start of the text only until it can tell.
 */
export class FormatReader implements TextReader {
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
    let delimiter: CsvDelimiter = ',';
    const r = this.requested;
    if (r === 'stix' || r === 'misp') kind = 'json';
    else if (r === 'list') kind = r;
    else if (r === 'csv') {
      // asked for CSV: its delimiter is still read from the header
      if (!final && !textFormatDecided(body)) return;
      kind = 'csv';
      const sniffed = sniffText(body);
      if (sniffed.format === 'csv') delimiter = sniffed.delimiter;
    } else {
      const start = /\S/.exec(body);
      if (start) kind = body[start.index] === '{' || body[start.index] === '[' ? 'json' : undefined;
      if (!kind && (start || final)) {
        if (!final && !textFormatDecided(body)) return;
        const sniffed = sniffText(body);
        kind = sniffed.format;
        if (sniffed.format === 'csv') delimiter = sniffed.delimiter;
      }
      if (!kind) return;
    }
    if (kind === 'json') {
      this.json = new JsonReader(r as 'auto' | 'stix' | 'misp', this.sink, this.ctx, this.plan, this.collector);
      this.inner = this.json;
    } else {
      this.format = kind;
      this.inner = kind === 'csv' ? new CsvReader(this.sink, delimiter) : new ListReader(this.sink);
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

export function looksLikeJson(text: string): boolean {
  return /^\s*[[{]/.test(text);
}

/** STIX or MISP by the shape of the top level (for an array, of its first element), or neither. */
export function shapeOf(scanned: ScannedJson): 'stix' | 'misp' | undefined {
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
