import type { Party, PartyKind } from '../../../core/model.js';
import type { Store } from '../../../core/ports.js';
import { fetchSecurityTxt, type SecurityTxtOptions } from '../security-txt.js';
import type { ResolverStats } from './lookups.js';

/**
 * When an answer names a party but no abuse contact: the Contact of the security.txt (RFC 9116) of the party's
 * own domain, else a guessed abuse@ that domain (RFC 2142), each said in the indicator's problems.
 */

/** The contact a security.txt gives, and where it was read. */
export interface SecurityTxtContact {
  readonly email: string;
  readonly url: string;
}

/** The security.txt of each domain, fetched once and cached in memory and in the store. */
export class SecurityTxtLookups {
  private readonly cache = new Map<string, { found: Promise<SecurityTxtContact | undefined>; expires: number }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => Date,
    /** how long an answer (or its absence) is kept */
    private readonly ttlSeconds: number,
    private readonly options: SecurityTxtOptions | false | undefined,
    private readonly stats: ResolverStats,
  ) {}

  lookup(domain: string): Promise<SecurityTxtContact | undefined> {
    const cached = this.cache.get(domain);
    if (cached && cached.expires > this.now().getTime()) return cached.found;
    const found = (async () => {
      const now = this.now();
      const entry = await this.store.getLookup('security.txt', domain, now.toISOString());
      if (entry) return (JSON.parse(entry.value) as { found?: SecurityTxtContact }).found;
      this.stats.securityTxtLookups += 1;
      const sec = await fetchSecurityTxt(domain, now, this.options || {});
      const value = sec ? { email: sec.emails.find((e) => /abuse/i.test(e)) ?? sec.emails[0]!, url: sec.url } : undefined;
      await this.store.putLookup({
        kind: 'security.txt',
        key: domain,
        value: JSON.stringify(value ? { found: value } : {}),
        fetchedAt: now.toISOString(),
        expiresAt: new Date(now.getTime() + this.ttlSeconds * 1000).toISOString(),
      });
      return value;
    })();
    this.cache.set(domain, { found, expires: this.now().getTime() + this.ttlSeconds * 1000 });
    return found;
  }
}

/** The options that decide the fallbacks. */
export interface FallbackOptions {
  /** false: never fetched (offline) */
  readonly securityTxt?: SecurityTxtOptions | false;
  /** guess abuse@ the party's domain when nothing else is published @default true */
  readonly guessAbuseMailbox?: boolean;
}

/**
 * The party with the fallback contact for `domain`, or undefined when there is none; either way the problem
 * `why` (and what was done about it) goes into `problems`.
 */
export function fallbackParty(
  options: FallbackOptions,
  securityTxt: ReadonlyMap<string, SecurityTxtContact | undefined>,
  problems: { party: PartyKind; reason: string }[],
  kind: PartyKind,
  base: Omit<Party, 'email' | 'contactSource'>,
  domain: string | undefined,
  why: string,
): Party | undefined {
  if (!domain) {
    problems.push({ party: kind, reason: why });
    return undefined;
  }
  const sec = securityTxt.get(domain);
  if (sec) {
    problems.push({ party: kind, reason: `${why}; using the Contact of ${sec.url}` });
    return { ...base, email: sec.email, contactSource: 'security.txt' };
  }
  const asked = options.securityTxt === false ? `security.txt of ${domain} not asked (offline)` : `no security.txt at ${domain}`;
  if (options.guessAbuseMailbox === false) {
    problems.push({ party: kind, reason: `${why}; ${asked}` });
    return undefined;
  }
  problems.push({ party: kind, reason: `${why}; ${asked}: guessed abuse@${domain} (RFC 2142)` });
  return { ...base, email: `abuse@${domain}`, contactSource: 'abuse@' };
}
