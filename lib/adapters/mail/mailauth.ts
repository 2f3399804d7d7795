import { promises as dns } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { authenticate, type DNSResolver } from 'mailauth';
import { verdictsFromMailauth, type MailAuthResolver } from '../../core/answers/index.js';
import type { InboundMail, MailAuthenticator, MailAuthVerdicts } from '../../core/ports.js';
import { registrableDomain } from './domains.js';

export interface MailauthAuthenticatorOptions {
  /** every DNS question goes here: tests answer from a table, hosts pass `systemDnsResolver()` */
  readonly resolver: MailAuthResolver;
  /**
   * Take the client's address and HELO from the topmost Received header: only when a relay we trust (an MX in
   * front of this server) wrote it, since anyone else can write one.
   * @default false
   */
  readonly trustReceived?: boolean;
  /** the name this receiver gives itself in Authentication-Results @default 'takedown' */
  readonly mta?: string;
}

// addresses of our own side of a relay: SPF for them would judge the relay, not the sender
const NOT_THE_SENDER = new Set(['loopback', 'private', 'linkLocal', 'unspecified', 'uniqueLocal', 'carrierGradeNat']);

/**
 * SPF, DKIM and DMARC with mailauth, every lookup through the injected resolver. BIMI and ARC are off: BIMI fetches
 * logos over HTTP, and neither decides anything here. SPF needs the real client: when it came over loopback or a
 * private network (a local relay) and Received headers are not trusted, SPF is `none` and a DMARC failure is not
 * conclusive either (an SPF-only sender would fail it for our blindness), so it is `none` too.
 */
export class MailauthAuthenticator implements MailAuthenticator {
  private readonly resolver: DNSResolver;
  private readonly trustReceived: boolean;
  private readonly mta: string;

  constructor(options: MailauthAuthenticatorOptions) {
    this.resolver = options.resolver as DNSResolver;
    this.trustReceived = options.trustReceived ?? false;
    this.mta = options.mta ?? 'takedown';
  }

  /** The message's verdicts (see verdictsFromMailauth). */
  async check(mail: InboundMail): Promise<MailAuthVerdicts> {
    const ip = mail.client?.ip;
    // the connecting client is the sender only when nothing we trust stands in between
    const direct = !this.trustReceived && ip !== undefined && isSenderAddress(ip);
    const seen = this.trustReceived || direct;
    const result = await authenticate(mail.raw, {
      ip: direct ? ip : undefined,
      helo: direct ? mail.client?.helo : undefined,
      sender: mail.client?.mailFrom,
      trustReceived: this.trustReceived,
      mta: this.mta,
      resolver: this.resolver,
      disableArc: true,
      disableBimi: true,
    });
    const verdicts = verdictsFromMailauth(result);
    if (seen) return verdicts;
    return { ...verdicts, spf: 'none', dmarc: verdicts.dmarc === 'fail' ? 'none' : verdicts.dmarc, dmarcPolicy: undefined };
  }

  /** By the public suffix list (tldts). */
  registrableDomain(host: string): string | undefined {
    return registrableDomain(host);
  }
}

function isSenderAddress(ip: string): boolean {
  try {
    return !NOT_THE_SENDER.has(ipaddr.process(ip).range());
  } catch {
    return false;
  }
}

/**
 * Node's resolver, with a bound on each question so a slow zone cannot hold a reply: the system's DNS servers, or
 * `servers` (`address` or `address:port`, e.g. a validating resolver of the operator's, or a test's stub).
 */
export function systemDnsResolver(timeoutMs = 5_000, servers?: readonly string[]): MailAuthResolver {
  const resolver = new dns.Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers?.length) resolver.setServers([...servers]);
  return (name, rrtype) => resolver.resolve(name, rrtype) as Promise<unknown[]>;
}

/**
 * A resolver answering from a table, for the offline demo and tests: keys are `TXT name`, `MX name`, `A name` ...
 * (values as node's resolver returns them: TXT as string[][]); anything else is a missing name (ENOTFOUND), as a
 * real resolver reports it. It never asks the network.
 */
export function tableDnsResolver(table: Readonly<Record<string, readonly unknown[]>>): MailAuthResolver {
  const answers = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase().replace(/\.$/, ''), v]));
  return async (name, rrtype) => {
    const found = answers.get(`${rrtype} ${name}`.toLowerCase().replace(/\.$/, ''));
    if (found) return [...found];
    throw Object.assign(new Error(`query${rrtype} ENOTFOUND`), { code: 'ENOTFOUND', hostname: name });
  };
}
