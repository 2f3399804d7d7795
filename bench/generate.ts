/**
 * A synthetic, deterministic campaign the size of Africa Cyber Surge II (20,674 indicators) and a directory of
 * ~2,000 hosting networks to route it. Every address is private (10.0.0.0/8, 100.64.0.0/10) or documentation
 * (2001:db8::/32) space and every name ends in `.example` or `.test`: nothing here can reach anyone, and
 * nothing is ever contacted anyway.
 */

/** The 25 countries of the synthetic operation (African ISO 3166 codes, as in Africa Cyber Surge). */
export const COUNTRIES = [
  'KE', 'NG', 'GH', 'CI', 'MA', 'ZA', 'EG', 'TN', 'DZ', 'SN', 'CM', 'UG', 'TZ',
  'RW', 'ET', 'ZM', 'ZW', 'MZ', 'AO', 'BJ', 'BF', 'ML', 'NE', 'TG', 'MU',
] as const;

/** The suffixes registrars are found by; `example` catches every other `*.example` name. */
const REGISTRAR_SUFFIXES = ['example', 'shop.example', 'bank.example', 'pay.example', 'cloud.example', 'mail.example', 'news.example', 'app.example'];

export interface BenchSpec {
  readonly seed: number;
  readonly indicators: number;
  readonly ipv4Networks: number;
  readonly ipv6Networks: number;
  /** every network gets at least this many IP or URL-on-IP indicators */
  readonly perNetwork: number;
  /** indicators named by a domain (bare or in a URL) */
  readonly domainIndicators: number;
}

/** Africa Cyber Surge II's size: 20,674 indicators over 2,000 networks. */
export const DEFAULT_SPEC: BenchSpec = {
  seed: 20674,
  indicators: 20_674,
  ipv4Networks: 1_800,
  ipv6Networks: 200,
  perNetwork: 10,
  domainIndicators: 600,
};

export interface DirectoryNetwork {
  cidr: string;
  name: string;
  abuse: string;
  country: string;
}

export interface GeneratedBench {
  readonly directory: {
    networks: DirectoryNetwork[];
    registrars: { suffix: string; name: string; abuse: string }[];
    certs: { country: string; name: string; abuse: string }[];
  };
  /** the campaign as a CSV file with a header */
  readonly csv: string;
  readonly counts: {
    indicators: number;
    ipv4: number;
    ipv6: number;
    urlOnIp: number;
    domain: number;
    urlOnDomain: number;
    /** domains no registrar covers and no country names: nobody to send them to */
    expectedUnroutable: number;
    prefixes: Record<string, number>;
  };
}

/** mulberry32: small, fast and good enough to spread synthetic data; the same seed gives the same files. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Net {
  family: 4 | 6;
  prefix: number;
  /** first address; a number for IPv4 (fits in 2^32), a bigint for IPv6 */
  base: bigint;
  country: string;
  index: number;
}

function ipv4Text(n: bigint): string {
  const v = Number(n);
  return `${(v >>> 24) & 255}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** Uncompressed and partly zero-padded on purpose: the normaliser must canonicalise what a feed would send. */
function ipv6Text(n: bigint, pad: boolean): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) {
    const g = Number((n >> BigInt(i * 16)) & 0xffffn).toString(16);
    groups.push(pad ? g.padStart(4, '0') : g);
  }
  return groups.join(':');
}

/**
 * Blocks laid out largest first from `start`, each aligned on its own size, so they never overlap and
 * leave no gaps; throws if they do not fit in `limit`.
 */
function allocate(start: bigint, limit: bigint, bits: number, prefixes: number[]): bigint[] {
  const order = prefixes.map((p, i) => ({ p, i })).sort((a, b) => a.p - b.p);
  const out = new Array<bigint>(prefixes.length);
  let cursor = start;
  for (const { p, i } of order) {
    const size = 1n << BigInt(bits - p);
    cursor = ((cursor + size - 1n) / size) * size;
    if (cursor + size > limit) throw new Error(`the synthetic networks do not fit (/${p})`);
    out[i] = cursor;
    cursor += size;
  }
  return out;
}

function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const THREATS = ['c2', 'phishing', 'malware', 'scam', 'botnet'];
const EVIDENCE = [
  'C2 beacon observed by the sensor network, {n} infected hosts reporting',
  'Credential phishing page imitating a bank, "verify your account" lure',
  'Infostealer exfiltration endpoint seen in sandbox run {n}',
  'Malware download host serving a loader, {n} samples',
  'Botnet fallback C2, resolved by {n} bots over the last week',
  'Business e-mail compromise landing page, reported by {n} victims',
];

/** The directory and the campaign CSV for a spec; deterministic for a seed. */
export function generateBench(spec: BenchSpec = DEFAULT_SPEC): GeneratedBench {
  const rand = prng(spec.seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rand() * list.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));

  // IPv4 prefix lengths /16../28, weighted toward the /22../24 a hosting provider usually holds
  const v4Weights: [number, number][] = [
    [16, 1], [17, 2], [18, 3], [19, 4], [20, 6], [21, 8], [22, 10], [23, 12], [24, 18], [25, 10], [26, 10], [27, 8], [28, 8],
  ];
  const v4Total = v4Weights.reduce((s, [, w]) => s + w, 0);
  const v4Prefix = (): number => {
    let r = rand() * v4Total;
    for (const [p, w] of v4Weights) if ((r -= w) < 0) return p;
    return 24;
  };
  const prefixes: Record<string, number> = {};
  const count = (family: 4 | 6, p: number) => void (prefixes[`v${family}/${p}`] = (prefixes[`v${family}/${p}`] ?? 0) + 1);

  // three quarters in 10.0.0.0/8, the rest in 100.64.0.0/10 (shared address space)
  const inTen: number[] = [];
  const inCgn: number[] = [];
  for (let i = 0; i < spec.ipv4Networks; i++) (rand() < 0.75 ? inTen : inCgn).push(v4Prefix());
  const tenBases = allocate(0x0a000000n, 0x0b000000n, 32, inTen);
  const cgnBases = allocate(0x64400000n, 0x64800000n, 32, inCgn);
  const nets: Net[] = [];
  inTen.forEach((p, i) => nets.push({ family: 4, prefix: p, base: tenBases[i]!, country: '', index: 0 }));
  inCgn.forEach((p, i) => nets.push({ family: 4, prefix: p, base: cgnBases[i]!, country: '', index: 0 }));

  // IPv6: 2001:db8::/32 itself as a covering network (longest-prefix match must skip it for the others), the
  // rest /36../56 laid out in its upper half; the /32's own indicators stay in the lower half
  const db8 = 0x20010db8n << 96n;
  const half = 1n << 95n;
  const v6Prefixes: number[] = [];
  // at most a handful of /36s: eight of them fill the half
  const v6Choices = [36, 40, 40, 40, 44, 44, 44, 44, 48, 48, 48, 48, 48, 48, 48, 48, 52, 52, 52, 52, 52, 56, 56, 56, 56, 56, 56];
  for (let i = 1; i < spec.ipv6Networks; i++) v6Prefixes.push(v6Choices[Math.floor(rand() * v6Choices.length)]!);
  const v6Bases = allocate(db8 + half, db8 + (1n << 96n), 128, v6Prefixes);
  nets.push({ family: 6, prefix: 32, base: db8, country: '', index: 0 });
  v6Prefixes.forEach((p, i) => nets.push({ family: 6, prefix: p, base: v6Bases[i]!, country: '', index: 0 }));

  // shuffle so network numbers (and so recipient domains) do not follow address order
  for (let i = nets.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [nets[i], nets[j]] = [nets[j]!, nets[i]!];
  }
  const networks: DirectoryNetwork[] = nets.map((net, i) => {
    net.index = i + 1;
    net.country = pick(COUNTRIES);
    count(net.family, net.prefix);
    const address = net.family === 4 ? ipv4Text(net.base) : ipv6Text(net.base, false);
    return {
      cidr: `${address}/${net.prefix}`,
      name: `Bench Hosting ${net.index} (example)`,
      abuse: `abuse@net-${net.index}.bench.example`,
      country: net.country,
    };
  });
  const registrars = REGISTRAR_SUFFIXES.map((suffix, i) => ({
    suffix,
    name: `Bench Registrar ${i + 1} (example)`,
    abuse: `abuse@registrar-${i + 1}.bench.example`,
  }));
  const certs = COUNTRIES.map((cc) => ({ country: cc, name: `CERT-${cc} (bench example)`, abuse: `incident@cert-${cc.toLowerCase()}.bench.example` }));

  const lines: string[] = ['indicator,type,country,first_seen,evidence,threat'];
  const seen = new Set<string>();
  const c = { ipv4: 0, ipv6: 0, urlOnIp: 0, domain: 0, urlOnDomain: 0, expectedUnroutable: 0 };
  const row = (indicator: string, type: string, country: string) => {
    const day = int(1, 28);
    const evidence = pick(EVIDENCE).replace('{n}', String(int(2, 900)));
    lines.push([indicator, type, country, `2024-08-${String(day).padStart(2, '0')}`, csvField(evidence), pick(THREATS)].join(','));
  };

  const hostIn = (net: Net): bigint => {
    const hostBits = (net.family === 4 ? 32 : 128) - net.prefix;
    // the covering /32 keeps its indicators out of the upper half, where the more specific networks are
    const span = net.family === 6 && net.prefix === 32 ? half : 1n << BigInt(hostBits);
    if (span <= 0x1_0000_0000n) return net.base + BigInt(Math.floor(rand() * Number(span)));
    // a random 64-bit offset is spread enough for IPv6 hosts
    const r = (BigInt(Math.floor(rand() * 2 ** 32)) << 32n) | BigInt(Math.floor(rand() * 2 ** 32));
    return net.base + (r % span);
  };
  const oneOnNetwork = (net: Net): void => {
    for (;;) {
      const addr = hostIn(net);
      const asUrl = rand() < 0.3;
      const text = net.family === 4 ? ipv4Text(addr) : ipv6Text(addr, rand() < 0.5);
      let indicator: string;
      let key: string;
      if (asUrl) {
        const port = rand() < 0.2 ? `:${pick([8080, 8443, 8000, 2082])}` : '';
        const path = pick(['/gate.php', '/panel/', '/login', '/admin/config.bin', '/api/v1/beacon']) + (rand() < 0.5 ? `?id=${int(1, 99999)}` : '');
        const host = net.family === 4 ? text : `[${text}]`;
        indicator = `http://${host}${port}${path}`;
        key = `u ${addr} ${port}${path}`;
      } else {
        indicator = text;
        key = `a ${addr}`;
      }
      if (seen.has(key)) continue;
      seen.add(key);
      if (asUrl) c.urlOnIp++;
      else if (net.family === 4) c.ipv4++;
      else c.ipv6++;
      // most feeds leave the country to the network; some repeat it
      row(indicator, asUrl ? 'url' : net.family === 4 ? 'ipv4' : 'ipv6', rand() < 0.2 ? net.country : '');
      return;
    }
  };

  for (const net of nets) for (let k = 0; k < spec.perNetwork; k++) oneOnNetwork(net);

  const words = ['login', 'secure', 'verify', 'account', 'update', 'wallet', 'support', 'billing', 'portal', 'id'];
  for (let k = 0; k < spec.domainIndicators; k++) {
    for (;;) {
      // a few under .test, which no registrar covers: with a country they go to its CERT, without, nowhere
      const orphan = rand() < 0.08;
      const suffix = orphan ? 'test' : pick(REGISTRAR_SUFFIXES);
      const name = `${pick(words)}-${pick(words)}-${int(1, 99999)}.${suffix}`;
      const asUrl = rand() < 0.5;
      const indicator = asUrl ? `https://${name}/${pick(words)}.html` : rand() < 0.2 ? name.replace(/\./g, '[.]') : name;
      const key = `d ${indicator.replace(/\[\.\]/g, '.')}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const country = orphan && rand() < 0.5 ? '' : pick(COUNTRIES);
      if (orphan && country === '') c.expectedUnroutable++;
      if (asUrl) c.urlOnDomain++;
      else c.domain++;
      row(indicator, asUrl ? 'url' : 'domain', country);
      break;
    }
  }

  // the rest on networks, skewed so a few recipients get many indicators (a bulletproof host, a big cloud)
  const rest = spec.indicators - (lines.length - 1);
  if (rest < 0) throw new Error('the spec has more indicators per network and domain than in total');
  for (let k = 0; k < rest; k++) oneOnNetwork(nets[Math.floor(rand() ** 3 * nets.length)]!);

  // shuffle the data rows so a network's indicators are spread over the file, as in a real feed
  const body = lines.slice(1);
  for (let i = body.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [body[i], body[j]] = [body[j]!, body[i]!];
  }
  return {
    directory: { networks, registrars, certs },
    csv: [lines[0], ...body].join('\n') + '\n',
    counts: { indicators: body.length, ...c, prefixes },
  };
}
