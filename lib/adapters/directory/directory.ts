import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { InvalidInputError, type InputIssue } from '../../core/errors.js';
import type { Indicator, Party } from '../../core/model.js';
import { normaliseDomainSuffix, normaliseIndicator } from '../../core/intake/index.js';
import type { PartyLookup, PartyResolver } from '../../core/ports.js';

/**
 * The directory file: hosting networks by CIDR, registrars by domain suffix, national CERTs by country.
 * YAML or JSON (JSON is YAML). Entries are canonicalised while validated, so party ids are stable however the
 * file spells a CIDR or a suffix.
 */

type Cidr = { cidr: string; family: 4 | 6; prefix: number; network: bigint };

const Country = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'a two-letter ISO 3166 country code')
  .transform((c) => c.toUpperCase());

const Name = z.string().trim().min(1).max(200);

const CidrText = z.string().transform((text, ctx): Cidr => {
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') {
    ctx.addIssue({ code: 'custom', message: cidr });
    return z.NEVER;
  }
  return cidr;
});

const SuffixText = z.string().transform((text, ctx) => {
  const result = normaliseDomainSuffix(text);
  if (!result.ok) {
    ctx.addIssue({ code: 'custom', message: result.reason });
    return z.NEVER;
  }
  return result.suffix;
});

// other domains the party answers from (a hosted ticket system): answers from them are not suspicious
const AnswerDomains = z.array(SuffixText).min(1).max(20).optional();
// how the party wants its notices: a language (BCP 47, `fr` or `fr-CI`; its primary tag is kept) and ARF or not
const Language = z
  .string()
  .regex(/^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$/, 'a BCP 47 language tag, like fr or pt-AO')
  .transform((tag) => tag.split('-')[0]!.toLowerCase());
// other mailboxes of the same party, tried in order when a notice to the one before bounces for good
const Fallback = z.array(z.email()).min(1).max(5).optional();
const NoticeSettings = { language: Language.optional(), arf: z.boolean().optional(), fallback: Fallback };
const Network = z.strictObject({ cidr: CidrText, name: Name, abuse: z.email(), country: Country.optional(), answerDomains: AnswerDomains, ...NoticeSettings });
const Registrar = z.strictObject({ suffix: SuffixText, name: Name, abuse: z.email(), country: Country.optional(), answerDomains: AnswerDomains, ...NoticeSettings });
const Cert = z.strictObject({ country: Country, name: Name, abuse: z.email(), answerDomains: AnswerDomains, ...NoticeSettings });

/** The notice settings of a directory entry, as Party fields (absent when the entry says nothing). */
function noticeSettings(entry: { language?: string; arf?: boolean; fallback?: string[] }): Pick<Party, 'language' | 'arf' | 'fallbackEmails'> {
  return {
    ...(entry.language ? { language: entry.language } : {}),
    ...(entry.arf !== undefined ? { arf: entry.arf } : {}),
    ...(entry.fallback ? { fallbackEmails: entry.fallback.map((e) => e.toLowerCase()) } : {}),
  };
}

/** The directory file's schema; its output is the canonical Directory. */
export const DirectoryFile = z
  .strictObject({
    networks: z.array(Network).default([]),
    registrars: z.array(Registrar).default([]),
    certs: z.array(Cert).default([]),
  })
  .superRefine((d, ctx) => {
    // a second entry for the same key would make the match depend on file order
    const once = <T>(list: readonly T[], key: (t: T) => string, section: string, field: string): void => {
      const seen = new Map<string, number>();
      for (const [i, item] of list.entries()) {
        const k = key(item);
        const first = seen.get(k);
        if (first === undefined) seen.set(k, i);
        else ctx.addIssue({ code: 'custom', path: [section, i, field], message: `same ${field} as ${section}[${first}]` });
      }
    };
    once(d.networks, (n) => n.cidr.cidr, 'networks', 'cidr');
    once(d.registrars, (r) => r.suffix, 'registrars', 'suffix');
    once(d.certs, (c) => c.country, 'certs', 'country');
  });
export type Directory = z.output<typeof DirectoryFile>;

/** Parses and validates a directory file's text (YAML or JSON); InvalidInputError names each bad entry's path. */
export function parseDirectory(text: string): Directory {
  const json = parseJson(text);
  const doc = json === undefined ? parseDocument(text) : undefined;
  if (doc && doc.errors.length > 0) {
    // the parser's message quotes the offending source line, which may hold an address: keep only its first clause
    const issues: InputIssue[] = doc.errors.map((e) => ({
      where: e.linePos ? `line ${e.linePos[0].line}` : 'file',
      reason: e.message.split(/ at line \d+|\n/)[0] ?? e.code,
    }));
    throw new InvalidInputError('the directory file is not valid YAML or JSON', issues);
  }
  const data: unknown = doc ? doc.toJS() : json;
  if (data === null || data === undefined) {
    throw new InvalidInputError('the directory file is empty', [{ where: 'file', reason: 'empty' }]);
  }
  const parsed = DirectoryFile.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((issue) => ({ where: pathText(issue.path), reason: issue.message }));
    throw new InvalidInputError('the directory file has invalid entries', issues);
  }
  return parsed.data;
}

/**
 * JSON is YAML, but the YAML parser takes ~10x longer on a large directory (a cold Lambda pays it): try JSON
 * first when the text looks like it, and let YAML report the errors when it is not.
 */
function parseJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Reads and parses a directory file. */
export async function loadDirectory(path: string): Promise<Directory> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new InvalidInputError('cannot read the directory file', [{ where: path, reason: code }], { cause });
  }
  return parseDirectory(text);
}

/**
 * Resolves indicators against a directory: hosting network by longest-prefix match, registrar by longest
 * label-wise suffix, CERT by country. One Map per prefix length present, probed from the longest down, keeps a
 * lookup at a few dozen Map probes whatever the directory's size.
 */
export class DirectoryResolver implements PartyResolver {
  private readonly v4: PrefixTable;
  private readonly v6: PrefixTable;
  private readonly registrars = new Map<string, Party>();
  private readonly certs = new Map<string, Party>();

  constructor(directory: Directory) {
    const hosting = directory.networks.map((n) => ({
      cidr: n.cidr,
      party: party({
        id: `hosting:${n.cidr.cidr}`,
        kind: 'hosting',
        name: n.name,
        email: n.abuse,
        matchedBy: n.cidr.cidr,
        ...(n.country ? { country: n.country } : {}),
        ...(n.answerDomains ? { answerDomains: n.answerDomains } : {}),
        ...noticeSettings(n),
      }),
    }));
    this.v4 = new PrefixTable(32, hosting.filter((h) => h.cidr.family === 4));
    this.v6 = new PrefixTable(128, hosting.filter((h) => h.cidr.family === 6));
    for (const r of directory.registrars) {
      const p = party({ id: `registrar:${r.suffix}`, kind: 'registrar', name: r.name, email: r.abuse, matchedBy: r.suffix, ...(r.country ? { country: r.country } : {}), ...(r.answerDomains ? { answerDomains: r.answerDomains } : {}), ...noticeSettings(r) });
      this.registrars.set(r.suffix, p);
    }
    for (const c of directory.certs) {
      const p = party({ id: `cert:${c.country}`, kind: 'cert', name: c.name, email: c.abuse, country: c.country, matchedBy: c.country, ...(c.answerDomains ? { answerDomains: c.answerDomains } : {}), ...noticeSettings(c) });
      this.certs.set(c.country, p);
    }
  }

  /** One lookup per indicator, in order; an indicator nothing matches gets what it can (maybe only a CERT). */
  async resolve(indicators: readonly Indicator[]): Promise<PartyLookup[]> {
    return indicators.map((indicator) => this.lookup(indicator));
  }

  /** The national CERT of a country, if the directory lists one. */
  certFor(country: string): Party | undefined {
    return this.certs.get(country.toUpperCase());
  }

  private lookup(indicator: Indicator): PartyLookup {
    let hosting: Party | undefined;
    let registrar: Party | undefined;
    if (indicator.hostKind === 'ipv4') hosting = this.v4.match(ipv4ToNumber(indicator.host));
    else if (indicator.hostKind === 'ipv6') hosting = this.v6.match(ipv6ToBigInt(indicator.host));
    else registrar = this.registrarOf(indicator.host);
    const country = indicator.country?.toUpperCase() ?? hosting?.country;
    const cert = country === undefined ? undefined : this.certs.get(country);
    return {
      ...(hosting ? { hosting } : {}),
      ...(registrar ? { registrar } : {}),
      ...(cert ? { cert } : {}),
      ...(country ? { country } : {}),
    };
  }

  private registrarOf(domain: string): Party | undefined {
    // from the whole name down to the TLD: the first hit is the longest suffix, and only whole labels match
    for (let at = -1; ; ) {
      const found = this.registrars.get(domain.slice(at + 1));
      if (found) return found;
      at = domain.indexOf('.', at + 1);
      if (at < 0) return undefined;
    }
  }
}

/**
 * Networks of one address family, one Map per prefix length, keyed by the network address shifted right by
 * the host bits. IPv4 keys are plain numbers: bigint arithmetic and hashing cost several times more, and
 * IPv4 is most of what a campaign holds.
 */
class PrefixTable {
  private readonly levels: { shift: number; networks: Map<number | bigint, Party> }[];

  constructor(
    private readonly bits: 32 | 128,
    entries: readonly { cidr: Cidr; party: Party }[],
  ) {
    const byPrefix = new Map<number, Map<number | bigint, Party>>();
    for (const { cidr, party: p } of entries) {
      let level = byPrefix.get(cidr.prefix);
      if (!level) byPrefix.set(cidr.prefix, (level = new Map()));
      const shift = bits - cidr.prefix;
      level.set(bits === 32 ? shift32(Number(cidr.network), shift) : cidr.network >> BigInt(shift), p);
    }
    this.levels = [...byPrefix.entries()]
      .sort(([a], [b]) => b - a)
      .map(([prefix, networks]) => ({ shift: bits - prefix, networks }));
  }

  /** `address` is a number for IPv4, a bigint for IPv6 */
  match(address: number | bigint): Party | undefined {
    for (const { shift, networks } of this.levels) {
      const key = this.bits === 32 ? shift32(address as number, shift) : (address as bigint) >> BigInt(shift);
      const found = networks.get(key);
      if (found) return found;
    }
    return undefined;
  }
}

/** `>>>` takes its count modulo 32, so a /0 (shift 32) needs its own case. */
function shift32(address: number, shift: number): number {
  return shift >= 32 ? 0 : address >>> shift;
}

function party(p: Omit<Party, 'contactSource'>): Party {
  return Object.freeze({ ...p, contactSource: 'directory' as const });
}

/** A CIDR in canonical form, or why not. Host bits must be zero: `192.0.2.5/24` is a typo, not a network. */
function parseCidr(text: string): Cidr | string {
  const m = /^\s*([^/\s]+)\/(\d{1,3})\s*$/.exec(text);
  if (!m) return 'not a CIDR (address/prefix length)';
  const address = normaliseIndicator(m[1]!);
  if (!address.ok) return address.reason;
  const { kind, value, port } = address.indicator;
  if ((kind !== 'ipv4' && kind !== 'ipv6') || port !== undefined) return 'not an IP address before the /';
  const bits = kind === 'ipv4' ? 32 : 128;
  const prefix = Number(m[2]);
  if (prefix > bits) return `the prefix length is over ${bits}`;
  const network = kind === 'ipv4' ? BigInt(ipv4ToNumber(value)) : ipv6ToBigInt(value);
  const hostBits = BigInt(bits - prefix);
  if ((network >> hostBits) << hostBits !== network) return 'the address has bits set beyond the prefix length';
  return { cidr: `${value}/${prefix}`, family: kind === 'ipv4' ? 4 : 6, prefix, network };
}

/** A canonical IPv4 address (from normalise.ts) as an unsigned 32-bit number. */
function ipv4ToNumber(address: string): number {
  let n = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 46) {
      n = n * 256 + octet;
      octet = 0;
    } else {
      octet = octet * 10 + (c - 48);
    }
  }
  return n * 256 + octet;
}

/** A canonical IPv6 address (from normalise.ts) as a number. */
function ipv6ToBigInt(address: string): bigint {
  const [head = '', tail] = address.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  let n = 0n;
  for (const g of groups) n = (n << 16n) | BigInt(parseInt(g, 16));
  return n;
}

function pathText(path: readonly PropertyKey[]): string {
  if (path.length === 0) return 'file';
  return path
    .map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`))
    .join('');
}
