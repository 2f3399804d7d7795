import { getDomain } from 'tldts';
import { asArray, isObject, normaliseEmail, remarksText, str, walk, type Found, type Json } from './entities.js';

/**
 * Which mailbox of an RDAP answer is the abuse contact, by the rules at the top of ../extract.ts, why there is
 * none when there is none, and who the operator behind the answer is (its name, and its own domain for the
 * security.txt and abuse@ fallbacks).
 */

/** Where in the answer the contact was found. */
export type ContactOrigin = 'abuse-role' | 'abuse-mailbox' | 'remark';

export interface Contact {
  readonly email: string;
  readonly phone?: string;
  readonly name?: string;
  readonly handle?: string;
  readonly origin: ContactOrigin;
}

const saysAbuse = (email: string): boolean => /abuse/i.test(email.slice(0, email.indexOf('@')));

const EMAIL_IN_TEXT = /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/g;

/** The abuse contact of a part of an answer (its entities and remarks), by the rules at the top. */
export function abuseContact(scope: Json, found: readonly Found[]): Contact | undefined {
  const abuseRoles = found.filter((f) => f.roles.includes('abuse'));
  for (const f of abuseRoles) {
    const email = f.card.emails.find(saysAbuse);
    if (email) return contact(f, email, 'abuse-role');
  }
  for (const f of found) {
    const email = f.card.emails.find(saysAbuse);
    if (email) return contact(f, email, 'abuse-mailbox', false);
  }
  const remarks = [...remarksText(scope), ...found.flatMap((f) => remarksText(f.entity))];
  for (const line of remarks) {
    for (const m of line.matchAll(EMAIL_IN_TEXT)) {
      const email = normaliseEmail(m[0].replace(/\.$/, ''));
      if (email && saysAbuse(email)) return { email, origin: 'remark' };
    }
  }
  for (const f of abuseRoles) {
    const email = f.card.emails[0];
    if (email) return contact(f, email, 'abuse-role');
  }
  return undefined;
}

function contact(f: Found, email: string, origin: ContactOrigin, named = true): Contact {
  const handle = str(f.entity.handle);
  const phone = f.card.phones[0];
  return {
    email,
    ...(phone ? { phone } : {}),
    ...(named && f.card.fn ? { name: f.card.fn } : {}),
    ...(handle ? { handle } : {}),
    origin,
  };
}

/** Why a part of an answer has no abuse contact, in words an analyst can act on. */
export function noAbuseReason(found: readonly Found[], what: string): string {
  const handleOnly = found.filter((f) => f.roles.includes('abuse') && !f.entity.vcardArray).map((f) => str(f.entity.handle)).filter(Boolean);
  if (handleOnly.length) return `no abuse contact: the abuse entity ${handleOnly.join(', ')} has no contact details`;
  if (found.some((f) => f.roles.includes('abuse'))) return `no abuse contact: the ${what}'s abuse entity has no mailbox`;
  return `no abuse contact in the ${what}'s RDAP answer`;
}

// Registry mailboxes are the registry's, not the operator's: never a fallback domain for an abuse report.
const REGISTRY_DOMAINS = new Set([
  'arin.net', 'ripe.net', 'apnic.net', 'afrinic.net', 'lacnic.net', 'nic.ad.jp', 'nic.or.kr', 'twnic.net.tw',
  'cnnic.cn', 'idnic.net', 'vnnic.vn', 'registro.br', 'nic.br', 'nic.mx', 'irinn.in', 'apjii.or.id',
]);

/** The registrable domain most of these mailboxes (and URLs) are at: the operator's own domain. */
export function mainDomain(emails: readonly string[], urls: readonly string[] = []): string | undefined {
  const counts = new Map<string, number>();
  const add = (host: string, weight: number) => {
    const d = getDomain(host);
    if (!d || REGISTRY_DOMAINS.has(d)) return;
    counts.set(d, (counts.get(d) ?? 0) + weight);
  };
  for (const u of urls) {
    try {
      // a web site only breaks ties: the mail domain is the one known to take mail
      add(new URL(/^[a-z]+:\/\//i.test(u) ? u : `http://${u}`).hostname, 0.5);
    } catch {
      // a URL nobody can parse names no domain
    }
  }
  for (const e of emails) add(e.slice(e.indexOf('@') + 1), 1);
  let best: string | undefined;
  let bestCount = 0;
  for (const [d, n] of counts) if (n > bestCount) [best, bestCount] = [d, n];
  return best;
}

export function operatorOf(found: readonly Found[]): string | undefined {
  const registrant = found.find((f) => f.roles.includes('registrant') && (f.card.org || f.card.fn));
  if (registrant) return registrant.card.org || registrant.card.fn;
  return found.find((f) => f.card.kind === 'org' && f.card.fn)?.card.fn;
}
