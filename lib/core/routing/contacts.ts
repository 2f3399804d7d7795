import { z } from 'zod';
import { appendEvent } from '../audit/index.js';
import { InvalidInputError } from '../errors.js';
import { type ContactOverride, PartyKind } from '../model.js';
import { normaliseDomainSuffix, normaliseIndicator } from '../intake/index.js';
import type { Deps } from '../ports.js';

/**
 * A coordinator's correction of a contact ("their abuse desk is really X"), kept as an audited directory entry
 * that wins over the directory file and RDAP from then on, for every campaign routed after it.
 */

/** The audit trail of the contact directory lives under this pseudo-campaign id. */
export const DIRECTORY_AUDIT_ID = 'directory';

export const OverrideContactInput = z.object({
  /** a CIDR (hosting network), a domain (its registrar, for names at or under it) or a party id (`registrar:iana:1251`, `upstream:AS64500`, `cert:KE`) */
  target: z.string().trim().min(1).max(300),
  email: z.email(),
  name: z.string().trim().min(1).max(200).optional(),
  note: z.string().trim().max(500).optional(),
  by: z.string().trim().min(1).max(200),
});
export type OverrideContactInput = z.input<typeof OverrideContactInput>;

/** The canonical target of an override and what kind it is, or why the text is none. */
export function parseOverrideTarget(text: string): { target: string; targetKind: ContactOverride['targetKind'] } | { reason: string } {
  const t = text.trim();
  const party = /^([a-z]+):(.+)$/i.exec(t);
  if (party && PartyKind.safeParse(party[1]!.toLowerCase()).success) {
    const kind = party[1]!.toLowerCase();
    const rest = kind === 'cert' ? party[2]!.toUpperCase() : kind === 'upstream' ? party[2]!.toUpperCase() : party[2]!;
    if (kind === 'cert' && !/^[A-Z]{2}$/.test(rest)) return { reason: 'a CERT is named by its country: cert:KE' };
    if (kind === 'upstream' && !/^AS\d{1,10}$/.test(rest)) return { reason: 'an upstream is named by its AS number: upstream:AS64500' };
    return { target: `${kind}:${rest}`, targetKind: 'party' };
  }
  if (/^AS\d{1,10}$/i.test(t)) return { target: `upstream:${t.toUpperCase()}`, targetKind: 'party' };
  const cidr = /^([^/\s]+)\/(\d{1,3})$/.exec(t);
  if (cidr) {
    const address = normaliseIndicator(cidr[1]!);
    if (!address.ok || (address.indicator.kind !== 'ipv4' && address.indicator.kind !== 'ipv6') || address.indicator.port !== undefined) {
      return { reason: 'not an IP address before the /' };
    }
    const v6 = address.indicator.kind === 'ipv6';
    const bits = v6 ? 128 : 32;
    const prefix = Number(cidr[2]);
    if (prefix > bits) return { reason: `the prefix length is over ${bits}` };
    const value = address.indicator.value;
    let n = 0n;
    if (v6) {
      const [head = '', tail] = value.split('::');
      const left = head === '' ? [] : head.split(':');
      const right = tail === undefined || tail === '' ? [] : tail.split(':');
      for (const g of [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right]) n = (n << 16n) | BigInt(parseInt(g, 16));
    } else {
      for (const o of value.split('.')) n = (n << 8n) | BigInt(Number(o));
    }
    const host = BigInt(bits - prefix);
    if ((n >> host) << host !== n) return { reason: 'the address has bits set beyond the prefix length' };
    return { target: `${value}/${prefix}`, targetKind: 'network' };
  }
  const single = normaliseIndicator(t);
  if (single.ok && (single.indicator.kind === 'ipv4' || single.indicator.kind === 'ipv6')) {
    return { reason: 'an address: give its network as a CIDR (198.51.100.0/24)' };
  }
  const domain = normaliseDomainSuffix(t);
  if (domain.ok) return { target: domain.suffix, targetKind: 'domain' };
  return { reason: 'not a CIDR, a domain or a party id (hosting:..., registrar:..., upstream:AS..., cert:CC)' };
}

/** Records a contact override and its audit event; returns what was stored. */
export async function overrideContact(deps: Pick<Deps, 'store' | 'ids' | 'clock'>, raw: OverrideContactInput): Promise<ContactOverride> {
  const parsed = OverrideContactInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError('the contact override is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || 'override', reason: i.message })));
  }
  const input = parsed.data;
  const target = parseOverrideTarget(input.target);
  if ('reason' in target) throw new InvalidInputError('the override target is not valid', [{ where: 'target', reason: target.reason }]);
  const previous = (await deps.store.listContactOverrides()).find((o) => o.target === target.target);
  const override: ContactOverride = {
    ...target,
    email: input.email,
    ...(input.name ? { name: input.name } : {}),
    ...(input.note ? { note: input.note } : {}),
    by: input.by,
    at: deps.clock.now().toISOString(),
  };
  // the event first: a crash in between leaves a recorded intent, never an unrecorded change
  await appendEvent(deps, {
    campaignId: DIRECTORY_AUDIT_ID,
    type: 'contact.overridden',
    actor: input.by,
    data: { target: override.target, targetKind: override.targetKind, email: override.email, ...(previous ? { previous: previous.email } : {}), ...(override.note ? { note: override.note } : {}) },
  });
  await deps.store.putContactOverride(override);
  return override;
}
