import { describe, expect, it } from 'vitest';
import { proxyFailure, proxyStatusError } from '../../lib/adapters/probe/connect.js';
import { createProber, defaultUserAgent, proberSettingsFromEnv } from '../../lib/adapters/probe/prober.js';
import { InvalidInputError } from '../../lib/core/errors.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import {
  DEFAULT_SINKHOLES,
  detectParked,
  dnsOutcome,
  httpOutcome,
  isSinkhole,
  parseSinkholes,
  planProbe,
  probeStatus,
  shouldRetry,
  tcpOutcome,
} from '../../lib/core/verify/probe.js';

/* What probe observations mean, without the network: the readings the prober and the verify workflow share. */

function plan(raw: string) {
  const r = normaliseIndicator(raw);
  if (!r.ok) throw new Error(r.reason);
  return planProbe(r.indicator);
}

const NONE = parseSinkholes([]);

describe('planProbe', () => {
  it('resolves a domain, connects to an address, fetches a web URL and connects to an ftp URL', () => {
    expect(plan('evil.example')).toEqual({ method: 'dns', target: 'evil.example', host: 'evil.example' });
    expect(plan('evil.example:8443')).toMatchObject({ method: 'dns', host: 'evil.example' });
    expect(plan('198.51.100.7:4444')).toEqual({ method: 'tcp', target: '198.51.100.7:4444', host: '198.51.100.7', hostKind: 'ipv4', ports: [4444] });
    expect(plan('198.51.100.7')).toMatchObject({ method: 'tcp', target: '198.51.100.7', ports: [80, 443] });
    expect(plan('[2001:db8::7]:8080')).toMatchObject({ method: 'tcp', target: '[2001:db8::7]:8080', host: '2001:db8::7', ports: [8080] });
    expect(plan('hxxps://evil[.]example/login')).toEqual({ method: 'http', target: 'https://evil.example/login', host: 'evil.example', url: 'https://evil.example/login' });
    expect(plan('ftp://files.example/x.exe')).toMatchObject({ method: 'tcp', target: 'files.example:21', hostKind: 'domain', ports: [21] });
  });
});

describe('dnsOutcome', () => {
  it('needs NXDOMAIN from one query, or no records from both, to call a name down', () => {
    expect(dnsOutcome('x.example', { code: 'ENOTFOUND' }, { code: 'ENOTFOUND' }, NONE).verdict).toBe('nxdomain');
    expect(dnsOutcome('x.example', { code: 'ENODATA' }, { code: 'ENODATA' }, NONE).verdict).toBe('nxdomain');
    expect(dnsOutcome('x.example', { code: 'ENODATA' }, { addresses: ['2001:db8::1'] }, NONE).verdict).toBe('live');
    const failed = dnsOutcome('x.example', { code: 'ENODATA' }, { code: 'ETIMEOUT' }, NONE);
    expect(failed).toMatchObject({ verdict: 'timeout', conclusive: false });
    expect(shouldRetry(failed)).toBe(true);
  });
});

describe('tcpOutcome', () => {
  it('is live when either port accepts', () => {
    const r = tcpOutcome('198.51.100.7', [
      { port: 80, open: false, failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } },
      { port: 443, open: true },
    ]);
    expect(r).toMatchObject({ verdict: 'live', live: true, evidence: { openPorts: [443] } });
  });

  it('is down when both ports refuse or go unanswered (a null route), with the time-out deciding', () => {
    const r = tcpOutcome('198.51.100.7', [
      { port: 80, open: false, failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } },
      { port: 443, open: false, failure: { kind: 'timeout', code: 'ETIMEDOUT', phase: 'connect' } },
    ]);
    expect(r).toMatchObject({ verdict: 'timeout', live: false, conclusive: true });
    expect(probeStatus({ ...r })).toBe('down');
  });

  it('is no evidence when one port failed for a reason of ours', () => {
    const r = tcpOutcome('2001:db8::7', [
      { port: 80, open: false, failure: { kind: 'refused', code: 'ECONNREFUSED', phase: 'connect' } },
      { port: 443, open: false, failure: { kind: 'error', code: 'ENETUNREACH', phase: 'connect' } },
    ]);
    expect(r).toMatchObject({ verdict: 'error', conclusive: false });
  });
});

describe('httpOutcome', () => {
  const base = { url: 'https://evil.example/', finalUrl: 'https://evil.example/', redirects: 0 };

  it('calls 404, 410 and 451 down, and 401, 403, 429 and 5xx no evidence', () => {
    for (const status of [404, 410, 451]) expect(httpOutcome({ ...base, status })).toMatchObject({ verdict: 'down', conclusive: true });
    for (const status of [401, 403, 429, 500, 503]) expect(httpOutcome({ ...base, status })).toMatchObject({ verdict: 'error', live: false, conclusive: false });
  });

  it('calls an empty page no evidence: a removed kit and a cloaking kit both show one', () => {
    expect(httpOutcome({ ...base, status: 200, bodySha256: 'e3b0', bodyBytes: 0 })).toMatchObject({ verdict: 'error', conclusive: false });
    expect(httpOutcome({ ...base, status: 200, bodySha256: 'e3b0', bodyBytes: 1 })).toMatchObject({ verdict: 'live', conclusive: true });
  });

  it('calls a suspended page parked whatever its status, unless it is the very page of the evidence', () => {
    expect(httpOutcome({ ...base, status: 403, parkedBy: '"Account Suspended" (title)' })).toMatchObject({ verdict: 'parked', conclusive: true });
    const same = httpOutcome({ ...base, status: 200, parkedBy: '"buy this domain"', bodySha256: 'AB', evidenceSha256: 'ab' });
    expect(same).toMatchObject({ verdict: 'live', evidence: { matchesEvidence: true } });
  });
});

describe('detectParked', () => {
  it('finds landers by phrase, by title, by parking host in the page or in the redirects', () => {
    expect(detectParked({ urls: [], body: '<p>This   domain is\n parked</p>' })).toBe('"this domain is parked"');
    expect(detectParked({ urls: [], body: '<title> Account Suspended </title>' })).toBe('"Account Suspended" (title)');
    expect(detectParked({ urls: ['http://a.example/', 'https://ww12.parkingcrew.net/?d=a.example'] })).toBe('redirected to parkingcrew.net');
    expect(detectParked({ urls: [], body: '<iframe src="https://www.dan.com/buy-domain/a.example">' })).toBe('loads from dan.com');
  });

  it("does not take a phishing lure's own words or a look-alike host for a lander", () => {
    expect(detectParked({ urls: [], body: '<title>Bank - Verify</title>Your account has been suspended. Verify now.' })).toBeUndefined();
    expect(detectParked({ urls: [], body: '<a href="https://bank-of-sudan.com/">' })).toBeUndefined();
    expect(detectParked({ urls: ['https://notbodis.com.example/'] })).toBeUndefined();
  });
});

describe('sinkhole lists', () => {
  it('matches addresses and CIDRs of both families, and the shipped defaults', () => {
    const list = parseSinkholes(['192.0.2.1', '198.51.100.0/24', '2001:db8:5::/48']);
    expect(isSinkhole('192.0.2.1', list)).toBe(true);
    expect(isSinkhole('192.0.2.2', list)).toBe(false);
    expect(isSinkhole('198.51.100.255', list)).toBe(true);
    expect(isSinkhole('2001:db8:5:ffff::1', list)).toBe(true);
    expect(isSinkhole('2001:db8:6::1', list)).toBe(false);
    const defaults = parseSinkholes(DEFAULT_SINKHOLES);
    expect(isSinkhole('0.0.0.0', defaults)).toBe(true);
    expect(isSinkhole('::', defaults)).toBe(true);
    expect(isSinkhole('127.0.0.1', defaults)).toBe(false);
  });

  it('names every bad entry', () => {
    const err = (() => {
      try {
        parseSinkholes(['192.0.2.0/24', 'sinkhole.example', '198.51.100.1/24']);
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).issues.map((i) => i.where)).toEqual(['sinkholes[1]', 'sinkholes[2]']);
  });
});

describe('proberSettingsFromEnv', () => {
  it('reads every setting, and treats empty variables as unset', () => {
    expect(
      proberSettingsFromEnv({
        TAKEDOWN_PROBE_PROXY: 'http://egress.example:3128',
        TAKEDOWN_PROBE_DNS: '192.0.2.53, 127.0.0.1:5353,[2001:db8::53]:53',
        TAKEDOWN_PROBE_SINKHOLES: '192.0.2.66 198.51.100.0/24',
        TAKEDOWN_PROBE_TIMEOUT_MS: '3000',
        TAKEDOWN_PROBE_USER_AGENT: 'ExampleCERT-verify/1.0',
        TAKEDOWN_PROBE_RETRIES: '',
      }),
    ).toEqual({
      proxy: 'http://egress.example:3128',
      dnsServers: ['192.0.2.53', '127.0.0.1:5353', '[2001:db8::53]:53'],
      sinkholes: ['192.0.2.66', '198.51.100.0/24'],
      timeoutMs: 3000,
      userAgent: 'ExampleCERT-verify/1.0',
    });
    expect(proberSettingsFromEnv({})).toEqual({});
    expect(proberSettingsFromEnv({ TAKEDOWN_PROBE_SINKHOLES: 'none' })).toEqual({ sinkholes: [] });
  });

  it('names each bad variable without repeating a value', () => {
    let err: unknown;
    try {
      proberSettingsFromEnv({
        TAKEDOWN_PROBE_PROXY: 'socks5://user:hunter2@egress.example:1080',
        TAKEDOWN_PROBE_DNS: 'resolver.example',
        TAKEDOWN_PROBE_TIMEOUT_MS: '5s',
        TAKEDOWN_PROBE_USER_AGENT: 'two\nlines',
      });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InvalidInputError);
    const issues = (err as InvalidInputError).issues;
    expect(issues.map((i) => i.where).sort()).toEqual(['TAKEDOWN_PROBE_DNS.0', 'TAKEDOWN_PROBE_PROXY', 'TAKEDOWN_PROBE_TIMEOUT_MS', 'TAKEDOWN_PROBE_USER_AGENT']);
    expect(JSON.stringify(issues)).not.toContain('hunter2');
    expect(() => proberSettingsFromEnv({ TAKEDOWN_PROBE_SINKHOLES: '192.0.2.1/8' })).toThrow(InvalidInputError);
  });
});

describe('createProber', () => {
  it('refuses unbounded retries and time-outs, and a proxy it cannot use', () => {
    expect(() => createProber({ retries: 10 })).toThrow(InvalidInputError);
    expect(() => createProber({ timeoutMs: 0 })).toThrow(InvalidInputError);
    expect(() => createProber({ proxy: 'https://egress.example:443' })).toThrow(/probe proxy is not valid/);
    expect(defaultUserAgent()).toBe('takedown-orchestrator-probe (takedown verification)');
  });
});

describe('reading what a proxy reports', () => {
  it('prefers the Proxy-Status error of the nearest proxy, then the status', () => {
    expect(proxyStatusError('upstream; error=dns_timeout, egress; error="connection_refused"')).toBe('connection_refused');
    expect(proxyFailure(502, 'egress; error=connection_timeout')).toMatchObject({ kind: 'timeout', byProxy: true });
    expect(proxyFailure(503, undefined)).toMatchObject({ kind: 'refused', code: 'PROXY_503' });
    expect(proxyFailure(504, undefined)).toMatchObject({ kind: 'timeout' });
    expect(proxyFailure(407, undefined)).toMatchObject({ kind: 'error', phase: 'proxy' });
  });
});
