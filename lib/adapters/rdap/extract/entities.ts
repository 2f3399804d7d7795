/**
 * Reading the entities of an RDAP answer (RFC 9083): their vCards (jCard, RFC 7095), their roles at any depth,
 * their remarks, and the entities an answer gives only by handle, fetched and put back in place. Pure: JSON in,
 * facts out. Which entity's mailbox is the abuse contact is decided in ./abuse-contact.ts.
 */

export type Json = Record<string, unknown>;

export const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const str = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim() : undefined);

// ---------------------------------------------------------------- vCard (jCard, RFC 7095)

export interface Card {
  readonly fn?: string;
  readonly org?: string;
  readonly kind?: string;
  readonly emails: string[];
  readonly phones: string[];
  readonly urls: string[];
}

export function cardOf(entity: Json): Card {
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

// ---------------------------------------------------------------- entities

export interface Found {
  readonly entity: Json;
  readonly roles: string[];
  readonly card: Card;
  readonly depth: number;
}

/** Every entity of an object, depth first in document order (RIPE and ARIN nest the abuse role). */
export function walk(entities: unknown, depth = 0, out: Found[] = []): Found[] {
  for (const e of asArray(entities)) {
    if (!isObject(e)) continue;
    const roles = asArray(e.roles).filter((r): r is string => typeof r === 'string').map((r) => r.toLowerCase());
    out.push({ entity: e, roles, card: cardOf(e), depth });
    walk(e.entities, depth + 1, out);
  }
  return out;
}

export function remarksText(obj: Json): string[] {
  return asArray(obj.remarks).flatMap((r) => (isObject(r) ? asArray(r.description).filter((d): d is string => typeof d === 'string') : []));
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
