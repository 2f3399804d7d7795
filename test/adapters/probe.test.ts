import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROWSER_USER_AGENT, createProber, type ProberOptions } from '../../lib/adapters/probe/prober.js';
import type { Indicator } from '../../lib/core/model.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import { probeStatus, ProbeResultSchema } from '../../lib/core/verify/probe.js';
import { startConnectProxy, type ConnectProxy } from '../support/connect-proxy.js';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';

/*
 * The real prober against servers this file starts on 127.0.0.1: a web server with the pages a takedown meets
 * (live, redirected, parked, suspended, gone, failing), TCP listeners that close, a server that accepts and never
 * answers, a DNS stub and a CONNECT proxy. Nothing leaves loopback: every name is answered by the stub.
 */

const KIT_PAGE = '<html><head><title>Sign in to your bank</title></head><body><form>password</form></body></html>';
const KIT_SHA = createHash('sha256').update(KIT_PAGE).digest('hex');

interface Arrival {
  readonly path: string;
  readonly host: string;
  readonly userAgent: string;
  /** the server's own clock, at arrival */
  readonly at: number;
}

let web: Server;
let webPort: number;
const arrivals: Arrival[] = [];
let dns: DnsStub;
const sockets = new Set<Socket>();

function route(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://x');
  arrivals.push({ path: `${url.pathname}${url.search}`, host: req.headers.host ?? '', userAgent: req.headers['user-agent'] ?? '', at: performance.now() });
  const html = (status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', ...headers }).end(body);
  };
  switch (url.pathname) {
    case '/kit':
      return html(200, KIT_PAGE);
    case '/changed':
      return html(200, `${KIT_PAGE}<!-- rotated ${Date.now()} -->`);
    case '/hop1':
      return html(302, '', { location: '/hop2' });
    case '/hop2':
      return html(301, '', { location: `http://${req.headers.host}/kit` });
    case '/loop':
      return html(302, '', { location: '/loop' });
    case '/parked':
      return html(200, '<html><body><h1>shop.test</h1><p>This domain may be for sale!</p><script src="//www.example.test/ads.js"></script></body></html>');
    case '/lander':
      return html(200, '<html><body><script src="https://img.sedoparking.com/templates/js/lander.js"></script></body></html>');
    case '/suspended':
      return html(302, '', { location: '/cgi-sys/suspendedpage.cgi' });
    case '/cgi-sys/suspendedpage.cgi':
      return html(200, '<html><head><title>Account Suspended</title></head><body>This Account has been suspended.</body></html>');
    case '/gone':
      return html(404, 'not found');
    case '/removed':
      return html(410, 'gone');
    case '/failing':
      return html(503, 'try later');
    case '/gzip':
      res.writeHead(200, { 'content-type': 'text/html', 'content-encoding': 'gzip' }).end(gzipSync(KIT_PAGE));
      return;
    case '/big':
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(Buffer.alloc(3 * 1024 * 1024, 7));
      return;
    default:
      return html(404, 'no such page');
  }
}

async function listen(server: Server | NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

async function closeServer(server: Server | NetServer): Promise<void> {
  if ('closeAllConnections' in server) server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

/** A port that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const s = createNetServer();
  const port = await listen(s);
  await closeServer(s);
  return port;
}

function indicator(raw: string): Indicator {
  const r = normaliseIndicator(raw);
  if (!r.ok) throw new Error(`test indicator ${raw}: ${r.reason}`);
  return { ...r.indicator, origin: 'test' };
}

const FIXED = new Date('2026-03-01T12:00:00.000Z');

function prober(options: ProberOptions = {}) {
  // every fixture is on loopback, where probes go only when told
  return createProber({ dnsServers: [dns.server], perHostIntervalMs: 0, timeoutMs: 2000, now: () => FIXED, allowAddresses: ['127.0.0.0/8', '::1'], ...options });
}

beforeAll(async () => {
  web = createServer(route);
  web.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  webPort = await listen(web);
  dns = await startDnsStub({
    'shop.test': { A: ['127.0.0.1'] },
    'a.test': { A: ['127.0.0.1'] },
    'b.test': { A: ['127.0.0.1'] },
    'dual.test': { A: ['127.0.0.1'], AAAA: ['::1'] },
    'v6only.test': { AAAA: ['2001:db8::7'] },
    'nodata.test': {},
    'sunk.test': { A: ['198.51.100.7'] },
    'partly-sunk.test': { A: ['198.51.100.7', '127.0.0.1'] },
    'seized.test': { A: ['0.0.0.0'] },
  });
});

afterAll(async () => {
  await closeServer(web);
  await dns.close();
});

describe('the DNS probe of a domain', () => {
  it('finds a domain live when it resolves, with its addresses', async () => {
    const result = await prober().probe({ indicator: indicator('dual.test') });
    expect(result).toMatchObject({ method: 'dns', target: 'dual.test', verdict: 'live', live: true, conclusive: true, attempts: 1, at: FIXED.toISOString() });
    expect(result.evidence.addresses).toEqual(['127.0.0.1', '::1']);
    expect(dns.queries).toEqual(expect.arrayContaining(['dual.test A', 'dual.test AAAA']));
    expect(() => ProbeResultSchema.parse(result)).not.toThrow();
  });

  it('finds a domain live when it has only an IPv6 address', async () => {
    const result = await prober().probe({ indicator: indicator('v6only.test') });
    expect(result.verdict).toBe('live');
    expect(result.evidence.addresses).toEqual(['2001:db8::7']);
  });

  it('reads NXDOMAIN as down, without retrying an answer', async () => {
    const result = await prober().probe({ indicator: indicator('unknown.test') });
    expect(result).toMatchObject({ verdict: 'nxdomain', live: false, conclusive: true, attempts: 1 });
    expect(result.evidence.error).toBe('ENOTFOUND');
    expect(probeStatus(result)).toBe('down');
  });

  it('reads a name without address records (NODATA) as down', async () => {
    const result = await prober().probe({ indicator: indicator('nodata.test') });
    expect(result).toMatchObject({ verdict: 'nxdomain', live: false, conclusive: true });
    expect(result.detail).toContain('NODATA');
  });

  it('reads a name pointed only at a configured sinkhole as down', async () => {
    const result = await prober({ sinkholes: ['198.51.100.0/24'] }).probe({ indicator: indicator('sunk.test') });
    expect(result).toMatchObject({ verdict: 'sinkholed', live: false, conclusive: true });
    expect(result.evidence.addresses).toEqual(['198.51.100.7']);
  });

  it('keeps a name live while one of its addresses is not a sinkhole', async () => {
    const result = await prober({ sinkholes: ['198.51.100.0/24'] }).probe({ indicator: indicator('partly-sunk.test') });
    expect(result.verdict).toBe('live');
  });

  it('reads the default list: a name pointed at 0.0.0.0 is sinkholed', async () => {
    const result = await prober().probe({ indicator: indicator('seized.test') });
    expect(result.verdict).toBe('sinkholed');
  });

  it('treats SERVFAIL as no evidence and retries it once', async () => {
    dns.fail('flaky.test');
    const result = await prober().probe({ indicator: indicator('flaky.test') });
    expect(result).toMatchObject({ verdict: 'error', live: false, conclusive: false, attempts: 2 });
    expect(result.evidence.error).toBe('ESERVFAIL');
    expect(probeStatus(result)).toBe('unknown');
    expect(dns.queries.filter((q) => q === 'flaky.test A')).toHaveLength(2);
  });

  it('follows a domain from live to gone when its records are removed', async () => {
    dns.set('revoked.test', { A: ['127.0.0.1'] });
    const p = prober();
    expect((await p.probe({ indicator: indicator('revoked.test') })).verdict).toBe('live');
    dns.remove('revoked.test');
    expect((await p.probe({ indicator: indicator('revoked.test') })).verdict).toBe('nxdomain');
  });
});

describe('the TCP probe of an address', () => {
  it('finds a listener live, then refused once it is closed', async () => {
    const listener = createNetServer((s) => s.destroy());
    const port = await listen(listener);
    const p = prober();
    const live = await p.probe({ indicator: indicator(`127.0.0.1:${port}`) });
    expect(live).toMatchObject({ method: 'tcp', target: `127.0.0.1:${port}`, verdict: 'live', live: true, conclusive: true });
    expect(live.evidence.openPorts).toEqual([port]);

    await closeServer(listener);
    const gone = await p.probe({ indicator: indicator(`127.0.0.1:${port}`) });
    expect(gone).toMatchObject({ verdict: 'refused', live: false, conclusive: true, attempts: 2 });
    expect(gone.evidence.error).toBe('ECONNREFUSED');
    expect(probeStatus(gone)).toBe('down');
  });

  it('probes an ftp URL by connecting to its host and port', async () => {
    const listener = createNetServer((s) => s.destroy());
    const port = await listen(listener);
    try {
      const result = await prober().probe({ indicator: indicator(`ftp://shop.test:${port}/drop/payload.bin`) });
      expect(result).toMatchObject({ method: 'tcp', target: `shop.test:${port}`, verdict: 'live' });
      expect(result.evidence.addresses).toEqual(['127.0.0.1']);
    } finally {
      await closeServer(listener);
    }
  });
});

describe('the HTTP probe of a URL', () => {
  it('finds a served page live, then refused once the server is gone', async () => {
    const server = createServer((_req, res) => res.writeHead(200).end(KIT_PAGE));
    const port = await listen(server);
    const p = prober({ retries: 0 });
    const live = await p.probe({ indicator: indicator(`http://127.0.0.1:${port}/login.php`), evidenceSha256: KIT_SHA });
    expect(live).toMatchObject({ method: 'http', verdict: 'live', live: true, conclusive: true });
    expect(live.evidence).toMatchObject({ status: 200, matchesEvidence: true, bodySha256: KIT_SHA, bodyBytes: KIT_PAGE.length });

    await closeServer(server);
    const down = await p.probe({ indicator: indicator(`http://127.0.0.1:${port}/login.php`) });
    expect(down).toMatchObject({ verdict: 'refused', live: false, conclusive: true, attempts: 1 });
    expect(down.evidence).toMatchObject({ error: 'ECONNREFUSED', phase: 'connect' });
  });

  it('follows a redirect chain and records the final URL and status', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/hop1`), evidenceSha256: KIT_SHA });
    expect(result).toMatchObject({ verdict: 'live', live: true });
    expect(result.evidence).toMatchObject({ status: 200, redirects: 2, finalUrl: `http://shop.test:${webPort}/kit`, matchesEvidence: true });
    expect(result.detail).toBe(`HTTP 200 after 2 redirects at http://shop.test:${webPort}/kit, body sha256 matches the evidence`);
  });

  it('stops following redirects at the limit and calls that no evidence', async () => {
    const result = await prober({ maxRedirects: 3 }).probe({ indicator: indicator(`http://shop.test:${webPort}/loop`) });
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
    expect(result.evidence).toMatchObject({ status: 302, redirects: 3 });
  });

  it('says when the body differs from the evidence, and keeps the page live', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/changed`), evidenceSha256: KIT_SHA });
    expect(result).toMatchObject({ verdict: 'live', live: true });
    expect(result.evidence.matchesEvidence).toBe(false);
    expect(result.detail).toContain('differs from the evidence');
  });

  it('hashes the page itself when the server compresses it anyway', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/gzip`), evidenceSha256: KIT_SHA });
    expect(result.evidence).toMatchObject({ matchesEvidence: true, bodyBytes: KIT_PAGE.length });
  });

  it('reads at most the body cap and does not compare a cut body', async () => {
    const result = await prober({ maxBodyBytes: 64 * 1024 }).probe({ indicator: indicator(`http://shop.test:${webPort}/big`), evidenceSha256: KIT_SHA });
    expect(result.verdict).toBe('live');
    expect(result.evidence).toMatchObject({ bodyBytes: 64 * 1024, bodyTruncated: true });
    expect(result.evidence.matchesEvidence).toBeUndefined();
    expect(result.evidence.bodySha256).toBe(createHash('sha256').update(Buffer.alloc(64 * 1024, 7)).digest('hex'));
  });

  it('reads a for-sale page as parked', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/parked`) });
    expect(result).toMatchObject({ verdict: 'parked', live: false, conclusive: true });
    expect(result.evidence.parkedBy).toBe('"this domain may be for sale"');
  });

  it('reads a page loading a parking service as parked', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/lander`) });
    expect(result.evidence.parkedBy).toBe('loads from sedoparking.com');
  });

  it("reads a redirect to cPanel's suspended page as parked", async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/suspended`) });
    expect(result).toMatchObject({ verdict: 'parked', live: false });
    expect(result.evidence.parkedBy).toBe('redirected to suspendedpage.cgi');
  });

  it('reads 404 and 410 as down', async () => {
    const p = prober();
    for (const path of ['/gone', '/removed']) {
      const result = await p.probe({ indicator: indicator(`http://shop.test:${webPort}${path}`) });
      expect(result).toMatchObject({ verdict: 'down', live: false, conclusive: true, attempts: 1 });
    }
  });

  it('reads a failing server as no evidence, after retrying', async () => {
    const result = await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/failing`) });
    expect(result).toMatchObject({ verdict: 'error', live: false, conclusive: false, attempts: 2 });
    expect(result.evidence.status).toBe(503);
  });

  it('reads a URL whose host does not resolve as down', async () => {
    const result = await prober().probe({ indicator: indicator(`http://unknown-shop.test:${webPort}/kit`) });
    expect(result).toMatchObject({ method: 'http', verdict: 'nxdomain', live: false, conclusive: true });
  });

  it('times out against a server that accepts and never answers, and calls that no evidence', async () => {
    const silent = createNetServer((s) => {
      sockets.add(s);
      s.on('error', () => {});
    });
    const port = await listen(silent);
    try {
      const result = await prober({ timeoutMs: 200, retries: 0 }).probe({ indicator: indicator(`http://127.0.0.1:${port}/`) });
      expect(result).toMatchObject({ verdict: 'timeout', live: false, conclusive: false, attempts: 1 });
      expect(result.evidence.phase).toBe('response');
    } finally {
      for (const s of sockets) s.destroy();
      await closeServer(silent);
    }
  });

  it('sends a browser\'s User-Agent by default, the tool\'s own with its contact URL when told to identify, or the configured one', async () => {
    await prober().probe({ indicator: indicator(`http://shop.test:${webPort}/kit?ua=default`) });
    await prober({ identify: true, contactUrl: 'https://cert.example/probes' }).probe({ indicator: indicator(`http://shop.test:${webPort}/kit?ua=identify`) });
    await prober({ userAgent: 'ExampleCERT-verify/2.0' }).probe({ indicator: indicator(`http://shop.test:${webPort}/kit?ua=custom`) });
    const sent = arrivals.find((a) => a.path === '/kit?ua=default')?.userAgent;
    expect(sent).toBe(BROWSER_USER_AGENT);
    expect(sent).not.toMatch(/takedown|probe|verif/i);
    expect(arrivals.find((a) => a.path === '/kit?ua=identify')?.userAgent).toBe('takedown-orchestrator-probe (takedown verification; +https://cert.example/probes)');
    expect(arrivals.find((a) => a.path === '/kit?ua=custom')?.userAgent).toBe('ExampleCERT-verify/2.0');
  });
});

describe('the HTTPS probe', () => {
  let tlsServer: import('node:https').Server;
  let tlsPort: number;

  beforeAll(async () => {
    const { createServer: createHttpsServer } = await import('node:https');
    tlsServer = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (req, res) => res.writeHead(200, { 'x-host': req.headers.host ?? '' }).end(KIT_PAGE));
    tlsPort = await listen(tlsServer);
  });

  afterAll(async () => {
    await closeServer(tlsServer);
  });

  it('reads a page served with a certificate nobody vouches for, and says so', async () => {
    const result = await prober().probe({ indicator: indicator(`https://shop.test:${tlsPort}/kit`), evidenceSha256: KIT_SHA });
    expect(result).toMatchObject({ verdict: 'live', live: true });
    expect(result.evidence).toMatchObject({ status: 200, matchesEvidence: true, tlsAuthorized: false });
  });
});

describe('the per-host spacing', () => {
  it('spaces the probes of one host by the interval without holding up another host', async () => {
    const p = prober({ perHostIntervalMs: 300 });
    const [first, second, other] = await Promise.all([
      p.probe({ indicator: indicator(`http://a.test:${webPort}/kit?spacing=1`) }),
      p.probe({ indicator: indicator(`http://a.test:${webPort}/kit?spacing=2`) }),
      p.probe({ indicator: indicator(`http://b.test:${webPort}/kit?spacing=3`) }),
    ]);
    expect([first.verdict, second.verdict, other.verdict]).toEqual(['live', 'live', 'live']);
    const at = (q: string) => arrivals.find((a) => a.path === `/kit?spacing=${q}`)!;
    expect(at('1').host).toBe(`a.test:${webPort}`);
    // the server's own arrival times: the second probe of a.test came at least the interval after the first
    expect(at('2').at - at('1').at).toBeGreaterThanOrEqual(300);
    // b.test did not wait for a.test's turn
    expect(at('3').at).toBeLessThan(at('2').at);
  });
});

describe('probes through the egress proxy', () => {
  let proxy: ConnectProxy;

  beforeAll(async () => {
    proxy = await startConnectProxy({ resolve: (host) => (host.endsWith('.test') ? '127.0.0.1' : undefined) });
  });

  afterAll(async () => {
    await proxy.close();
  });

  it('sends a plain HTTP probe to the proxy in absolute form, naming the host, not its address', async () => {
    const result = await prober({ proxy: proxy.url }).probe({ indicator: indicator(`http://shop.test:${webPort}/kit?via=proxy`), evidenceSha256: KIT_SHA });
    expect(result).toMatchObject({ verdict: 'live', live: true });
    expect(result.evidence).toMatchObject({ viaProxy: true, matchesEvidence: true });
    expect(proxy.requests).toContainEqual(expect.objectContaining({ method: 'GET', target: `http://shop.test:${webPort}/kit?via=proxy`, connected: true }));
    expect(arrivals.find((a) => a.path === '/kit?via=proxy')?.host).toBe(`shop.test:${webPort}`);
  });

  it('tunnels a TCP probe with CONNECT, and reads the refusal the proxy reports', async () => {
    const listener = createNetServer((s) => s.destroy());
    const port = await listen(listener);
    const p = prober({ proxy: proxy.url, retries: 0 });
    const live = await p.probe({ indicator: indicator(`127.0.0.1:${port}`) });
    expect(live).toMatchObject({ verdict: 'live', evidence: expect.objectContaining({ viaProxy: true }) });
    expect(proxy.requests).toContainEqual(expect.objectContaining({ method: 'CONNECT', target: `127.0.0.1:${port}`, connected: true }));

    await closeServer(listener);
    const gone = await p.probe({ indicator: indicator(`127.0.0.1:${port}`) });
    expect(gone).toMatchObject({ verdict: 'refused', live: false, conclusive: true });
    expect(gone.evidence.error).toBe('proxy:connection_refused');
    expect(gone.detail).toContain('as the proxy reports');
  });

  it('reads a refusal the proxy reports for a plain HTTP probe', async () => {
    const port = await closedPort();
    const result = await prober({ proxy: proxy.url, retries: 0 }).probe({ indicator: indicator(`http://shop.test:${port}/kit`) });
    expect(result).toMatchObject({ verdict: 'refused', conclusive: true });
    expect(result.evidence.error).toBe('proxy:connection_refused');
  });

  it('tunnels an HTTPS probe with CONNECT to the name, and speaks TLS through the tunnel', async () => {
    const { createServer: createHttpsServer } = await import('node:https');
    const tlsServer = createHttpsServer({ key: TEST_KEY, cert: TEST_CERT }, (_req, res) => res.writeHead(200).end(KIT_PAGE));
    const port = await listen(tlsServer);
    try {
      const result = await prober({ proxy: proxy.url }).probe({ indicator: indicator(`https://shop.test:${port}/kit`), evidenceSha256: KIT_SHA });
      expect(result).toMatchObject({ verdict: 'live', evidence: expect.objectContaining({ viaProxy: true, matchesEvidence: true }) });
      expect(proxy.requests).toContainEqual(expect.objectContaining({ method: 'CONNECT', target: `shop.test:${port}`, userAgent: BROWSER_USER_AGENT }));
    } finally {
      await closeServer(tlsServer);
    }
  });

  it('passes the proxy credentials of the proxy URL and says nothing about the target when the proxy is unreachable', async () => {
    const port = await closedPort();
    const authed = new URL(proxy.url);
    authed.username = 'probe';
    authed.password = 's3cret';
    await prober({ proxy: authed.href }).probe({ indicator: indicator(`http://shop.test:${webPort}/kit?via=auth`) });
    expect(proxy.requests.find((r) => r.target.endsWith('/kit?via=auth'))?.proxyAuthorization).toBe(`Basic ${Buffer.from('probe:s3cret').toString('base64')}`);

    const result = await prober({ proxy: `http://127.0.0.1:${port}`, retries: 0 }).probe({ indicator: indicator(`http://shop.test:${webPort}/kit`) });
    expect(result).toMatchObject({ verdict: 'error', conclusive: false });
    expect(result.evidence.phase).toBe('proxy');
  });
});

// A throwaway self-signed certificate for shop.test (EC P-256), made for these tests only; it protects nothing.
const TEST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8Nxg33OnSakcTuGV
MbQPkyjBfSJVqrkYzpM1NexPd+yhRANCAAS3tlb90iHJXvb01NW6Obyc3gFeunmi
RCPfrVy9DOMP2u66HzhzmdQiUdBQK6Ym2U8qe0pbyOOx+JJHc4bXYTXF
-----END PRIVATE KEY-----
`;
const TEST_CERT = `-----BEGIN CERTIFICATE-----
MIIBlTCCATugAwIBAgIUOxjcwMZK1zg92KjA++PkzNkcAkIwCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJc2hvcC50ZXN0MCAXDTI2MTEyODEzMjIxMloYDzIxMjYxMTA0
MTMyMjEyWjAUMRIwEAYDVQQDDAlzaG9wLnRlc3QwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAS3tlb90iHJXvb01NW6Obyc3gFeunmiRCPfrVy9DOMP2u66HzhzmdQi
UdBQK6Ym2U8qe0pbyOOx+JJHc4bXYTXFo2kwZzAdBgNVHQ4EFgQUpZCzdsUC/6cD
ADUWb+A6AY2VUvEwHwYDVR0jBBgwFoAUpZCzdsUC/6cDADUWb+A6AY2VUvEwDwYD
VR0TAQH/BAUwAwEB/zAUBgNVHREEDTALgglzaG9wLnRlc3QwCgYIKoZIzj0EAwID
SAAwRQIhALhrLagxlZdWo+40FAcn5Up4V43SziMIRVbnzLA3dYRxAiAJhZOdSueF
lnCAZJGGRpibB7bI0WjWuodqCvyytNG4nw==
-----END CERTIFICATE-----
`;
