import type { Store } from '../../../core/ports.js';
import { canonicalize } from '../../../core/audit/index.js';
import { sha256Hex } from '../../../core/audit/index.js';
import type { Bootstrap } from '../bootstrap.js';
import { RdapLookupError, type RdapClient } from '../client.js';
import {
  extractAutnum,
  extractDomain,
  extractEntity,
  extractNetwork,
  handleOnlyEntities,
  withFetchedEntities,
  type AutnumInfo,
  type DomainInfo,
  type NetworkInfo,
  type RdapAnswerRef,
} from '../extract.js';
import { addressKey, addressToBigInt, rangeContains, rangeText, specialPurpose } from '../ip.js';
import { NetworkIndex, splitAtGaps } from './network-index.js';

/**
 * The RDAP lookups of networks, registrable domains and AS numbers, each cached twice: in memory for this
 * resolver and in the store (with an expiry) for the next one. Entities an answer gives only by handle are
 * fetched and put in place. A failed lookup is an outcome with a reason, never an exception.
 */

/** What the resolver has done so far: the benchmark's figure is lookups per distinct network. */
export interface ResolverStats {
  networkLookups: number;
  domainLookups: number;
  autnumLookups: number;
  entityLookups: number;
  securityTxtLookups: number;
  storeHits: number;
}

export type Outcome<T> = { ok: true; info: T; server?: string; cached: boolean } | { ok: false; reason: string };

/** What the lookups need of the resolver: its store, RDAP client, clock, expiries and limits. */
export interface RdapLookupsOptions {
  readonly store: Store;
  readonly rdap?: { readonly client: RdapClient; readonly bootstrap: Bootstrap };
  readonly now: () => Date;
  /** seconds */
  readonly ttl: Readonly<Record<'network' | 'domain' | 'autnum' | 'notFound', number>>;
  readonly concurrency: number;
  readonly askAboutSpecialAddresses?: boolean;
  /** counted into: the resolver's own stats */
  readonly stats: ResolverStats;
}

/** Runs `task` on every item with at most `limit` in flight. */
export async function eachLimit<T>(items: readonly T[], limit: number, task: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await task(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

export class RdapLookups {
  private readonly store: Store;
  private readonly rdap?: { readonly client: RdapClient; readonly bootstrap: Bootstrap };
  private readonly now: () => Date;
  private readonly ttl: RdapLookupsOptions['ttl'];
  private readonly concurrency: number;
  private readonly askAboutSpecialAddresses: boolean;
  private readonly stats: ResolverStats;
  private readonly networks = new NetworkIndex();
  private readonly domains = new Map<string, { outcome: Promise<Outcome<DomainInfo>>; expires: number }>();
  private readonly autnums = new Map<string, { outcome: Promise<Outcome<AutnumInfo>>; expires: number }>();

  constructor(options: RdapLookupsOptions) {
    this.store = options.store;
    if (options.rdap) this.rdap = options.rdap;
    this.now = options.now;
    this.ttl = options.ttl;
    this.concurrency = options.concurrency;
    this.askAboutSpecialAddresses = options.askAboutSpecialAddresses ?? false;
    this.stats = options.stats;
  }

  // ------------------------------------------------------------------ networks

  async resolveNetworks(addresses: readonly string[]): Promise<Map<string, Outcome<NetworkInfo>>> {
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
    const special = this.askAboutSpecialAddresses ? undefined : specialPurpose(address);
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

  lookupDomain(domain: string): Promise<Outcome<DomainInfo>> {
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

  lookupAutnum(asn: number): Promise<Outcome<AutnumInfo>> {
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
