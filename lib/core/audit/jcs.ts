import { InvalidInputError } from '../errors.js';

/**
 * The JSON Canonicalization Scheme (RFC 8785): the one text of a JSON value that everyone hashes the same way.
 * Numbers are written as ECMAScript writes them (Number::toString), strings as JSON.stringify escapes them,
 * object members sorted by the UTF-16 code units of their names, no white space.
 */

/** The RFC 8785 canonical JSON text of `value`. Refuses what has no canonical form (NaN, Infinity, lone surrogates, non-JSON types). */
export function canonicalize(value: unknown): string {
  return write(value, '$');
}

function write(value: unknown, where: string): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) refuse(where, `${String(value)} is not a JSON number`);
      // Number::toString is the serialisation RFC 8785 prescribes; -0 comes out as "0", as it must
      return String(value);
    case 'string':
      return quote(value, where);
    case 'object': {
      if (Array.isArray(value)) {
        const items: string[] = [];
        for (let i = 0; i < value.length; i++) {
          const item: unknown = value[i];
          if (item === undefined) refuse(`${where}[${i}]`, 'undefined has no JSON form');
          items.push(write(item, `${where}[${i}]`));
        }
        return `[${items.join(',')}]`;
      }
      const proto: unknown = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) refuse(where, 'only plain objects have a canonical form');
      const record = value as Record<string, unknown>;
      // the default sort compares UTF-16 code units, which is the order RFC 8785 asks for
      const names = Object.keys(record).sort();
      const members: string[] = [];
      for (const name of names) {
        const member = record[name];
        // an absent optional field, as JSON.stringify leaves it out
        if (member === undefined) continue;
        members.push(`${quote(name, where)}:${write(member, `${where}.${name}`)}`);
      }
      return `{${members.join(',')}}`;
    }
    default:
      return refuse(where, `a ${typeof value} has no JSON form`);
  }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function quote(text: string, where: string): string {
  // I-JSON (RFC 7493), which RFC 8785 builds on, has no unpaired surrogates: their escape is not portable
  if (LONE_SURROGATE.test(text)) refuse(where, 'a string with an unpaired UTF-16 surrogate');
  // JSON.stringify escapes exactly what RFC 8785 escapes: " \ and U+0000..U+001F (\b \t \n \f \r, else \u00xx)
  return JSON.stringify(text);
}

function refuse(where: string, reason: string): never {
  throw new InvalidInputError('the value has no canonical JSON form (RFC 8785)', [{ where, reason }]);
}

/** Replaces every unpaired UTF-16 surrogate with U+FFFD, so any text can be canonicalized (and hashed). */
export function wellFormed(text: string): string {
  return text.replace(new RegExp(LONE_SURROGATE.source, 'g'), '\uFFFD');
}
