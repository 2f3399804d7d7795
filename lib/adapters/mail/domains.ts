import { getDomain } from 'tldts';
import type { MailAuthenticator } from '../../core/ports.js';

/**
 * The registrable domain of a host name by the public suffix list, private suffixes included, so two customers of
 * one hosting platform (`a.github.io`, `b.github.io`) are two owners, not one. Undefined for a suffix itself.
 */
export function registrableDomain(host: string): string | undefined {
  return getDomain(host.toLowerCase().replace(/\.$/, ''), { allowPrivateDomains: true }) ?? undefined;
}

/**
 * For a host that checks no SPF, DKIM or DMARC itself: AWS, where SES's receipt verdicts stand in, and the
 * embedded host while DNS checks are off. The sender's domain is still tested against the contact's.
 */
export const suffixOnlyAuthenticator: MailAuthenticator = {
  check: async () => ({}),
  registrableDomain,
};
