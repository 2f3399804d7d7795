import type { Party, TLP } from './model.js';

/**
 * TLP 2.0 (FIRST, 2022) as the orchestrator applies it. The source marked what it handed over; the
 * orchestrator is the recipient and may pass it on only as the marking and the source's explicit permission
 * allow. Everything here is pure and total: an unknown level never reads as a permissive one.
 */

/** From least to most restrictive; the index is the order. */
export const TLP_ORDER: readonly TLP[] = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];

/** The more restrictive of two levels. */
export function stricterTlp(a: TLP, b: TLP): TLP {
  return TLP_ORDER.indexOf(a) >= TLP_ORDER.indexOf(b) ? a : b;
}

/** The most restrictive of the given levels, or undefined when there is none. */
export function strictestTlp(levels: Iterable<TLP | undefined>): TLP | undefined {
  let out: TLP | undefined;
  for (const level of levels) if (level) out = out ? stricterTlp(out, level) : level;
  return out;
}

/**
 * A TLP level from how sources write it: `TLP:AMBER`, `amber+strict`, `tlp:white` (TLP 1.0's WHITE is 2.0's
 * CLEAR), `TLP: AMBER + STRICT`. Undefined for anything else.
 */
export function tlpFromText(text: string): TLP | undefined {
  const key = text.trim().toUpperCase().replace(/^TLP\s*:?\s*/, '').replace(/\s+/g, '').replace(/_/g, '+');
  if (key === 'WHITE' || key === 'CLEAR') return 'CLEAR';
  if (key === 'GREEN' || key === 'AMBER' || key === 'AMBER+STRICT' || key === 'RED') return key;
  return undefined;
}

/** The STIX 2.1 well-known TLP marking-definition ids: TLP 1.0 (spec section 7.2.1.4) and TLP 2.0 (OASIS extension). */
export const STIX_TLP_MARKINGS: Readonly<Record<string, TLP>> = {
  // TLP 1.0
  'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9': 'CLEAR',
  'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da': 'GREEN',
  'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82': 'AMBER',
  'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed': 'RED',
  // TLP 2.0
  'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487': 'CLEAR',
  'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb': 'GREEN',
  'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421': 'AMBER',
  'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003': 'AMBER+STRICT',
  'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1': 'RED',
};

/** The STIX extension that carries a TLP 2.0 level in a marking definition (`tlp_2_0`). */
export const STIX_TLP2_EXTENSION = 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d';

/** The source's permission, recorded on the campaign, to notify the operators of AMBER-marked infrastructure. */
export interface TlpPermission {
  readonly notifyOperators: true;
  /** who granted it (a person, or the source's statement), as the coordinator recorded it */
  readonly grantedBy: string;
  readonly grantedAt: string;
}

/**
 * The parties that operate the infrastructure itself: the hosting network of an address, the registrar of a
 * name. An upstream, a registry or a national CERT is another organisation, asked only on escalation.
 */
const OPERATOR_KINDS: ReadonlySet<Party['kind']> = new Set(['hosting', 'registrar']);

export type TlpDecision = { readonly allowed: true } | { readonly allowed: false; readonly reason: string };

/**
 * May an indicator marked `tlp` be sent to `party`, given whether the source allowed notifying the operators?
 * CLEAR and GREEN go to anyone who can act. AMBER goes only with that permission: to the operators, and on
 * escalation to the upstream, registry or national CERT, who act through their clients (TLP:AMBER lets a
 * recipient share with its clients on a need-to-know basis). AMBER+STRICT allows sharing only inside the
 * recipient's own organisation, so with the permission it goes to the operator itself (hosting network or
 * registrar) and is never escalated to another organisation, which could not pass it on. RED never leaves.
 */
export function tlpDecision(tlp: TLP, party: Pick<Party, 'kind' | 'name'>, permitted: boolean): TlpDecision {
  switch (tlp) {
    case 'CLEAR':
    case 'GREEN':
      return { allowed: true };
    case 'AMBER':
    case 'AMBER+STRICT':
      if (!permitted) return { allowed: false, reason: `TLP:${tlp} without the source's permission to notify the infrastructure's operators` };
      if (tlp === 'AMBER+STRICT' && !OPERATOR_KINDS.has(party.kind)) {
        return { allowed: false, reason: `TLP:AMBER+STRICT stays with the operator itself; ${party.name} (${party.kind}) is another organisation` };
      }
      return { allowed: true };
    case 'RED':
      return { allowed: false, reason: 'TLP:RED is for the named recipients only and never leaves' };
    default:
      return { allowed: false, reason: 'an unknown TLP level' };
  }
}

/** What a recipient may do with content under `tlp`, in the words a notice uses. */
export function tlpHandling(tlp: TLP): string {
  switch (tlp) {
    case 'CLEAR':
      return 'TLP:CLEAR: you may share it without restriction.';
    case 'GREEN':
      return 'TLP:GREEN: you may share it within your community (peers and partner organisations), not publicly.';
    case 'AMBER':
      return 'TLP:AMBER: share it only within your organisation and with its clients (such as the customer operating the listed infrastructure), on a need-to-know basis to act on it.';
    case 'AMBER+STRICT':
      return 'TLP:AMBER+STRICT: share it only within your own organisation, on a need-to-know basis; do not pass it to your customers or anyone else.';
    case 'RED':
      return 'TLP:RED: for the named recipient only; do not share it.';
  }
}
