import type { ContactOverride, Party, PartyKind } from '../../../core/model.js';
import { addressToBigInt, parseCidr } from '../ip.js';

/**
 * The coordinators' contact overrides (`takedown contacts override`), indexed for lookup: by network (the most
 * specific CIDR first), by domain (the host or any domain above it) and by party id. An override wins over the
 * directory and RDAP.
 */

export interface OverrideIndex {
  readonly networks: { override: ContactOverride; start: bigint; end: bigint; family: 4 | 6; prefix: number }[];
  readonly domains: Map<string, ContactOverride>;
  readonly parties: Map<string, ContactOverride>;
}

export function indexOverrides(overrides: readonly ContactOverride[]): OverrideIndex {
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

export function networkOverride(index: OverrideIndex, address: string): ContactOverride | undefined {
  const family = address.includes(':') ? 6 : 4;
  const n = addressToBigInt(address);
  return index.networks.find((o) => o.family === family && n >= o.start && n <= o.end)?.override;
}

export function domainOverride(index: OverrideIndex, host: string): ContactOverride | undefined {
  for (let at = -1; ; ) {
    const found = index.domains.get(host.slice(at + 1));
    if (found) return found;
    at = host.indexOf('.', at + 1);
    if (at < 0) return undefined;
  }
}

export function overridden(o: ContactOverride, kind: PartyKind, id: string, previous: Party | undefined): Party {
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

export function byPartyId(index: OverrideIndex, party: Party | undefined): Party | undefined {
  if (!party) return undefined;
  const o = index.parties.get(party.id);
  if (!o) return party;
  const { phone: _phone, ...rest } = party;
  return { ...rest, email: o.email, contactSource: 'override', ...(o.name ? { name: o.name } : {}) };
}

export function fromPartyOverride(index: OverrideIndex, id: string, kind: PartyKind, matchedBy: string): Party | undefined {
  const o = index.parties.get(id);
  if (!o) return undefined;
  return { id, kind, name: o.name ?? id, email: o.email, contactSource: 'override', matchedBy, ...(kind === 'cert' ? { country: matchedBy } : {}) };
}
