import { lookup } from 'node:dns/promises';
import { canonicalAddress } from './ip.js';

/**
 * What a name resolves to, for the hosting network of a domain or a URL's host. A port of the resolver: the
 * system resolver where there is network, a fixed table in tests and in the offline demo.
 */
export interface HostResolver {
  /** canonical addresses of a host name, IPv4 first; empty when it does not resolve */
  addresses(host: string): Promise<string[]>;
}

/** The system resolver (getaddrinfo), with a time-out: a name that hangs must not hold up a campaign. */
export class SystemHostResolver implements HostResolver {
  constructor(private readonly timeoutMs = 5000) {}

  async addresses(host: string): Promise<string[]> {
    let timer: NodeJS.Timeout | undefined;
    try {
      const found = await Promise.race([
        lookup(host, { all: true, verbatim: true }),
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('timeout')), this.timeoutMs);
        }),
      ]);
      return sortV4First(found.map((a) => canonicalAddress(a.address)?.address).filter((a): a is string => a !== undefined));
    } catch {
      return [];
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A fixed table of names to addresses. */
export class StaticHostResolver implements HostResolver {
  private readonly table: ReadonlyMap<string, readonly string[]>;

  constructor(table: Readonly<Record<string, readonly string[]>> = {}) {
    this.table = new Map(Object.entries(table).map(([k, v]) => [k.toLowerCase(), v]));
  }

  async addresses(host: string): Promise<string[]> {
    return sortV4First([...(this.table.get(host.toLowerCase()) ?? [])]);
  }
}

function sortV4First(addresses: string[]): string[] {
  return [...new Set(addresses)].sort((a, b) => Number(a.includes(':')) - Number(b.includes(':')));
}
