import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { addressToBigInt, familyBits, parseCidr } from './ip.js';

/**
 * The IANA RDAP bootstrap registries (RFC 9224): which server answers for which address block, AS number range
 * and TLD. Read from a directory or a URL holding ipv4.json, ipv6.json, asn.json and dns.json.
 */

export type Registry = 'ipv4' | 'ipv6' | 'asn' | 'dns';
export const REGISTRIES: readonly Registry[] = ['ipv4', 'ipv6', 'asn', 'dns'];

/** Where IANA publishes the registries. */
export const IANA_BOOTSTRAP_URL = 'https://data.iana.org/rdap/';

/** The snapshot shipped with the project (see bootstrap/README.md). */
export const SHIPPED_BOOTSTRAP_DIR = fileURLToPath(new URL('./bootstrap/', import.meta.url));

/** After this many days a snapshot earns a warning: RIRs hand out blocks and TLDs move servers. */
export const BOOTSTRAP_MAX_AGE_DAYS = 180;

const BootstrapFile = z.object({
  publication: z.string().optional(),
  description: z.string().optional(),
  services: z.array(z.array(z.array(z.string())).min(2)),
});

interface IpEntry {
  readonly start: bigint;
  readonly end: bigint;
  readonly prefix: number;
  readonly urls: readonly string[];
}

/** The server base URLs of a service entry, https first, each ending in `/`. */
function bases(urls: readonly string[]): string[] {
  const withSlash = urls.map((u) => (u.endsWith('/') ? u : `${u}/`));
  return [...withSlash.filter((u) => u.startsWith('https:')), ...withSlash.filter((u) => !u.startsWith('https:'))];
}

export class Bootstrap {
  private readonly v4: IpEntry[] = [];
  private readonly v6: IpEntry[] = [];
  private readonly asns: { start: number; end: number; urls: readonly string[] }[] = [];
  private readonly tlds = new Map<string, readonly string[]>();
  /** each registry's publication date as its file gives it */
  readonly publications: Partial<Record<Registry, string>> = {};

  /** Builds from the parsed files; `source` says where they came from, for messages. */
  constructor(
    files: Partial<Record<Registry, unknown>>,
    readonly source: string,
  ) {
    for (const registry of REGISTRIES) {
      const raw = files[registry];
      if (raw === undefined) continue;
      const parsed = BootstrapFile.safeParse(raw);
      if (!parsed.success) throw new Error(`the ${registry} bootstrap file from ${source} is not an RFC 9224 registry`);
      if (parsed.data.publication) this.publications[registry] = parsed.data.publication;
      for (const service of parsed.data.services) {
        // object-tags has three arrays; the four registries have [entries, urls]
        const entries = service[0]!;
        const urls = bases(service[service.length - 1]!);
        for (const entry of entries) this.add(registry, entry, urls);
      }
    }
    // longest prefix first, so the first hit is the most specific
    this.v4.sort((a, b) => b.prefix - a.prefix);
    this.v6.sort((a, b) => b.prefix - a.prefix);
  }

  private add(registry: Registry, entry: string, urls: readonly string[]): void {
    if (registry === 'dns') {
      this.tlds.set(entry.toLowerCase().replace(/^\.|\.$/g, ''), urls);
    } else if (registry === 'asn') {
      const m = /^(\d+)(?:-(\d+))?$/.exec(entry.trim());
      if (m) this.asns.push({ start: Number(m[1]), end: Number(m[2] ?? m[1]), urls });
    } else {
      const range = parseCidr(entry);
      if (!range) return;
      const start = addressToBigInt(range.start);
      const end = addressToBigInt(range.end);
      const size = end - start + 1n;
      const prefix = familyBits(range.family) - (size.toString(2).length - 1);
      (range.family === 4 ? this.v4 : this.v6).push({ start, end, prefix, urls });
    }
  }

  /** Server base URLs for a canonical address, most specific block first; empty when no registry covers it. */
  serversForAddress(address: string): readonly string[] {
    const n = addressToBigInt(address);
    const table = address.includes(':') ? this.v6 : this.v4;
    return table.find((e) => n >= e.start && n <= e.end)?.urls ?? [];
  }

  serversForAsn(asn: number): readonly string[] {
    return this.asns.find((e) => asn >= e.start && asn <= e.end)?.urls ?? [];
  }

  /** Server base URLs for a domain: the longest label suffix the registry lists (normally its TLD). */
  serversForDomain(domain: string): readonly string[] {
    const labels = domain.toLowerCase().replace(/\.$/, '').split('.');
    for (let i = 0; i < labels.length; i++) {
      const found = this.tlds.get(labels.slice(i).join('.'));
      if (found) return found;
    }
    return [];
  }

  /** The oldest publication date among the registries read. */
  oldestPublication(): Date | undefined {
    const dates = Object.values(this.publications).map((p) => Date.parse(p)).filter((t) => Number.isFinite(t));
    return dates.length ? new Date(Math.min(...dates)) : undefined;
  }
}

/** A warning when the bootstrap data is older than `maxAgeDays`, for people; undefined when it is fresh. */
export function bootstrapAgeWarning(bootstrap: Bootstrap, now: Date, maxAgeDays = BOOTSTRAP_MAX_AGE_DAYS): string | undefined {
  const oldest = bootstrap.oldestPublication();
  if (!oldest) return `the RDAP bootstrap data from ${bootstrap.source} has no publication date`;
  const days = Math.floor((now.getTime() - oldest.getTime()) / 86_400_000);
  if (days <= maxAgeDays) return undefined;
  return `the RDAP bootstrap data from ${bootstrap.source} was published ${oldest.toISOString().slice(0, 10)} (${days} days ago): newer address blocks and TLDs are missing; run \`takedown rdap bootstrap refresh\``;
}

/** Reads the registries from a directory. Missing files are left out (that registry then finds no server). */
export function readBootstrapDir(dir: string): Bootstrap {
  const files: Partial<Record<Registry, unknown>> = {};
  for (const registry of REGISTRIES) {
    const path = join(dir, `${registry}.json`);
    if (!existsSync(path)) continue;
    try {
      files[registry] = JSON.parse(readFileSync(path, 'utf8')) as unknown;
    } catch (cause) {
      throw new Error(`the ${registry} bootstrap file in ${dir} is not JSON`, { cause });
    }
  }
  if (Object.keys(files).length === 0) throw new Error(`no RDAP bootstrap files (ipv4.json, ipv6.json, asn.json, dns.json) in ${dir}`);
  return new Bootstrap(files, dir);
}

/** Reads the registries from a URL base (`http://host/path/` holding ipv4.json ...) or a directory. */
export async function loadBootstrap(source: string = SHIPPED_BOOTSTRAP_DIR, fetchFn: typeof fetch = fetch): Promise<Bootstrap> {
  if (!/^https?:\/\//i.test(source)) return readBootstrapDir(source);
  const base = source.endsWith('/') ? source : `${source}/`;
  const files: Partial<Record<Registry, unknown>> = {};
  for (const registry of REGISTRIES) {
    const res = await fetchFn(new URL(`${registry}.json`, base), { signal: AbortSignal.timeout(15_000) });
    if (res.status === 404) continue;
    if (!res.ok) throw new Error(`${base}${registry}.json answered ${res.status}`);
    files[registry] = (await res.json()) as unknown;
  }
  if (Object.keys(files).length === 0) throw new Error(`no RDAP bootstrap files at ${base}`);
  return new Bootstrap(files, base);
}

/**
 * Fetches the current registries (IANA's by default) into `dir`, each checked before it replaces the old one.
 * Needs network: never called by tests against the internet.
 */
export async function refreshBootstrap(
  dir: string,
  options: { fetch?: typeof fetch; from?: string } = {},
): Promise<{ registry: Registry; publication?: string }[]> {
  const fetchFn = options.fetch ?? fetch;
  const base = options.from ?? IANA_BOOTSTRAP_URL;
  mkdirSync(dir, { recursive: true });
  const out: { registry: Registry; publication?: string }[] = [];
  const texts: [Registry, string][] = [];
  for (const registry of REGISTRIES) {
    const res = await fetchFn(new URL(`${registry}.json`, base.endsWith('/') ? base : `${base}/`), { signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`${base}${registry}.json answered ${res.status}; nothing was replaced`);
    const text = await res.text();
    // refuse the whole refresh on one bad file: a half-updated snapshot would be worse than an old one
    const bootstrap = new Bootstrap({ [registry]: JSON.parse(text) as unknown }, base);
    texts.push([registry, text]);
    out.push({ registry, ...(bootstrap.publications[registry] ? { publication: bootstrap.publications[registry] } : {}) });
  }
  for (const [registry, text] of texts) {
    const path = join(dir, `${registry}.json`);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
  }
  return out;
}
