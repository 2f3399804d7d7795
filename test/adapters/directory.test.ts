import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryResolver, loadDirectory, parseDirectory } from '../../lib/adapters/directory/directory.js';
import { InvalidInputError } from '../../lib/core/errors.js';
import type { Indicator } from '../../lib/core/model.js';
import { parseIndicators } from '../../lib/core/intake/intake.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';

const DIRECTORY = `
networks:
  - { cidr: 192.0.2.0/24, name: Wide Hosting, abuse: abuse@wide.example, country: KE }
  - { cidr: 192.0.2.128/25, name: Half Hosting, abuse: abuse@half.example, country: NG }
  - { cidr: 192.0.2.192/27, name: Small Hosting, abuse: abuse@small.example }
  - { cidr: "2001:0db8::/32", name: V6 Wide, abuse: abuse@v6wide.example, country: GH }
  - { cidr: "2001:db8:100::/48", name: V6 Narrow, abuse: abuse@v6narrow.example, country: ZA }
registrars:
  - { suffix: example, name: Example Registrar, abuse: abuse@registrar.example }
  - { suffix: .Shop.Example, name: Shop Registrar, abuse: abuse@shop.example }
certs:
  - { country: ke, name: KE CERT, abuse: incidents@cert-ke.example }
  - { country: NG, name: NG CERT, abuse: incidents@cert-ng.example }
  - { country: ZA, name: ZA CERT, abuse: incidents@cert-za.example }
`;

function indicator(raw: string, country?: string): Indicator {
  const result = normaliseIndicator(raw);
  if (!result.ok) throw new Error(result.reason);
  return { ...result.indicator, origin: 'test', ...(country ? { country } : {}) };
}

async function resolveOne(resolver: DirectoryResolver, raw: string, country?: string) {
  const [lookup] = await resolver.resolve([indicator(raw, country)]);
  return lookup!;
}

function refused(text: string): InvalidInputError {
  try {
    parseDirectory(text);
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected the directory to be refused');
}

describe('DirectoryResolver', () => {
  const resolver = new DirectoryResolver(parseDirectory(DIRECTORY));

  it('picks the longest matching IPv4 prefix', async () => {
    expect((await resolveOne(resolver, '192.0.2.10')).hosting?.id).toBe('hosting:192.0.2.0/24');
    expect((await resolveOne(resolver, '192.0.2.130')).hosting?.id).toBe('hosting:192.0.2.128/25');
    expect((await resolveOne(resolver, '192.0.2.200')).hosting?.id).toBe('hosting:192.0.2.192/27');
    expect((await resolveOne(resolver, '192.0.2.224')).hosting?.id).toBe('hosting:192.0.2.128/25');
    expect((await resolveOne(resolver, '198.51.100.1')).hosting).toBeUndefined();
  });

  it('picks the longest matching IPv6 prefix, in canonical form', async () => {
    expect((await resolveOne(resolver, '2001:db8::1')).hosting?.id).toBe('hosting:2001:db8::/32');
    expect((await resolveOne(resolver, '2001:db8:100:ffff::1')).hosting?.id).toBe('hosting:2001:db8:100::/48');
    expect((await resolveOne(resolver, '2001:db9::1')).hosting).toBeUndefined();
  });

  it('routes a URL with an IP host to its hosting network', async () => {
    const lookup = await resolveOne(resolver, 'http://[2001:db8:100::25]:8080/panel');
    expect(lookup.hosting?.id).toBe('hosting:2001:db8:100::/48');
    expect(lookup.registrar).toBeUndefined();
  });

  it('describes a hosting party fully', async () => {
    const lookup = await resolveOne(resolver, '192.0.2.130');
    expect(lookup).toEqual({
      hosting: {
        id: 'hosting:192.0.2.128/25',
        kind: 'hosting',
        name: 'Half Hosting',
        country: 'NG',
        email: 'abuse@half.example',
        contactSource: 'directory',
        matchedBy: '192.0.2.128/25',
      },
      cert: {
        id: 'cert:NG',
        kind: 'cert',
        name: 'NG CERT',
        country: 'NG',
        email: 'incidents@cert-ng.example',
        contactSource: 'directory',
        matchedBy: 'NG',
      },
      country: 'NG',
    });
  });

  it('picks the longest matching domain suffix, by whole labels', async () => {
    expect((await resolveOne(resolver, 'evil.example')).registrar?.id).toBe('registrar:example');
    expect((await resolveOne(resolver, 'pay.shop.example')).registrar?.id).toBe('registrar:shop.example');
    expect((await resolveOne(resolver, 'https://a.b.shop.example/x')).registrar?.matchedBy).toBe('shop.example');
    expect((await resolveOne(resolver, 'myshop.example')).registrar?.id).toBe('registrar:example');
    expect((await resolveOne(resolver, 'evil.badexample')).registrar).toBeUndefined();
  });

  it("takes the country from the indicator before its network's, and picks that country's CERT", async () => {
    const own = await resolveOne(resolver, '192.0.2.130', 'ZA');
    expect(own.country).toBe('ZA');
    expect(own.cert?.id).toBe('cert:ZA');
    expect(own.hosting?.id).toBe('hosting:192.0.2.128/25');

    const domain = await resolveOne(resolver, 'evil.example', 'KE');
    expect(domain.cert?.id).toBe('cert:KE');
  });

  it('leaves the CERT out when the country is unknown or has no CERT', async () => {
    const noCountry = await resolveOne(resolver, '192.0.2.200');
    expect(noCountry.hosting?.id).toBe('hosting:192.0.2.192/27');
    expect(noCountry.country).toBeUndefined();
    expect(noCountry.cert).toBeUndefined();

    const noCert = await resolveOne(resolver, '2001:db8::1');
    expect(noCert.country).toBe('GH');
    expect(noCert.cert).toBeUndefined();
  });

  it('lets a /0 catch what no longer prefix matches', async () => {
    const catchAll = new DirectoryResolver(
      parseDirectory(`
networks:
  - { cidr: 0.0.0.0/0, name: Transit, abuse: abuse@transit.example }
  - { cidr: 192.0.2.0/24, name: Wide Hosting, abuse: abuse@wide.example }
  - { cidr: "::/0", name: Transit v6, abuse: abuse@transit.example }
`),
    );
    expect((await resolveOne(catchAll, '198.51.100.1')).hosting?.id).toBe('hosting:0.0.0.0/0');
    expect((await resolveOne(catchAll, '255.255.255.255')).hosting?.id).toBe('hosting:0.0.0.0/0');
    expect((await resolveOne(catchAll, '192.0.2.255')).hosting?.id).toBe('hosting:192.0.2.0/24');
    expect((await resolveOne(catchAll, '2001:db8::1')).hosting?.id).toBe('hosting:::/0');
  });

  it('answers one lookup per indicator, in order', async () => {
    const lookups = await resolver.resolve([indicator('evil.example'), indicator('192.0.2.10'), indicator('evil.test')]);
    expect(lookups.map((l) => l.registrar?.id ?? l.hosting?.id ?? 'none')).toEqual([
      'registrar:example',
      'hosting:192.0.2.0/24',
      'none',
    ]);
  });

  // its speed is the bench's to measure (npm run bench); a test asserts what it answers
  it('resolves 20,674 indicators against 2,200 nested networks, each to its most specific network', async () => {
    const networks = new Map<string, { base: number; prefix: number }>();
    for (let i = 0; networks.size < 2000; i++) {
      const prefix = 12 + (i % 21);
      const mask = prefix === 32 ? 0xffffffff : ~(0xffffffff >>> prefix) >>> 0;
      const base = ((((10 + (i % 200)) << 24) | (((i * 37) % 256) << 16) | (((i * 11) % 256) << 8) | i % 256) & mask) >>> 0;
      networks.set(`${dotted(base)}/${prefix}`, { base, prefix });
    }
    // each inside a /8 of its own first octet: a lookup that stops at a shorter prefix answers the /8
    const ranges = [...networks.values()];
    for (let octet = 10; octet < 210; octet++) networks.set(`${octet}.0.0.0/8`, { base: (octet << 24) >>> 0, prefix: 8 });
    const yaml = [...networks.keys()].map((cidr, i) => `  - { cidr: ${cidr}, name: Net ${i}, abuse: abuse@net${i}.example }`);
    const big = new DirectoryResolver(parseDirectory(`networks:\n${yaml.join('\n')}\n`));
    const indicators = Array.from({ length: 20_674 }, (_, j) => {
      const { base, prefix } = ranges[j % ranges.length]!;
      const hostBits = prefix === 32 ? 0 : (0xffffffff >>> prefix) & (j * 2654435761);
      return indicator(dotted((base | hostBits) >>> 0));
    });

    const lookups = await big.resolve(indicators);

    expect(lookups).toHaveLength(20_674);
    expect(lookups.every((l) => l.hosting)).toBe(true);
    // every 20th against a scan of all 2,200: the longest prefix that holds the address
    const entries = [...networks];
    for (let j = 0; j < indicators.length; j += 20) {
      const address = indicators[j]!.value.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
      const holding = entries.filter(([, { base, prefix }]) => prefix === 0 || (address >>> (32 - prefix)) === (base >>> (32 - prefix)));
      const [cidr] = holding.reduce((a, b) => (b[1].prefix > a[1].prefix ? b : a));
      expect(lookups[j]!.hosting?.id, indicators[j]!.value).toBe(`hosting:${cidr}`);
    }
  });
});

function dotted(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

describe('parseDirectory', () => {
  it('canonicalises CIDRs, suffixes and countries', () => {
    const directory = parseDirectory(DIRECTORY);
    expect(directory.networks[3]!.cidr.cidr).toBe('2001:db8::/32');
    expect(directory.registrars[1]!.suffix).toBe('shop.example');
    expect(directory.certs[0]!.country).toBe('KE');
  });

  it('reads JSON as well as YAML', () => {
    const json = JSON.stringify({ certs: [{ country: 'GH', name: 'GH CERT', abuse: 'incidents@cert-gh.example' }] });
    expect(parseDirectory(json)).toEqual({
      networks: [],
      registrars: [],
      certs: [{ country: 'GH', name: 'GH CERT', abuse: 'incidents@cert-gh.example' }],
    });
  });

  it('names the path of each bad entry', () => {
    const error = refused(`
networks:
  - { cidr: 192.0.2.0/24, name: Good, abuse: abuse@good.example }
  - { cidr: 192.0.2.5/24, name: Host bits, abuse: abuse@bits.example }
  - { cidr: 192.0.2.0/33, name: Too long, abuse: abuse@long.example }
registrars:
  - { suffix: bad_suffix, name: Bad, abuse: abuse@bad.example }
certs:
  - { country: Kenya, name: KE CERT, abuse: incidents@cert-ke.example }
  - { country: NG, name: NG CERT, abuse: not-an-address }
`);
    expect(error.issues.map((i) => i.where)).toEqual([
      'networks[1].cidr',
      'networks[2].cidr',
      'registrars[0].suffix',
      'certs[0].country',
      'certs[1].abuse',
    ]);
    expect(error.issues[0]!.reason).toMatch(/bits set beyond the prefix/);
    expect(error.issues[1]!.reason).toMatch(/over 32/);
  });

  it('refuses a second entry for the same network, suffix or country', () => {
    const error = refused(`
networks:
  - { cidr: 192.0.2.0/24, name: One, abuse: abuse@one.example }
  - { cidr: " 192.0.2.0/24", name: Two, abuse: abuse@two.example }
  - { cidr: "2001:db8::/32", name: Three, abuse: abuse@three.example }
  - { cidr: "2001:DB8:0::/32", name: Four, abuse: abuse@four.example }
registrars:
  - { suffix: example, name: One, abuse: abuse@one.example }
  - { suffix: EXAMPLE., name: Two, abuse: abuse@two.example }
`);
    expect(error.issues.map((i) => i.where)).toEqual(['networks[1].cidr', 'networks[3].cidr', 'registrars[1].suffix']);
  });

  it('refuses an unknown section or field rather than ignoring a typo', () => {
    const error = refused('network:\n  - { cidr: 192.0.2.0/24, name: X, abuse: abuse@x.example }\n');
    expect(error.issues[0]!.where).toBe('file');
    expect(error.issues[0]!.reason).toMatch(/network/);
    expect(refused('certs:\n  - { country: KE, name: X, abuse: a@x.example, phone: 1 }\n').issues[0]!.where).toBe('certs[0]');
  });

  it('refuses text that is not YAML, saying on which line, and an empty file', () => {
    const error = refused('networks:\n  - cidr: [192.0.2.0/24\n    name: x\n');
    expect(error.message).toMatch(/not valid YAML/);
    expect(error.issues[0]!.where).toMatch(/^line \d+$/);
    expect(refused('').message).toMatch(/empty/);
  });
});

describe('loadDirectory', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'directory-test-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads and validates a file', async () => {
    const path = join(dir, 'directory.yaml');
    await writeFile(path, DIRECTORY);
    expect((await loadDirectory(path)).networks).toHaveLength(5);
  });

  it('refuses a missing file with InvalidInputError', async () => {
    await expect(loadDirectory(join(dir, 'missing.yaml'))).rejects.toMatchObject({
      name: 'InvalidInputError',
      issues: [{ reason: 'ENOENT' }],
    });
  });
});

describe('the example files', () => {
  const examples = new URL('../../examples/', import.meta.url);

  it('route every row of campaign.csv to a hosting network or registrar, and a CERT', async () => {
    const resolver = new DirectoryResolver(await loadDirectory(new URL('directory.yaml', examples).pathname));
    const text = await readFile(new URL('campaign.csv', examples), 'utf8');

    const intake = parseIndicators(text);
    const lookups = await resolver.resolve(intake.indicators);

    expect(intake.format).toBe('csv');
    expect(intake.indicators.length + intake.duplicates.length).toBe(text.trim().split('\n').length - 1);
    expect(intake.duplicates).toHaveLength(2);
    expect(intake.indicators.some((i) => i.value === 'xn--bcher-kva.example')).toBe(true);
    for (const [i, lookup] of lookups.entries()) {
      const where = `${intake.indicators[i]!.origin} ${intake.indicators[i]!.value}`;
      expect(lookup.hosting ?? lookup.registrar, where).toBeDefined();
      expect(lookup.cert, where).toBeDefined();
    }
  });

  it('read indicators.txt as a list whose every entry routes', async () => {
    const resolver = new DirectoryResolver(await loadDirectory(new URL('directory.yaml', examples).pathname));
    const intake = parseIndicators(await readFile(new URL('indicators.txt', examples), 'utf8'));

    const lookups = await resolver.resolve(intake.indicators);

    expect(intake.format).toBe('list');
    expect(intake.indicators.length).toBeGreaterThanOrEqual(8);
    expect(lookups.every((l) => l.hosting ?? l.registrar)).toBe(true);
  });
});
