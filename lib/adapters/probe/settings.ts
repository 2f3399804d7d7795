import { isIP } from 'node:net';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors.js';
import { parseSinkholes } from '../../core/verify/index.js';
import type { ProxyConfig } from './connect.js';

/** The prober settings a deployment gives through its environment. */
export interface ProberSettings {
  readonly proxy?: string;
  readonly dnsServers?: string[];
  readonly sinkholes?: string[];
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly perHostIntervalMs?: number;
  readonly userAgent?: string;
  readonly identify?: boolean;
  readonly contactUrl?: string;
  /** CIDRs the address guard lets through (a test's or an isolated lab's loopback fixtures); none by default */
  readonly allowAddresses?: string[];
}

/** Bounds shared by the options and the environment. */
export const PROBE_LIMITS = {
  timeoutMs: { min: 100, max: 60_000 },
  retries: { min: 0, max: 3 },
  perHostIntervalMs: { min: 0, max: 600_000 },
  maxRedirects: { min: 0, max: 10 },
  maxBodyBytes: { min: 1024, max: 16 * 1024 * 1024 },
} as const;

/** `http://[user:password@]host[:port]`; an HTTPS proxy (TLS to the proxy itself) is not supported. */
export const ProxyUrl = z.string().superRefine((text, ctx) => {
  if (typeof parseProxyText(text) === 'string') ctx.addIssue({ code: 'custom', message: parseProxyText(text) as string });
});

/** A DNS server as Resolver.setServers takes it: `address`, `address:port` or `[v6]:port`. */
export const DnsServer = z.string().refine((text) => dnsServerOk(text), 'a DNS server is an IP address with an optional port: 192.0.2.53, 192.0.2.53:5353, [2001:db8::53]:53');

/** A user agent: printable ASCII, one line. */
export const UserAgent = z.string().min(1).max(300).regex(/^[\x20-\x7e]+$/, 'printable ASCII on one line');

const list = (text: string) =>
  text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t !== '');

const intIn = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const EnvSchema = z.object({
  TAKEDOWN_PROBE_PROXY: ProxyUrl.optional(),
  TAKEDOWN_PROBE_DNS: z.string().transform(list).pipe(z.array(DnsServer).min(1)).optional(),
  TAKEDOWN_PROBE_SINKHOLES: z.string().transform(list).optional(),
  // an operator's explicit opening of the address guard (a lab whose targets sit on a private network); never a default
  TAKEDOWN_PROBE_ALLOW_ADDRESSES: z.string().transform(list).pipe(z.array(z.string().refine(isCidrText, 'an IP address or a CIDR')).min(1)).optional(),
  TAKEDOWN_PROBE_TIMEOUT_MS: intIn(PROBE_LIMITS.timeoutMs.min, PROBE_LIMITS.timeoutMs.max).optional(),
  TAKEDOWN_PROBE_RETRIES: intIn(PROBE_LIMITS.retries.min, PROBE_LIMITS.retries.max).optional(),
  TAKEDOWN_PROBE_INTERVAL_MS: intIn(PROBE_LIMITS.perHostIntervalMs.min, PROBE_LIMITS.perHostIntervalMs.max).optional(),
  TAKEDOWN_PROBE_USER_AGENT: UserAgent.optional(),
  TAKEDOWN_PROBE_CONTACT_URL: z.url({ protocol: /^https?$/ }).optional(),
  TAKEDOWN_PROBE_IDENTIFY: z.enum(['on', 'off']).optional(),
});

/**
 * The prober settings of an environment: TAKEDOWN_PROBE_PROXY (`http://host:port`), TAKEDOWN_PROBE_DNS (servers,
 * comma-separated), TAKEDOWN_PROBE_SINKHOLES (addresses and CIDRs, comma-separated, replacing the defaults;
 * `none` for no list), TAKEDOWN_PROBE_TIMEOUT_MS, TAKEDOWN_PROBE_RETRIES, TAKEDOWN_PROBE_INTERVAL_MS (per-host
 * spacing), TAKEDOWN_PROBE_USER_AGENT, TAKEDOWN_PROBE_IDENTIFY (`on`: the tool's own User-Agent instead of a
 * browser's), TAKEDOWN_PROBE_CONTACT_URL. Empty variables count as unset. An
 * InvalidInputError names each bad variable; it never repeats a value (a proxy URL may carry a password).
 */
export function proberSettingsFromEnv(env: Readonly<Record<string, string | undefined>> = process.env): ProberSettings {
  const present = Object.fromEntries(
    Object.keys(EnvSchema.shape)
      .map((k) => [k, env[k]?.trim()] as const)
      .filter((e): e is readonly [string, string] => e[1] !== undefined && e[1] !== ''),
  );
  const parsed = EnvSchema.safeParse(present);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the probe settings in the environment are not valid',
      parsed.error.issues.map((i) => ({ where: i.path.map(String).join('.') || 'environment', reason: i.message })),
    );
  }
  const e = parsed.data;
  let sinkholes: string[] | undefined;
  if (e.TAKEDOWN_PROBE_SINKHOLES !== undefined) {
    sinkholes = e.TAKEDOWN_PROBE_SINKHOLES.length === 1 && e.TAKEDOWN_PROBE_SINKHOLES[0]!.toLowerCase() === 'none' ? [] : e.TAKEDOWN_PROBE_SINKHOLES;
    parseSinkholes(sinkholes, 'TAKEDOWN_PROBE_SINKHOLES');
  }
  return {
    ...(e.TAKEDOWN_PROBE_PROXY !== undefined ? { proxy: e.TAKEDOWN_PROBE_PROXY } : {}),
    ...(e.TAKEDOWN_PROBE_DNS !== undefined ? { dnsServers: e.TAKEDOWN_PROBE_DNS } : {}),
    ...(sinkholes !== undefined ? { sinkholes } : {}),
    ...(e.TAKEDOWN_PROBE_TIMEOUT_MS !== undefined ? { timeoutMs: e.TAKEDOWN_PROBE_TIMEOUT_MS } : {}),
    ...(e.TAKEDOWN_PROBE_RETRIES !== undefined ? { retries: e.TAKEDOWN_PROBE_RETRIES } : {}),
    ...(e.TAKEDOWN_PROBE_INTERVAL_MS !== undefined ? { perHostIntervalMs: e.TAKEDOWN_PROBE_INTERVAL_MS } : {}),
    ...(e.TAKEDOWN_PROBE_USER_AGENT !== undefined ? { userAgent: e.TAKEDOWN_PROBE_USER_AGENT } : {}),
    ...(e.TAKEDOWN_PROBE_CONTACT_URL !== undefined ? { contactUrl: e.TAKEDOWN_PROBE_CONTACT_URL } : {}),
    ...(e.TAKEDOWN_PROBE_IDENTIFY !== undefined ? { identify: e.TAKEDOWN_PROBE_IDENTIFY === 'on' } : {}),
    ...(e.TAKEDOWN_PROBE_ALLOW_ADDRESSES !== undefined ? { allowAddresses: e.TAKEDOWN_PROBE_ALLOW_ADDRESSES } : {}),
  };
}

/** The proxy of a proxy URL; an InvalidInputError (without the URL in it) when it is none. */
export function parseProxyUrl(text: string, where = 'proxy'): ProxyConfig {
  const result = parseProxyText(text);
  if (typeof result === 'string') throw new InvalidInputError('the probe proxy is not valid', [{ where, reason: result }]);
  return result;
}

function parseProxyText(text: string): ProxyConfig | string {
  let url: URL;
  try {
    url = new URL(text.trim());
  } catch {
    return 'not a URL: write http://host:port';
  }
  if (url.protocol !== 'http:') return 'only an http:// proxy is supported (it tunnels HTTPS with CONNECT)';
  if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') return 'a proxy URL has no path: write http://host:port';
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') return 'the proxy URL has no host';
  const port = url.port === '' ? 80 : Number(url.port);
  const user = decodeURIComponent(url.username);
  const password = decodeURIComponent(url.password);
  return {
    host,
    port,
    ...(user !== '' || password !== '' ? { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` } : {}),
  };
}

function dnsServerOk(text: string): boolean {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(text);
  if (bracketed) return isIP(bracketed[1]!) === 6 && portOk(bracketed[2]);
  if (isIP(text) !== 0) return true;
  const hostPort = /^([0-9.]+):(\d{1,5})$/.exec(text);
  return hostPort !== null && isIP(hostPort[1]!) === 4 && portOk(hostPort[2]);
}

function portOk(text: string | undefined): boolean {
  if (text === undefined) return true;
  const n = Number(text);
  return n >= 1 && n <= 65535;
}

/** An IP address or a CIDR, as the address guard's allow-list takes them. */
function isCidrText(text: string): boolean {
  const [address, bits, extra] = text.split('/');
  if (extra !== undefined || !address || !isIP(address)) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (isIP(address) === 4 ? 32 : 128);
}
