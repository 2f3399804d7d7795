import { Resolver } from 'node:dns/promises';
import { normaliseIndicator } from '../../core/intake/index.js';
import type { DnsAnswer } from '../../core/verify/index.js';
import { errorCode } from './connect.js';

/**
 * A name's A and AAAA answers from the configured DNS servers (or the system's, from resolv.conf). Queries go
 * straight to those servers, never through the HTTP proxy (an HTTP proxy has no way to carry them): point
 * `dnsServers` at a resolver that does not give the coordinator away when that matters.
 */
export class ProbeDns {
  private readonly resolver: Resolver;

  constructor(servers: readonly string[] | undefined, timeoutMs: number) {
    // one try per query: the prober's own retries bound the total time
    this.resolver = new Resolver({ timeout: timeoutMs, tries: 1 });
    if (servers && servers.length > 0) this.resolver.setServers([...servers]);
  }

  /** The A and AAAA answers of a name, each as canonical addresses or the resolver's error code. */
  async lookup(name: string): Promise<{ a: DnsAnswer; aaaa: DnsAnswer }> {
    const [a, aaaa] = await Promise.all([this.answer(this.resolver.resolve4(name)), this.answer(this.resolver.resolve6(name))]);
    return { a, aaaa };
  }

  private async answer(query: Promise<string[]>): Promise<DnsAnswer> {
    try {
      const addresses = (await query).map(canonical).filter((a): a is string => a !== undefined);
      return addresses.length > 0 ? { addresses } : { code: 'ENODATA' };
    } catch (err) {
      return { code: errorCode(err) };
    }
  }
}

function canonical(address: string): string | undefined {
  const result = normaliseIndicator(address);
  return result.ok && (result.indicator.kind === 'ipv4' || result.indicator.kind === 'ipv6') ? result.indicator.value : undefined;
}
