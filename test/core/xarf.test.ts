import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Indicator, IndicatorKind } from '../../lib/core/model.js';
import { normaliseIndicator } from '../../lib/core/intake/normalise.js';
import { base64, sha256Hex, xarfClassOf, xarfReport, type XarfInput } from '../../lib/core/notices/render/xarf.js';
import { XARF } from '../support/fixtures.js';

const SCHEMAS = join(XARF, 'schemas', 'v4');

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

/** The official master schema with every schema it references (core and all types), draft 2020-12, formats on. */
function masterValidator(): Validate {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  addFormats(ajv);
  const load = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as { $id: string };
  ajv.addSchema(load(join(SCHEMAS, 'xarf-core.json')));
  for (const file of readdirSync(join(SCHEMAS, 'types')).filter((f) => f.endsWith('.json'))) ajv.addSchema(load(join(SCHEMAS, 'types', file)));
  return ajv.compile(load(join(SCHEMAS, 'xarf-v4-master.json'))) as Validate;
}

function indicator(raw: string, extra: Partial<Indicator> = {}): Indicator {
  const result = normaliseIndicator(raw);
  if (!result.ok) throw new Error(result.reason);
  return { ...result.indicator, origin: 'test', ...extra };
}

const REPORTER = { org: 'Example National CERT', contact: 'takedown@cert.example', domain: 'cert.example' };

function report(ind: Indicator, over: Partial<XarfInput> = {}): Record<string, unknown> {
  return xarfReport({
    indicator: ind,
    caseId: 'c0123456789abcdef',
    tag: 'TKD-n0123456789abcdef',
    tlp: 'AMBER',
    campaign: { name: 'Opération Africa Cyber Surge II' },
    reporter: REPORTER,
    now: new Date('2025-03-01T12:00:00Z'),
    ...over,
  });
}

/** One indicator of each kind, the shapes intake produces (a port, an IPv6 URL, an IDN). */
const BY_KIND: Record<IndicatorKind, Indicator[]> = {
  ipv4: [indicator('192.0.2.10'), indicator('198.51.100.7:8443')],
  ipv6: [indicator('2001:db8::25')],
  domain: [indicator('evil.example'), indicator('xn--80ak6aa92e.example'), indicator('bücher.example')],
  url: [indicator('hxxp://login-bank[.]example/secure/?u=a%20b'), indicator('http://[2001:db8::1]:8080/panel'), indicator('https://203.0.113.5/x.exe')],
};

/** Every threat wording the mapping knows, with the class it must land in. */
const THREATS: [string, string, string][] = [
  ['phishing', 'content', 'phishing'],
  ['Credential harvesting page', 'content', 'phishing'],
  ['C2', 'infrastructure', 'botnet'],
  ['botnet command-and-control', 'infrastructure', 'botnet'],
  ['Emotet C&C', 'infrastructure', 'botnet'],
  ['malware distribution', 'content', 'malware'],
  ['Payload delivery', 'content', 'malware'],
  ['ransomware dropper', 'content', 'malware'],
  ['fraud', 'content', 'fraud'],
  ['investment scam', 'content', 'fraud'],
  ['advance-fee (419) fraud', 'content', 'fraud'],
  ['Financial fraud', 'content', 'fraud'],
  ['fake shop', 'content', 'fraud'],
  ['compromised', 'infrastructure', 'compromised_server'],
  ['web shell', 'infrastructure', 'compromised_server'],
  ['spam', 'reputation', 'threat_intelligence'],
  ['External analysis', 'reputation', 'threat_intelligence'],
];

describe('xarfReport', () => {
  let validate: Validate;
  beforeAll(() => {
    validate = masterValidator();
  });

  const valid = (data: unknown): boolean => {
    const ok = validate(data);
    if (!ok) console.error(JSON.stringify(validate.errors, null, 2));
    return ok;
  };

  it('is checked by a validator that accepts the official samples and refuses a broken report', () => {
    const samples = readdirSync(join(XARF, 'samples', 'v4')).filter((f) => f.endsWith('.json'));
    expect(samples.length).toBeGreaterThan(30);
    for (const file of samples) expect(validate(JSON.parse(readFileSync(join(XARF, 'samples', 'v4', file), 'utf8'))), file).toBe(true);
    const good = report(indicator('http://phish.example/login', { threat: 'phishing' }));
    expect(valid(good)).toBe(true);
    const { url: _url, ...withoutUrl } = good;
    expect(validate(withoutUrl)).toBe(false);
    expect(validate({ ...good, type: 'bot' })).toBe(false);
    expect(validate({ ...good, tags: ['TLP:AMBER'] })).toBe(false);
    const { fraud_type: _f, ...fraudWithoutType } = report(indicator('scam.example', { threat: 'scam' }));
    expect(validate(fraudWithoutType)).toBe(false);
    const { compromise_evidence: _c, ...botWithoutEvidence } = report(indicator('192.0.2.1', { threat: 'C2' }));
    expect(validate(botWithoutEvidence)).toBe(false);
  });

  it('validates against the master schema for every indicator kind, with no threat known', () => {
    for (const [kind, list] of Object.entries(BY_KIND)) {
      for (const ind of list) {
        const r = report(ind);
        expect(valid(r), `${kind} ${ind.value}`).toBe(true);
        expect([r.category, r.type], ind.value).toEqual(['reputation', 'threat_intelligence']);
      }
    }
  });

  it('validates for every mapped threat on every indicator kind, in the class the threat names', () => {
    for (const [threat, category, type] of THREATS) {
      for (const list of Object.values(BY_KIND)) {
        for (const ind of list) {
          const r = report({ ...ind, threat, evidence: 'Seen by the vendor\'s sinkhole, 40 bots a day', firstSeen: '2025-02-11T08:30:00+01:00', country: 'ke' });
          expect(valid(r), `${threat} on ${ind.value}`).toBe(true);
          expect([r.category, r.type], `${threat} on ${ind.value}`).toEqual([category, type]);
        }
      }
    }
  });

  it('maps the threats the issue names, and leaves an uninformative one to the indicator kind', () => {
    expect(xarfClassOf({ kind: 'url', threat: 'phishing' })).toMatchObject({ category: 'content', type: 'phishing' });
    expect(xarfClassOf({ kind: 'ipv4', threat: 'C2' })).toMatchObject({ category: 'infrastructure', type: 'botnet' });
    expect(xarfClassOf({ kind: 'url', threat: 'malware distribution' })).toMatchObject({ category: 'content', type: 'malware' });
    expect(xarfClassOf({ kind: 'domain', threat: 'romance scam' })).toEqual({ category: 'content', type: 'fraud', fraudType: 'romance' });
    expect(xarfClassOf({ kind: 'domain', threat: 'scam' })).toEqual({ category: 'content', type: 'fraud', fraudType: 'other' });
    expect(xarfClassOf({ kind: 'ipv6', threat: 'malicious-activity, anomalous-activity' })).toEqual({ category: 'reputation', type: 'threat_intelligence', threatType: 'malicious_ip' });
    expect(xarfClassOf({ kind: 'domain' })).toMatchObject({ threatType: 'malicious_domain' });
    expect(xarfClassOf({ kind: 'url', threat: '' })).toMatchObject({ threatType: 'malicious_url' });
  });

  it('carries the indicator, its case, TLP and evidence, and a stable report id per message', () => {
    const ind = indicator('http://[2001:db8::1]:8080/panel', { threat: 'C2', evidence: 'beacon every 60 s', firstSeen: '2025-02-11' });
    const r = report(ind);
    expect(r).toMatchObject({
      source_identifier: '2001:db8::1',
      source_port: 8080,
      c2_server: '2001:db8::1',
      c2_protocol: 'http',
      timestamp: '2025-02-11T00:00:00.000Z',
      compromise_evidence: 'beacon every 60 s',
    });
    expect(r.tags).toEqual(expect.arrayContaining(['tlp:amber', 'case:c0123456789abcdef', 'notice:tkd-n0123456789abcdef', 'campaign:operation-africa-cyber-surge-ii', 'threat:c2']));
    const evidence = (r.evidence as { payload: string; hash: string }[])[0]!;
    expect(Buffer.from(evidence.payload, 'base64').toString('utf8')).toBe('beacon every 60 s');
    expect(evidence.hash).toBe(`sha256:${createHash('sha256').update('beacon every 60 s').digest('hex')}`);
    expect(report(ind).report_id).toBe(r.report_id);
    expect(report(ind, { seed: '<other message>' }).report_id).not.toBe(r.report_id);
    expect(report(ind, { caseId: 'c_other' }).report_id).not.toBe(r.report_id);
    expect(r.report_id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('keeps a TLP marking with a plus sign a valid tag, and an IDN out of the domain field', () => {
    const r = report(indicator('bücher.example', { threat: 'phishing' }), { tlp: 'AMBER+STRICT' });
    expect(r.tags).toContain('tlp:amber+strict');
    expect(r.domain).toBeUndefined();
    expect(r.url).toBe('http://xn--bcher-kva.example/');
    expect(valid(r)).toBe(true);
  });
});

describe('the core hashing and base64', () => {
  it('base64 agrees with Buffer on empty, block-edge and multi-byte input', () => {
    for (const text of ['', 'a', 'ab', 'abc', 'a'.repeat(55), 'a'.repeat(1000), 'مؤشر خبيث — évidence']) {
      const bytes = new TextEncoder().encode(text);
      expect(base64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
  });

  it('hashes evidence as SHA-256 in lower-case hex (FIPS 180-4 test vector "abc")', () => {
    expect(sha256Hex(new TextEncoder().encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
