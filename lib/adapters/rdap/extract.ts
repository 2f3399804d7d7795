import { canonicalAddress, type IpRange } from './ip.js';
import { abuseContact, mainDomain, noAbuseReason, operatorOf, type Contact } from './extract/abuse-contact.js';
import { asArray, cardOf, isObject, str, walk, type Json } from './extract/entities.js';

export type { Contact, ContactOrigin } from './extract/abuse-contact.js';
export { handleOnlyEntities, normaliseEmail, withFetchedEntities, type HandleRef } from './extract/entities.js';

/**
 * Reading RDAP answers (RFC 9083) the way an abuse analyst does. Pure: JSON in, facts out. The rules, and why,
 * are in test/fixtures/rdap-expected.json, written from the real answers before this code:
 * 1. an entity with the role `abuse`, at any depth: its mailbox that says abuse, else its first mailbox;
 * 2. failing a mailbox that says abuse there, one the operator publishes elsewhere in the answer or names in a
 *    remark;
 * 3. never a technical, administrative or registrant mailbox that does not say abuse.
 * For a domain only the registrar's part of the answer counts: the registrant may be the criminal.
 */

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
