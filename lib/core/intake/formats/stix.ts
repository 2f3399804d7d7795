import { MarkingResolver, isObject, isStixObject, markingsOf, str, textOf, type StixObject } from './stix-markings.js';
import type { Indicator } from '../../model.js';
import type { InputIssue } from '../../errors.js';
import { MAX_THREAT, clipText, isoDate, type ExcludedItem, type ItemSink, type ParseContext, type ParserOutput } from '../common.js';
import { CompactNumberSet, hash53 } from '../compact-map.js';
import { SUPPORTED_OBJECT_TYPES, patternValues, type SupportedObjectType } from './stix-pattern-values.js';
import { parseStixPattern } from './stix-pattern.js';
import { normaliseIndicator, type NormalisedIndicator } from '../normalise.js';
import { strictestTlp } from '../../tlp.js';

/** Properties of an indicator whose content reaches a notice: their markings decide the indicator's TLP. */
const INDICATOR_CORE = ['pattern', 'indicator_types'];

const SCO_CORE = ['value'];

/** True when a parsed JSON document looks like STIX 2.x: a bundle, a list of STIX objects, or one object. */
export function looksLikeStix(doc: unknown): boolean {
  if (Array.isArray(doc)) return doc.length > 0 && isStixObject(doc[0]);
  if (!isObject(doc)) return false;
  return (doc.type === 'bundle' && Array.isArray(doc.objects)) || isStixObject(doc);
}

/** What one indicator gives. */
interface IndicatorResult {
  readonly indicators?: Indicator[];
  readonly issues?: InputIssue[];
  readonly excluded?: ExcludedItem[];
}

/**
 * What a reader must know before it reads a bundle whose marking definitions come after the objects they mark,
 * or that holds several versions of one indicator: every definition (the latest version of each), and which
 * objects are versions no longer in force.
 */
export interface StixPrior {
  readonly definitions: ReadonlyMap<string, StixObject>;
  /** positions (in the objects list) of indicator versions a later `modified` replaced */
  readonly superseded: ReadonlySet<number>;
}

// a bundle may carry several versions of one object: the latest `modified` is the one in force (the last of equals)
const newer = (obj: StixObject, earlier: unknown) => earlier === undefined || String(obj.modified ?? '') >= String((earlier as { modified?: unknown }).modified ?? '');

/** Gathers a StixPrior from a first reading of the objects. */
export class StixPriorCollector {
  private readonly definitions = new Map<string, StixObject>();
  private readonly versions = new Map<string, { index: number; modified: unknown }>();
  private readonly superseded = new Set<number>();

  object(o: unknown, index: number): void {
    if (!isStixObject(o)) return;
    if (o.type === 'marking-definition') {
      if (newer(o, this.definitions.get(o.id))) this.definitions.set(o.id, o);
    } else if (o.type === 'indicator') {
      const earlier = this.versions.get(o.id);
      if (earlier && !newer(o, earlier)) {
        this.superseded.add(index);
        return;
      }
      if (earlier) this.superseded.add(earlier.index);
      this.versions.set(o.id, { index, modified: o.modified });
    }
  }

  prior(): StixPrior {
    return { definitions: this.definitions, superseded: this.superseded };
  }
}

/**
 * Reads STIX 2.1 objects one at a time: an indicator is finished (values, marking, evidence) the moment it is
 * read and handed to the sink; infrastructure objects, their SCOs and relationships are kept (only the fields
 * read) until the end, where they are joined. Without a prior, markings are resolved through the definitions
 * read so far, and `needsPrior` says afterwards whether that reading may have been wrong (a definition came
 * after an object it marks, or an indicator came in several versions): then read again with a prior.
 */
export class StixReader {
  private readonly definitions: Map<string, StixObject>;
  private readonly markings: MarkingResolver;
  // few distinct labels over many indicators: one string each
  private readonly labels = new Map<string, string>();
  private readonly kept = new Map<string, StixObject>();
  private readonly relationships = new Map<string, StixObject>();
  /**
   * ids of the indicators read, hashed (off the JS heap), to notice a second version: two ids that share a hash
   * only cost a reading with a prior
   */
  private readonly seen = new CompactNumberSet();
  private late = false;

  constructor(
    private readonly ctx: ParseContext,
    private readonly sink: ItemSink,
    private readonly prior?: StixPrior,
  ) {
    this.definitions = new Map(prior?.definitions ?? []);
    this.markings = new MarkingResolver(this.definitions);
  }

  /** true when the objects must be read again with a StixPrior for the reading to be right */
  get needsPrior(): boolean {
    return this.late;
  }

  /** After a reading that needs no prior: what it learnt, so that a second reading need not watch again. */
  learnt(): StixPrior {
    return { definitions: new Map(this.definitions), superseded: new Set() };
  }

  object(o: unknown, index: number): void {
    if (!isStixObject(o)) {
      this.sink.issue({ where: `objects[${index}]`, reason: 'not a STIX object (it needs a type and an id of the form <type>--<uuid>)' });
      return;
    }
    if (o.type === 'indicator') {
      if (this.prior) {
        if (this.prior.superseded.has(index)) return;
      } else {
        const h = hash53(o.id);
        if (this.seen.has(h)) this.late = true;
        this.seen.add(h);
      }
      const label = (text: string) => this.labels.get(text) ?? (this.labels.set(text, text), text);
      const r = finishIndicator(readIndicator(o, this.ctx), this.markings, label);
      if (r.indicators) for (const ind of r.indicators) this.sink.indicator(ind);
      if (r.issues) for (const issue of r.issues) this.sink.issue(issue);
      if (r.excluded) for (const item of r.excluded) this.sink.excluded(item);
    } else if (o.type === 'marking-definition') {
      if (this.prior) return;
      if (!newer(o, this.definitions.get(o.id))) return;
      // an object read earlier may have been marked by this id as it was then (or not at all)
      if (this.markings.asked.has(o.id)) this.late = true;
      this.definitions.set(o.id, o);
    } else if (o.type === 'relationship') {
      if (o.relationship_type === 'consists-of' && newer(o, this.relationships.get(o.id))) this.relationships.set(o.id, pick(o, RELATIONSHIP_FIELDS));
    } else if (o.type === 'infrastructure' || o.type in SUPPORTED_OBJECT_TYPES) {
      if (newer(o, this.kept.get(o.id))) this.kept.set(o.id, pick(o, o.type === 'infrastructure' ? INFRASTRUCTURE_FIELDS : SCO_FIELDS));
    }
  }

  /** Joins the infrastructure objects with their SCOs; call once, after the last object. */
  finish(): void {
    readInfrastructure(this.kept, this.relationships.values(), this.markings, this.sink);
    this.kept.clear();
    this.relationships.clear();
  }
}

const MARKING_FIELDS = ['id', 'type', 'modified', 'revoked', 'object_marking_refs', 'granular_markings'];

const RELATIONSHIP_FIELDS = [...MARKING_FIELDS, 'relationship_type', 'source_ref', 'target_ref'];

const INFRASTRUCTURE_FIELDS = [...MARKING_FIELDS, 'name', 'description', 'infrastructure_types'];

const SCO_FIELDS = [...MARKING_FIELDS, 'value'];

/** Only the fields read later, so that kept objects hold nothing else of the file. */
function pick(o: StixObject, fields: readonly string[]): StixObject {
  const out: Record<string, unknown> = {};
  for (const f of fields) if (o[f] !== undefined) out[f] = o[f];
  return out as StixObject;
}

/**
 * Reads STIX 2.1 objects that can be gone through twice (an array, or a document's lazily parsed list): once
 * for the marking definitions and versions, once to read them.
 */
export function parseStix(objects: Iterable<unknown>, ctx: ParseContext): ParserOutput {
  const out: ParserOutput = { indicators: [], issues: [], excluded: [] };
  const sink: ItemSink = { indicator: (i) => out.indicators.push(i), issue: (i) => out.issues.push(i), excluded: (e) => out.excluded.push(e) };
  const collector = new StixPriorCollector();
  let i = 0;
  for (const o of objects) collector.object(o, i++);
  const reader = new StixReader(ctx, sink, collector.prior());
  i = 0;
  for (const o of objects) reader.object(o, i++);
  reader.finish();
  return out;
}

/** A STIX value normalised as the type it was declared as; a network range is unsupported, not wrong. */
function readValue(
  type: SupportedObjectType,
  value: string,
): { ok: true; indicator: NormalisedIndicator } | { ok: false; unsupported?: string; reason?: string } {
  let text = value;
  if (type === 'ipv4-addr' || type === 'ipv6-addr') {
    const cidr = /^(.*)\/(\d{1,3})$/.exec(value.trim());
    if (cidr) {
      const full = type === 'ipv4-addr' ? '32' : '128';
      if (cidr[2] !== full) return { ok: false, unsupported: `${type}:value is a network range (CIDR), not one address` };
      text = cidr[1]!;
    }
  }
  const result = normaliseIndicator(text, { type: SUPPORTED_OBJECT_TYPES[type] });
  return result.ok ? result : { ok: false, reason: `${type}:value: ${result.reason}` };
}

/** An indicator read up to its marking: its outcome already (excluded, or refused), or its values. */
interface IndicatorReading {
  readonly id: string;
  readonly modified?: unknown;
  readonly excluded?: ExcludedItem[];
  readonly issues?: InputIssue[];
  readonly found?: NormalisedIndicator[];
  /** a value that is a network range: the whole indicator is unsupported */
  readonly unsupported?: string;
  /** what marking and evidence need from the object, nothing more */
  readonly marks?: Pick<StixObject, 'id' | 'type' | 'object_marking_refs' | 'granular_markings' | 'name' | 'description' | 'indicator_types'>;
}

function readIndicator(obj: StixObject, ctx: ParseContext): IndicatorReading {
  const where = obj.id;
  const done = (p: Omit<IndicatorReading, 'id' | 'modified'>): IndicatorReading => ({ id: where, modified: obj.modified, ...p });
  if (obj.revoked === true) return done({ excluded: [{ where, kind: 'revoked', reason: 'the indicator is revoked' }] });
  const patternType = obj.pattern_type ?? 'stix';
  if (patternType !== 'stix') {
    return done({ excluded: [{ where, kind: 'unsupported', reason: `pattern_type ${String(patternType).slice(0, 30)} is not STIX patterning` }] });
  }
  const issues: InputIssue[] = [];
  const window = validity(obj, ctx, issues);
  const pattern = obj.pattern;
  if (typeof pattern !== 'string' || pattern.trim() === '') {
    return window.excluded ? done({ excluded: [{ where, ...window.excluded }] }) : done({ issues: [{ where, reason: 'an indicator without a pattern' }] });
  }
  const parsed = parseStixPattern(pattern);
  if (!parsed.ok) {
    // an indicator no longer (or not yet) in force would not be notified whatever its pattern says
    return window.excluded ? done({ excluded: [{ where, ...window.excluded }] }) : done({ issues: [{ where, reason: `pattern: ${parsed.reason}` }] });
  }
  const values = patternValues(parsed.pattern);
  if (!values.ok) {
    return done({ excluded: [{ where, kind: window.excluded?.kind ?? 'unsupported', reason: window.excluded?.reason ?? `the pattern uses ${values.unsupported}` }] });
  }
  const found: NormalisedIndicator[] = [];
  let unsupported: string | undefined;
  for (const v of values.values) {
    const r = readValue(v.objectType, v.value);
    if (r.ok) found.push(r.indicator);
    else if (r.unsupported) unsupported ??= r.unsupported;
    else issues.push({ where, reason: r.reason! });
  }
  if (window.excluded) {
    const excluded: ExcludedItem[] = found.map((f) => ({ where, ...window.excluded!, value: f.value }));
    return done({ excluded: excluded.length ? excluded : [{ where, ...window.excluded }] });
  }
  const { object_marking_refs, granular_markings, name, description, indicator_types } = obj;
  return done({ found, issues, ...(unsupported ? { unsupported } : {}), marks: { id: obj.id, type: obj.type, object_marking_refs, granular_markings, name, description, indicator_types } });
}

function finishIndicator(p: IndicatorReading, resolver: MarkingResolver, label: (text: string) => string): IndicatorResult {
  if (p.excluded) return { excluded: p.excluded };
  if (!p.marks) return { issues: p.issues ?? [] };
  const marks = markingsOf(p.marks as StixObject, INDICATOR_CORE, resolver);
  const issues = [...(p.issues ?? []), ...marks.issues];
  if (issues.length > 0) return { issues };
  // one range among addresses: the pattern as a whole is not something to notify, never a part of it
  if (p.unsupported) return { excluded: [{ where: p.id, kind: 'unsupported', reason: p.unsupported }] };
  const obj = p.marks as StixObject;
  const types = Array.isArray(obj.indicator_types) ? obj.indicator_types.filter((t): t is string => typeof t === 'string') : [];
  const evidence = textOf(obj, marks.textLevels, marks.tlp);
  return {
    indicators: (p.found ?? []).map((f) => ({
      ...f,
      origin: p.id,
      ...(types.length ? { threat: label(clipText(types.join(', '), MAX_THREAT)) } : {}),
      ...(evidence ? { evidence } : {}),
      ...(marks.tlp ? { tlp: marks.tlp } : {}),
    }) satisfies Indicator),
  };
}

/** Whether an indicator is in force now; a date that cannot be read is an error, not a guess. */
function validity(obj: StixObject, ctx: ParseContext, issues: InputIssue[]): { excluded?: Pick<ExcludedItem, 'kind' | 'reason'> } {
  const read = (field: 'valid_from' | 'valid_until'): string | undefined => {
    const raw = obj[field];
    if (raw === undefined) return undefined;
    const iso = typeof raw === 'string' ? isoDate(raw) : undefined;
    if (!iso) issues.push({ where: obj.id, reason: `${field} is not a timestamp` });
    return iso;
  };
  const from = read('valid_from');
  const until = read('valid_until');
  const now = ctx.now.getTime();
  if (until && Date.parse(until) <= now) return { excluded: { kind: 'expired', reason: `expired: valid until ${until}` } };
  if (from && Date.parse(from) > now) return { excluded: { kind: 'not-yet-valid', reason: `not valid before ${from}` } };
  return {};
}

/** The SCOs infrastructure objects consist of (`infrastructure --consists-of--> ipv4-addr | domain-name | ...`). */
function readInfrastructure(
  objects: ReadonlyMap<string, StixObject>,
  relationships: Iterable<StixObject>,
  resolver: MarkingResolver,
  out: ItemSink,
): void {
  for (const rel of relationships) {
    const source = str(rel.source_ref);
    const target = str(rel.target_ref);
    if (!source?.startsWith('infrastructure--') || !target) continue;
    const scoType = target.slice(0, target.indexOf('--'));
    if (!(scoType in SUPPORTED_OBJECT_TYPES)) continue;
    const infra = objects.get(source);
    const sco = objects.get(target);
    if (!infra || !sco) {
      out.issue({ where: rel.id, reason: `names ${!infra ? 'an infrastructure' : 'an object'} that is not in the bundle` });
      continue;
    }
    const where = `${sco.id} (in ${infra.id})`;
    if (rel.revoked === true || infra.revoked === true || sco.revoked === true) {
      out.excluded({ where, kind: 'revoked', reason: 'the infrastructure, its relationship or the object is revoked' });
      continue;
    }
    const value = sco.value;
    if (typeof value !== 'string') {
      out.issue({ where: sco.id, reason: `a ${scoType} without a value` });
      continue;
    }
    const r = readValue(scoType as SupportedObjectType, value);
    if (!r.ok) {
      if (r.unsupported) out.excluded({ where, kind: 'unsupported', reason: r.unsupported });
      else out.issue({ where: sco.id, reason: r.reason! });
      continue;
    }
    // the fact forwarded is "this object is part of that infrastructure": every one of the three marks it
    const own = markingsOf(sco, SCO_CORE, resolver);
    const infraMarks = markingsOf(infra, ['infrastructure_types'], resolver);
    const relMarks = markingsOf(rel, ['source_ref', 'target_ref', 'relationship_type'], resolver);
    const issues = [...own.issues, ...infraMarks.issues, ...relMarks.issues];
    if (issues.length > 0) {
      for (const issue of issues) out.issue(issue);
      continue;
    }
    const tlp = strictestTlp([own.tlp, infraMarks.tlp, relMarks.tlp]);
    const types = Array.isArray(infra.infrastructure_types) ? infra.infrastructure_types.filter((t): t is string => typeof t === 'string') : [];
    const evidence = textOf(infra, infraMarks.textLevels, tlp);
    out.indicator({
      ...r.indicator,
      origin: where,
      ...(types.length ? { threat: clipText(types.join(', '), MAX_THREAT) } : {}),
      ...(evidence ? { evidence } : {}),
      ...(tlp ? { tlp } : {}),
    });
  }
}
