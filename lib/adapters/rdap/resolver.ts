import { getDomain } from 'tldts';
import type { Indicator } from '../../core/model.js';
import type { Logger, PartyLookup, PartyResolver, Store } from '../../core/ports.js';
import { DirectoryResolver, type Directory } from '../directory/directory.js';
import type { Bootstrap } from './bootstrap.js';
import type { RdapClient } from './client.js';
import type { HostResolver } from './dns.js';
import type { AutnumInfo, DomainInfo, NetworkInfo } from './extract.js';
import type { SecurityTxtOptions } from './security-txt.js';
import { assemble, type Resolution } from './resolver/assemble.js';
import { SecurityTxtLookups, type SecurityTxtContact } from './resolver/fallbacks.js';
import { eachLimit, RdapLookups, type Outcome, type ResolverStats } from './resolver/lookups.js';
import { domainOverride, indexOverrides } from './resolver/overrides.js';

export type { Resolution } from './resolver/assemble.js';
export type { ResolverStats } from './resolver/lookups.js';
export { splitAtGaps } from './resolver/network-index.js';

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

const DAY = 86_400;
const DEFAULT_TTL = { network: 3 * DAY, domain: DAY, autnum: 3 * DAY, notFound: 3600, securityTxt: DAY } as const;

export class RdapResolver implements PartyResolver {
  private readonly store: Store;
  private readonly directory?: DirectoryResolver;
  private readonly concurrency: number;
  private readonly lookups: RdapLookups;
  private readonly securityTxts: SecurityTxtLookups;
  readonly stats: ResolverStats = { networkLookups: 0, domainLookups: 0, autnumLookups: 0, entityLookups: 0, securityTxtLookups: 0, storeHits: 0 };

  constructor(private readonly options: RdapResolverOptions) {
    this.store = options.store;
    if (options.directory) this.directory = new DirectoryResolver(options.directory);
    const now = options.now ?? (() => new Date());
    const ttl = { ...DEFAULT_TTL, ...options.ttlSeconds };
    this.concurrency = Math.max(1, options.concurrency ?? 8);
    this.lookups = new RdapLookups({
      store: options.store,
      rdap: options.rdap,
      now,
      ttl,
      concurrency: this.concurrency,
      askAboutSpecialAddresses: options.askAboutSpecialAddresses,
      stats: this.stats,
    });
    this.securityTxts = new SecurityTxtLookups(options.store, now, ttl.securityTxt, options.securityTxt, this.stats);
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
    if (this.options.rdap) {
      const addresses = [...new Set(indicators.map(addressOf).filter((a): a is string => a !== undefined))];
      for (const [a, o] of await this.lookups.resolveNetworks(addresses)) networks.set(a, o);
      // a registrar named by the directory or an override wins: its RDAP answer would change nothing
      const domains = [
        ...new Set(
          indicators
            .map((i, n) => (directory[n]?.registrar || domainOverride(overrides, i.host) ? undefined : registrableOf(i)))
            .filter((d): d is string => d !== undefined),
        ),
      ];
      await eachLimit(domains, this.concurrency, async (d) => {
        domainOutcomes.set(d, await this.lookups.lookupDomain(d));
      });
      const asns = [...new Set([...networks.values()].flatMap((o) => (o.ok && o.info.originAsns[0] ? [o.info.originAsns[0]] : [])))];
      await eachLimit(asns, this.concurrency, async (asn) => {
        autnumOutcomes.set(asn, await this.lookups.lookupAutnum(asn));
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
    const securityTxt = new Map<string, SecurityTxtContact | undefined>();
    if (this.options.securityTxt !== false) {
      await eachLimit([...wantSecurityTxt], this.concurrency, async (d) => {
        securityTxt.set(d, await this.securityTxts.lookup(d));
      });
    }

    return indicators.map((indicator, n) =>
      assemble(this.options, this.directory, indicator, directory[n] ?? {}, overrides, {
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
}
