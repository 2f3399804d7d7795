import type { Indicator, IndicatorKind } from '../model.js';

/**
 * Canonical forms of IPs, domains and URLs: the canonical `value` is the deduplication key, so two spellings of
 * the same thing (defanged, upper case, IDN, uncompressed IPv6) must end up as the same text.
 * Refusal reasons never repeat the value: a phishing URL may carry a victim's address in its query.
 */

/** An indicator as normalisation sees it: what the text alone says. */
export type NormalisedIndicator = Omit<Indicator, 'origin' | 'country' | 'firstSeen' | 'evidence' | 'threat'>;

export type NormaliseResult = { ok: true; indicator: NormalisedIndicator } | { ok: false; reason: string };

type HostKind = NormalisedIndicator['hostKind'];
type Host = { host: string; hostKind: HostKind };
type Outcome<T> = { ok: true; value: T } | { ok: false; reason: string };

const DEFAULT_PORTS: Readonly<Record<string, number>> = { http: 80, https: 443, ftp: 21 };

const HINTS: Readonly<Record<string, readonly IndicatorKind[]>> = {
  ip: ['ipv4', 'ipv6'],
  ipv4: ['ipv4'],
  ipv6: ['ipv6'],
  domain: ['domain'],
  hostname: ['domain'],
  url: ['url'],
  uri: ['url'],
  link: ['url'],
};

const KIND_LABEL: Readonly<Record<IndicatorKind, string>> = {
  ipv4: 'an IPv4 address',
  ipv6: 'an IPv6 address',
  domain: 'a domain',
  url: 'a URL',
};

const fail = (reason: string): { ok: false; reason: string } => ({ ok: false, reason });

/** Normalises one IP, domain or URL (possibly defanged) to its canonical form, or says why it cannot. */
export function normaliseIndicator(raw: string, hint?: { type?: string }): NormaliseResult {
  const declared = hint?.type?.trim().toLowerCase() || undefined;
  const expected = declared === undefined ? undefined : HINTS[declared];
  if (declared !== undefined && expected === undefined) {
    return fail(`type '${clip(declared)}' is not one of ${Object.keys(HINTS).join(', ')}`);
  }
  const text = refang(clean(raw));
  if (text === '') return fail('empty');

  const parsed = parse(text);
  if (!parsed.ok) {
    // an address was declared and the text is nothing like one: say that, not why it is no host name either
    if (expected && expected.every((k) => k === 'ipv4' || k === 'ipv6') && !/^[\d.:a-f[\]]+$/i.test(text)) return fail('not an address');
    return parsed;
  }
  const { indicator, mapped } = parsed.value;
  // An IPv4-mapped IPv6 address becomes its IPv4, but it was still written as IPv6.
  if (expected && !expected.includes(indicator.kind) && !(mapped && expected.includes('ipv6'))) {
    return fail(`declared as ${declared} but it is ${KIND_LABEL[indicator.kind]}`);
  }
  const written = raw.trim();
  // the same characters share one string: at 200,000 indicators a copy per indicator is megabytes
  return { ok: true, indicator: { ...indicator, raw: written === indicator.value ? indicator.value : written } };
}

/**
 * Normalises a domain suffix as a directory uses it (`example`, `.shop.example`): like a domain, but a single
 * label (a TLD) is allowed.
 */
export function normaliseDomainSuffix(raw: string): { ok: true; suffix: string } | { ok: false; reason: string } {
  const text = raw.trim().replace(/^\*?\./, '');
  const result = normaliseDomain(text, 1);
  return result.ok ? { ok: true, suffix: result.value } : result;
}

/** Strips what wraps an indicator in lists and spreadsheets: whitespace, quotes, a trailing comma or semicolon. */
function clean(raw: string): string {
  let text = raw.trim();
  for (;;) {
    const before = text;
    text = text.replace(/[,;]+$/, '').trim();
    if (text.length >= 2 && /^(["'`]).*\1$/s.test(text)) text = text.slice(1, -1).trim();
    if (text === before) return text;
  }
}

/** Undoes the usual defanging (hxxp, [.], [dot], [:] ...) so the text parses. */
function refang(text: string): string {
  return text
    .replace(/\[\s*(?:\.|dot)\s*\]|\(\s*(?:\.|dot)\s*\)|\{\s*(?:\.|dot)\s*\}/gi, '.')
    .replace(/\[:\/\/\]/g, '://')
    .replace(/\[:\]/g, ':')
    .replace(/^hxxp(s?):/i, 'http$1:')
    .replace(/^fxp:/i, 'ftp:');
}

function parse(text: string): Outcome<{ indicator: Omit<NormalisedIndicator, 'raw'>; mapped: boolean }> {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(text);
  if (scheme) return normaliseUrl(scheme[1]!.toLowerCase(), text.slice(scheme[0].length));

  const slash = text.indexOf('/');
  if (slash >= 0) {
    const before = text.slice(0, slash);
    const ip = normaliseHost(before.replace(/^\[(.*)\]$/, '$1'), false);
    if (/^\d{1,3}$/.test(text.slice(slash + 1)) && ip.ok && ip.value.hostKind !== 'domain') {
      return fail('a network range, not an address');
    }
    return fail('a path without a scheme: write a URL with http:// or https://');
  }
  const hostPort = splitHostPort(text);
  if (!hostPort.ok) return hostPort;
  const host = normaliseHost(hostPort.value.host, hostPort.value.bracketed);
  if (!host.ok) return host;
  const { port } = hostPort.value;
  const { host: value, hostKind, mapped } = host.value;
  return { ok: true, value: { indicator: { value, kind: hostKind, host: value, hostKind, ...(port ? { port } : {}) }, mapped } };
}

function normaliseUrl(
  scheme: string,
  rest: string,
): Outcome<{ indicator: Omit<NormalisedIndicator, 'raw'>; mapped: boolean }> {
  const defaultPort = DEFAULT_PORTS[scheme];
  if (defaultPort === undefined) {
    return fail(`scheme '${clip(scheme)}' is not supported (only ${Object.keys(DEFAULT_PORTS).join(', ')})`);
  }
  // WHATWG URL treats a backslash as a slash in http(s) and ftp URLs; so must the authority split.
  const authorityEnd = rest.search(/[/?#\\]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  let tail = authorityEnd < 0 ? '' : rest.slice(authorityEnd);
  const hostText = authority.slice(authority.lastIndexOf('@') + 1);
  if (hostText === '') return fail('the URL has no host');

  const hostPort = splitHostPort(hostText);
  if (!hostPort.ok) return hostPort;
  const host = normaliseHost(hostPort.value.host, hostPort.value.bracketed);
  if (!host.ok) return host;
  const port = hostPort.value.port === defaultPort ? undefined : hostPort.value.port;

  const hash = tail.indexOf('#');
  if (hash >= 0) tail = tail.slice(0, hash);
  let path: string;
  try {
    // The host is fixed so only the path and query are parsed: WHATWG's own host parsing would silently turn
    // ambiguous numbers like 010.1 into addresses.
    const parsed = new URL(`${scheme}://h.invalid${tail}`);
    path = parsed.pathname + parsed.search;
  } catch {
    return fail('the path or query of the URL cannot be parsed');
  }
  const shownHost = host.value.hostKind === 'ipv6' ? `[${host.value.host}]` : host.value.host;
  const value = `${scheme}://${shownHost}${port ? `:${port}` : ''}${path}`;
  return {
    ok: true,
    value: {
      indicator: { value, kind: 'url', host: host.value.host, hostKind: host.value.hostKind, ...(port ? { port } : {}) },
      mapped: false,
    },
  };
}

/** Splits `host`, `host:port`, `[v6]`, `[v6]:port` or a bare IPv6 address. */
function splitHostPort(text: string): Outcome<{ host: string; port?: number; bracketed: boolean }> {
  let host: string;
  let portText: string | undefined;
  let bracketed = false;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) return fail("an IPv6 address in '[' without its ']'");
    host = text.slice(1, close);
    bracketed = true;
    const after = text.slice(close + 1);
    if (after !== '' && !after.startsWith(':')) return fail("unexpected text after ']'");
    portText = after === '' ? undefined : after.slice(1);
  } else {
    const colons = text.split(':').length - 1;
    if (colons === 1) {
      const colon = text.indexOf(':');
      host = text.slice(0, colon);
      portText = text.slice(colon + 1);
    } else {
      host = text;
    }
  }
  if (portText === undefined || portText === '') return { ok: true, value: { host, bracketed } };
  if (!/^\d{1,5}$/.test(portText)) return fail("the text after ':' is not a port number (a URL needs '://')");
  const port = Number(portText);
  if (port < 1 || port > 65535) return fail('the port is not between 1 and 65535');
  return { ok: true, value: { host, port, bracketed } };
}

function normaliseHost(text: string, bracketed: boolean): Outcome<Host & { mapped: boolean }> {
  if (text === '') return fail('no host');
  if (bracketed || text.includes(':')) {
    const groups = parseIPv6(text);
    if (!groups.ok) return groups;
    const g = groups.value;
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
      const host = [g[6]! >> 8, g[6]! & 255, g[7]! >> 8, g[7]! & 255].join('.');
      return { ok: true, value: { host, hostKind: 'ipv4', mapped: true } };
    }
    return { ok: true, value: { host: formatIPv6(g), hostKind: 'ipv6', mapped: false } };
  }
  if (/^[0-9.]+$/.test(text)) {
    const octets = parseIPv4(text);
    return octets.ok ? { ok: true, value: { host: octets.value.join('.'), hostKind: 'ipv4', mapped: false } } : octets;
  }
  const domain = normaliseDomain(text, 2);
  return domain.ok ? { ok: true, value: { host: domain.value, hostKind: 'domain', mapped: false } } : domain;
}

function parseIPv4(text: string): Outcome<number[]> {
  const parts = text.split('.');
  if (parts.length !== 4) return fail('an IPv4 address has four dot-separated parts');
  const octets: number[] = [];
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return fail('an IPv4 part is empty or too long');
    if (part.length > 1 && part.startsWith('0')) {
      return fail('an IPv4 part has a leading zero (ambiguous: octal or decimal)');
    }
    const n = Number(part);
    if (n > 255) return fail('an IPv4 part is over 255');
    octets.push(n);
  }
  return { ok: true, value: octets };
}

function parseIPv6(text: string): Outcome<number[]> {
  if (text.includes('%')) return fail('an IPv6 zone id (%...) is not allowed');
  const halves = text.split('::');
  if (halves.length > 2) return fail("'::' appears more than once in the IPv6 address");
  const sides = halves.map((h) => (h === '' ? [] : h.split(':')));
  const last = sides[sides.length - 1]!;
  const groups: number[][] = [];
  for (const [s, side] of sides.entries()) {
    const numbers: number[] = [];
    for (const [i, group] of side.entries()) {
      if (group.includes('.')) {
        if (side !== last || i !== side.length - 1) return fail('an embedded IPv4 address must come last');
        const v4 = parseIPv4(group);
        if (!v4.ok) return v4;
        const [a, b, c, d] = v4.value as [number, number, number, number];
        numbers.push((a << 8) | b, (c << 8) | d);
      } else if (/^[0-9a-f]{1,4}$/i.test(group)) {
        numbers.push(parseInt(group, 16));
      } else {
        return fail('not a valid IPv6 address');
      }
    }
    groups[s] = numbers;
  }
  const head = groups[0]!;
  const tail = groups[1] ?? [];
  const count = head.length + tail.length;
  if (halves.length === 1) {
    return count === 8 ? { ok: true, value: head } : fail('an IPv6 address has eight groups (or uses ::)');
  }
  if (count > 7) return fail("an IPv6 address with '::' has at most seven other groups");
  return { ok: true, value: [...head, ...new Array<number>(8 - count).fill(0), ...tail] };
}

/** RFC 5952: lower case, no leading zeros, the longest run (>= 2) of zero groups as '::', leftmost on a tie. */
function formatIPv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

function normaliseDomain(text: string, minLabels: number): Outcome<string> {
  let domain = text.toLowerCase();
  if (domain.endsWith('.')) domain = domain.slice(0, -1);
  if (domain === '') return fail('empty host name');
  if (/\s/.test(domain)) return fail('contains a space');
  if (domain.includes('_')) return fail("contains '_', which a host name may not");
  if (domain.includes('@')) return fail("contains '@': an e-mail address is not an indicator");
  if (/[^\x00-\x7f]/.test(domain)) {
    try {
      domain = new URL(`http://${domain}`).hostname;
    } catch {
      return fail('not a valid internationalised domain name');
    }
    if (domain.endsWith('.')) domain = domain.slice(0, -1);
  }
  if (domain.length > 253) return fail('a domain is at most 253 characters');
  const labels = domain.split('.');
  if (labels.length < minLabels) return fail('a domain needs at least two labels (like example.com)');
  for (const label of labels) {
    if (label === '') return fail('an empty label (two dots in a row, or a leading dot)');
    if (label.length > 63) return fail('a label is longer than 63 characters');
    const bad = /[^a-z0-9-]/.exec(label);
    if (bad) return fail(`contains '${bad[0]}', which a host name may not`);
    if (label.startsWith('-') || label.endsWith('-')) return fail("a label starts or ends with '-'");
  }
  if (/^\d+$/.test(labels[labels.length - 1]!)) return fail('the top-level label is all digits');
  return { ok: true, value: domain };
}

function clip(text: string): string {
  return text.length > 20 ? `${text.slice(0, 20)}…` : text;
}
