import { z } from 'zod';

/**
 * Who may do what. Three kinds of people use the system (DESIGN.md): coordinators run campaigns, auditors read
 * everything and change nothing, recipients see only their own notices. `public` is not a person: it marks the
 * routes that authenticate themselves (a signed webhook, a link token) or need no authentication (/health).
 */
export const Role = z.enum(['coordinator', 'auditor', 'recipient', 'public']);
export type Role = z.infer<typeof Role>;

/** The roles an API key (embedded host) or a user pool group (AWS) can carry. */
export const KeyRole = z.enum(['coordinator', 'auditor']);
export type KeyRole = z.infer<typeof KeyRole>;

/** Who is making a request, once authenticated. */
export interface Principal {
  readonly role: Exclude<Role, 'public'>;
  /** the API key (or the user pool subject) it authenticated with */
  readonly keyId?: string;
  /** for people: the key's name or the user's name; recorded as the actor of what they do */
  readonly name: string;
  /** a recipient's party id: it may see and answer only that party's notices */
  readonly partyId?: string;
}

/** True when a principal (or nobody, for `undefined`) may use a route open to `allowed`. */
export function roleAllows(allowed: readonly Role[], principal: Principal | undefined): boolean {
  if (allowed.includes('public')) return true;
  return principal !== undefined && allowed.includes(principal.role);
}

/** True when the principal may change things (only coordinators do). */
export function canWrite(principal: Principal | undefined): boolean {
  return principal?.role === 'coordinator';
}

/** True when the principal is a recipient allowed to see the notices of this party. */
export function ownsParty(principal: Principal | undefined, partyId: string): boolean {
  return principal?.role === 'recipient' && principal.partyId === partyId;
}
