import type { InputIssue } from '../../errors.js';
import type { Indicator, TLP } from '../../model.js';
import { normaliseIndicator } from '../normalise.js';
import { clipText, isoDate, MAX_EVIDENCE, MAX_THREAT, type ParseContext, type ParserOutput } from '../common.js';
import { strictestTlp, tlpFromText } from '../../tlp.js';

/**
 * MISP event JSON, as MISP exports it: a bare Event, `{"Event": ...}`, or a search answer
 * `{"response": [{"Event": ...}, ...]}`. Attributes of the event and of its objects are read; a `tlp:*` tag on
 * an attribute wins over the event's. `to_ids: false` means the source did not mean the attribute for
 * detection (context, a reference link, a victim): it is listed and not notified. Problems are named by the
 * attribute's uuid.
 */

type Rec = Record<string, unknown>;

const isObject = (v: unknown): v is Rec => typeof v === 'object' && v !== null && !Array.isArray(v);

/** What each supported attribute type holds: one value, or two joined by '|'. */
const TYPES: Readonly<Record<string, readonly ('ip' | 'domain' | 'url' | 'port')[]>> = {
  'ip-dst': ['ip'],
  'ip-src': ['ip'],
  'ip-dst|port': ['ip', 'port'],
  'ip-src|port': ['ip', 'port'],
  domain: ['domain'],
  hostname: ['domain'],
  'hostname|port': ['domain', 'port'],
  'domain|ip': ['domain', 'ip'],
  url: ['url'],
  link: ['url'],
  uri: ['url'],
};

/** True when a parsed JSON document looks like a MISP event export. */
export function looksLikeMisp(doc: unknown): boolean {
  if (!isObject(doc)) return false;
  if (isObject(doc.Event)) return true;
  if (Array.isArray(doc.response)) return doc.response.some((r) => isObject(r) && isObject(r.Event));
  return Array.isArray(doc.Attribute) || (typeof doc.info === 'string' && (Array.isArray(doc.Object) || typeof doc.uuid === 'string'));
}

function eventsOf(doc: unknown): Rec[] {
  if (!isObject(doc)) return [];
  if (isObject(doc.Event)) return [doc.Event];
  if (Array.isArray(doc.response)) return doc.response.filter(isObject).map((r) => r.Event).filter(isObject);
  return [doc];
}

/** The strictest `tlp:*` tag of a tag list (`Tag: [{name}]` or `EventTag: [{Tag: {name}}]`); unknown tlp tags are errors. */
function tagTlp(owner: Rec, where: string, issues: InputIssue[]): TLP | undefined {
  const names: string[] = [];
  for (const t of Array.isArray(owner.Tag) ? owner.Tag : []) if (isObject(t) && typeof t.name === 'string') names.push(t.name);
  for (const et of Array.isArray(owner.EventTag) ? owner.EventTag : []) {
    if (isObject(et) && isObject(et.Tag) && typeof et.Tag.name === 'string') names.push(et.Tag.name);
  }
  const levels: (TLP | undefined)[] = [];
  for (const name of names) {
    if (!/^tlp\s*:/i.test(name.trim())) continue;
    const tlp = tlpFromText(name);
    // an unreadable handling marking is never read as none (tlp:ex:chr, tlp:unclear ...)
    if (tlp) levels.push(tlp);
    else issues.push({ where, reason: `the tag ${name.slice(0, 40)} is not a TLP 2.0 level` });
  }
  return strictestTlp(levels);
}

const truthy = (v: unknown): boolean => v === true || v === 1 || v === '1' || v === 'true';
const falsy = (v: unknown): boolean => v === false || v === 0 || v === '0' || v === 'false';

/** Reads a parsed MISP document. */
export function parseMisp(doc: unknown, _ctx: ParseContext): ParserOutput {
  const out: ParserOutput = { indicators: [], issues: [], excluded: [] };
  const events = looksLikeMisp(doc) ? eventsOf(doc) : [];
  if (events.length === 0) {
    out.issues.push({ where: 'file', reason: 'no MISP Event in the document' });
    return out;
  }
  for (const [e, event] of events.entries()) {
    const eventWhere = typeof event.uuid === 'string' ? `event ${event.uuid}` : `event ${e + 1}`;
    const eventTlp = tagTlp(event, eventWhere, out.issues);
    const info = typeof event.info === 'string' ? event.info : undefined;
    const attributes: [Rec, string][] = [];
    for (const [i, a] of (Array.isArray(event.Attribute) ? event.Attribute : []).entries()) {
      if (isObject(a)) attributes.push([a, `Attribute[${i}]`]);
    }
    for (const [j, o] of (Array.isArray(event.Object) ? event.Object : []).entries()) {
      if (!isObject(o) || truthy(o.deleted)) continue;
      for (const [i, a] of (Array.isArray(o.Attribute) ? o.Attribute : []).entries()) {
        if (isObject(a)) attributes.push([a, `Object[${j}].Attribute[${i}]`]);
      }
    }
    for (const [attribute, path] of attributes) readAttribute(attribute, path, { eventTlp, info }, out);
  }
  return out;
}

function readAttribute(a: Rec, path: string, event: { eventTlp: TLP | undefined; info: string | undefined }, out: ParserOutput): void {
  const where = typeof a.uuid === 'string' && a.uuid ? `attribute ${a.uuid}` : path;
  const type = typeof a.type === 'string' ? a.type : undefined;
  if (truthy(a.deleted)) {
    out.excluded.push({ where, kind: 'deleted', reason: 'the attribute is deleted' });
    return;
  }
  if (!type) {
    out.issues.push({ where, reason: 'an attribute without a type' });
    return;
  }
  const parts = TYPES[type];
  if (!parts) {
    out.excluded.push({ where, kind: 'unsupported', reason: `the MISP type ${type.slice(0, 40)} is not infrastructure that can be notified` });
    return;
  }
  if (typeof a.value !== 'string' || a.value.trim() === '') {
    out.issues.push({ where, reason: `a ${type} attribute without a value` });
    return;
  }
  const texts = parts.length === 1 ? [a.value] : splitPipe(a.value);
  if (texts.length !== parts.length) {
    out.issues.push({ where, reason: `a ${type} value must be two parts joined by '|'` });
    return;
  }
  const issues: InputIssue[] = [];
  const attributeTlp = tagTlp(a, where, issues);
  const found: Omit<Indicator, 'origin'>[] = [];
  let port: number | undefined;
  texts.forEach((text, i) => {
    const part = parts[i]!;
    if (part === 'port') {
      const n = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : NaN;
      if (n >= 1 && n <= 65535) port = n;
      else issues.push({ where, reason: `${type}: the port is not a number from 1 to 65535` });
      return;
    }
    const r = normaliseIndicator(text, { type: part });
    if (r.ok) found.push(r.indicator);
    else issues.push({ where, reason: `${type}${parts.length > 1 ? ` (${part})` : ''}: ${r.reason}` });
  });
  if (falsy(a.to_ids)) {
    // listed whatever its value: the source did not mean it as an indicator, so a bad value is not the analyst's problem
    for (const f of found) out.excluded.push({ where, kind: 'not-for-detection', reason: 'to_ids is false: the source did not mark it for detection', value: f.value });
    if (found.length === 0) out.excluded.push({ where, kind: 'not-for-detection', reason: 'to_ids is false: the source did not mark it for detection' });
    return;
  }
  if (issues.length > 0) {
    out.issues.push(...issues);
    return;
  }
  const tlp = attributeTlp ?? event.eventTlp;
  const comment = typeof a.comment === 'string' ? a.comment.trim() : '';
  const text = [event.info, comment].filter((s) => s && s.trim()).join(' — ');
  const category = typeof a.category === 'string' ? a.category : undefined;
  const seen = typeof a.first_seen === 'string' ? isoDate(a.first_seen) : undefined;
  found.forEach((f, i) => {
    const withPort = port !== undefined && f.kind !== 'url' ? { port } : {};
    out.indicators.push({
      ...f,
      ...withPort,
      origin: found.length > 1 ? `${where} (${parts[i]})` : where,
      ...(category ? { threat: clipText(category, MAX_THREAT) } : {}),
      ...(text ? { evidence: clipText(`MISP: ${text}`, MAX_EVIDENCE) } : {}),
      ...(seen ? { firstSeen: seen } : {}),
      ...(tlp ? { tlp } : {}),
    });
  });
}

/** `a|b` split at the first '|' (ports and addresses never contain one). */
function splitPipe(value: string): string[] {
  const bar = value.indexOf('|');
  return bar < 0 ? [value] : [value.slice(0, bar), value.slice(bar + 1)];
}
