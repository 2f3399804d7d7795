import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { addressToBigInt, canonicalAddress, familyBits, rangeToCidrs } from './ip.js';

/**
 * A local RDAP server (RFC 9082 paths, RFC 9083 answers) serving recorded answers: the embedded host starts
 * one so the default run needs no network, and tests serve the real corpus answers through it so the client
 * is tested over the wire. Any path prefix is accepted (`/ripe/ip/...` and `/ip/...` are the same query), so
 * one server can stand in for several registries behind a rewritten bootstrap. It serves its own bootstrap
 * files at `/bootstrap/` that send every query to itself.
 */

type Json = Record<string, unknown>;

export interface LocalRdapServer {
  /** the server's base URL, ending in `/` */
  readonly url: string;
  /** where its bootstrap files are (ipv4.json, ipv6.json, asn.json, dns.json) */
  readonly bootstrapUrl: string;
  /** the paths asked so far, in order */
  readonly requests: string[];
  close(): Promise<void>;
}

export interface LocalRdapOptions {
  /** RDAP objects (or arrays of them) to serve */
  readonly answers?: readonly unknown[];
  /** a directory of *.json files, each an RDAP object or an array of them (read recursively) */
  readonly dir?: string;
  readonly host?: string;
  /** 0 picks a free port */
  readonly port?: number;
  /** answers a request itself when it returns true (tests inject 429s, time-outs, redirects this way) */
  readonly intercept?: (req: IncomingMessage, res: ServerResponse, query: { type: string; value: string }) => boolean | Promise<boolean>;
}

interface Indexed {
  /** networks under each CIDR block covering them, per family and prefix length: a lookup probes each length once */
  readonly networks: Map<string, { size: bigint; json: Json }>;
  readonly prefixes: Record<4 | 6, number[]>;
  readonly autnums: { start: number; end: number; json: Json }[];
  readonly domains: Map<string, Json>;
  readonly entities: Map<string, Json>;
}

const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads every *.json file under a directory (recursively) as RDAP objects. */
export function readAnswersDir(dir: string): unknown[] {
  const out: unknown[] = [];
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...readAnswersDir(path));
    else if (name.endsWith('.json')) {
      const json = JSON.parse(readFileSync(path, 'utf8')) as unknown;
      out.push(...(Array.isArray(json) ? json : [json]));
    }
  }
  return out;
}

function index(answers: readonly unknown[]): Indexed {
  const idx: Indexed = { networks: new Map(), prefixes: { 4: [], 6: [] }, autnums: [], domains: new Map(), entities: new Map() };
  const addEntities = (entities: unknown) => {
    for (const e of Array.isArray(entities) ? entities : []) {
      if (!isObject(e)) continue;
      // a nested entity with a vCard can be served on its own: referrals by handle find it
      if (typeof e.handle === 'string' && e.vcardArray && !idx.entities.has(e.handle.toUpperCase())) {
        const { roles: _roles, ...own } = e;
        idx.entities.set(e.handle.toUpperCase(), { objectClassName: 'entity', ...own });
      }
      addEntities(e.entities);
    }
  };
  for (const a of answers) {
    if (!isObject(a)) continue;
    const cls = a.objectClassName ?? (a.startAddress ? 'ip network' : a.ldhName ? 'domain' : a.startAutnum ? 'autnum' : a.vcardArray ? 'entity' : undefined);
    if (cls === 'ip network') {
      const s = canonicalAddress(String(a.startAddress ?? ''));
      const e = canonicalAddress(String(a.endAddress ?? ''));
      if (s && e && s.family === e.family) {
        const range = { family: s.family, start: s.address, end: e.address };
        const size = addressToBigInt(e.address) - addressToBigInt(s.address) + 1n;
        const bits = BigInt(familyBits(s.family));
        for (const { network, prefix } of rangeToCidrs(range)) {
          const key = `${s.family}/${prefix}/${network >> (bits - BigInt(prefix))}`;
          const held = idx.networks.get(key);
          // the most specific network that holds the address, as a registry answers
          if (!held || size < held.size) idx.networks.set(key, { size, json: a });
          if (!idx.prefixes[s.family].includes(prefix)) idx.prefixes[s.family].push(prefix);
        }
      }
    } else if (cls === 'domain' && typeof a.ldhName === 'string') {
      idx.domains.set(a.ldhName.toLowerCase().replace(/\.$/, ''), a);
    } else if (cls === 'autnum') {
      idx.autnums.push({ start: Number(a.startAutnum), end: Number(a.endAutnum ?? a.startAutnum), json: a });
    } else if (cls === 'entity' && typeof a.handle === 'string') {
      idx.entities.set(a.handle.toUpperCase(), a);
    }
    addEntities(a.entities);
  }
  return idx;
}

function find(idx: Indexed, type: string, value: string): Json | undefined {
  if (type === 'ip') {
    const address = canonicalAddress(value.replace(/\/\d+$/, ''));
    if (!address) return undefined;
    const n = addressToBigInt(address.address);
    const bits = BigInt(familyBits(address.family));
    let best: { size: bigint; json: Json } | undefined;
    for (const prefix of idx.prefixes[address.family]) {
      const held = idx.networks.get(`${address.family}/${prefix}/${n >> (bits - BigInt(prefix))}`);
      if (held && (!best || held.size < best.size)) best = held;
    }
    return best?.json;
  }
  if (type === 'autnum') {
    const n = Number(value.replace(/^as/i, ''));
    return idx.autnums.find((a) => n >= a.start && n <= a.end)?.json;
  }
  if (type === 'domain') return idx.domains.get(value.toLowerCase().replace(/\.$/, ''));
  if (type === 'entity') return idx.entities.get(value.toUpperCase());
  return undefined;
}

function bootstrapFiles(base: string, idx: Indexed): Record<string, unknown> {
  const publication = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const file = (description: string, entries: string[]) => ({ description, publication, version: '1.0', services: entries.length ? [[entries, [base]]] : [] });
  const tlds = [...new Set([...idx.domains.keys()].map((d) => d.split('.').pop()!))].sort();
  return {
    'ipv4.json': file('local RDAP server: every IPv4 address', ['0.0.0.0/0']),
    'ipv6.json': file('local RDAP server: every IPv6 address', ['::/0']),
    'asn.json': file('local RDAP server: every AS number', ['1-4294967295']),
    'dns.json': file('local RDAP server: the TLDs of its recorded domains', tlds),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/rdap+json', 'content-length': Buffer.byteLength(text), 'access-control-allow-origin': '*' });
  res.end(text);
}

const notFound = (what: string) => ({ rdapConformance: ['rdap_level_0'], errorCode: 404, title: 'Not Found', description: [`no recorded answer for ${what}`] });

/** Starts the server on loopback (a free port unless told). */
export async function startLocalRdapServer(options: LocalRdapOptions = {}): Promise<LocalRdapServer> {
  const answers = [...(options.answers ?? []), ...(options.dir ? readAnswersDir(options.dir) : [])];
  const idx = index(answers);
  const requests: string[] = [];
  let base = '';
  const server: Server = createServer((req, res) => {
    void (async () => {
      const path = decodeURIComponent((req.url ?? '/').split('?')[0]!);
      requests.push(path);
      const boot = /\/bootstrap\/(ipv4|ipv6|asn|dns)\.json$/.exec(path);
      if (boot && req.method === 'GET') return send(res, 200, bootstrapFiles(base, idx)[`${boot[1]}.json`]);
      const m = /\/(ip|autnum|domain|entity)\/(.+)$/.exec(path);
      const query = { type: m?.[1] ?? '', value: m?.[2] ?? '' };
      if (options.intercept && (await options.intercept(req, res, query))) return;
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { errorCode: 405, title: 'Method Not Allowed' });
      if (path.endsWith('/help')) return send(res, 200, { rdapConformance: ['rdap_level_0'], notices: [{ title: 'local RDAP server', description: ['recorded answers only'] }] });
      if (!m) return send(res, 400, { errorCode: 400, title: 'Bad Request', description: ['not an RDAP query path'] });
      const found = find(idx, query.type, query.value);
      return found ? send(res, 200, found) : send(res, 404, notFound(`${query.type} ${query.value}`));
    })().catch(() => {
      if (!res.headersSent) send(res, 500, { errorCode: 500, title: 'Internal Server Error' });
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port, address } = server.address() as AddressInfo;
  const host = address.includes(':') ? `[${address}]` : address;
  base = `http://${host}:${port}/`;
  return {
    url: base,
    bootstrapUrl: `${base}bootstrap/`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
