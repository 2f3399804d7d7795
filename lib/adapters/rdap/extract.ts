import { getDomain } from 'tldts';
import { canonicalAddress, type IpRange } from './ip.js';

/**
 * Reading RDAP answers (RFC 9083) the way an abuse analyst does. Pure: JSON in, facts out. The rules, and why,
 * are in test/fixtures/rdap-expected.json, written from the real answers before this code:
 * 1. an entity with the role `abuse`, at any depth: its mailbox that says abuse, else its first mailbox;
 * 2. failing a mailbox that says abuse there, one the operator publishes elsewhere in the answer or names in a
 *    remark;
 * 3. never a technical, administrative or registrant mailbox that does not say abuse.
 * For a domain only the registrar's part of the answer counts: the registrant may be the criminal.
 */

/** Where in the answer the contact was found. */
export type ContactOrigin = 'abuse-role' | 'abuse-mailbox' | 'remark';

export interface Contact {
  readonly email: string;
  readonly phone?: string;
  readonly name?: string;
  readonly handle?: string;
  readonly origin: ContactOrigin;
}

/** Which RDAP answer a contact was read from: its URL, when, and the SHA-256 of its RFC 8785 JSON (evidence). */
export interface RdapAnswerRef {
  readonly url: string;
  readonly fetchedAt: string;
  readonly sha256: string;
}

export interface NetworkInfo {
  readonly objectClass: 'ip network';
  readonly range: IpRange;
  readonly handle?: string;
  readonly name?: string;
  readonly country?: string;
  /** the organisation holding the network, for people */
  readonly operator?: string;
  readonly abuse?: Contact;
  readonly noAbuseReason?: string;
  /** origin ASes the registry lists (ARIN's arin_originas0 extension) */
  readonly originAsns: readonly number[];
  /** the operator's own domain, for the security.txt and abuse@ fallbacks */
  readonly domain?: string;
  readonly answer?: RdapAnswerRef;
}

export interface RegistrarInfo {
  readonly name: string;
  readonly handle?: string;
  readonly ianaId?: string;
  /** the registrar's general mailbox (not an abuse desk) */
  readonly email?: string;
  readonly url?: string;
  readonly abuse?: Contact;
  readonly domain?: string;
}

export interface DomainInfo {
  readonly objectClass: 'domain';
  readonly domain: string;
  readonly registrar?: RegistrarInfo;
  readonly noAbuseReason?: string;
  /** the registrar's own RDAP answer for the domain, when the registry refers to it */
  readonly relatedUrl?: string;
  readonly answer?: RdapAnswerRef;
}

export interface AutnumInfo {
  readonly objectClass: 'autnum';
  readonly start: number;
  readonly end: number;
  readonly handle?: string;
  readonly name?: string;
  readonly country?: string;
  readonly operator?: string;
  readonly abuse?: Contact;
  readonly noAbuseReason?: string;
  readonly domain?: string;
  readonly answer?: RdapAnswerRef;
}

export interface EntityInfo {
  readonly objectClass: 'entity';
  readonly handle?: string;
  readonly name?: string;
  readonly email?: string;
}

/** An RDAP error answer (RFC 9083 section 6). */
export interface RdapErrorInfo {
  readonly objectClass: 'error';
  readonly errorCode?: number;
  readonly title?: string;
  readonly description?: string;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

/** The RDAP error in an answer, if it is one. */
export function errorOf(json: unknown): RdapErrorInfo | undefined {
  if (!isObject(json) || json.objectClassName !== undefined) return undefined;
  if (typeof json.errorCode !== 'number' && str(json.title) === undefined) return undefined;
  return {
    objectClass: 'error',
    ...(typeof json.errorCode === 'number' ? { errorCode: json.errorCode } : {}),
    ...(str(json.title) ? { title: str(json.title) } : {}),
    ...(asArray(json.description).length ? { description: asArray(json.description).filter((d) => typeof d === 'string').join(' ') } : {}),
  };
}

// ---------------------------------------------------------------- vCard (jCard, RFC 7095)

interface Card {
  readonly fn?: string;
  readonly org?: string;
  readonly kind?: string;
  readonly emails: string[];
  readonly phones: string[];
  readonly urls: string[];
}

function cardOf(entity: Json): Card {
  const card: { fn?: string; org?: string; kind?: string; emails: string[]; phones: string[]; urls: string[] } = {
    emails: [],
    phones: [],
    urls: [],
  };
  const props = asArray(asArray(entity.vcardArray)[1]);
  const voice: { pref: number; value: string }[] = [];
  for (const p of props) {
    if (!Array.isArray(p) || typeof p[0] !== 'string') continue;
    const name = p[0].toLowerCase();
    const params = isObject(p[1]) ? p[1] : {};
    const value = p[3];
    const text = typeof value === 'string' ? value.trim() : Array.isArray(value) ? value.filter((x) => typeof x === 'string').join(' ').trim() : '';
    if (name === 'fn' && text) card.fn ??= text;
    else if (name === 'org' && text) card.org ??= text;
    else if (name === 'kind' && text) card.kind ??= text.toLowerCase();
    else if (name === 'email' && text) {
      const email = normaliseEmail(text);
      if (email && !card.emails.includes(email)) card.emails.push(email);
    } else if (name === 'url' && text) card.urls.push(text);
    else if (name === 'tel' && text) {
      const types = [params.type].flat().filter((t): t is string => typeof t === 'string').map((t) => t.toLowerCase());
      if (types.includes('fax')) continue;
      voice.push({ pref: Number(params.pref ?? 100) || 100, value: text.replace(/^tel:/i, '').trim() });
    }
  }
  card.phones.push(...joinPhoneFragments(voice.map((v) => v.value)));
  return card;
}

/**
 * Some registries split one number over several tel values (`+7`, `495`, `5801111`): a value too short to be
 * a number is joined with the ones after it until it is long enough to be one.
 */
function joinPhoneFragments(values: readonly string[]): string[] {
  const digits = (s: string) => s.replace(/\D/g, '').length;
  const out: string[] = [];
  for (let i = 0; i < values.length; i++) {
    let v = values[i]!;
    if (digits(v) < 6) {
      let j = i + 1;
      while (j < values.length && digits(v) < 8) v = `${v} ${values[j++]}`;
      i = j - 1;
    }
    if (digits(v) >= 6 && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The mailbox as published, its domain lower-cased; undefined when it is not a mailbox. */
export function normaliseEmail(text: string): string | undefined {
  const t = text.trim().replace(/^mailto:/i, '');
  const m = /^([^\s@<>()]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,})$/.exec(t);
  return m ? `${m[1]}@${m[2]!.toLowerCase()}` : undefined;
}

const saysAbuse = (email: string): boolean => /abuse/i.test(email.slice(0, email.indexOf('@')));

// ---------------------------------------------------------------- entities

interface Found {
  readonly entity: Json;
  readonly roles: string[];
  readonly card: Card;
  readonly depth: number;
}

/** Every entity of an object, depth first in document order (RIPE and ARIN nest the abuse role). */
function walk(entities: unknown, depth = 0, out: Found[] = []): Found[] {
  for (const e of asArray(entities)) {
    if (!isObject(e)) continue;
    const roles = asArray(e.roles).filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase());
    out.push({ entity: e, roles, card: cardOf(e), depth });
    walk(e.entities, depth + 1, out);
  }
  return out;
}

function remarksText(obj: Json): string[] {
  return asArray(obj.remarks).flatMap((r) => (isObject(r) ? asArray(r.description).filter((d): d is string => typeof d === 'string') : []));
}

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** The abuse contact of a part of an answer (its entities and remarks), by the rules at the top. */
function abuseContact(scope: Json, found: readonly Found[]): Contact | undefined {
  const abuseRoles = found.filter((f) => f.roles.includes('abuse'));
  for (const f of abuseRoles) {
    const email = f.card.emails.find(saysAbuse);
    if (email) return contact(f, email, 'abuse-role');
  }
  for (const f of found) {
    const email = f.card.emails.find(saysAbuse);
    if (email) return contact(f, email, 'abuse-mailbox', false);
  }
  const remarks = [...remarksText(scope), ...found.flatMap((f) => remarksText(f.entity))];
  for (const line of remarks) {
    for (const m of line.matchAll(EMAIL_IN_TEXT)) {
      const email = normaliseEmail(m[0].replace(/\.$/, ''));
      if (email && saysAbuse(email)) return { email, origin: 'remark' };
    }
  }
  for (const f of abuseRoles) {
    const email = f.card.emails[0];
    if (email) return contact(f, email, 'abuse-role');
  }
  return undefined;
}

function contact(f: Found, email: string, origin: ContactOrigin, named = true): Contact {
  const handle = str(f.entity.handle);
  const phone = f.card.phones[0];
  return {
    email,
    ...(phone ? { phone } : {}),
    ...(named && f.card.fn ? { name: f.card.fn } : {}),
    ...(handle ? { handle } : {}),
    origin,
  };
}

/** Why a part of an answer has no abuse contact, in words an analyst can act on. */
function noAbuseReason(found: readonly Found[], what: string): string {
  const handleOnly = found.filter((f) => f.roles.includes('abuse') && !f.entity.vcardArray).map((f) => str(f.entity.handle)).filter(Boolean);
  if (handleOnly.length) return `no abuse contact: the abuse entity ${handleOnly.join(', ')} has no contact details`;
  if (found.some((f) => f.roles.includes('abuse'))) return `no abuse contact: the ${what}'s abuse entity has no mailbox`;
  return `no abuse contact in the ${what}'s RDAP answer`;
}

// Registry mailboxes are the registry's, not the operator's: never a fallback domain for an abuse report.
const REGISTRY_DOMAINS = new Set([
  'arin.net', 'ripe.net', 'apnic.net', 'afrinic.net', 'lacnic.net', 'nic.ad.jp', 'nic.or.kr', 'twnic.net.tw',
  'cnnic.cn', 'idnic.net', 'vnnic.vn', 'registro.br', 'nic.br', 'nic.mx', 'irinn.in', 'apjii.or.id',
]);

/** The registrable domain most of these mailboxes (and URLs) are at: the operator's own domain. */
function mainDomain(emails: readonly string[], urls: readonly string[] = []): string | undefined {
  const counts = new Map<string, number>();
  const add = (host: string, weight: number) => {
    const d = getDomain(host);
    if (!d || REGISTRY_DOMAINS.has(d)) return;
    counts.set(d, (counts.get(d) ?? 0) + weight);
  };
  for (const u of urls) {
    try {
      // a web site only breaks ties: the mail domain is the one known to take mail
      add(new URL(/^[a-z]+:\/\//i.test(u) ? u : `http://${u}`).hostname, 0.5);
    } catch {
      // a URL nobody can parse names no domain
    }
  }
  for (const e of emails) add(e.slice(e.indexOf('@') + 1), 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const [d, n] of counts) if (n > bestCount) [best, bestCount] = [d, n];
  return best;
}

function operatorOf(found: readonly Found[]): string | undefined {
  const registrant = found.find((f) => f.roles.includes('registrant') && (f.card.org || f.card.fn));
  if (registrant) return registrant.card.org || registrant.card.fn;
  return found.find((f) => f.card.kind === 'org' && f.card.fn)?.card.fn;
}

// ---------------------------------------------------------------- objects

/** The facts of an IP network answer, or why it is not one. */
export function extractNetwork(json: unknown): NetworkInfo | { error: string } {
  if (!isObject(json)) return { error: 'the answer is not a JSON object' };
  const cls = str(json.objectClassName);
  if (cls !== undefined && cls !== 'ip network') return { error: `expected an ip network, got ${cls}` };
  const start = canonicalAddress(String(json.startAddress ?? ''));
  const end = canonicalAddress(String(json.endAddress ?? ''));
  if (!start || !end || start.family !== end.family) return { error: 'the network answer has no valid startAddress/endAddress' };
  const found = walk(json.entities);
  const abuse = abuseContact(json, found);
  const country = str(json.country);
  const originAsns = asArray(json.arin_originas0_originautnums).map(Number).filter((n) => Number.isInteger(n) && n > 0);
  const operator = operatorOf(found);
  const domain = mainDomain(found.flatMap((f) => f.card.emails), found.flatMap((f) => f.card.urls));
  return {
    objectClass: 'ip network',
    range: { family: start.family, start: start.address, end: end.address },
    ...(str(json.handle) ? { handle: str(json.handle) } : {}),
    ...(str(json.name) ? { name: str(json.name) } : {}),
    ...(country && /^[A-Za-z]{2}$/.test(country) ? { country: country.toUpperCase() } : {}),
    ...(operator ? { operator } : {}),
    ...(abuse ? { abuse } : { noAbuseReason: noAbuseReason(found, 'network') }),
    originAsns,
    ...(domain ? { domain } : {}),
  };
}

/** The facts of an autnum answer (for the upstream step), or why it is not one. */
export function extractAutnum(json: unknown): AutnumInfo | { error: string } {
  if (!isObject(json)) return { error: 'the answer is not a JSON object' };
  const cls = str(json.objectClassName);
  if (cls !== undefined && cls !== 'autnum') return { error: `expected an autnum, got ${cls}` };
  const start = Number(json.startAutnum);
  const end = Number(json.endAutnum ?? json.startAutnum);
  if (!Number.isInteger(start) || !Number.isInteger(end)) return { error: 'the autnum answer has no startAutnum' };
  const found = walk(json.entities);
  const abuse = abuseContact(json, found);
  const country = str(json.country);
  const operator = operatorOf(found);
  const domain = mainDomain(found.flatMap((f) => f.card.emails), found.flatMap((f) => f.card.urls));
  return {
    objectClass: 'autnum',
    start,
    end,
    ...(str(json.handle) ? { handle: str(json.handle) } : {}),
    ...(str(json.name) ? { name: str(json.name) } : {}),
    ...(country && /^[A-Za-z]{2}$/.test(country) ? { country: country.toUpperCase() } : {}),
    ...(operator ? { operator } : {}),
    ...(abuse ? { abuse } : { noAbuseReason: noAbuseReason(found, 'autonomous system') }),
    ...(domain ? { domain } : {}),
  };
}

/** The facts of a domain answer: its registrar and the registrar's abuse contact. */
export function extractDomain(json: unknown): DomainInfo | { error: string } {
  if (!isObject(json)) return { error: 'the answer is not a JSON object' };
  const cls = str(json.objectClassName);
  if (cls !== undefined && cls !== 'domain') return { error: `expected a domain, got ${cls}` };
  const name = (str(json.ldhName) ?? str(json.unicodeName))?.toLowerCase().replace(/\.$/, '');
  if (!name) return { error: 'the domain answer has no ldhName' };
  const registrarEntity = asArray(json.entities).find(
    (e): e is Json => isObject(e) && asArray(e.roles).some((r) => typeof r === 'string' && r.toLowerCase() === 'registrar'),
  );
  const related = asArray(json.links).find(
    (l): l is Json =>
      isObject(l) && str(l.rel) === 'related' && (str(l.type) ?? '').includes('rdap') && /\/domain\//i.test(String(l.href ?? '')),
  );
  const relatedUrl = related ? str(related.href) : undefined;
  if (!registrarEntity) {
    return { objectClass: 'domain', domain: name, noAbuseReason: 'no registrar in the domain\'s RDAP answer', ...(relatedUrl ? { relatedUrl } : {}) };
  }
  const registrar = readRegistrar(registrarEntity);
  return {
    objectClass: 'domain',
    domain: name,
    registrar,
    ...(registrar.abuse ? {} : { noAbuseReason: registrarNoAbuse(registrarEntity) }),
    ...(relatedUrl ? { relatedUrl } : {}),
  };
}

function registrarNoAbuse(entity: Json): string {
  const handle = str(entity.handle);
  if (!entity.vcardArray && !asArray(entity.entities).length) {
    return `no abuse contact: the registrar ${handle ?? '(no handle)'} is given only by its handle`;
  }
  return noAbuseReason(walk([entity]), 'registrar');
}

function readRegistrar(entity: Json): RegistrarInfo {
  const found = walk([entity]);
  const own = found[0]!.card;
  const handle = str(entity.handle);
  const ianaFromIds = asArray(entity.publicIds).find(
    (p): p is Json => isObject(p) && /iana/i.test(String(p.type ?? '')),
  );
  // gTLD registries that omit publicIds often use the IANA id as the handle
  const ianaId = str(ianaFromIds?.identifier) ?? (handle && /^\d{1,6}$/.test(handle) ? handle : undefined);
  const abuse = abuseContact(entity, found);
  const url = own.urls[0];
  const domain = mainDomain([...own.emails, ...(abuse ? [abuse.email] : [])], own.urls);
  return {
    name: own.fn ?? own.org ?? handle ?? 'unnamed registrar',
    ...(handle ? { handle } : {}),
    ...(ianaId ? { ianaId } : {}),
    ...(own.emails[0] ? { email: own.emails[0] } : {}),
    ...(url ? { url } : {}),
    ...(abuse ? { abuse } : {}),
    ...(domain ? { domain } : {}),
  };
}

/** The facts of an entity answer (what a reference given only by handle is fetched into). */
export function extractEntity(json: unknown): EntityInfo | { error: string } {
  if (!isObject(json)) return { error: 'the answer is not a JSON object' };
  const cls = str(json.objectClassName);
  if (cls !== undefined && cls !== 'entity') return { error: `expected an entity, got ${cls}` };
  const card = cardOf(json);
  return {
    objectClass: 'entity',
    ...(str(json.handle) ? { handle: str(json.handle) } : {}),
    ...(card.fn ? { name: card.fn } : {}),
    ...(card.emails[0] ? { email: card.emails[0] } : {}),
  };
}

// ---------------------------------------------------------------- entities given only by handle

/** A reference to an entity that carries a role we need but no contact details of its own. */
export interface HandleRef {
  readonly handle: string;
  /** its own `self` link, when the answer gives one */
  readonly url?: string;
}

const NEEDED_ROLES = ['abuse', 'registrar'];

/**
 * Entities the answer gives only by handle (no vCard, no nested entities) in a role that decides the contact:
 * `abuse`, or `registrar` (a registrar's abuse contact is nested in its own entity). Other roles are not worth
 * a request each: RIPE lists half a dozen administrative handles per network.
 */
export function handleOnlyEntities(json: unknown, max = 5): HandleRef[] {
  if (!isObject(json)) return [];
  const out: HandleRef[] = [];
  for (const f of walk(json.entities)) {
    if (out.length >= max) break;
    const handle = str(f.entity.handle);
    if (!handle || f.entity.vcardArray || asArray(f.entity.entities).length) continue;
    if (!f.roles.some((r) => NEEDED_ROLES.includes(r))) continue;
    if (out.some((r) => r.handle === handle)) continue;
    const self = asArray(f.entity.links).find((l): l is Json => isObject(l) && str(l.rel) === 'self');
    const url = self ? str(self.href) : undefined;
    out.push({ handle, ...(url ? { url } : {}) });
  }
  return out;
}

/**
 * A copy of the answer with each handle-only entity replaced by its fetched answer, keeping the roles the
 * referring object gave it (an entity's own answer does not say what it is to this network or domain).
 */
export function withFetchedEntities(json: unknown, fetched: ReadonlyMap<string, unknown>): unknown {
  if (!isObject(json) || fetched.size === 0) return json;
  const fill = (entities: unknown): unknown =>
    asArray(entities).map((e) => {
      if (!isObject(e)) return e;
      const handle = str(e.handle);
      const full = handle && !e.vcardArray ? fetched.get(handle) : undefined;
      if (isObject(full)) return { ...full, roles: e.roles ?? full.roles, entities: fill(full.entities ?? e.entities) };
      return e.entities ? { ...e, entities: fill(e.entities) } : e;
    });
  return { ...json, entities: fill(json.entities) };
}
