import { networkInterfaces } from 'node:os';
import ipaddr from 'ipaddr.js';

/**
 * Where outbound requests the host makes on someone else's behalf may go. A probe fetches whatever URL a
 * submitter (or the server it redirects to, or the DNS of its name) names, and the RDAP client and the
 * security.txt fetch follow what registries answer: none of them may be aimed at this host, its network or its
 * cloud's metadata service. Every address is checked as it is connected to, not as a name was once resolved,
 * so a DNS answer that changes between the check and the connection (rebinding) changes nothing.
 */

/** Ranges no outbound request of ours is sent to, and why (said in the refusal). */
const DENIED: readonly (readonly [string, string])[] = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space (CGNAT, RFC 6598)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata services live here)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking (RFC 2544)'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  ['100::/64', 'discard-only'],
  ['fc00::/7', 'unique-local'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
  ['2001::/32', 'Teredo (hides the IPv4 address it reaches)'],
];

// IPv6 forms that carry an IPv4 address: the IPv4 address is what is reached, so it is what is checked
const EMBEDDING_V4: readonly (readonly [string, (bytes: number[]) => number[]])[] = [
  ['::ffff:0:0/96', (b) => b.slice(12, 16)],
  ['64:ff9b::/96', (b) => b.slice(12, 16)],
  ['64:ff9b:1::/48', (b) => b.slice(12, 16)],
  ['2002::/16', (b) => b.slice(2, 6)],
  ['::/96', (b) => b.slice(12, 16)],
];

type Cidr = [ipaddr.IPv4 | ipaddr.IPv6, number];

const DENIED_RANGES: readonly (readonly [Cidr, string])[] = DENIED.map(([cidr, why]) => [ipaddr.parseCIDR(cidr), why] as const);
const EMBEDDING_RANGES: readonly (readonly [Cidr, (bytes: number[]) => number[]])[] = EMBEDDING_V4.map(([cidr, take]) => [ipaddr.parseCIDR(cidr), take] as const);

// the listeners of this process (the API, the SMTP server, the local RDAP server ...): never a request's target,
// whatever a test allows, since reaching them would let a submitter drive the host's own API
const ownListeners = new Set<string>();

/** Note a listener of this process (its bound address and port): no guarded request may connect to it. */
export function registerOwnListener(address: string, port: number): () => void {
  const key = listenerKey(address, port);
  ownListeners.add(key);
  return () => ownListeners.delete(key);
}

function listenerKey(address: string, port: number): string {
  return `${canonical(address) ?? address}|${port}`;
}

function canonical(address: string): string | undefined {
  try {
    return ipaddr.process(address.replace(/^\[(.*)\]$/, '$1').replace(/%.*$/, '')).toNormalizedString();
  } catch {
    return undefined;
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '0:0:0:0:0:0:0:0';
}

/** The addresses of this machine's interfaces: where a listener bound to 0.0.0.0 or :: answers too. */
function localAddresses(): Set<string> {
  const out = new Set<string>(['127.0.0.1', '0:0:0:0:0:0:0:1']);
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) out.add(canonical(i.address) ?? i.address);
  return out;
}

export interface AddressGuardOptions {
  /**
   * CIDRs let through despite the denied ranges: the loopback servers of tests and of the offline demo. Nothing by
   * default; a deployment never needs it (an egress proxy reaches the internet, not 127.0.0.1).
   */
  readonly allow?: readonly string[];
}

/** The outcome of a check: undefined when the address may be connected to, else why not. */
export type Refusal = string | undefined;

/** Decides which addresses outbound requests may connect to; see the module comment. */
export class AddressGuard {
  private readonly allow: readonly Cidr[];

  constructor(options: AddressGuardOptions = {}) {
    this.allow = (options.allow ?? []).map((cidr) => ipaddr.parseCIDR(cidr.includes('/') ? cidr : `${cidr}/${cidr.includes(':') ? 128 : 32}`));
  }

  /** Why `address` (an IP address, as connected to) may not be connected to on `port`, or undefined when it may. */
  refusal(address: string, port?: number): Refusal {
    const text = canonical(address);
    if (text === undefined) return `${address} is not an IP address`;
    if (port !== undefined) {
      if (ownListeners.has(listenerKey(text, port))) return `${address} port ${port} is this host's own listener`;
      const wildcard = [...ownListeners].some((k) => k.endsWith(`|${port}`) && isWildcard(k.slice(0, k.lastIndexOf('|'))));
      if (wildcard && localAddresses().has(text)) return `${address} port ${port} is this host's own listener`;
    }
    const parsed = ipaddr.process(text);
    if (this.allow.some(([range, bits]) => range.kind() === parsed.kind() && parsed.match(range, bits))) return undefined;
    const why = deniedRange(parsed);
    return why === undefined ? undefined : `${address} is ${why}`;
  }
}

function deniedRange(address: ipaddr.IPv4 | ipaddr.IPv6): string | undefined {
  for (const [[range, bits], why] of DENIED_RANGES) if (range.kind() === address.kind() && address.match(range, bits)) return `${why}`;
  if (address.kind() === 'ipv6') {
    const bytes = (address as ipaddr.IPv6).toByteArray();
    for (const [[range, bits], take] of EMBEDDING_RANGES) {
      if (range.kind() === 'ipv6' && address.match(range, bits)) {
        const v4 = deniedRange(new ipaddr.IPv4(take(bytes)));
        if (v4 !== undefined) return `an IPv6 form of an IPv4 address that is ${v4}`;
      }
    }
  }
  return undefined;
}

/** A connection an AddressGuard refused; `code` is what probes and lookups report. */
export class AddressRefusedError extends Error {
  readonly code = 'ADDRESS_REFUSED';
  constructor(readonly reason: string) {
    super(`refused to connect: ${reason}`);
    this.name = 'AddressRefusedError';
  }
}
