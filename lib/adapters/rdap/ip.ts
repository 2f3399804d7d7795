import { normaliseIndicator } from '../../core/intake/index.js';

/**
 * Addresses and ranges as RDAP servers write them, and the fixed-width keys the store compares as text.
 * Real answers differ from the RFC: RIPE appends `/32` or `/128` to start and end, ARIN zero-pads IPv4 octets
 * (`074.125.000.000`, decimal, not octal), ARIN writes IPv6 in full upper case.
 */

export type Family = 4 | 6;

export interface IpRange {
  readonly family: Family;
  /** canonical addresses (the same form normalise.ts gives indicators) */
  readonly start: string;
  readonly end: string;
}

/** A canonical address from one as an RDAP server writes it, or undefined when it is none. */
export function canonicalAddress(text: string): { address: string; family: Family } | undefined {
  let t = text.trim().replace(/\/\d{1,3}$/, '');
  if (/^[0-9.]+$/.test(t)) t = t.split('.').map((part) => part.replace(/^0+(?=\d)/, '')).join('.');
  const result = normaliseIndicator(t);
  if (!result.ok) return undefined;
  const { kind, value, port } = result.indicator;
  if (port !== undefined || (kind !== 'ipv4' && kind !== 'ipv6')) return undefined;
  return { address: value, family: kind === 'ipv4' ? 4 : 6 };
}

/** A canonical address as a number (IPv4 in the low 32 bits). */
export function addressToBigInt(address: string): bigint {
  if (!address.includes(':')) {
    // plain numbers, one BigInt at the end: this runs for every indicator of a campaign
    let n = 0;
    let octet = 0;
    for (let i = 0; i < address.length; i++) {
      const c = address.charCodeAt(i);
      if (c === 46) {
        n = n * 256 + octet;
        octet = 0;
      } else octet = octet * 10 + (c - 48);
    }
    return BigInt(n * 256 + octet);
  }
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

/** The canonical text of a number as an address of `family`. */
export function bigIntToAddress(n: bigint, family: Family): string {
  if (family === 4) return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 255n)).join('.');
  const groups: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(((n >> s) & 0xffffn).toString(16));
  const result = canonicalAddress(groups.join(':'));
  return result!.address;
}

export function familyBits(family: Family): 32 | 128 {
  return family === 4 ? 32 : 128;
}

/**
 * The store's key of an address: family and the address in fixed-width hex, so that text order is numeric
 * order within a family (both SQLite and DynamoDB compare keys as text).
 */
export function addressKey(address: string): string {
  const family: Family = address.includes(':') ? 6 : 4;
  return `${family}:${addressToBigInt(address).toString(16).padStart(family === 4 ? 8 : 32, '0')}`;
}

/** The range as one CIDR when it is exactly one, e.g. `192.0.2.0/24`. */
export function rangeCidr(range: IpRange): string | undefined {
  const start = addressToBigInt(range.start);
  const end = addressToBigInt(range.end);
  const size = end - start + 1n;
  if (size <= 0n || (size & (size - 1n)) !== 0n || start % size !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  return `${range.start}/${familyBits(range.family) - hostBits}`;
}

const texts = new WeakMap<IpRange, string>();

/** A range for people: its CIDR when it is one, else `start-end`. */
export function rangeText(range: IpRange): string {
  let text = texts.get(range);
  if (text === undefined) texts.set(range, (text = rangeCidr(range) ?? `${range.start}-${range.end}`));
  return text;
}

/** Whether `address` (canonical) lies in `range`. */
export function rangeContains(range: IpRange, address: string): boolean {
  if ((address.includes(':') ? 6 : 4) !== range.family) return false;
  const n = addressToBigInt(address);
  return n >= addressToBigInt(range.start) && n <= addressToBigInt(range.end);
}

/** The range of a CIDR text (`198.51.100.0/24`), or undefined when it is none or has host bits set. */
export function parseCidr(text: string): IpRange | undefined {
  const m = /^\s*([^/\s]+)\/(\d{1,3})\s*$/.exec(text);
  if (!m) return undefined;
  const address = canonicalAddress(m[1]!);
  if (!address) return undefined;
  const bits = familyBits(address.family);
  const prefix = Number(m[2]);
  if (prefix > bits) return undefined;
  const start = addressToBigInt(address.address);
  const hostBits = BigInt(bits - prefix);
  if ((start >> hostBits) << hostBits !== start) return undefined;
  const end = start | ((1n << hostBits) - 1n);
  return { family: address.family, start: address.address, end: bigIntToAddress(end, address.family) };
}

/**
 * The CIDR blocks that exactly cover a range (at most 2 per bit of the address): what an in-memory prefix
 * table can index a range under.
 */
export function rangeToCidrs(range: IpRange): { network: bigint; prefix: number }[] {
  const bits = familyBits(range.family);
  let start = addressToBigInt(range.start);
  const end = addressToBigInt(range.end);
  const out: { network: bigint; prefix: number }[] = [];
  while (start <= end) {
    let size = 1n;
    let hostBits = 0;
    // grow the block while it stays aligned and inside the range
    while (hostBits < bits && start % (size * 2n) === 0n && start + size * 2n - 1n <= end) {
      size *= 2n;
      hostBits += 1;
    }
    out.push({ network: start, prefix: bits - hostBits });
    start += size;
  }
  return out;
}

const SPECIAL: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network" (RFC 791)' },
  { cidr: '10.0.0.0/8', what: 'private address space (RFC 1918)' },
  { cidr: '100.64.0.0/10', what: 'shared carrier-grade NAT space (RFC 6598)' },
  { cidr: '127.0.0.0/8', what: 'loopback (RFC 1122)' },
  { cidr: '169.254.0.0/16', what: 'link-local (RFC 3927)' },
  { cidr: '172.16.0.0/12', what: 'private address space (RFC 1918)' },
  { cidr: '192.168.0.0/16', what: 'private address space (RFC 1918)' },
  { cidr: '224.0.0.0/4', what: 'multicast (RFC 5771)' },
  { cidr: '240.0.0.0/4', what: 'reserved (RFC 1112)' },
  { cidr: '::1/128', what: 'loopback (RFC 4291)' },
  { cidr: 'fc00::/7', what: 'unique local addresses (RFC 4193)' },
  { cidr: 'fe80::/10', what: 'link-local (RFC 4291)' },
  { cidr: 'ff00::/8', what: 'multicast (RFC 4291)' },
];
let specialRanges: { range: IpRange; what: string }[] | undefined;

/**
 * What an address is when no registry can hold it (private, loopback, multicast ...): no RDAP server has an
 * abuse contact for it, and the indicator is more likely a mistake in the source. Documentation ranges are not
 * listed: the demo's recorded answers use them.
 */
export function specialPurpose(address: string): string | undefined {
  specialRanges ??= SPECIAL.map((s) => ({ range: parseCidr(s.cidr)!, what: s.what }));
  return specialRanges.find((s) => rangeContains(s.range, address))?.what;
}
