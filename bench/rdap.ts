/**
 * `npx tsx bench/rdap.ts [--json] [--indicators <n>] [--seed <n>]`: party resolution of a campaign the size of
 * Africa Cyber Surge II (20,674 indicators) against a local RDAP server, on loopback only. Measures; asserts
 * nothing. The figures: RDAP network lookups per distinct network (1.0 is the limit: one lookup per network,
 * not per indicator) and indicators per second through resolution.
 *
 * Every network holds at least 10 indicators and the prefix lengths vary (/20 to /27 for IPv4, /44 to /64 for
 * IPv6), so a cache keyed by anything narrower than the range the RDAP answer returned would show up as more
 * than one lookup per network. The campaign is shuffled and resolved in pages of 500, as routing does.
 * Addresses are private (10.0.0.0/8) or documentation (2001:db8::/32) space; names end in `.example`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadBootstrap } from '../lib/adapters/rdap/bootstrap.js';
import { RdapClient } from '../lib/adapters/rdap/client.js';
import { bigIntToAddress } from '../lib/adapters/rdap/ip.js';
import { startLocalRdapServer } from '../lib/adapters/rdap/local-server.js';
import { RdapResolver } from '../lib/adapters/rdap/resolver.js';
import { SqliteStore } from '../lib/adapters/sqlite/store.sqlite.js';
import { prng } from './generate.js';
import type { Indicator } from '../lib/core/model.js';

export interface RdapBenchFigures {
  readonly indicators: number;
  readonly networks: { readonly total: number; readonly ipv4: number; readonly ipv6: number; readonly prefixLengths: string };
  readonly minPerNetwork: number;
  readonly networkLookups: number;
  readonly lookupsPerNetwork: number;
  readonly autnumLookups: number;
  readonly distinctAsns: number;
  readonly rdapRequests: number;
  readonly seconds: number;
  readonly indicatorsPerSecond: number;
  /** a second resolver on the same store: everything from the cache */
  readonly cachedLookups: number;
  readonly cachedIndicatorsPerSecond: number;
}

interface Net {
  start: bigint;
  size: bigint;
  family: 4 | 6;
  prefix: number;
  asn: number;
  /** indicators in it */
  count: number;
}

function rdapNetwork(net: Net, i: number): Record<string, unknown> {
  const start = bigIntToAddress(net.start, net.family);
  const end = bigIntToAddress(net.start + net.size - 1n, net.family);
  return {
    objectClassName: 'ip network',
    handle: `BENCH-NET-${i}`,
    name: `BENCH-NET-${i}`,
    startAddress: start,
    endAddress: end,
    ipVersion: net.family === 4 ? 'v4' : 'v6',
    country: 'KE',
    arin_originas0_originautnums: [net.asn],
    entities: [
      {
        objectClassName: 'entity',
        handle: `BENCH-ORG-${i}`,
        roles: ['registrant'],
        vcardArray: ['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', `Bench Hosting ${i}`], ['kind', {}, 'text', 'org']]],
        entities: [
          {
            objectClassName: 'entity',
            handle: `BENCH-ABUSE-${i}`,
            roles: ['abuse'],
            vcardArray: ['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', 'Abuse desk'], ['email', {}, 'text', `abuse@net${i}.example`]]],
          },
        ],
      },
    ],
  };
}

function rdapAutnum(asn: number): Record<string, unknown> {
  return {
    objectClassName: 'autnum',
    handle: `AS${asn}`,
    startAutnum: asn,
    endAutnum: asn,
    name: `BENCH-AS${asn}`,
    entities: [{ objectClassName: 'entity', roles: ['abuse'], vcardArray: ['vcard', [['version', {}, 'text', '4.0'], ['fn', {}, 'text', 'Transit abuse'], ['email', {}, 'text', `abuse@as${asn}.example`]]] }],
  };
}

/** Builds the networks and the campaign, serves the answers on loopback, resolves, and measures. */
export async function runRdapBench(options: { indicators?: number; seed?: number } = {}): Promise<RdapBenchFigures> {
  const total = options.indicators ?? 20_674;
  const rnd = prng(options.seed ?? 20674);
  // up to /27: a network holds up to 27 indicators, each a distinct address
  const v4Prefixes = [20, 21, 22, 23, 24, 25, 26, 27];
  const v6Prefixes = [44, 48, 52, 56, 60, 64];
  const nets: Net[] = [];
  const indicators: Indicator[] = [];
  let next4 = 10n << 24n; // 10.0.0.0
  let next6 = 0x20010db8n << 96n; // 2001:db8::
  while (indicators.length < total) {
    const v6 = rnd() < 0.1;
    const prefix = v6 ? v6Prefixes[Math.floor(rnd() * v6Prefixes.length)]! : v4Prefixes[Math.floor(rnd() * v4Prefixes.length)]!;
    const bits = v6 ? 128 : 32;
    const size = 1n << BigInt(bits - prefix);
    // aligned, with a gap of unallocated space now and then
    let start = v6 ? next6 : next4;
    start = ((start + size - 1n) / size) * size + (rnd() < 0.3 ? size : 0n);
    if (v6) next6 = start + size;
    else next4 = start + size;
    const left = total - indicators.length;
    let count = 10 + Math.floor(rnd() * 9);
    // the remainder goes into the last network rather than leaving one with fewer than 10
    if (left - count < 10) count = left;
    const net: Net = { start, size, family: v6 ? 6 : 4, prefix, asn: 64512 + Math.floor(rnd() * 400), count };
    nets.push(net);
    const used = new Set<bigint>();
    while (used.size < count) used.add(net.start + (BigInt(Math.floor(rnd() * 2 ** 30)) % net.size));
    for (const n of used) {
      const address = bigIntToAddress(n, net.family);
      indicators.push({ value: address, kind: v6 ? 'ipv6' : 'ipv4', host: address, hostKind: v6 ? 'ipv6' : 'ipv4', raw: address, origin: `line ${indicators.length + 1}` });
    }
  }
  // campaign order is not address order: pages of 500 mix every network
  for (let i = indicators.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [indicators[i], indicators[j]] = [indicators[j]!, indicators[i]!];
  }
  const asns = [...new Set(nets.map((n) => n.asn))];
  const server = await startLocalRdapServer({ answers: [...nets.map(rdapNetwork), ...asns.map(rdapAutnum)] });
  const work = mkdtempSync(join(tmpdir(), 'takedown-rdap-bench-'));
  try {
    const bootstrap = await loadBootstrap(server.bootstrapUrl);
    const store = new SqliteStore(join(work, 'bench.db'));
    const resolve = async (): Promise<{ seconds: number; resolver: RdapResolver }> => {
      const resolver = new RdapResolver({
        store,
        rdap: { client: new RdapClient({ minIntervalMs: 0, perServerConcurrency: 8 }), bootstrap },
        securityTxt: false,
        concurrency: 8,
        // 10.0.0.0/8 stands in for routable space here: the local server answers for it
        askAboutSpecialAddresses: true,
      });
      const started = performance.now();
      for (let i = 0; i < indicators.length; i += 500) await resolver.resolve(indicators.slice(i, i + 500));
      return { seconds: (performance.now() - started) / 1000, resolver };
    };
    const first = await resolve();
    const requests = server.requests.length;
    const second = await resolve();
    store.close();
    const minPerNetwork = Math.min(...nets.map((n) => n.count));
    const v4 = nets.filter((n) => n.family === 4);
    return {
      indicators: indicators.length,
      networks: {
        total: nets.length,
        ipv4: v4.length,
        ipv6: nets.length - v4.length,
        prefixLengths: `/${Math.min(...v4.map((n) => n.prefix))}-/${Math.max(...v4.map((n) => n.prefix))} (IPv4), /${Math.min(...nets.filter((n) => n.family === 6).map((n) => n.prefix))}-/${Math.max(...nets.filter((n) => n.family === 6).map((n) => n.prefix))} (IPv6)`,
      },
      minPerNetwork,
      networkLookups: first.resolver.stats.networkLookups,
      lookupsPerNetwork: Math.round((first.resolver.stats.networkLookups / nets.length) * 1000) / 1000,
      autnumLookups: first.resolver.stats.autnumLookups,
      distinctAsns: asns.length,
      rdapRequests: requests,
      seconds: Math.round(first.seconds * 1000) / 1000,
      indicatorsPerSecond: Math.round(indicators.length / first.seconds),
      cachedLookups: second.resolver.stats.networkLookups,
      cachedIndicatorsPerSecond: Math.round(indicators.length / second.seconds),
    };
  } finally {
    await server.close();
    rmSync(work, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2);
  const arg = (name: string) => {
    const i = argv.indexOf(name);
    return i >= 0 ? Number(argv[i + 1]) : undefined;
  };
  const figures = await runRdapBench({ indicators: arg('--indicators'), seed: arg('--seed') });
  if (argv.includes('--json')) process.stdout.write(JSON.stringify(figures, null, 2) + '\n');
  else {
    process.stdout.write(
      [
        `campaign            ${figures.indicators} indicators in ${figures.networks.total} networks (${figures.networks.ipv4} IPv4, ${figures.networks.ipv6} IPv6; ${figures.networks.prefixLengths}); at least ${figures.minPerNetwork} per network`,
        `lookups per network ${figures.lookupsPerNetwork} (${figures.networkLookups} network lookups; target 1.0)`,
        `AS lookups          ${figures.autnumLookups} for ${figures.distinctAsns} distinct AS numbers`,
        `RDAP requests       ${figures.rdapRequests}`,
        `resolution          ${figures.indicatorsPerSecond} indicators/s (${figures.seconds} s, pages of 500, 8 lookups in parallel)`,
        `again, from cache   ${figures.cachedIndicatorsPerSecond} indicators/s, ${figures.cachedLookups} lookups`,
      ].join('\n') + '\n',
    );
  }
}
