import { z } from 'zod';
import { InvalidInputError, type InputIssue } from '../errors.js';
import type { Indicator } from '../model.js';
import type { ProbeEvidence, ProbeMethod, ProbePhase, ProbeResult, ProbeVerdict } from '../ports.js';
import { normaliseIndicator } from '../intake/index.js';

/**
 * Verification probes: is a piece of malicious infrastructure still reachable? The network work happens in an
 * adapter behind the `Prober` port; what a probe's observations mean (the verdict) is decided here, so both hosts
 * and the tests share one reading. A case closes only on evidence: an outcome that proves nothing either way
 * (our resolver failed, the server answers 503, a proxy refused us) is `conclusive: false` and means "probe
 * again", never "down".
 */
export type { ProbeEvidence, ProbeMethod, ProbePhase, ProbeRequest, ProbeResult, ProbeVerdict, Prober } from '../ports.js';

export const PROBE_VERDICTS = ['live', 'down', 'nxdomain', 'sinkholed', 'parked', 'refused', 'timeout', 'error'] as const satisfies readonly ProbeVerdict[];

/** A probe result as stored (case evidence, workflow payloads): validate what comes back from storage with it. */
export const ProbeResultSchema = z.object({
  method: z.enum(['dns', 'tcp', 'http']),
  target: z.string(),
  live: z.boolean(),
  conclusive: z.boolean(),
  verdict: z.enum(PROBE_VERDICTS),
  detail: z.string(),
  at: z.string(),
  attempts: z.number().int().min(1),
  evidence: z.object({
    addresses: z.array(z.string()).optional(),
    status: z.number().int().optional(),
    finalUrl: z.string().optional(),
    redirects: z.number().int().optional(),
    bodySha256: z.string().optional(),
    bodyBytes: z.number().int().optional(),
    bodyTruncated: z.boolean().optional(),
    matchesEvidence: z.boolean().optional(),
    parkedBy: z.string().optional(),
    openPorts: z.array(z.number().int()).optional(),
    tlsAuthorized: z.boolean().optional(),
    error: z.string().optional(),
    phase: z.enum(['dns', 'connect', 'proxy', 'tls', 'response', 'body']).optional(),
    viaProxy: z.boolean().optional(),
    durationMs: z.number().optional(),
  }),
});

/** What a result means for a case: `live` (send "still reachable"), `down` (verified), `unknown` (probe again). */
export function probeStatus(result: Pick<ProbeResult, 'live' | 'conclusive'>): 'live' | 'down' | 'unknown' {
  if (!result.conclusive) return 'unknown';
  return result.live ? 'live' : 'down';
}

/** The part of a result the verdict functions decide; the prober adds method, target, time and attempts. */
export interface ProbeOutcome {
  readonly verdict: ProbeVerdict;
  readonly live: boolean;
  readonly conclusive: boolean;
  readonly detail: string;
  readonly evidence: ProbeEvidence;
}

/** Whether another attempt may change the answer: failures may be passing, answers (NXDOMAIN, 404, a page) are not. */
export function shouldRetry(outcome: ProbeOutcome): boolean {
  return !outcome.conclusive || outcome.verdict === 'refused' || outcome.verdict === 'timeout';
}

// ---------------------------------------------------------------------------------------------------------------
// What to probe

/** How an indicator is probed. */
export type ProbePlan =
  | { readonly method: 'dns'; readonly target: string; readonly host: string }
  | {
      readonly method: 'tcp';
      readonly target: string;
      readonly host: string;
      readonly hostKind: Indicator['hostKind'];
      /** live when any of them accepts */
      readonly ports: readonly number[];
    }
  | { readonly method: 'http'; readonly target: string; readonly host: string; readonly url: string };

/** Ports tried for an address given without one: a web server is the usual thing an address serves. */
export const DEFAULT_TCP_PORTS: readonly number[] = [80, 443];

/**
 * The probe of an indicator: a domain is resolved (a registrar's suspension removes it from DNS), an address is
 * connected to, a web URL is fetched. An ftp URL is connected to (its port), as there is no page to compare.
 * A domain with a port is still resolved only: the name is what a registrar can take away.
 */
export function planProbe(indicator: Pick<Indicator, 'kind' | 'value' | 'host' | 'hostKind' | 'port'>): ProbePlan {
  switch (indicator.kind) {
    case 'domain':
      return { method: 'dns', target: indicator.host, host: indicator.host };
    case 'ipv4':
    case 'ipv6': {
      const ports = indicator.port === undefined ? DEFAULT_TCP_PORTS : [indicator.port];
      const shown = indicator.kind === 'ipv6' ? `[${indicator.host}]` : indicator.host;
      const target = indicator.port === undefined ? indicator.host : `${shown}:${indicator.port}`;
      return { method: 'tcp', target, host: indicator.host, hostKind: indicator.hostKind, ports };
    }
    case 'url': {
      if (/^https?:/i.test(indicator.value)) return { method: 'http', target: indicator.value, host: indicator.host, url: indicator.value };
      const port = indicator.port ?? 21;
      const shown = indicator.hostKind === 'ipv6' ? `[${indicator.host}]` : indicator.host;
      return { method: 'tcp', target: `${shown}:${port}`, host: indicator.host, hostKind: indicator.hostKind, ports: [port] };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Sinkholes

/**
 * Answers that mean a name was pointed away from its server. Only the unroutable answers DNS blocklists and
 * response-policy zones give for a blocked name are shipped: `0.0.0.0/8` ("this network", RFC 1122 section
 * 3.2.1.3, never a destination) and `::` (the unspecified address, RFC 4291 section 2.5.2). The addresses of
 * operators' sinkhole servers change and are not published as one list (abuse.ch SinkDB needs an account):
 * configure the ones you know (TAKEDOWN_PROBE_SINKHOLES). Loopback is left out on purpose: the embedded demo's
 * indicators resolve to loopback servers that must read as live.
 */
export const DEFAULT_SINKHOLES: readonly string[] = ['0.0.0.0/8', '::/128'];

interface SinkholeRange {
  readonly v6: boolean;
  readonly start: bigint;
  readonly end: bigint;
  readonly text: string;
}

/** A parsed sinkhole list: addresses and CIDRs. */
export interface SinkholeList {
  readonly ranges: readonly SinkholeRange[];
}

/** Parses sinkhole addresses and CIDRs; an InvalidInputError names every entry that is neither. */
export function parseSinkholes(entries: readonly string[], where = 'sinkholes'): SinkholeList {
  const ranges: SinkholeRange[] = [];
  const issues: InputIssue[] = [];
  entries.forEach((entry, i) => {
    const range = parseRange(entry);
    if (typeof range === 'string') issues.push({ where: `${where}[${i}]`, reason: range });
    else ranges.push(range);
  });
  if (issues.length > 0) throw new InvalidInputError('a sinkhole entry is not an address or a CIDR', issues);
  return { ranges };
}

/** Whether a canonical address lies in one of the sinkhole ranges. */
export function isSinkhole(address: string, list: SinkholeList): boolean {
  const parsed = addressNumber(address);
  if (!parsed) return false;
  return list.ranges.some((r) => r.v6 === parsed.v6 && parsed.n >= r.start && parsed.n <= r.end);
}

function parseRange(entry: string): SinkholeRange | string {
  const text = entry.trim();
  const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(text);
  if (!m) return 'not an address or a CIDR';
  const address = addressNumber(m[1]!);
  if (!address) return 'not an IP address';
  const bits = address.v6 ? 128 : 32;
  const prefix = m[2] === undefined ? bits : Number(m[2]);
  if (prefix > bits) return `the prefix length is over ${bits}`;
  const host = BigInt(bits - prefix);
  const start = (address.n >> host) << host;
  if (start !== address.n) return 'the address has bits set beyond the prefix length';
  return { v6: address.v6, start, end: start | ((1n << host) - 1n), text };
}

function addressNumber(text: string): { v6: boolean; n: bigint } | undefined {
  const result = normaliseIndicator(text.trim().replace(/^\[(.*)\]$/, '$1'));
  if (!result.ok || result.indicator.port !== undefined) return undefined;
  const { kind, value } = result.indicator;
  if (kind === 'ipv4') return { v6: false, n: value.split('.').reduce((n, o) => (n << 8n) | BigInt(Number(o)), 0n) };
  if (kind !== 'ipv6') return undefined;
  const [head = '', tail] = value.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...left, ...new Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return { v6: true, n: groups.reduce((n, g) => (n << 16n) | BigInt(parseInt(g, 16)), 0n) };
}

// ---------------------------------------------------------------------------------------------------------------
// DNS

/** One query's answer: the addresses, or the resolver's error code (ENOTFOUND = NXDOMAIN, ENODATA = NODATA, ...). */
export type DnsAnswer = { readonly addresses: readonly string[] } | { readonly code: string };

/** The verdict on a name from its A and AAAA answers. */
export function dnsOutcome(name: string, a: DnsAnswer, aaaa: DnsAnswer, sinkholes: SinkholeList): ProbeOutcome {
  const addresses = [...('addresses' in a ? a.addresses : []), ...('addresses' in aaaa ? aaaa.addresses : [])];
  if (addresses.length > 0) {
    const unique = [...new Set(addresses)];
    if (unique.every((address) => isSinkhole(address, sinkholes))) {
      return down('sinkholed', `${name} resolves only to sinkhole addresses (${unique.slice(0, 4).join(', ')})`, { addresses: unique });
    }
    return {
      verdict: 'live',
      live: true,
      conclusive: true,
      detail: `${name} resolves to ${unique.slice(0, 4).join(', ')}${unique.length > 4 ? ` and ${unique.length - 4} more` : ''}`,
      evidence: { addresses: unique },
    };
  }
  const codes = [a, aaaa].map((x) => ('code' in x ? x.code : 'ENODATA'));
  // NXDOMAIN is about the name, so one query saying it is enough; NODATA needs both families empty
  if (codes.includes('ENOTFOUND')) return down('nxdomain', `${name} does not exist (NXDOMAIN)`, { error: 'ENOTFOUND', phase: 'dns' });
  if (codes.every((c) => c === 'ENODATA')) return down('nxdomain', `${name} has no A or AAAA record (NODATA)`, { error: 'ENODATA', phase: 'dns' });
  const failure = codes.find((c) => c !== 'ENODATA')!;
  if (failure === 'ETIMEOUT') {
    return { verdict: 'timeout', live: false, conclusive: false, detail: `the resolver did not answer for ${name} in time`, evidence: { error: failure, phase: 'dns' } };
  }
  const why = failure === 'ESERVFAIL' ? 'its name servers fail (SERVFAIL)' : `the resolver failed (${failure})`;
  return { verdict: 'error', live: false, conclusive: false, detail: `${name} could not be resolved: ${why}; not evidence either way`, evidence: { error: failure, phase: 'dns' } };
}

// ---------------------------------------------------------------------------------------------------------------
// TCP and connection failures

/** How one connection attempt ended. */
export type ConnectResult =
  | { readonly port: number; readonly open: true }
  | { readonly port: number; readonly open: false; readonly failure: ConnectFailure };

/** Why a connection (direct, through the proxy, or its TLS handshake) did not come up. */
export interface ConnectFailure {
  /** refused: nothing listens; unreachable: a router says there is no way; timeout: no answer; error: anything else */
  readonly kind: 'refused' | 'unreachable' | 'timeout' | 'error';
  readonly code: string;
  readonly phase: ProbePhase;
  /** said by the proxy, not seen by us */
  readonly byProxy?: boolean;
  /** the host's address guard would not connect there (loopback, private, link-local ...): why, for people */
  readonly refused?: string;
}

/** The verdict on an address from its connection attempts: live when any port accepted. */
export function tcpOutcome(target: string, results: readonly ConnectResult[]): ProbeOutcome {
  const open = results.filter((r) => r.open).map((r) => r.port);
  if (open.length > 0) {
    return { verdict: 'live', live: true, conclusive: true, detail: `${target} accepts connections on port ${open.join(', ')}`, evidence: { openPorts: open } };
  }
  const failures = results.flatMap((r) => (r.open ? [] : [{ port: r.port, ...r.failure }]));
  const ports = failures.map((f) => f.port).join(', ');
  // the weakest failure decides: one port that failed for a reason of ours leaves the answer open
  const inconclusive = failures.find((f) => !failureConclusive(f));
  const f = inconclusive ?? failures.find((x) => x.kind === 'timeout') ?? failures[0];
  if (!f) return { verdict: 'error', live: false, conclusive: false, detail: `${target}: nothing was tried`, evidence: {} };
  return failureOutcome(`${target} port ${ports}`, f);
}

/** The verdict when a connection to `what` did not come up. */
export function failureOutcome(what: string, f: ConnectFailure): ProbeOutcome {
  const evidence: ProbeEvidence = { error: f.code, phase: f.phase };
  if (f.refused !== undefined) {
    // never sent: whatever answers there is ours or our network's, not the indicator's
    return { verdict: 'error', live: false, conclusive: false, detail: `${what} was not probed: ${f.refused}, where probes may not go; not evidence either way`, evidence };
  }
  const said = f.byProxy ? ' (as the proxy reports)' : '';
  const conclusive = failureConclusive(f);
  switch (f.kind) {
    case 'refused':
      return { verdict: 'refused', live: false, conclusive, detail: `${what} refuses connections${said}`, evidence };
    case 'unreachable':
      return { verdict: 'down', live: false, conclusive, detail: `${what} is unreachable: no route to the host${said}`, evidence };
    case 'timeout':
      return conclusive
        ? { verdict: 'timeout', live: false, conclusive, detail: `${what} does not answer connection attempts${said}`, evidence }
        : { verdict: 'timeout', live: false, conclusive, detail: `${what} accepted the connection but did not answer in time (${f.phase}); not evidence either way`, evidence };
    case 'error':
      return { verdict: 'error', live: false, conclusive, detail: `${what} could not be probed (${f.code} during ${f.phase}); not evidence either way`, evidence };
  }
}

/**
 * A connection refused, a host unreachable or a connection attempt unanswered (a null route: how hosting
 * providers usually take a server off) is evidence of removal. A time-out once connected (a hung server, a slow
 * TLS handshake) and every other error (our network, the proxy refusing us) is not.
 */
function failureConclusive(f: ConnectFailure): boolean {
  if (f.kind === 'refused' || f.kind === 'unreachable') return true;
  if (f.kind === 'timeout') return f.phase === 'connect';
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

/** What an HTTP fetch saw at its last response. */
export interface HttpObservation {
  readonly url: string;
  readonly status: number;
  readonly finalUrl: string;
  readonly redirects: number;
  /** the last 3xx had nowhere (valid) to go, or the redirect limit was reached */
  readonly redirectLimit?: boolean;
  readonly bodySha256?: string;
  readonly bodyBytes?: number;
  readonly bodyTruncated?: boolean;
  readonly evidenceSha256?: string;
  readonly parkedBy?: string;
  readonly tlsAuthorized?: boolean;
}

/**
 * The verdict on a page. Down: 404, 410, 451 (the server says the page is gone, or removed for legal reasons)
 * or a parked/suspended page, on the probed host itself: after a redirect to another host that proves nothing,
 * and a "gone" status whose body is still the evidence's page is live. Inconclusive: 401/403/407/429 (the server refuses us: cloaking kits refuse
 * scanners, so it may still serve its victims), 5xx (a server error is not a removal), a redirect loop, an empty
 * page. Live:
 * everything else the server answers, whether or not the body matches the evidence (kits vary their pages).
 */
export function httpOutcome(o: HttpObservation): ProbeOutcome {
  const hops = o.redirects === 0 ? '' : ` after ${o.redirects} redirect${o.redirects === 1 ? '' : 's'}`;
  const compared = o.evidenceSha256 !== undefined && o.bodySha256 !== undefined && !o.bodyTruncated;
  const matchesEvidence = compared ? o.bodySha256!.toLowerCase() === o.evidenceSha256!.toLowerCase() : undefined;
  const evidence: ProbeEvidence = {
    status: o.status,
    finalUrl: o.finalUrl,
    redirects: o.redirects,
    ...(o.bodySha256 !== undefined ? { bodySha256: o.bodySha256 } : {}),
    ...(o.bodyBytes !== undefined ? { bodyBytes: o.bodyBytes } : {}),
    ...(o.bodyTruncated ? { bodyTruncated: true } : {}),
    ...(matchesEvidence !== undefined ? { matchesEvidence } : {}),
    ...(o.parkedBy !== undefined ? { parkedBy: o.parkedBy } : {}),
    ...(o.tlsAuthorized !== undefined ? { tlsAuthorized: o.tlsAuthorized } : {}),
  };
  const moved = o.finalUrl !== o.url ? ` at ${o.finalUrl}` : '';
  const head = `HTTP ${o.status}${hops}${moved}`;
  const gone = o.status === 404 || o.status === 410 || o.status === 451;
  // the very page of the evidence is still there, whatever status it is served with
  if (gone && matchesEvidence === true) {
    return { verdict: 'live', live: true, conclusive: true, detail: `${head}, but the body sha256 matches the evidence: the page is still served`, evidence };
  }
  // another host's 404 or lander says nothing of this one: a kit sends scanners anywhere that looks gone
  if ((gone || o.parkedBy !== undefined) && matchesEvidence !== true && offHost(o.url, o.finalUrl)) {
    return { verdict: 'error', live: false, conclusive: false, detail: `${head}: the redirects left ${hostOf(o.url)}, so what the other host answers is not evidence either way`, evidence };
  }
  if (gone) {
    return { verdict: 'down', live: false, conclusive: true, detail: `${head}: the page is gone`, evidence };
  }
  if (o.parkedBy !== undefined && matchesEvidence !== true) {
    return { verdict: 'parked', live: false, conclusive: true, detail: `${head}: a parked or suspended page (${o.parkedBy})`, evidence };
  }
  if (o.redirectLimit) {
    return { verdict: 'error', live: false, conclusive: false, detail: `${head}: the redirects do not end; not evidence either way`, evidence };
  }
  if ([401, 403, 407, 429].includes(o.status) || o.status >= 500) {
    const why = o.status >= 500 ? 'the server fails' : 'the server refuses the probe';
    return { verdict: 'error', live: false, conclusive: false, detail: `${head}: ${why}; not evidence either way`, evidence };
  }
  // a blank page may be a removed kit or a cloaking kit's answer to a scanner: it proves neither
  if (o.status >= 200 && o.status < 300 && o.bodyBytes === 0 && !o.bodyTruncated) {
    return { verdict: 'error', live: false, conclusive: false, detail: `${head} with an empty body; not evidence either way`, evidence };
  }
  const body =
    matchesEvidence === true
      ? ', body sha256 matches the evidence'
      : matchesEvidence === false
        ? ', body differs from the evidence'
        : o.bodyTruncated && o.evidenceSha256 !== undefined
          ? ', body too long to compare with the evidence'
          : '';
  return { verdict: 'live', live: true, conclusive: true, detail: `${head}${body}`, evidence };
}

// ---------------------------------------------------------------------------------------------------------------
// Parked and suspended pages

/**
 * Phrases of parking and for-sale landers, matched on lower-cased text with tags removed and spaces collapsed.
 * Phrases a phishing lure uses itself ("your account has been suspended", "your domain has expired") are left
 * out on purpose: a false "parked" closes a live case.
 */
export const PARKED_PHRASES: readonly string[] = [
  'this domain is parked',
  'this web page is parked',
  'this webpage is parked',
  'domain has been parked',
  'parked free, courtesy of',
  'parked for free, courtesy of',
  'this domain is for sale',
  'this domain may be for sale',
  'domain name is for sale',
  'buy this domain',
  'this website has been suspended',
  'this site has been suspended',
  'sedoparkingurl',
];

/** Hosts of domain parking and domain sale services: a page that redirects to or loads from them is a lander. */
export const PARKING_HOSTS: readonly string[] = [
  'sedoparking.com',
  'parkingcrew.net',
  'bodis.com',
  'above.com',
  'afternic.com',
  'dan.com',
  'hugedomains.com',
  'undeveloped.com',
];

/** How much of a body the detector reads: landers are small, and a phrase deep in a big page is not a lander. */
export const PARKED_SCAN_BYTES = 256 * 1024;

/**
 * What shows a page to be parked or suspended, or undefined: a parking host among the URLs the fetch went
 * through or in the page (scripts, frames), cPanel's suspended-account page, or a known phrase.
 */
export function detectParked(page: { readonly urls: readonly string[]; readonly body?: string }): string | undefined {
  for (const url of page.urls) {
    const h = hostOf(url);
    const parking = PARKING_HOSTS.find((p) => h === p || h.endsWith(`.${p}`));
    if (parking) return `redirected to ${parking}`;
    if (/\/cgi-sys\/suspendedpage\.cgi/i.test(url)) return 'redirected to suspendedpage.cgi';
  }
  if (page.body === undefined) return undefined;
  const text = page.body.slice(0, PARKED_SCAN_BYTES).toLowerCase();
  if (text.includes('suspendedpage.cgi')) return '"suspendedpage.cgi"';
  const flat = text.replace(/<[^>]*>/g, ' ').replace(/&nbsp;/g, ' ').replace(/\s+/g, ' ');
  // cPanel's page: its title alone, or its sentence with its advice (a lure says the first, never the second)
  const title = /<title[^>]*>\s*([^<]*?)\s*<\/title>/.exec(text)?.[1];
  if (title === 'account suspended') return '"Account Suspended" (title)';
  if (flat.includes('this account has been suspended') && flat.includes('contact your hosting provider')) return '"This Account has been suspended"';
  const phrase = PARKED_PHRASES.find((p) => flat.includes(p) || text.includes(p));
  if (phrase) return `"${phrase}"`;
  for (const p of PARKING_HOSTS) {
    // only as the host of a URL: "dan.com" is inside "sudan.com", and a page may name a service in passing
    const url = new RegExp(`//(?:[a-z0-9-]+\\.)*${p.replace(/\./g, '\\.')}(?![a-z0-9-]|\\.[a-z0-9])`);
    if (url.test(text)) return `loads from ${p}`;
  }
  return undefined;
}

/** Whether a redirect chain ended on another host than it began (`www.` and the scheme aside). */
function offHost(from: string, to: string): boolean {
  const bare = (h: string) => h.replace(/^www\./, '');
  return bare(hostOf(from)) !== bare(hostOf(to));
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname.toLowerCase().replace(/\.$/, '');
  } catch {
    return '';
  }
}

function down(verdict: 'nxdomain' | 'sinkholed', detail: string, evidence: ProbeEvidence): ProbeOutcome {
  return { verdict, live: false, conclusive: true, detail, evidence };
}
