import type { NetworkInfo } from '../extract.js';
import { addressToBigInt, familyBits, rangeToCidrs } from '../ip.js';

/** A network cached in memory, indexed under the CIDR blocks that cover its range. */
export class NetworkIndex {
  private readonly blocks = new Map<string, { info: NetworkInfo; server?: string; expires: number }>();
  private readonly prefixes = { 4: new Set<number>(), 6: new Set<number>() };
  private sorted: Record<4 | 6, number[]> = { 4: [], 6: [] };

  add(info: NetworkInfo, server: string | undefined, expires: number): void {
    const family = info.range.family;
    const bits = BigInt(familyBits(family));
    for (const { network, prefix } of rangeToCidrs(info.range)) {
      this.blocks.set(`${family}/${prefix}/${network >> (bits - BigInt(prefix))}`, { info, server, expires });
      if (!this.prefixes[family].has(prefix)) {
        this.prefixes[family].add(prefix);
        this.sorted[family] = [...this.prefixes[family]].sort((a, b) => b - a);
      }
    }
  }

  /** the most specific network covering the address, unless expired */
  find(address: string, now: number): { info: NetworkInfo; server?: string } | undefined {
    const family = address.includes(':') ? 6 : 4;
    const n = addressToBigInt(address);
    const bits = BigInt(familyBits(family));
    for (const prefix of this.sorted[family]) {
      const hit = this.blocks.get(`${family}/${prefix}/${n >> (bits - BigInt(prefix))}`);
      if (hit && hit.expires > now) return hit;
    }
    return undefined;
  }
}

/**
 * Sorted addresses (of one family) cut into at most `parts` runs of about equal length, never inside a block
 * (a /16 of IPv4, a /32 of IPv6). Each run is swept in order by one worker, so the addresses of one network
 * are looked up one after the other and all but the first hit the cache. Networks are contiguous and nearly
 * all fit in a block, so no two workers ask for the same network; one wider than a block (a cloud's /11) may
 * be asked for by each worker that reaches it before the first answer is cached.
 */
export function splitAtGaps(sorted: readonly string[], parts: number): string[][] {
  if (sorted.length === 0) return [];
  if (parts <= 1) return [[...sorted]];
  const blockShift = sorted[0]!.includes(':') ? 96n : 16n;
  const blocks = sorted.map((a) => addressToBigInt(a) >> blockShift);
  const boundaries: number[] = [];
  for (let i = 1; i < blocks.length; i++) if (blocks[i] !== blocks[i - 1]) boundaries.push(i);
  const cuts: number[] = [];
  for (let k = 1; k < parts && boundaries.length; k++) {
    const ideal = (k * sorted.length) / parts;
    let best = -1;
    for (const b of boundaries) {
      if (b <= (cuts[cuts.length - 1] ?? 0)) continue;
      if (best < 0 || Math.abs(b - ideal) < Math.abs(best - ideal)) best = b;
      else if (b > ideal) break;
    }
    if (best > 0 && !cuts.includes(best)) cuts.push(best);
  }
  const out: string[][] = [];
  let from = 0;
  for (const cut of [...cuts, sorted.length]) {
    out.push(sorted.slice(from, cut));
    from = cut;
  }
  return out;
}
