import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseDirectory } from '../../lib/adapters/directory/directory.js';
import { bootstrapAgeWarning, loadBootstrap, readBootstrapDir, SHIPPED_BOOTSTRAP_DIR, type Bootstrap } from '../../lib/adapters/rdap/bootstrap.js';
import { RdapClient } from '../../lib/adapters/rdap/client.js';
import { StaticHostResolver } from '../../lib/adapters/rdap/dns.js';
import type { LocalRdapServer } from '../../lib/adapters/rdap/local-server.js';
import { RdapResolver, splitAtGaps, type RdapResolverOptions } from '../../lib/adapters/rdap/resolver.js';
import { parseSecurityTxt } from '../../lib/adapters/rdap/security-txt.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import type { Indicator } from '../../lib/core/model.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import type { Store } from '../../lib/core/ports.js';
import { runRdapBench } from '../../bench/rdap.js';
import { useDynalite } from '../support/dynalite.js';
import { canonicalize } from '../../lib/core/audit/jcs.js';
import { sha256Hex } from '../../lib/core/audit/sha256.js';
import { CORPUS_TLDS, corpusJson, startCorpusServer, writeRewrittenBootstrap } from '../support/rdap.js';

/*
 * The resolver against the real corpus answers served on loopback: one lookup per network, the fallbacks, the
 * overrides, and every kind of bad answer giving a reason on its own indicator while the others route.
 */

type Intercept = NonNullable<Parameters<typeof startCorpusServer>[0]>['intercept'];

let rdap: LocalRdapServer;
let intercept: Intercept | undefined;
let bootstrap: Bootstrap;
let securityServer: Server;
let securityUrl: string;
const securityFiles = new Map<string, string>();
const dirs: string[] = [];

function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'takedown-resolver-'));
  dirs.push(d);
  return d;
}

/** https://<domain>/<path> goes to the loopback server that plays every domain's web site. */
const securityFetch: typeof fetch = (input, init) => {
  const u = new URL(String(input));
  return fetch(`${securityUrl}${u.host}${u.pathname}`, init);
};

beforeAll(async () => {
  rdap = await startCorpusServer({ intercept: (req, res, q) => intercept?.(req, res, q) ?? false });
  bootstrap = readBootstrapDir(writeRewrittenBootstrap(tempDir(), rdap.url, CORPUS_TLDS));
  securityServer = createServer((req, res) => {
    const text = securityFiles.get((req.url ?? '').slice(1));
    if (text === undefined) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end(text);
  });
  await new Promise<void>((r) => securityServer.listen(0, '127.0.0.1', r));
  securityUrl = `http://127.0.0.1:${(securityServer.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await rdap?.close();
  securityServer?.closeAllConnections();
  await new Promise<void>((r) => securityServer.close(() => r()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

let store: SqliteStore;
beforeEach(() => {
  store = new SqliteStore(join(tempDir(), 'state.db'));
  intercept = undefined;
  securityFiles.clear();
  rdap.requests.length = 0;
});
afterEach(() => store.close());

function indicator(text: string, extra: Partial<Indicator> = {}): Indicator {
  const r = normaliseIndicator(text);
  if (!r.ok) throw new Error(r.reason);
  return { ...r.indicator, origin: 'test', ...extra };
}

function resolver(options: Partial<RdapResolverOptions> = {}, client = new RdapClient({ minIntervalMs: 0, timeoutMs: 2000 })): RdapResolver {
  return new RdapResolver({ store, rdap: { client, bootstrap }, securityTxt: { fetch: securityFetch, timeoutMs: 2000 }, ...options });
}

const ipQueries = () => rdap.requests.filter((p) => p.includes('/ip/'));

describe('RdapResolver', () => {
  it('routes an address to its network\'s RDAP abuse contact and says where the contact came from', async () => {
    const [found] = await resolver().resolve([indicator('62.239.237.1')]);
    const { evidence, ...party } = found!.hosting!;
    expect(party).toStrictEqual({
      id: 'hosting:62.239.237.0/24',
      kind: 'hosting',
      name: 'BT-CORPORATE',
      email: 'zzdnsr@bt.com',
      contactSource: 'rdap',
      matchedBy: '62.239.237.0/24',
      country: 'GB',
    });
    expect(found?.country).toBe('GB');
    expect(rdap.requests).toStrictEqual(['/rdap.db.ripe.net/ip/62.239.237.1']);
    // the answer the contact was read from, as evidence: its URL, and the hash of its canonical JSON
    expect(evidence!.url).toMatch(/\/rdap\.db\.ripe\.net\/ip\/62\.239\.237\.1$/);
    const served = (await (await fetch(evidence!.url)).json()) as unknown;
    expect(evidence!.sha256).toBe(sha256Hex(canonicalize(served)));
    // from the cache the same answer is cited, not a new fetch
    const asked = ipQueries().length;
    const [again] = await resolver().resolve([indicator('62.239.237.9')]);
    expect(again!.hosting!.evidence).toStrictEqual(evidence);
    expect(ipQueries()).toHaveLength(asked);
  });

  it('asks RDAP once per network however many of its addresses a campaign holds, and once again never while cached', async () => {
    const addresses = [
      ...Array.from({ length: 12 }, (_, i) => `62.239.237.${10 + i * 7}`),
      ...Array.from({ length: 12 }, (_, i) => `74.125.${i * 20}.${i + 1}`),
      ...Array.from({ length: 12 }, (_, i) => `196.11.${239 + (i % 8)}.${i * 9}`),
      ...Array.from({ length: 10 }, (_, i) => `2001:4860:${i.toString(16)}::${i + 1}`),
    ];
    const first = resolver({ concurrency: 4 });
    const found = await first.resolve(addresses.map((a) => indicator(a)));
    expect(found.map((f) => f.hosting?.email)).toStrictEqual([
      ...new Array(12).fill('zzdnsr@bt.com'),
      ...new Array(12).fill('arin-contact@google.com'),
      ...new Array(12).fill('abuse@mtnbusiness.co.za'),
      ...new Array(10).fill('arin-contact@google.com'),
    ]);
    expect(first.stats.networkLookups).toBe(4);
    expect(ipQueries()).toHaveLength(4);

    const second = resolver();
    await second.resolve(addresses.map((a) => indicator(a)));
    expect(second.stats.networkLookups).toBe(0);
    expect(ipQueries()).toHaveLength(4);
  });

  it('asks again once the cached network has expired', async () => {
    let now = Date.parse('2025-06-01T00:00:00Z');
    const r = resolver({ now: () => new Date(now), ttlSeconds: { network: 60 } });
    await r.resolve([indicator('62.239.237.1')]);
    now += 59_000;
    await r.resolve([indicator('62.239.237.2')]);
    expect(r.stats.networkLookups).toBe(1);
    now += 2_000;
    await r.resolve([indicator('62.239.237.3')]);
    expect(r.stats.networkLookups).toBe(2);
  });

  it('takes a domain\'s registrar, its abuse contact, phone and IANA id from RDAP', async () => {
    const [found] = await resolver().resolve([indicator('http://shop.home.moscow/pay')]);
    expect(found?.registrar).toStrictEqual({
      evidence: { url: expect.stringMatching(/\/domain\/home\.moscow$/), fetchedAt: expect.any(String), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
      id: 'registrar:iana:1606',
      kind: 'registrar',
      name: 'Limited Liability Company "Registrar of domain names REG.RU"',
      email: 'abuse@reg.ru',
      contactSource: 'rdap',
      matchedBy: 'home.moscow',
      phone: '+7 495 5801111',
    });
    expect(rdap.requests).toStrictEqual(['/flexireg.net/moscow/rdap/domain/home.moscow']);
  });

  it('finds the hosting network of a name through the host resolver', async () => {
    const dns = new StaticHostResolver({ 'login.home.moscow': ['62.239.237.40'] });
    const [found] = await resolver({ dns }).resolve([indicator('https://login.home.moscow/verify')]);
    expect(found?.hosting?.email).toBe('zzdnsr@bt.com');
    expect(found?.registrar?.email).toBe('abuse@reg.ru');
  });

  it('falls back to the security.txt of the operator\'s own domain when RDAP has no abuse contact', async () => {
    securityFiles.set('tespok.co.ke/.well-known/security.txt', 'Contact: https://tespok.example/report\nContact: mailto:security@tespok.co.ke\nExpires: 2099-01-01T00:00:00Z\n');
    const [found] = await resolver().resolve([indicator('2001:43f8:7b0::25')]);
    expect(found?.hosting).toMatchObject({ email: 'security@tespok.co.ke', contactSource: 'security.txt', id: 'hosting:2001:43f8:7b0::/48' });
    expect(found?.problems?.[0]?.reason).toContain('no abuse contact');
  });

  it('falls back to abuse@ the operator\'s domain when there is no security.txt either, and says it guessed', async () => {
    const [net, dom] = await resolver().resolve([indicator('2001:43f8:7b0::25'), indicator('lemonde.fr')]);
    expect(net?.hosting).toMatchObject({ email: 'abuse@tespok.co.ke', contactSource: 'abuse@' });
    expect(net?.problems?.filter((p) => p.party === 'hosting')).toStrictEqual([
      { party: 'hosting', reason: 'no abuse contact in the network\'s RDAP answer; no security.txt at tespok.co.ke: guessed abuse@tespok.co.ke (RFC 2142)' },
    ]);
    expect(dom?.registrar).toMatchObject({ id: 'registrar:iana:1251', name: 'NAMESHIELD', email: 'abuse@nameshield.net', contactSource: 'abuse@' });
  });

  it('never guesses a registry\'s mailbox for a network the registry only allocated (JPNIC block)', async () => {
    const [found] = await resolver().resolve([indicator('2001:240:10c:1::ca20:9d1d')]);
    expect(found?.hosting).toBeUndefined();
    expect(found?.problems?.[0]).toStrictEqual({ party: 'hosting', reason: 'no abuse contact in the network\'s RDAP answer' });
  });

  it('fetches an abuse entity the network gives only by its handle', async () => {
    const full = corpusJson('icann-rdap/network_192_198_0_0.json');
    const thin = { ...full, entities: [{ objectClassName: 'entity', handle: 'PETSI-ARIN', roles: ['abuse', 'technical'] }] };
    intercept = (_req, res, q) => {
      if (q.type !== 'ip') return false;
      res.writeHead(200, { 'content-type': 'application/rdap+json' }).end(JSON.stringify(thin));
      return true;
    };
    const r = resolver();
    const [found] = await r.resolve([indicator('192.198.2.2')]);
    expect(found?.hosting).toMatchObject({ email: 'daniel.petsinger@radiolinkinternet.com', contactSource: 'rdap' });
    expect(rdap.requests).toContain('/rdap.arin.net/registry/entity/PETSI-ARIN');
    expect(r.stats.entityLookups).toBe(1);
  });

  it('says which registrar handle could not be fetched when a registry gives only the handle', async () => {
    const [found] = await resolver().resolve([indicator('example.cz')]);
    expect(found?.registrar).toBeUndefined();
    expect(found?.problems?.[0]?.party).toBe('registrar');
    expect(found?.problems?.[0]?.reason).toMatch(/REG-INTERNET-CZ.*404/);
  });

  it('finds the upstream AS of a network from its origin AS, and says why when the AS has no answer', async () => {
    const [found] = await resolver().resolve([indicator('192.198.1.1')]);
    expect(found?.asn).toBe('AS53301');
    expect(found?.upstream).toBeUndefined();
    expect(found?.problems).toStrictEqual([{ party: 'upstream', reason: expect.stringContaining('404') }]);
  });

  it('lets the directory win over RDAP and a stored override win over both', async () => {
    const directory = parseDirectory(`
networks:
  - { cidr: 62.239.237.0/24, name: BT (directory), abuse: abuse@bt.example, country: GB }
certs:
  - { country: GB, name: GB CERT (example), abuse: incidents@cert-gb.example }
  - { country: ZA, name: ZA CERT (example), abuse: incidents@cert-za.example }
`);
    const r = resolver({ directory });
    const [bt, mtn] = await r.resolve([indicator('62.239.237.1'), indicator('196.11.240.1')]);
    expect(bt?.hosting).toMatchObject({ email: 'abuse@bt.example', contactSource: 'directory' });
    expect(bt?.cert?.email).toBe('incidents@cert-gb.example');
    // the country came from RDAP; the CERT from the directory
    expect(mtn?.cert).toMatchObject({ id: 'cert:ZA', email: 'incidents@cert-za.example' });

    await store.putContactOverride({ target: '62.239.237.0/25', targetKind: 'network', email: 'abuse-desk@bt.example', by: 'lead', at: '2025-06-01T00:00:00Z' });
    await store.putContactOverride({ target: 'hosting:196.11.239.0-196.11.246.255', targetKind: 'party', email: 'abuse@mtn.example', by: 'lead', at: '2025-06-01T00:00:00Z' });
    const [bt2, btOther, mtn2] = await r.resolve([indicator('62.239.237.1'), indicator('62.239.237.200'), indicator('196.11.240.1')]);
    expect(bt2?.hosting).toMatchObject({ id: 'hosting:62.239.237.0/25', email: 'abuse-desk@bt.example', contactSource: 'override', name: 'BT (directory)' });
    expect(btOther?.hosting?.contactSource).toBe('directory');
    expect(mtn2?.hosting).toMatchObject({ email: 'abuse@mtn.example', contactSource: 'override', name: 'ORG-VSA1-AFRINIC' });
  });

  it('gives every bad answer a reason on its own indicator while the rest of the campaign routes', async () => {
    let refused = 0;
    intercept = (_req, res, q) => {
      const send = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/rdap+json', ...headers }).end(body);
        return true;
      };
      if (q.value === '62.1.1.1') return send(429, '{}', { 'retry-after': '120' });
      if (q.value === '62.2.2.2') return send(200, '{"objectClassName": "ip network", "startAddress": ');
      if (q.value === '62.3.3.3') return true; // never answers
      // two servers referring to each other
      if (q.value === '62.4.4.4' && _req.url?.startsWith('/rdap.db.ripe.net/')) return send(302, '', { location: '/other.example/ip/62.4.4.4' });
      if (q.value === '62.4.4.4') return send(307, '', { location: '/rdap.db.ripe.net/ip/62.4.4.4' });
      if (q.value === '62.239.237.9' && refused++ === 0) return send(429, '{}', { 'retry-after': '1' });
      if (q.value === '62.239.237.9' && _req.url?.startsWith('/rdap.db.ripe.net/')) return send(301, '', { location: '/referral/ip/62.239.237.9' });
      return false;
    };
    const client = new RdapClient({ minIntervalMs: 0, timeoutMs: 300, retries: 2 });
    const started = Date.now();
    const found = await resolver({ concurrency: 8 }, client).resolve(
      ['62.1.1.1', '62.2.2.2', '62.3.3.3', '62.4.4.4', '62.5.5.5', '62.239.237.9', '210.107.73.73'].map((a) => indicator(a)),
    );
    const reasons = found.map((f) => f.problems?.find((p) => p.party === 'hosting')?.reason);
    expect(reasons[0]).toMatch(/answered 429 \(rate limited\) and asks to wait 120 s/);
    expect(reasons[1]).toMatch(/malformed JSON/);
    expect(reasons[2]).toMatch(/did not answer within 0.3 s/);
    expect(reasons[3]).toMatch(/redirect loop/);
    expect(reasons[4]).toMatch(/404/);
    // rate limited once, waited the second it was asked to, then followed a referral to the answer
    expect(found[5]?.hosting?.email).toBe('zzdnsr@bt.com');
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(found[6]?.hosting?.email).toBe('abuse@bora.net');
    expect(found.every((f) => f.hosting || f.problems?.length)).toBe(true);
  });

  it('stops asking a server that keeps timing out, so the rest of a campaign does not wait on it', async () => {
    intercept = (_req, _res, q) => q.type === 'ip' && q.value.startsWith('62.');
    const client = new RdapClient({ minIntervalMs: 0, timeoutMs: 200, breakerThreshold: 3, breakerCooldownMs: 60_000 });
    const addresses = Array.from({ length: 12 }, (_, i) => indicator(`62.${i + 1}.0.1`));
    const started = Date.now();
    const found = await resolver({ concurrency: 1 }, client).resolve(addresses);
    const reasons = found.map((f) => f.problems?.[0]?.reason ?? '');
    expect(reasons.filter((r) => r.includes('did not answer within 0.2 s'))).toHaveLength(3);
    expect(reasons.filter((r) => r.includes('failed 3 times in a row; not asked again until'))).toHaveLength(9);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(rdap.requests.filter((p) => p.includes('/ip/62.'))).toHaveLength(3);
  });

  it('spaces its requests to one server by the rate limit', async () => {
    const arrivals: number[] = [];
    intercept = () => {
      arrivals.push(Date.now());
      return false;
    };
    const client = new RdapClient({ minIntervalMs: 80, perServerConcurrency: 4 });
    const started = Date.now();
    await Promise.all(['62.1.0.1', '62.2.0.1', '62.3.0.1', '62.4.0.1', '62.5.0.1'].map((a) => client.get(`${rdap.url}rdap.db.ripe.net/ip/${a}`).catch(() => undefined)));
    // the fifth may leave no sooner than four intervals after the first (a loaded machine only delays it more)
    expect(arrivals).toHaveLength(5);
    expect(arrivals[4]! - started).toBeGreaterThanOrEqual(4 * 80 - 5);
    const unlimited = new RdapClient({ minIntervalMs: 0 });
    const again = Date.now();
    await Promise.all(['62.1.0.1', '62.2.0.1', '62.3.0.1', '62.4.0.1', '62.5.0.1'].map((a) => unlimited.get(`${rdap.url}rdap.db.ripe.net/ip/${a}`).catch(() => undefined)));
    expect(Date.now() - again).toBeLessThan(4 * 80);
  });

  it('asks no registry about private, loopback or multicast addresses, and says why', async () => {
    const found = await resolver().resolve([indicator('10.1.2.3'), indicator('fd00::1'), indicator('100.64.0.9')]);
    expect(found.map((f) => f.problems?.[0]?.reason)).toStrictEqual([
      'RDAP: private address space (RFC 1918): no registry holds it, so there is no RDAP answer to ask for',
      'RDAP: unique local addresses (RFC 4193): no registry holds it, so there is no RDAP answer to ask for',
      'RDAP: shared carrier-grade NAT space (RFC 6598): no registry holds it, so there is no RDAP answer to ask for',
    ]);
    expect(rdap.requests).toStrictEqual([]);
  });

  it('says there is no server when the bootstrap data has none for a TLD', async () => {
    const shipped = readBootstrapDir(SHIPPED_BOOTSTRAP_DIR);
    const r = new RdapResolver({ store, rdap: { client: new RdapClient(), bootstrap: shipped }, securityTxt: false });
    const [found] = await r.resolve([indicator('lemonde.fr')]);
    expect(found?.problems?.[0]?.reason).toMatch(/no RDAP server for \.fr in the bootstrap data/);
    expect(rdap.requests).toStrictEqual([]);
  });
});

describe('RdapResolver on the DynamoDB store', () => {
  const dynalite = useDynalite();
  let ddb: Store & { close(): void };
  beforeAll(async () => {
    ddb = (await dynalite.freshTable('takedown-resolver')).store;
  });

  it('asks once per network and serves a second resolver from the table', async () => {
    const addresses = Array.from({ length: 10 }, (_, i) => indicator(`74.125.${i}.${i + 1}`));
    const first = new RdapResolver({ store: ddb, rdap: { client: new RdapClient({ minIntervalMs: 0 }), bootstrap }, securityTxt: false });
    const found = await first.resolve(addresses);
    expect(new Set(found.map((f) => f.hosting?.email))).toStrictEqual(new Set(['arin-contact@google.com']));
    expect(first.stats.networkLookups).toBe(1);
    const second = new RdapResolver({ store: ddb, rdap: { client: new RdapClient({ minIntervalMs: 0 }), bootstrap }, securityTxt: false });
    await second.resolve(addresses);
    expect(second.stats.networkLookups).toBe(0);
    expect(second.stats.storeHits).toBeGreaterThan(0);
  });
});

describe('the resolution benchmark', () => {
  it('makes one RDAP lookup per network for a campaign with at least 10 indicators in each, of varied prefix lengths', async () => {
    const figures = await runRdapBench({ indicators: 2000, seed: 3 });
    expect(figures.minPerNetwork).toBeGreaterThanOrEqual(10);
    expect(figures.networks.total).toBeGreaterThan(100);
    expect(figures.networkLookups).toBe(figures.networks.total);
    expect(figures.cachedLookups).toBe(0);
  });
});

describe('the RDAP bootstrap', () => {
  it('sends each address, AS number and TLD to its registry from the shipped snapshot', () => {
    const shipped = readBootstrapDir(SHIPPED_BOOTSTRAP_DIR);
    expect(shipped.serversForAddress('62.239.237.1')[0]).toBe('https://rdap.db.ripe.net/');
    expect(shipped.serversForAddress('196.11.240.215')[0]).toBe('https://rdap.afrinic.net/rdap/');
    expect(shipped.serversForAddress('2001:43f8:7b0::')[0]).toBe('https://rdap.afrinic.net/rdap/');
    expect(shipped.serversForAddress('2801:10:c000::')[0]).toBe('https://rdap.lacnic.net/rdap/');
    expect(shipped.serversForAsn(16509)[0]).toBe('https://rdap.arin.net/registry/');
    expect(shipped.serversForDomain('www.example.cz')[0]).toBe('https://rdap.nic.cz/');
    expect(shipped.serversForDomain('lemonde.fr')).toStrictEqual([]);
  });

  it('warns that the shipped snapshot is old, and not about fresh data', async () => {
    const shipped = readBootstrapDir(SHIPPED_BOOTSTRAP_DIR);
    expect(shipped.publications.ipv4).toBe('2015-08-11T00:09:31Z');
    expect(bootstrapAgeWarning(shipped, new Date('2025-06-01T00:00:00Z'))).toMatch(/published 2015-08-11 .*takedown rdap bootstrap refresh/);
    const local = await loadBootstrap(rdap.bootstrapUrl);
    expect(bootstrapAgeWarning(local, new Date())).toBeUndefined();
    expect(local.serversForAddress('62.239.237.1')).toStrictEqual([rdap.url]);
  });
});

describe('splitAtGaps', () => {
  it('cuts sorted addresses into runs of about equal length at /16 block boundaries, never inside a block', () => {
    const a = ['10.0.0.1', '10.0.200.2', '10.1.9.1', '10.1.9.2', '10.7.0.1', '10.7.0.2', '10.9.0.1', '10.9.0.5'];
    expect(splitAtGaps(a, 4)).toStrictEqual([['10.0.0.1', '10.0.200.2'], ['10.1.9.1', '10.1.9.2'], ['10.7.0.1', '10.7.0.2'], ['10.9.0.1', '10.9.0.5']]);
    expect(splitAtGaps(a, 3)).toStrictEqual([['10.0.0.1', '10.0.200.2'], ['10.1.9.1', '10.1.9.2', '10.7.0.1', '10.7.0.2'], ['10.9.0.1', '10.9.0.5']]);
    expect(splitAtGaps(['74.125.0.1', '74.125.90.1', '74.125.250.1'], 8)).toStrictEqual([['74.125.0.1', '74.125.90.1', '74.125.250.1']]);
  });
});

describe('parseSecurityTxt', () => {
  const now = new Date('2025-06-01T00:00:00Z');

  it('reads the mailto contacts in order, inside a signed frame too', () => {
    const signed = '-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nContact: mailto:abuse@host.example\nContact: tel:+1-201-555-0123\nContact: mailto:security@host.example\nExpires: 2030-01-01T00:00:00Z\n-----BEGIN PGP SIGNATURE-----\n';
    expect(parseSecurityTxt(signed, now)).toStrictEqual({ emails: ['abuse@host.example', 'security@host.example'], expires: '2030-01-01T00:00:00Z', expired: false });
  });

  it('gives no mailbox from an expired file', () => {
    expect(parseSecurityTxt('Contact: mailto:abuse@host.example\nExpires: 2020-01-01T00:00:00Z\n', now)).toMatchObject({ emails: [], expired: true });
  });
});
