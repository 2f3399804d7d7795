import type { Indicator, Party, PartyKind } from '../../../core/model.js';
import type { PartyLookup } from '../../../core/ports.js';
import type { DirectoryResolver } from '../../directory/directory.js';
import type { HostResolver } from '../dns.js';
import type { AutnumInfo, Contact, DomainInfo, NetworkInfo, RdapAnswerRef } from '../extract.js';
import { rangeText } from '../ip.js';
import { fallbackParty, type FallbackOptions, type SecurityTxtContact } from './fallbacks.js';
import type { Outcome } from './lookups.js';
import { byPartyId, domainOverride, fromPartyOverride, networkOverride, overridden, type OverrideIndex } from './overrides.js';

/**
 * One indicator's parties from what was found for it: the directory's entry, the RDAP outcomes of its network,
 * registrable domain and AS, the fallbacks, then the overrides, which win over everything; and the national
 * CERT of its country. What could not be found is said in the lookup's problems.
 */

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

/** What the resolver found for one indicator (and the whole page's outcomes, keyed). */
export interface Findings {
  readonly address?: string;
  readonly addresses?: readonly string[];
  readonly registrable?: string;
  readonly networks: Map<string, Outcome<NetworkInfo>>;
  readonly domainOutcomes: Map<string, Outcome<DomainInfo>>;
  readonly autnumOutcomes: Map<number, Outcome<AutnumInfo>>;
  readonly securityTxt: Map<string, SecurityTxtContact | undefined>;
}

/** The resolver's options that change how an indicator is assembled. */
export interface AssembleOptions extends FallbackOptions {
  /** set: domains were resolved to addresses, so one that resolves to none is a problem */
  readonly dns?: HostResolver;
}

export function assemble(
  options: AssembleOptions,
  directory: DirectoryResolver | undefined,
  indicator: Indicator,
  dir: PartyLookup,
  overrides: OverrideIndex,
  found: Findings,
): Resolution {
  const problems: { party: PartyKind; reason: string }[] = [];
  const fallback = (kind: PartyKind, base: Omit<Party, 'email' | 'contactSource'>, domain: string | undefined, why: string): Party | undefined =>
    fallbackParty(options, found.securityTxt, problems, kind, base, domain, why);

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
  } else if (!hosting && indicator.hostKind === 'domain' && options.dns && found.addresses && found.addresses.length === 0) {
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
  if (!cert && country && directory && country !== dir.country) {
    cert = directory.certFor(country);
  }
  cert = byPartyId(overrides, cert) ?? (country ? fromPartyOverride(overrides, `cert:${country}`, 'cert', country) : undefined);
  if (!cert && country) problems.push({ party: 'cert', reason: `no national CERT for ${country} in the directory` });

  const present: Partial<Record<PartyKind, Party>> = { hosting, registrar, upstream, cert };
  const kept = problems.filter((p) => !present[p.party] || present[p.party]!.contactSource === 'security.txt' || present[p.party]!.contactSource === 'abuse@');
  // what was found, set one by one rather than spread from conditional objects: once per indicator, those spreads
  // were ~25 ms of routing a 20,000-indicator campaign
  const lookup: Mutable<PartyLookup> = {};
  if (hosting) lookup.hosting = hosting;
  if (registrar) lookup.registrar = registrar;
  if (upstream) lookup.upstream = upstream;
  if (cert) lookup.cert = cert;
  if (country) lookup.country = country;
  if (asn !== undefined) lookup.asn = `AS${asn}`;
  if (kept.length) lookup.problems = kept;
  const resolution: Mutable<Resolution> = { indicator, lookup };
  if (found.addresses) resolution.addresses = found.addresses;
  if (found.registrable) resolution.registrableDomain = found.registrable;
  if (net?.ok) {
    resolution.network = {
      range: rangeText(net.info.range),
      ...(net.info.name ? { name: net.info.name } : {}),
      ...(net.info.handle ? { handle: net.info.handle } : {}),
      ...(net.info.country ? { country: net.info.country } : {}),
      ...(net.server ? { server: net.server } : {}),
      cached: net.cached,
    };
  }
  if (dom?.ok && dom.info.registrar) {
    resolution.registrar = { name: dom.info.registrar.name, ...(dom.info.registrar.ianaId ? { ianaId: dom.info.registrar.ianaId } : {}), ...(dom.server ? { server: dom.server } : {}), cached: dom.cached };
  }
  if (as?.ok) resolution.autnum = { asn: `AS${asn}`, ...(as.info.name ? { name: as.info.name } : {}), ...(as.server ? { server: as.server } : {}), cached: as.cached };
  return resolution;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

function evidenceOf(answer: RdapAnswerRef | undefined): Pick<Party, 'evidence'> {
  return answer ? { evidence: answer } : {};
}

function withPhone(party: Party, contact: Contact): Party {
  return contact.phone ? { ...party, phone: contact.phone } : party;
}
