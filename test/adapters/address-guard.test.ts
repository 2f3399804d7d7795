import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isIP, Socket, type AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createProber } from '../../lib/adapters/probe/prober.js';
import { startPartyResolver } from '../../lib/local/parties.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import type { Indicator } from '../../lib/core/model.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';
import { testHost } from '../workflows/support.js';

/*
 * Probes and lookups that a submitter (or a server a submitter controls, or its DNS) tries to aim at this host,
 * its network or the cloud's metadata service. Every "inside" server is a loopback server that counts what
 * reaches it; the "outside" is 127.0.0.2, which these tests allow explicitly, as the demo allows its own
 * loopback sites. As a safety net, this file refuses any connection outside loopback before a packet leaves:
 * an attempt is recorded and fails, so a broken guard shows as a failed test, never as traffic.
 */

const attempts: string[] = [];
const originalConnect = Socket.prototype.connect;

function loopback(host: string): boolean {
  return /^127\./.test(host) || host === '::1' || host === 'localhost' || isIP(host) === 0;
}

beforeAll(() => {
  Socket.prototype.connect = function (this: Socket, ...args: unknown[]) {
    const first = args[0];
    const options = (typeof first === 'object' && first !== null ? first : { port: first, host: args[1] }) as { host?: string; port?: number; path?: string };
    if (options.path === undefined && !loopback(options.host ?? 'localhost')) {
      attempts.push(`${options.host}:${options.port}`);
      process.nextTick(() => this.destroy(Object.assign(new Error('blocked by the test'), { code: 'EHOSTUNREACH' })));
      return this;
    }
    return (originalConnect as (...a: unknown[]) => Socket).apply(this, args);
  } as typeof Socket.prototype.connect;
});
afterAll(() => {
  Socket.prototype.connect = originalConnect;
});

interface Counted {
  readonly server: Server;
  readonly port: number;
  readonly hits: string[];
}

async function serve(host: string, handler: (req: IncomingMessage, res: ServerResponse) => void, port = 0): Promise<Counted> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '/');
    handler(req, res);
  });
  await new Promise<void>((ok) => server.listen(port, host, ok));
  return { server, port: (server.address() as AddressInfo).port, hits };
}

async function close(c: Counted | undefined): Promise<void> {
  if (!c) return;
  c.server.closeAllConnections();
  await new Promise<void>((ok) => c.server.close(() => ok()));
}

function indicator(raw: string): Indicator {
  const r = normaliseIndicator(raw);
  if (!r.ok) throw new Error(`test indicator ${raw}: ${r.reason}`);
  return { ...r.indicator, origin: 'test' };
}

const PAGE = '<html><body><form>Sign in to your bank</form></body></html>';
const PAGE_SHA = createHash('sha256').update(PAGE).digest('hex');

let dns: DnsStub;
let outside: Counted;
let inside: Counted;
let redirectTo = '';

beforeAll(async () => {
  // the "internal service": on 127.0.0.1, never allowed
  inside = await serve('127.0.0.1', (_req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end('instance credentials'));
  // the attacker's site: on 127.0.0.2 (allowed below), same port number as the internal service where it can
  outside = await serve('127.0.0.2', (req, res) => {
    const path = req.url ?? '/';
    if (path === '/redirect') res.writeHead(302, { location: redirectTo }).end();
    else if (path === '/rebind') {
      // between this hop and the next, the name's DNS answer turns to loopback
      dns.set('rebind.test', { A: ['127.0.0.1'] });
      res.writeHead(302, { location: `http://rebind.test:${inside.port}/next` }).end();
    } else if (path === '/elsewhere-404') res.writeHead(302, { location: `http://other.test:${outside.port}/gone` }).end();
    else if (path === '/gone-but-served') res.writeHead(404, { 'content-type': 'text/html' }).end(PAGE);
    else if (path === '/gone') res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
    else res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
  }, 0);
  dns = await startDnsStub({
    'site.test': { A: ['127.0.0.2'] },
    'other.test': { A: ['127.0.0.2'] },
    'internal.test': { A: ['127.0.0.1'] },
  });
});

afterAll(async () => {
  await close(inside);
  await close(outside);
  await dns.close();
});

beforeEach(() => {
  attempts.length = 0;
  inside.hits.length = 0;
});

afterEach(() => {
  expect(attempts, 'no connection outside loopback was even attempted').toEqual([]);
});

function prober(allow: string[] = ['127.0.0.2/32']) {
  return createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0, allowAddresses: allow });
}

describe('the probes\' address guard', () => {
  it('does not probe a name that resolves to loopback, and says the probe proves nothing', async () => {
    const result = await createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0 }).probe({ indicator: indicator(`http://internal.test:${inside.port}/`) });
    expect(inside.hits).toEqual([]);
    expect(result).toMatchObject({ verdict: 'error', live: false, conclusive: false });
    expect(result.detail).toMatch(/loopback/);
    expect(result.evidence.status).toBeUndefined();
  });

  it('does not follow a redirect to 127.0.0.1, and writes nothing of what answers there into the evidence', async () => {
    redirectTo = `http://127.0.0.1:${inside.port}/latest/meta-data/`;
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/redirect`) });
    expect(inside.hits).toEqual([]);
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
    expect(result.detail).toMatch(/redirected to http:\/\/127\.0\.0\.1.*loopback/);
    expect(result.evidence.finalUrl).toBeUndefined();
  });

  it('does not follow a redirect to the cloud metadata address 169.254.169.254', async () => {
    redirectTo = 'http://169.254.169.254/latest/meta-data/iam/security-credentials/';
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/redirect`) });
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
    expect(result.detail).toMatch(/link-local/);
  });

  it('does not follow a redirect to a private address, nor probe one given as the indicator', async () => {
    redirectTo = 'http://10.1.2.3:8080/admin';
    const redirected = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/redirect`) });
    expect(redirected).toMatchObject({ verdict: 'error', conclusive: false });
    expect(redirected.detail).toMatch(/private/);
    const direct = await prober().probe({ indicator: indicator('192.168.1.1') });
    expect(direct).toMatchObject({ verdict: 'error', conclusive: false });
    expect(direct.detail).toMatch(/private/);
  });

  it('refuses an IPv4 address written as IPv6 (::ffff:127.0.0.1) like the address itself', async () => {
    redirectTo = `http://[::ffff:127.0.0.1]:${inside.port}/`;
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/redirect`) });
    expect(inside.hits).toEqual([]);
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
  });

  it('does not reach the host\'s own API, even where a test allows all of loopback', async () => {
    const host = await testHost(1);
    try {
      redirectTo = `${host.httpUrl}/health`;
      const result = await prober(['127.0.0.0/8']).probe({ indicator: indicator(`http://site.test:${outside.port}/redirect`) });
      expect(result).toMatchObject({ verdict: 'error', conclusive: false });
      expect(result.detail).toMatch(/this host's own listener/);
    } finally {
      await host.dispose();
    }
  });

  it('catches a DNS answer that rebinds to loopback between two hops: the connection goes only where the check passed', async () => {
    dns.set('rebind.test', { A: ['127.0.0.2'] });
    const result = await prober().probe({ indicator: indicator(`http://rebind.test:${outside.port}/rebind`) });
    expect(inside.hits).toEqual([]);
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
    expect(result.detail).toMatch(/loopback/);
  });
});

describe('the probes cannot be fooled cheaply', () => {
  it('reads a redirect to another host\'s 404 as proving nothing, not as down', async () => {
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/elsewhere-404`) });
    expect(result).toMatchObject({ verdict: 'error', live: false, conclusive: false });
    expect(result.evidence).toMatchObject({ status: 404, redirects: 1 });
  });

  it('reads a 404 whose body is still the evidence\'s page as live', async () => {
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/gone-but-served`), evidenceSha256: PAGE_SHA });
    expect(result).toMatchObject({ verdict: 'live', live: true, conclusive: true });
    expect(result.evidence).toMatchObject({ status: 404, matchesEvidence: true });
  });

  it('still reads the probed host\'s own 404 as down', async () => {
    const result = await prober().probe({ indicator: indicator(`http://site.test:${outside.port}/gone`), evidenceSha256: PAGE_SHA });
    expect(result).toMatchObject({ verdict: 'down', conclusive: true });
  });
});

describe('RDAP lookups in real mode', () => {
  it('do not follow a registry\'s redirect to loopback: only the RDAP service the operator named is reached', async () => {
    const dir = (await import('node:fs')).mkdtempSync(`${(await import('node:os')).tmpdir()}/takedown-guard-`);
    const store = new SqliteStore(`${dir}/db.sqlite`);
    const bootstrap = (services: unknown[]) => JSON.stringify({ version: '1.0', publication: new Date().toISOString(), services });
    const rdap = await serve('127.0.0.2', (req, res) => {
      const path = req.url ?? '/';
      if (path === '/bootstrap/ipv4.json') res.writeHead(200, { 'content-type': 'application/json' }).end(bootstrap([[['192.0.2.0/24'], [`http://127.0.0.2:${rdap.port}/rdap/`]]]));
      else if (path.startsWith('/bootstrap/')) res.writeHead(200, { 'content-type': 'application/json' }).end(bootstrap([]));
      else res.writeHead(302, { location: `http://127.0.0.1:${inside.port}/latest/meta-data/` }).end();
    });
    const parties = await startPartyResolver({ mode: 'real', dataDir: dir, store, bootstrap: `http://127.0.0.2:${rdap.port}/bootstrap/` });
    try {
      const [found] = await parties.resolver.resolve([indicator('192.0.2.10')]);
      expect(rdap.hits).toContain('/rdap/ip/192.0.2.10');
      expect(inside.hits).toEqual([]);
      expect(found?.hosting?.contactSource).not.toBe('rdap');
    } finally {
      await parties.close();
      await close(rdap);
      store.close();
      (await import('node:fs')).rmSync(dir, { recursive: true, force: true });
    }
  });
});
