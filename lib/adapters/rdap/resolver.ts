import { getDomain } from 'tldts';
import type { ContactOverride, Indicator, Party, PartyKind } from '../../core/model.js';
import type { Logger, PartyLookup, PartyResolver, Store } from '../../core/ports.js';
import { DirectoryResolver, type Directory } from '../directory/directory.js';
import type { Bootstrap } from './bootstrap.js';
import { RdapLookupError, type RdapClient } from './client.js';
import type { HostResolver } from './dns.js';
import {
  extractAutnum,
  extractDomain,
  extractEntity,
  extractNetwork,
  handleOnlyEntities,
  withFetchedEntities,
  type AutnumInfo,
  type Contact,
  type DomainInfo,
  type NetworkInfo,
  type RdapAnswerRef,
} from './extract.js';
import { addressKey, addressToBigInt, familyBits, parseCidr, rangeContains, rangeText, rangeToCidrs, specialPurpose } from './ip.js';
import { canonicalize } from '../../core/audit/index.js';
import { sha256Hex } from '../../core/audit/index.js';
import { fetchSecurityTxt, type SecurityTxtOptions } from './security-txt.js';

/**
 * Finds the party for every indicator the way an abuse analyst does, and says where each contact came from:
 * a coordinator's override -> the directory file -> the RDAP abuse contact -> security.txt of the party's own
 * domain -> abuse@ that domain (RFC 2142). One RDAP lookup per network range, registrable domain and AS number
 * (cached in the store, with an expiry), lookups in parallel up to a limit. A failed lookup becomes a reason
 * on the indicator and never an exception: the rest of the campaign routes.
 */

export interface RdapResolverOptions {
  /** the cache of RDAP answers and the coordinators' overrides */
  readonly store: Store;
  /** the directory file: its entries win over RDAP */
  readonly directory?: Directory;
  /** absent: no RDAP (directory, overrides and national CERTs only) */
  readonly rdap?: { readonly client: RdapClient; readonly bootstrap: Bootstrap };
  /** what a domain resolves to, for its hosting network; absent: domains get no hosting network */
  readonly dns?: HostResolver;
  /** false: never fetch security.txt */
  readonly securityTxt?: SecurityTxtOptions | false;
  /** guess abuse@ the party's domain when nothing else is published @default true */
  readonly guessAbuseMailbox?: boolean;
  readonly now?: () => Date;
  readonly ttlSeconds?: Partial<Record<'network' | 'domain' | 'autnum' | 'notFound' | 'securityTxt', number>>;
  /** lookups in flight at once @default 8 */
  readonly concurrency?: number;
  /** ask RDAP about private, loopback, multicast ... addresses too (a benchmark's stand-in networks) @default false */
  readonly askAboutSpecialAddresses?: boolean;
  readonly log?: Logger;
}

/** How each indicator was resolved, for `takedown resolve` and the plan. */
export interface Resolution {
  readonly indicator: Indicator;
  readonly lookup: PartyLookup;
  /** what the indicator's host name resolved to */
  readonly addresses?: readonly string[];
  readonly registrableDomain?: string;
  readonly network?: { range: string; name?: string; handle?: string; country?: string; server?: string; cached: boolean };
  readonly registrar?: { name: string; ianaId?: string; server?: string; cached: boolean };
  readonly autnum?: { asn: string; name?: string; server?: string; cached: boolean };
}

/** What the resolver has done so far: the benchmark's figure is lookups per distinct network. */
export interface ResolverStats {
  networkLookups: number;
  domainLookups: number;
  autnumLookups: number;
  entityLookups: number;
  securityTxtLookups: number;
  storeHits: number;
}

type Outcome<T> = { ok: true; info: T; server?: string; cached: boolean } | { ok: false; reason: string };

const DAY = 86_400;
const DEFAULT_TTL = { network: 3 * DAY, domain: DAY, autnum: 3 * DAY, notFound: 3600, securityTxt: DAY } as const;

/** A network cached in memory, indexed under the CIDR blocks that cover its range. */
class NetworkIndex {
  private readonly blocks = new Map<string, { info: NetworkInfo; server?: string; expires: number }>();
  private readonly prefixes = { 4: new Set<number>(), 6: new Set<number>() };
  private sorted: Record<4 | 6, number[]> = { 4: [], 6: [] };

  add(info: NetworkInfo, server: string | undefined, expires: number): void {
    const family = info.range.family;
    const bits = BigInt(familyBits(family));
    for (const { network, prefix } of rangeToCidrs(info.range)) {
      this.blocks.set(`${family}/${prefix}/${network >> (bits - BigInt(prefix))}`, { info, server, expires });
      if (!this.prefixes[family].has(prefix)) {
        this.prefixes[family].add(prefix);
        this.sorted[family] = [...this.prefixes[family]].sort((a, b) => b - a);
      }
    }
  }

  /** the most specific network covering the address, unless expired */
  find(address: string, now: number): { info: NetworkInfo; server?: string } | undefined {
    const family = address.includes(':') ? 6 : 4;
    const n = addressToBigInt(address);
    const bits = BigInt(familyBits(family));
    for (const prefix of this.sorted[family]) {
      const hit = this.blocks.get(`${family}/${prefix}/${n >> (bits - BigInt(prefix))}`);
      if (hit && hit.expires > now) return hit;
    }
    return undefined;
  }
}

interface OverrideIndex {
  readonly networks: { override: ContactOverride; start: bigint; end: bigint; family: 4 | 6; prefix: number }[];
  readonly domains: Map<string, ContactOverride>;
  readonly parties: Map<string, ContactOverride>;
}

function indexOverrides(overrides: readonly ContactOverride[]): OverrideIndex {
  const index: OverrideIndex = { networks: [], domains: new Map(), parties: new Map() };
  for (const o of overrides) {
    if (o.targetKind === 'network') {
      const range = parseCidr(o.target);
      if (!range) continue;
      index.networks.push({ override: o, start: addressToBigInt(range.start), end: addressToBigInt(range.end), family: range.family, prefix: Number(o.target.split('/')[1]) });
    } else if (o.targetKind === 'domain') index.domains.set(o.target, o);
    else index.parties.set(o.target, o);
  }
  index.networks.sort((a, b) => b.prefix - a.prefix);
  return index;
}

/** Runs `task` on every item with at most `limit` in flight. */
async function eachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * Sorted addresses (of one family) cut into at most `parts` runs of about equal length, never inside a block
 * (a /16 of IPv4, a /32 of IPv6). Each run is swept in order by one worker, so the addresses of one network
 * are looked up one after the other and all but the first hit the cache. Networks are contiguous and nearly
 * all fit in a block, so no two workers ask for the same network; one wider than a block (a cloud's /11) may
 * be asked for by each worker that reaches it before the first answer is cached.
 */
export function splitAtGaps(sorted: readonly string[], parts: number): string[][] {
  if (sorted.length === 0) return [];
  if (parts <= 1) return [[...sorted]];
  const blockShift = sorted[0]!.includes(':') ? 96n : 16n;
  const blocks = sorted.map((a) => addressToBigInt(a) >> blockShift);
  const boundaries: number[] = [];
  for (let i = 1; i < blocks.length; i++) if (blocks[i] !== blocks[i - 1]) boundaries.push(i);
  const cuts: number[] = [];
  for (let k = 1; k < parts && boundaries.length; k++) {
    const ideal = (k * sorted.length) / parts;
    let best = -1;
    for (const b of boundaries) {
      if (b <= (cuts[cuts.length - 1] ?? 0)) continue;
      if (best < 0 || Math.abs(b - ideal) < Math.abs(best - ideal)) best = b;
      else if (b > ideal) break;
    }
    if (best > 0 && !cuts.includes(best)) cuts.push(best);
  }
  const out: string[][] = [];
  let from = 0;
  for (const cut of [...cuts, sorted.length]) {
    out.push(sorted.slice(from, cut));
    from = cut;
  }
  return out;
}

export class RdapResolver implements PartyResolver {
  private readonly store: Store;
  private readonly directory?: DirectoryResolver;
  private readonly rdap?: { readonly client: RdapClient; readonly bootstrap: Bootstrap };
  private readonly now: () => Date;
  private readonly ttl: Record<keyof typeof DEFAULT_TTL, number>;
  private readonly concurrency: number;
  private readonly networks = new NetworkIndex();
  private readonly domains = new Map<string, { outcome: Promise<Outcome<DomainInfo>>; expires: number }>();
  private readonly autnums = new Map<string, { outcome: Promise<Outcome<AutnumInfo>>; expires: number }>();
  private readonly securityTxts = new Map<string, { found: Promise<{ email: string; url: string } | undefined>; expires: number }>();
  readonly stats: ResolverStats = { networkLookups: 0, domainLookups: 0, autnumLookups: 0, entityLookups: 0, securityTxtLookups: 0, storeHits: 0 };

  constructor(private readonly options: RdapResolverOptions) {
    this.store = options.store;
    if (options.directory) this.directory = new DirectoryResolver(options.directory);
    if (options.rdap) this.rdap = options.rdap;
    this.now = options.now ?? (() => new Date());
    this.ttl = { ...DEFAULT_TTL, ...options.ttlSeconds };
    this.concurrency = Math.max(1, options.concurrency ?? 8);
  }

  /** One result per indicator, same order; never throws for one indicator's failed lookup. */
  async resolve(indicators: readonly Indicator[]): Promise<PartyLookup[]> {
    return (await this.explain(indicators)).map((r) => r.lookup);
  }

  /** Like resolve, with how each indicator was resolved (network, registrar, AS, addresses). */
  async explain(indicators: readonly Indicator[]): Promise<Resolution[]> {
    const overrides = indexOverrides(await this.store.listContactOverrides());
    const directory = this.directory ? await this.directory.resolve(indicators) : indicators.map(() => ({}) as PartyLookup);

    // what each indicator needs looked up
    const hostAddresses = new Map<string, string[]>();
    if (this.options.dns) {
      const names = [...new Set(indicators.filter((i) => i.hostKind === 'domain').map((i) => i.host))];
      await eachLimit(names, this.concurrency, async (name) => {
        hostAddresses.set(name, await this.options.dns!.addresses(name));
      });
    }
    const addressOf = (i: Indicator): string | undefined => (i.hostKind === 'domain' ? hostAddresses.get(i.host)?.[0] : i.host);
    const registrableOf = (i: Indicator): string | undefined => (i.hostKind === 'domain' ? (getDomain(i.host) ?? i.host) : undefined);

    const networks = new Map<string, Outcome<NetworkInfo>>();
    const domainOutcomes = new Map<string, Outcome<DomainInfo>>();
    const autnumOutcomes = new Map<number, Outcome<AutnumInfo>>();
    if (this.rdap) {
      const addresses = [...new Set(indicators.map(addressOf).filter((a): a is string => a !== undefined))];
      for (const [a, o] of await this.resolveNetworks(addresses)) networks.set(a, o);
      // a registrar named by the directory or an override wins: its RDAP answer would change nothing
      const domains = [
        ...new Set(
          indicators
            .map((i, n) => (directory[n]?.registrar || domainOverride(overrides, i.host) ? undefined : registrableOf(i)))
            .filter((d): d is string => d !== undefined),
        ),
      ];
      await eachLimit(domains, this.concurrency, async (d) => {
        domainOutcomes.set(d, await this.lookupDomain(d));
      });
      const asns = [...new Set([...networks.values()].flatMap((o) => (o.ok && o.info.originAsns[0] ? [o.info.originAsns[0]] : [])))];
      await eachLimit(asns, this.concurrency, async (asn) => {
        autnumOutcomes.set(asn, await this.lookupAutnum(asn));
      });
    }

    // the fallbacks, once per party domain
    const wantSecurityTxt = new Set<string>();
    for (const o of [...networks.values(), ...autnumOutcomes.values()]) {
      if (o.ok && !o.info.abuse && o.info.domain) wantSecurityTxt.add(o.info.domain);
    }
    for (const o of domainOutcomes.values()) {
      const r = o.ok ? o.info.registrar : undefined;
      if (r && !r.abuse && r.domain) wantSecurityTxt.add(r.domain);
    }
    const securityTxt = new Map<string, { email: string; url: string } | undefined>();
    if (this.options.securityTxt !== false) {
      await eachLimit([...wantSecurityTxt], this.concurrency, async (d) => {
        securityTxt.set(d, await this.lookupSecurityTxt(d));
      });
    }

    return indicators.map((indicator, n) =>
      this.assemble(indicator, directory[n] ?? {}, overrides, {
        address: addressOf(indicator),
        addresses: indicator.hostKind === 'domain' ? hostAddresses.get(indicator.host) : undefined,
        registrable: registrableOf(indicator),
        networks,
        domainOutcomes,
        autnumOutcomes,
        securityTxt,
      }),
    );
  }

  // ------------------------------------------------------------------ assembling one indicator

  private assemble(
    indicator: Indicator,
    dir: PartyLookup,
    overrides: OverrideIndex,
    found: {
      address?: string;
      addresses?: readonly string[];
      registrable?: string;
      networks: Map<string, Outcome<NetworkInfo>>;
      domainOutcomes: Map<string, Outcome<DomainInfo>>;
      autnumOutcomes: Map<number, Outcome<AutnumInfo>>;
      securityTxt: Map<string, { email: string; url: string } | undefined>;
    },
  ): Resolution {
    const problems: { party: PartyKind; reason: string }[] = [];
    const fallback = (kind: PartyKind, base: Omit<Party, 'email' | 'contactSource'>, domain: string | undefined, why: string): Party | undefined => {
      if (!domain) {
        problems.push({ party: kind, reason: why });
        return undefined;
      }
      const sec = found.securityTxt.get(domain);
      if (sec) {
        problems.push({ party: kind, reason: `${why}; using the Contact of ${sec.url}` });
        return { ...base, email: sec.email, contactSource: 'security.txt' };
      }
      const asked = this.options.securityTxt === false ? `security.txt of ${domain} not asked (offline)` : `no security.txt at ${domain}`;
      if (this.options.guessAbuseMailbox === false) {
        problems.push({ party: kind, reason: `${why}; ${asked}` });
        return undefined;
      }
      problems.push({ party: kind, reason: `${why}; ${asked}: guessed abuse@${domain} (RFC 2142)` });
      return { ...base, email: `abuse@${domain}`, contactSource: 'abuse@' };
    };

    // hosting network
    const net = found.address ? found.networks.get(found.address) : undefined;
    let hosting = dir.hosting;
    if (!hosting && net) {
      if (net.ok) {
        const info = net.info;
        const range = rangeText(info.range);
        const base = {
          id: `hosting:${range}`,
          kind: 'hosting' as const,
          name: info.operator ?? info.name ?? range,
          matchedBy: range,
          ...(info.country ? { country: info.country } : {}),
        };
        hosting = info.abuse
          ? withPhone({ ...base, email: info.abuse.email, contactSource: 'rdap', ...evidenceOf(info.answer) }, info.abuse)
          : fallback('hosting', base, info.domain, info.noAbuseReason ?? 'no abuse contact in the network\'s RDAP answer');
      } else {
        problems.push({ party: 'hosting', reason: `RDAP: ${net.reason}` });
      }
    } else if (!hosting && indicator.hostKind === 'domain' && this.options.dns && found.addresses && found.addresses.length === 0) {
      problems.push({ party: 'hosting', reason: `${indicator.host} does not resolve to an address` });
    }

    // registrar
    let registrar = dir.registrar;
    const dom = found.registrable ? found.domainOutcomes.get(found.registrable) : undefined;
    if (!registrar && dom) {
      if (dom.ok && dom.info.registrar) {
        const r = dom.info.registrar;
        const base = {
          id: r.ianaId ? `registrar:iana:${r.ianaId}` : `registrar:${r.handle ?? r.name}@${dom.server ?? 'rdap'}`,
          kind: 'registrar' as const,
          name: r.name,
          matchedBy: found.registrable!,
        };
        registrar = r.abuse
          ? withPhone({ ...base, email: r.abuse.email, contactSource: 'rdap', ...evidenceOf(dom.info.answer) }, r.abuse)
          : fallback('registrar', base, r.domain, dom.info.noAbuseReason ?? 'no abuse contact for the registrar');
      } else {
        problems.push({ party: 'registrar', reason: dom.ok ? (dom.info.noAbuseReason ?? 'no registrar in RDAP') : `RDAP: ${dom.reason}` });
      }
    }

    // upstream: the network announcing the hosting network
    const asn = net?.ok ? net.info.originAsns[0] : undefined;
    let upstream: Party | undefined;
    const as = asn === undefined ? undefined : found.autnumOutcomes.get(asn);
    if (as) {
      if (as.ok) {
        const info = as.info;
        const base = { id: `upstream:AS${asn}`, kind: 'upstream' as const, name: info.operator ?? info.name ?? `AS${asn}`, matchedBy: `AS${asn}`, ...(info.country ? { country: info.country } : {}) };
        upstream = info.abuse
          ? withPhone({ ...base, email: info.abuse.email, contactSource: 'rdap', ...evidenceOf(info.answer) }, info.abuse)
          : fallback('upstream', base, info.domain, info.noAbuseReason ?? 'no abuse contact for the AS');
      } else {
        problems.push({ party: 'upstream', reason: `RDAP: ${as.reason}` });
      }
    }

    // overrides win over everything
    const netOverride = found.address ? networkOverride(overrides, found.address) : undefined;
    if (netOverride) hosting = overridden(netOverride, 'hosting', `hosting:${netOverride.target}`, hosting);
    const domOverride = indicator.hostKind === 'domain' ? domainOverride(overrides, indicator.host) : undefined;
    if (domOverride) registrar = overridden(domOverride, 'registrar', `registrar:${domOverride.target}`, registrar);
    hosting = byPartyId(overrides, hosting);
    registrar = byPartyId(overrides, registrar);
    upstream = byPartyId(overrides, upstream) ?? (asn !== undefined ? fromPartyOverride(overrides, `upstream:AS${asn}`, 'upstream', `AS${asn}`) : undefined);

    const country = indicator.country?.toUpperCase() ?? dir.country ?? hosting?.country ?? (net?.ok ? net.info.country : undefined) ?? upstream?.country;
    let cert = dir.cert;
    if (!cert && country && this.directory && country !== dir.country) {
      cert = this.directory.certFor(country);
    }
    cert = byPartyId(overrides, cert) ?? (country ? fromPartyOverride(overrides, `cert:${country}`, 'cert', country) : undefined);
    if (!cert && country) problems.push({ party: 'cert', reason: `no national CERT for ${country} in the directory` });

    const present: Partial<Record<PartyKind, Party>> = { hosting, registrar, upstream, cert };
    const kept = problems.filter((p) => !present[p.party] || present[p.party]!.contactSource === 'security.txt' || present[p.party]!.contactSource === 'abuse@');
    const lookup: PartyLookup = {
      ...(hosting ? { hosting } : {}),
      ...(registrar ? { registrar } : {}),
      ...(upstream ? { upstream } : {}),
      ...(cert ? { cert } : {}),
      ...(country ? { country } : {}),
      ...(asn !== undefined ? { asn: `AS${asn}` } : {}),
      ...(kept.length ? { problems: kept } : {}),
    };
    return {
      indicator,
      lookup,
      ...(found.addresses ? { addresses: found.addresses } : {}),
      ...(found.registrable ? { registrableDomain: found.registrable } : {}),
      ...(net?.ok
        ? {
            network: {
              range: rangeText(net.info.range),
              ...(net.info.name ? { name: net.info.name } : {}),
              ...(net.info.handle ? { handle: net.info.handle } : {}),
              ...(net.info.country ? { country: net.info.country } : {}),
              ...(net.server ? { server: net.server } : {}),
              cached: net.cached,
            },
          }
        : {}),
      ...(dom?.ok && dom.info.registrar
        ? { registrar: { name: dom.info.registrar.name, ...(dom.info.registrar.ianaId ? { ianaId: dom.info.registrar.ianaId } : {}), ...(dom.server ? { server: dom.server } : {}), cached: dom.cached } }
        : {}),
      ...(as?.ok ? { autnum: { asn: `AS${asn}`, ...(as.info.name ? { name: as.info.name } : {}), ...(as.server ? { server: as.server } : {}), cached: as.cached } } : {}),
    };
  }

  // ------------------------------------------------------------------ networks

  private async resolveNetworks(addresses: readonly string[]): Promise<Map<string, Outcome<NetworkInfo>>> {
    const out = new Map<string, Outcome<NetworkInfo>>();
    const misses: string[] = [];
    const nowMs = this.now().getTime();
    for (const a of addresses) {
      const hit = this.networks.find(a, nowMs);
      if (hit) out.set(a, { ok: true, info: hit.info, ...(hit.server ? { server: hit.server } : {}), cached: true });
      else misses.push(a);
    }
    const unknown: string[] = [];
    await eachLimit(misses, this.concurrency * 2, async (a) => {
      // another address's entry may have covered this one meanwhile
      const hit = this.networks.find(a, nowMs) ?? (await this.storedNetwork(a));
      if (hit) out.set(a, { ok: true, info: hit.info, ...(hit.server ? { server: hit.server } : {}), cached: true });
      else unknown.push(a);
    });
    const byFamily = [unknown.filter((a) => !a.includes(':')), unknown.filter((a) => a.includes(':'))].map((list) =>
      list.map((a) => ({ a, n: addressToBigInt(a) })).sort((x, y) => (x.n < y.n ? -1 : x.n > y.n ? 1 : 0)).map((x) => x.a),
    );
    const total = unknown.length || 1;
    const runs = byFamily.flatMap((list) => splitAtGaps(list, Math.max(1, Math.round((this.concurrency * list.length) / total))));
    await Promise.all(
      runs.map(async (run) => {
        for (const a of run) out.set(a, await this.networkFor(a));
      }),
    );
    return out;
  }

  private async storedNetwork(address: string): Promise<{ info: NetworkInfo; server?: string } | undefined> {
    const kind = address.includes(':') ? 'rdap-net6' : 'rdap-net4';
    const entry = await this.store.findRangeLookup(kind, addressKey(address), this.now().toISOString());
    if (!entry) return undefined;
    const value = JSON.parse(entry.value) as { info: NetworkInfo; server?: string };
    this.stats.storeHits += 1;
    this.networks.add(value.info, value.server, Date.parse(entry.expiresAt));
    return value;
  }

  private async networkFor(address: string): Promise<Outcome<NetworkInfo>> {
    const hit = this.networks.find(address, this.now().getTime());
    if (hit) return { ok: true, info: hit.info, ...(hit.server ? { server: hit.server } : {}), cached: true };
    const special = this.options.askAboutSpecialAddresses ? undefined : specialPurpose(address);
    if (special) return { ok: false, reason: `${special}: no registry holds it, so there is no RDAP answer to ask for` };
    const { client, bootstrap } = this.rdap!;
    const bases = bootstrap.serversForAddress(address);
    if (!bases.length) return { ok: false, reason: `no RDAP server for this address in the bootstrap data (${bootstrap.source})` };
    this.stats.networkLookups += 1;
    try {
      const answer = await client.get(`${bases[0]}ip/${address}`);
      const filled = await this.fillHandles(answer.json, answer.url);
      const extracted = extractNetwork(filled.json);
      if ('error' in extracted) return { ok: false, reason: `${answer.server}: ${extracted.error}` };
      const info = { ...withFailures(extracted, filled.failed), answer: answerRef(filled.json, answer.url, this.now()) };
      if (!rangeContains(info.range, address)) return { ok: false, reason: `${answer.server} answered a network that does not contain the address` };
      const now = this.now();
      const expires = now.getTime() + this.ttl.network * 1000;
      this.networks.add(info, answer.server, expires);
      await this.store.putLookup({
        kind: info.range.family === 4 ? 'rdap-net4' : 'rdap-net6',
        key: rangeText(info.range),
        rangeStart: addressKey(info.range.start),
        rangeEnd: addressKey(info.range.end),
        value: JSON.stringify({ info, server: answer.server }),
        fetchedAt: now.toISOString(),
        expiresAt: new Date(expires).toISOString(),
      });
      return { ok: true, info, server: answer.server, cached: false };
    } catch (e) {
      return { ok: false, reason: reasonOf(e) };
    }
  }

  // ------------------------------------------------------------------ entities given by handle only

  /**
   * Fetches the abuse and registrar entities an answer gives only by handle, and puts them in place; `failed`
   * says, per handle, why one could not be.
   */
  private async fillHandles(json: Record<string, unknown>, answeredUrl: string): Promise<{ json: Record<string, unknown>; failed: string[] }> {
    const refs = handleOnlyEntities(json);
    if (!refs.length) return { json, failed: [] };
    const base = answeredUrl.replace(/\/(ip|domain|autnum|entity)\/[^]*$/, '/');
    const fetched = new Map<string, unknown>();
    const failed: string[] = [];
    for (const ref of refs) {
      this.stats.entityLookups += 1;
      try {
        const answer = await this.rdap!.client.get(ref.url ?? `${base}entity/${encodeURIComponent(ref.handle)}`);
        const entity = extractEntity(answer.json);
        if ('error' in entity) failed.push(`entity ${ref.handle}: ${entity.error}`);
        else fetched.set(ref.handle, answer.json);
      } catch (e) {
        failed.push(`entity ${ref.handle} could not be fetched (${reasonOf(e)})`);
      }
    }
    return { json: withFetchedEntities(json, fetched) as Record<string, unknown>, failed };
  }

  // ------------------------------------------------------------------ domains and AS numbers

  private lookupDomain(domain: string): Promise<Outcome<DomainInfo>> {
    return this.memo(this.domains, domain, this.ttl.domain, async () => {
      const stored = await this.stored<DomainInfo>('rdap-domain', domain);
      if (stored) return stored;
      const { client, bootstrap } = this.rdap!;
      const bases = bootstrap.serversForDomain(domain);
      if (!bases.length) return { ok: false, reason: `no RDAP server for .${domain.split('.').pop()} in the bootstrap data (${bootstrap.source})` };
      this.stats.domainLookups += 1;
      try {
        const answer = await client.get(`${bases[0]}domain/${domain}`);
        const filled = await this.fillHandles(answer.json, answer.url);
        const extracted = extractDomain(filled.json);
        if ('error' in extracted) return { ok: false, reason: `${answer.server}: ${extracted.error}` };
        let info: DomainInfo = { ...withFailures(extracted, filled.failed), answer: answerRef(filled.json, answer.url, this.now()) };
        let server = answer.server;
        if (!info.registrar?.abuse && info.relatedUrl) {
          // a thin registry refers to the registrar's own RDAP service, which holds its abuse contact
          try {
            const related = await client.get(info.relatedUrl);
            const relatedFilled = await this.fillHandles(related.json, related.url);
            const more = extractDomain(relatedFilled.json);
            if (!('error' in more) && more.registrar?.abuse) {
              // the contact comes from the registrar's answer: that is the one to keep as evidence
              info = { ...info, registrar: { ...info.registrar, ...more.registrar }, answer: answerRef(relatedFilled.json, related.url, this.now()) };
              delete (info as { noAbuseReason?: string }).noAbuseReason;
              server = related.server;
            }
          } catch (e) {
            info = withFailures(info, [`the registrar's RDAP service could not be asked (${reasonOf(e)})`]);
          }
        }
        return this.remember('rdap-domain', domain, this.ttl.domain, info, server);
      } catch (e) {
        if (e instanceof RdapLookupError && e.code === 'not-found') {
          return this.rememberMiss('rdap-domain', domain, `${e.message}: the domain is not registered (or no longer)`);
        }
        return { ok: false, reason: reasonOf(e) };
      }
    });
  }

  private lookupAutnum(asn: number): Promise<Outcome<AutnumInfo>> {
    const key = `AS${asn}`;
    return this.memo(this.autnums, key, this.ttl.autnum, async () => {
      const stored = await this.stored<AutnumInfo>('rdap-autnum', key);
      if (stored) return stored;
      const { client, bootstrap } = this.rdap!;
      const bases = bootstrap.serversForAsn(asn);
      if (!bases.length) return { ok: false, reason: `no RDAP server for ${key} in the bootstrap data (${bootstrap.source})` };
      this.stats.autnumLookups += 1;
      try {
        const answer = await client.get(`${bases[0]}autnum/${asn}`);
        const filled = await this.fillHandles(answer.json, answer.url);
        const info = extractAutnum(filled.json);
        if ('error' in info) return { ok: false, reason: `${answer.server}: ${info.error}` };
        return this.remember('rdap-autnum', key, this.ttl.autnum, { ...withFailures(info, filled.failed), answer: answerRef(filled.json, answer.url, this.now()) }, answer.server);
      } catch (e) {
        if (e instanceof RdapLookupError && e.code === 'not-found') return this.rememberMiss('rdap-autnum', key, e.message);
        return { ok: false, reason: reasonOf(e) };
      }
    });
  }

  private lookupSecurityTxt(domain: string): Promise<{ email: string; url: string } | undefined> {
    const cached = this.securityTxts.get(domain);
    if (cached && cached.expires > this.now().getTime()) return cached.found;
    const found = (async () => {
      const now = this.now();
      const entry = await this.store.getLookup('security.txt', domain, now.toISOString());
      if (entry) return (JSON.parse(entry.value) as { found?: { email: string; url: string } }).found;
      this.stats.securityTxtLookups += 1;
      const sec = await fetchSecurityTxt(domain, now, this.options.securityTxt || {});
      const value = sec ? { email: sec.emails.find((e) => /abuse/i.test(e)) ?? sec.emails[0]!, url: sec.url } : undefined;
      await this.store.putLookup({
        kind: 'security.txt',
        key: domain,
        value: JSON.stringify(value ? { found: value } : {}),
        fetchedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.ttl.securityTxt * 1000).toISOString(),
      });
      return value;
    })();
    this.securityTxts.set(domain, { found, expires: this.now().getTime() + this.ttl.securityTxt * 1000 });
    return found;
  }

  private memo<T>(map: Map<string, { outcome: Promise<Outcome<T>>; expires: number }>, key: string, ttl: number, load: () => Promise<Outcome<T>>): Promise<Outcome<T>> {
    const hit = map.get(key);
    if (hit && hit.expires > this.now().getTime()) return hit.outcome.then((o) => (o.ok ? { ...o, cached: true } : o));
    const outcome = load();
    const entry = { outcome, expires: this.now().getTime() + ttl * 1000 };
    map.set(key, entry);
    // a failure (time-out, 429) is not kept: the next page of the campaign tries again
    void outcome.then((o) => {
      if (!o.ok && !o.reason.includes('not registered') && map.get(key) === entry) map.delete(key);
    });
    return outcome;
  }

  private async stored<T>(kind: string, key: string): Promise<Outcome<T> | undefined> {
    const entry = await this.store.getLookup(kind, key, this.now().toISOString());
    if (!entry) return undefined;
    this.stats.storeHits += 1;
    const value = JSON.parse(entry.value) as { info?: T; server?: string; miss?: string };
    if (value.miss) return { ok: false, reason: value.miss };
    return { ok: true, info: value.info as T, ...(value.server ? { server: value.server } : {}), cached: true };
  }

  private async remember<T>(kind: string, key: string, ttl: number, info: T, server: string): Promise<Outcome<T>> {
    const now = this.now();
    await this.store.putLookup({ kind, key, value: JSON.stringify({ info, server }), fetchedAt: now.toISOString(), expiresAt: new Date(now.getTime() + ttl * 1000).toISOString() });
    return { ok: true, info, server, cached: false };
  }

  private async rememberMiss<T>(kind: string, key: string, reason: string): Promise<Outcome<T>> {
    const now = this.now();
    await this.store.putLookup({ kind, key, value: JSON.stringify({ miss: reason }), fetchedAt: now.toISOString(), expiresAt: new Date(now.getTime() + this.ttl.notFound * 1000).toISOString() });
    return { ok: false, reason };
  }
}

function reasonOf(e: unknown): string {
  return e instanceof RdapLookupError ? e.message : `RDAP lookup failed (${(e as Error)?.name ?? 'error'})`;
}

/** The answer's no-abuse reason with what could not be fetched on the way (an entity given by handle only). */
function withFailures<T extends { noAbuseReason?: string }>(info: T, failed: readonly string[]): T {
  if (!info.noAbuseReason || !failed.length) return info;
  return { ...info, noAbuseReason: `${info.noAbuseReason}; ${failed.join('; ')}` };
}

/** The hash of the RDAP answer as used: its canonical (RFC 8785) JSON, so the same answer always hashes alike. */
function answerRef(json: unknown, url: string, now: Date): RdapAnswerRef {
  return { url, fetchedAt: now.toISOString(), sha256: sha256Hex(canonicalize(json)) };
}

function evidenceOf(answer: RdapAnswerRef | undefined): Pick<Party, 'evidence'> {
  return answer ? { evidence: answer } : {};
}

function withPhone(party: Party, contact: Contact): Party {
  return contact.phone ? { ...party, phone: contact.phone } : party;
}

function networkOverride(index: OverrideIndex, address: string): ContactOverride | undefined {
  const family = address.includes(':') ? 6 : 4;
  const n = addressToBigInt(address);
  return index.networks.find((o) => o.family === family && n >= o.start && n <= o.end)?.override;
}

function domainOverride(index: OverrideIndex, host: string): ContactOverride | undefined {
  for (let at = -1; ; ) {
    const found = index.domains.get(host.slice(at + 1));
    if (found) return found;
    at = host.indexOf('.', at + 1);
    if (at < 0) return undefined;
  }
}

function overridden(o: ContactOverride, kind: PartyKind, id: string, previous: Party | undefined): Party {
  return {
    id,
    kind,
    name: o.name ?? previous?.name ?? o.target,
    email: o.email,
    contactSource: 'override',
    matchedBy: o.target,
    ...(previous?.country ? { country: previous.country } : {}),
  };
}

function byPartyId(index: OverrideIndex, party: Party | undefined): Party | undefined {
  if (!party) return undefined;
  const o = index.parties.get(party.id);
  if (!o) return party;
  const { phone: _phone, ...rest } = party;
  return { ...rest, email: o.email, contactSource: 'override', ...(o.name ? { name: o.name } : {}) };
}

function fromPartyOverride(index: OverrideIndex, id: string, kind: PartyKind, matchedBy: string): Party | undefined {
  const o = index.parties.get(id);
  if (!o) return undefined;
  return { id, kind, name: o.name ?? id, email: o.email, contactSource: 'override', matchedBy, ...(kind === 'cert' ? { country: matchedBy } : {}) };
}
