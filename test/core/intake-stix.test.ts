import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { detectFormat, parseIndicators, type IntakeOptions } from '../../lib/core/intake/intake.js';
import { STIX } from '../support/fixtures.js';

const corpus = (name: string): string => readFileSync(join(STIX, name), 'utf8');
const NOW = new Date('2025-06-01T00:00:00Z');

const TLP1 = {
  white: 'marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9',
  green: 'marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da',
  amber: 'marking-definition--f88d31f6-486f-44da-b317-01333bde0b82',
  red: 'marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed',
};
const TLP2 = {
  clear: 'marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487',
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  strict: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function indicator(n: number, pattern: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: 'indicator',
    spec_version: '2.1',
    id: `indicator--${uuid(n)}`,
    created: '2024-01-01T00:00:00.000Z',
    modified: '2024-01-01T00:00:00.000Z',
    name: `indicator ${n}`,
    indicator_types: ['malicious-activity'],
    pattern,
    pattern_type: 'stix',
    valid_from: '2024-01-01T00:00:00Z',
    ...extra,
  };
}

function bundle(...objects: Record<string, unknown>[]): string {
  return JSON.stringify({ type: 'bundle', id: `bundle--${uuid(999)}`, objects });
}

const read = (text: string, opts: IntakeOptions = {}) => parseIndicators(text, { now: NOW, ...opts });

function refused(text: string, opts: IntakeOptions = {}): InvalidInputError {
  try {
    const result = read(text, opts);
    throw new Error(`expected a refusal, got ${result.indicators.length} indicators`);
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return e;
  }
}

describe('parseIndicators: STIX 2.1 corpus bundles', () => {
  it('detects every corpus file as STIX', () => {
    for (const name of ['indicator-for-c2-ip-address.json', 'infrastructure.json', 'indicators-for-C2-with-COA.json', 'malicious-email-indicator-with-attachment.json', 'indicator-to-campaign-relationship.json']) {
      expect(detectFormat(corpus(name)), name).toBe('stix');
    }
  });

  it('reads the C2 address of an indicator, named by its STIX id, with its types and name as context', () => {
    const result = read(corpus('indicator-for-c2-ip-address.json'));
    expect(result.format).toBe('stix');
    expect(result.indicators).toHaveLength(1);
    const [ind] = result.indicators;
    expect(ind).toMatchObject({ value: '10.0.0.0', kind: 'ipv4', origin: 'indicator--33fe3b22-0201-47cf-85d0-97c02164528d', threat: 'malicious-activity' });
    expect(ind!.evidence).toContain('IP Address for known C2 channel');
    expect(ind!.tlp).toBeUndefined();
  });

  it('reads the address of a bundle with a relationship to a campaign, and ignores the campaign', () => {
    const result = read(corpus('indicator-to-campaign-relationship.json'));
    expect(result.indicators.map((i) => [i.value, i.origin])).toEqual([['10.0.0.0', 'indicator--c43a0a05-e8d2-4f64-ae37-3f3fb153f8d9']]);
  });

  it('keeps the address and lists the file-hash indicator as unsupported, by its id', () => {
    const result = read(corpus('indicators-for-C2-with-COA.json'));
    expect(result.indicators.map((i) => i.value)).toEqual(['10.0.0.0']);
    expect(result.excluded).toEqual([
      { where: 'indicator--a932fcc6-e032-476c-826f-cb970a5a1ade', kind: 'unsupported', reason: 'the pattern uses the object type file' },
    ]);
  });

  it('reads the SCOs the infrastructure objects consist of, with the infrastructure as context', () => {
    const result = read(corpus('infrastructure.json'));
    expect(result.indicators.map((i) => [i.value, i.origin, i.threat])).toEqual([
      ['198.51.100.3', 'ipv4-addr--1e4ffad7-0b88-41d4-ba4d-77d27490b956 (in infrastructure--38c47d93-d984-4fd9-b87b-d69d0841628d)', 'command-and-control'],
      ['example.com', 'domain-name--ecb120bf-2694-4902-a737-62b74539a41b (in infrastructure--d09c50cf-5bab-465e-9e2d-543912148b73)', 'hosting-target-lists'],
    ]);
    expect(result.indicators[0]!.evidence).toContain('Poison Ivy C2');
  });

  it('refuses a bundle of only MATCHES patterns as having nothing to notify, and says why', () => {
    const error = refused(corpus('malicious-email-indicator-with-attachment.json'));
    expect(error.issues).toEqual([{ where: 'file', reason: 'no indicators to notify: 2 unsupported' }]);
    const plan = read(corpus('malicious-email-indicator-with-attachment.json'), { allowEmpty: true });
    expect(plan.excluded.map((e) => [e.where, e.reason])).toEqual([
      ['indicator--8cf9236f-1b96-493d-98be-0c1c1e8b62d7', 'the pattern uses the MATCHES operator'],
      ['indicator--2e17f6fe-3a4d-438a-911a-e509ba1b9933', 'the pattern uses the MATCHES operator'],
    ]);
  });

  it('reads a lone STIX object as a one-object bundle: a marked campaign has nothing to notify', () => {
    const result = read(corpus('interop-objectmarking-test.json'), { allowEmpty: true });
    expect(result.format).toBe('stix');
    expect(result.indicators).toEqual([]);
  });
});

describe('parseIndicators: STIX markings', () => {
  const valueTlp = (text: string) => read(text).indicators.map((i) => [i.value, i.tlp]);

  it('resolves the well-known TLP 1.0 and TLP 2.0 marking ids', () => {
    const objects = [
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [TLP1.white] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2']", { object_marking_refs: [TLP1.green] }),
      indicator(3, "[ipv4-addr:value = '192.0.2.3']", { object_marking_refs: [TLP1.amber] }),
      indicator(4, "[ipv4-addr:value = '192.0.2.4']", { object_marking_refs: [TLP1.red] }),
      indicator(5, "[ipv4-addr:value = '192.0.2.5']", { object_marking_refs: [TLP2.clear] }),
      indicator(6, "[ipv4-addr:value = '192.0.2.6']", { object_marking_refs: [TLP2.green] }),
      indicator(7, "[ipv4-addr:value = '192.0.2.7']", { object_marking_refs: [TLP2.amber] }),
      indicator(8, "[ipv4-addr:value = '192.0.2.8']", { object_marking_refs: [TLP2.strict] }),
      indicator(9, "[ipv4-addr:value = '192.0.2.9']", { object_marking_refs: [TLP2.red] }),
      indicator(10, "[ipv4-addr:value = '192.0.2.10']"),
    ];
    expect(valueTlp(bundle(...objects))).toEqual([
      ['192.0.2.1', 'CLEAR'], ['192.0.2.2', 'GREEN'], ['192.0.2.3', 'AMBER'], ['192.0.2.4', 'RED'], ['192.0.2.5', 'CLEAR'],
      ['192.0.2.6', 'GREEN'], ['192.0.2.7', 'AMBER'], ['192.0.2.8', 'AMBER+STRICT'], ['192.0.2.9', 'RED'], ['192.0.2.10', undefined],
    ]);
  });

  it('resolves marking definitions of the bundle: TLP 1.0 definition, TLP 2.0 extension, name; a statement is no TLP', () => {
    const defs = [
      { type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${uuid(101)}`, created: '2024-01-01T00:00:00Z', definition_type: 'tlp', definition: { tlp: 'amber' } },
      {
        type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${uuid(102)}`, created: '2024-01-01T00:00:00Z', name: 'TLP:AMBER+STRICT',
        extensions: { 'extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d': { extension_type: 'property-extension', tlp_2_0: 'amber+strict' } },
      },
      { type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${uuid(103)}`, created: '2024-01-01T00:00:00Z', name: 'TLP:RED' },
      { type: 'marking-definition', spec_version: '2.1', id: `marking-definition--${uuid(104)}`, created: '2024-01-01T00:00:00Z', definition_type: 'statement', definition: { statement: 'Copyright Example Vendor' } },
    ];
    const text = bundle(
      ...defs,
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [defs[0]!.id] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2']", { object_marking_refs: [defs[1]!.id] }),
      indicator(3, "[ipv4-addr:value = '192.0.2.3']", { object_marking_refs: [defs[2]!.id] }),
      indicator(4, "[ipv4-addr:value = '192.0.2.4']", { object_marking_refs: [defs[3]!.id] }),
      indicator(5, "[ipv4-addr:value = '192.0.2.5']", { object_marking_refs: [defs[3]!.id, TLP2.green] }),
    );
    expect(valueTlp(text)).toEqual([['192.0.2.1', 'AMBER'], ['192.0.2.2', 'AMBER+STRICT'], ['192.0.2.3', 'RED'], ['192.0.2.4', undefined], ['192.0.2.5', 'GREEN']]);
  });

  it('takes the strictest of several markings, and a bundle cannot loosen a well-known id by redefining it', () => {
    const loosened = { type: 'marking-definition', spec_version: '2.1', id: TLP2.red, created: '2022-10-01T00:00:00Z', definition_type: 'tlp', definition: { tlp: 'clear' } };
    const text = bundle(
      loosened,
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [TLP2.green, TLP2.amber] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2']", { object_marking_refs: [TLP2.red] }),
    );
    expect(valueTlp(text)).toEqual([['192.0.2.1', 'AMBER'], ['192.0.2.2', 'RED']]);
  });

  it('applies granular markings of the pattern, and drops a text field marked more strictly than its indicator', () => {
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { granular_markings: [{ marking_ref: TLP2.red, selectors: ['pattern'] }], object_marking_refs: [TLP2.green] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2']", {
        object_marking_refs: [TLP2.green],
        description: 'victim list attached',
        granular_markings: [{ marking_ref: TLP2.red, selectors: ['description'] }, { lang: 'en', selectors: ['name'] }],
      }),
    );
    const result = read(text);
    expect(result.indicators.map((i) => [i.value, i.tlp])).toEqual([['192.0.2.1', 'RED'], ['192.0.2.2', 'GREEN']]);
    expect(result.indicators[1]!.evidence).toContain('indicator 2');
    expect(result.indicators[1]!.evidence).not.toContain('victim');
  });

  it('refuses a marking nobody can resolve, naming the object, rather than reading it as no marking', () => {
    const unknown = `marking-definition--${uuid(555)}`;
    const error = refused(bundle(indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [unknown] }), indicator(2, "[ipv4-addr:value = '192.0.2.2']")));
    expect(error.issues).toEqual([{ where: `indicator--${uuid(1)}`, reason: `${unknown} is neither a known TLP marking nor defined in the bundle` }]);
  });

  it('marks an SCO of an infrastructure with the strictest of the SCO, the infrastructure and the relationship', () => {
    const text = bundle(
      { type: 'infrastructure', spec_version: '2.1', id: `infrastructure--${uuid(1)}`, created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', name: 'C2 farm', infrastructure_types: ['command-and-control'], object_marking_refs: [TLP2.amber] },
      { type: 'ipv4-addr', spec_version: '2.1', id: `ipv4-addr--${uuid(2)}`, value: '192.0.2.20', object_marking_refs: [TLP2.green] },
      { type: 'domain-name', spec_version: '2.1', id: `domain-name--${uuid(3)}`, value: 'c2.example' },
      { type: 'relationship', spec_version: '2.1', id: `relationship--${uuid(4)}`, created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', relationship_type: 'consists-of', source_ref: `infrastructure--${uuid(1)}`, target_ref: `ipv4-addr--${uuid(2)}` },
      { type: 'relationship', spec_version: '2.1', id: `relationship--${uuid(5)}`, created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', relationship_type: 'consists-of', source_ref: `infrastructure--${uuid(1)}`, target_ref: `domain-name--${uuid(3)}`, object_marking_refs: [TLP2.red] },
      // communicates-with names what the infrastructure talks to, which may be anyone's: not taken
      { type: 'relationship', spec_version: '2.1', id: `relationship--${uuid(6)}`, created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', relationship_type: 'communicates-with', source_ref: `infrastructure--${uuid(1)}`, target_ref: `ipv4-addr--${uuid(7)}` },
    );
    expect(valueTlp(text)).toEqual([['192.0.2.20', 'AMBER'], ['c2.example', 'RED']]);
  });
});

describe('parseIndicators: STIX validity, unsupported and invalid items', () => {
  it('lists an expired and a not-yet-valid indicator with their values, and notifies neither', () => {
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { valid_until: '2025-01-01T00:00:00Z' }),
      indicator(2, "[domain-name:value = 'later.example']", { valid_from: '2026-01-01T00:00:00Z' }),
      indicator(3, "[ipv4-addr:value = '192.0.2.3']", { valid_until: '2030-01-01T00:00:00Z' }),
      indicator(4, "[ipv4-addr:value = '192.0.2.4']", { revoked: true }),
    );
    const result = read(text);
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.3']);
    expect(result.excluded).toEqual([
      { where: `indicator--${uuid(1)}`, kind: 'expired', reason: 'expired: valid until 2025-01-01T00:00:00.000Z', value: '192.0.2.1' },
      { where: `indicator--${uuid(2)}`, kind: 'not-yet-valid', reason: 'not valid before 2026-01-01T00:00:00.000Z', value: 'later.example' },
      { where: `indicator--${uuid(4)}`, kind: 'revoked', reason: 'the indicator is revoked' },
    ]);
  });

  it('judges expiry against the time it is given', () => {
    const text = bundle(indicator(1, "[ipv4-addr:value = '192.0.2.1']", { valid_until: '2025-01-01T00:00:00Z' }));
    expect(parseIndicators(text, { now: new Date('2024-12-31T23:59:59Z') }).indicators).toHaveLength(1);
  });

  it('lists a network range and a non-STIX pattern type as unsupported, and reads a /32 as its address', () => {
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.0/24']"),
      indicator(2, "[ipv4-addr:value = '192.0.2.7/32']"),
      indicator(3, 'alert tcp any any -> any any (msg:"x";)', { pattern_type: 'snort' }),
    );
    const result = read(text);
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.7']);
    expect(result.excluded.map((e) => [e.where, e.kind, e.reason])).toEqual([
      [`indicator--${uuid(1)}`, 'unsupported', 'ipv4-addr:value is a network range (CIDR), not one address'],
      [`indicator--${uuid(3)}`, 'unsupported', 'pattern_type snort is not STIX patterning'],
    ]);
  });

  it('reads every value of an OR pattern, defanged and IDN forms canonical', () => {
    const text = bundle(indicator(1, "[url:value = 'hxxps://bücher[.]example/login' OR domain-name:value = 'Bücher.Example' OR ipv6-addr:value = '2001:DB8:0:0::1']"));
    expect(read(text).indicators.map((i) => [i.value, i.kind])).toEqual([
      ['https://xn--bcher-kva.example/login', 'url'],
      ['xn--bcher-kva.example', 'domain'],
      ['2001:db8::1', 'ipv6'],
    ]);
  });

  it('refuses the whole file for one bad indicator, naming every bad one by its STIX id and why', () => {
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.1']"),
      indicator(2, "[ipv4-addr:value = '192.0.2.300']"),
      indicator(3, "[ipv4-addr:value = '192.0.2.3'"),
      indicator(4, "[domain-name:value = '192.0.2.4']"),
      indicator(5, "[ipv4-addr:value = '192.0.2.5']", { valid_until: 'soon' }),
    );
    const error = refused(text);
    expect(error.message).toBe('4 problems in the stix file; nothing was accepted');
    expect(error.issues).toEqual([
      { where: `indicator--${uuid(2)}`, reason: 'ipv4-addr:value: an IPv4 part is over 255' },
      { where: `indicator--${uuid(3)}`, reason: "pattern: expected ']', found the end of the pattern at column 31" },
      { where: `indicator--${uuid(4)}`, reason: 'domain-name:value: declared as domain but it is an IPv4 address' },
      { where: `indicator--${uuid(5)}`, reason: 'valid_until is not a timestamp' },
    ]);
  });

  it('with skipInvalid, accepts the good indicators and lists the skipped ones', () => {
    const text = bundle(indicator(1, "[ipv4-addr:value = '192.0.2.1']"), indicator(2, "[ipv4-addr:value = '192.0.2.300' OR ipv4-addr:value = '192.0.2.2']"));
    const result = read(text, { skipInvalid: true });
    // an object with a bad value is left out whole: its other values are not picked out of it
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.1']);
    expect(result.skipped).toEqual([{ where: `indicator--${uuid(2)}`, reason: 'ipv4-addr:value: an IPv4 part is over 255' }]);
  });

  it('refuses JSON that does not parse with the line and column, without quoting the text', () => {
    const error = refused('{\n  "type": "bundle",\n  "objects": [ {"type": "indicator", "pattern": "[url:value = \'http://victim.example/\']" ]\n}');
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.where).toBe('file');
    expect(error.issues[0]!.reason).toMatch(/^not valid JSON \(line 3, column \d+\)$/);
    expect(JSON.stringify(error.issues)).not.toMatch(/victim/);
  });

  it('refuses JSON that is neither STIX nor MISP, and cannot skip a file-level problem', () => {
    expect(refused('{"hello": "world"}').issues).toEqual([{ where: 'file', reason: 'JSON that is neither a STIX 2.1 bundle nor a MISP event' }]);
    expect(refused('{"hello": "world"}', { skipInvalid: true }).issues).toEqual([{ where: 'file', reason: 'JSON that is neither a STIX 2.1 bundle nor a MISP event' }]);
  });

  it('keeps one of a value named twice, under the stricter of its two markings', () => {
    const text = bundle(
      indicator(1, "[ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [TLP2.green] }),
      indicator(2, "[ipv4-addr:value = '192.0.2.2' OR ipv4-addr:value = '192.0.2.1']", { object_marking_refs: [TLP2.red] }),
    );
    const result = read(text);
    expect(result.indicators.map((i) => [i.value, i.tlp, i.origin])).toEqual([
      ['192.0.2.1', 'RED', `indicator--${uuid(1)}`],
      ['192.0.2.2', 'RED', `indicator--${uuid(2)}`],
    ]);
    expect(result.duplicates).toEqual([{ origin: `indicator--${uuid(2)}`, value: '192.0.2.1', firstOrigin: `indicator--${uuid(1)}` }]);
  });
});
