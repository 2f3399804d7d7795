import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { detectFormat, parseIndicators } from '../../lib/core/intake/intake.js';

const NOW = new Date('2025-06-01T00:00:00Z');

describe('parseIndicators: CSV markings and format choice', () => {
  it('reads a tlp column under its loose names, TLP 1.0 WHITE as CLEAR', () => {
    for (const header of ['tlp', 'TLP', 'Marking', 'tlp_level']) {
      const text = [`ioc,${header}`, '192.0.2.1,amber', '192.0.2.2,TLP:GREEN', '192.0.2.3,white', '192.0.2.4,', '192.0.2.5,Amber+Strict'].join('\n');
      expect(parseIndicators(text).indicators.map((i) => i.tlp), header).toEqual(['AMBER', 'GREEN', 'CLEAR', undefined, 'AMBER+STRICT']);
    }
  });

  it('refuses a tlp value that is no TLP level, naming the line', () => {
    try {
      parseIndicators('indicator,tlp\n192.0.2.1,green\n192.0.2.2,pink\n');
      throw new Error('expected a refusal');
    } catch (e) {
      if (!(e instanceof InvalidInputError)) throw e;
      expect(e.issues).toEqual([{ where: 'line 3', reason: 'tlp is not one of CLEAR (WHITE), GREEN, AMBER, AMBER+STRICT, RED' }]);
    }
  });

  it('skips bad CSV lines on request and lists them', () => {
    const result = parseIndicators('indicator,type\n192.0.2.1,ip\n192.0.2.300,ip\nevil[.]example,domain\n', { skipInvalid: true });
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.1', 'evil.example']);
    expect(result.skipped).toEqual([{ where: 'line 3', reason: "'192.0.2.300' declared as ip: an IPv4 part is over 255; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" }]);
  });

  it('reads defanged URLs with IDN hosts in a plain list as canonical punycode URLs', () => {
    const text = ['hxxps://bücher[.]example/login?x=1', 'hxxp[:]//xn--bcher-kva[.]example/a', 'https://ПРИМЕР[.]example/путь'].join('\n');
    expect(parseIndicators(text).indicators.map((i) => [i.value, i.host])).toEqual([
      ['https://xn--bcher-kva.example/login?x=1', 'xn--bcher-kva.example'],
      ['http://xn--bcher-kva.example/a', 'xn--bcher-kva.example'],
      ['https://xn--e1afmkfd.example/%D0%BF%D1%83%D1%82%D1%8C', 'xn--e1afmkfd.example'],
    ]);
  });

  it('detects JSON by its shape and text by its first line, and lets the caller override', () => {
    expect(detectFormat('{"type":"bundle","id":"bundle--1","objects":[]}')).toBe('stix');
    expect(detectFormat('  [{"type":"indicator","id":"indicator--1"}]')).toBe('stix');
    expect(detectFormat('{"Event":{"info":"x","Attribute":[]}}')).toBe('misp');
    expect(detectFormat('{"response":[{"Event":{"info":"x"}}]}')).toBe('misp');
    expect(detectFormat('indicator,tlp\n192.0.2.1,red')).toBe('csv');
    expect(detectFormat('192.0.2.1\n')).toBe('list');
    // told the format, intake reads the file as that format and nothing else
    const misp = '{"Event":{"info":"x","Attribute":[{"type":"ip-dst","value":"192.0.2.1","to_ids":true}]}}';
    expect(parseIndicators(misp).format).toBe('misp');
    expect(() => parseIndicators(misp, { format: 'stix' })).toThrow(InvalidInputError);
    expect(parseIndicators('indicator\n192.0.2.1\n', { format: 'csv' }).indicators.map((i) => i.origin)).toEqual(['line 2']);
  });

  it('gives the same canonical value for one indicator whatever the format it came in', () => {
    const bundle = JSON.stringify({
      type: 'bundle',
      id: 'bundle--00000000-0000-4000-8000-000000000000',
      objects: [
        { type: 'indicator', spec_version: '2.1', id: 'indicator--00000000-0000-4000-8000-000000000001', created: '2024-01-01T00:00:00Z', modified: '2024-01-01T00:00:00Z', pattern_type: 'stix', valid_from: '2024-01-01T00:00:00Z', pattern: "[url:value = 'HTTPS://Bücher.Example:443/login#frag'] OR [ipv6-addr:value = '2001:0db8:0000::0001']" },
      ],
    });
    const misp = JSON.stringify({ Event: { info: 'x', Attribute: [{ uuid: 'a', type: 'url', value: 'hxxps://bücher[.]example/login', to_ids: true }, { uuid: 'b', type: 'ip-dst', value: '[2001:db8::1]', to_ids: true }] } });
    const csv = 'ioc,type\nhxxps://xn--bcher-kva[.]example/login,url\n2001:DB8::1,ipv6\n';
    const list = 'https://bücher.example/login\n2001:db8:0:0:0:0:0:1\n';
    const values = [bundle, misp, csv, list].map((text) => parseIndicators(text, { now: NOW }).indicators.map((i) => i.value));
    for (const v of values) expect(v).toEqual(['https://xn--bcher-kva.example/login', '2001:db8::1']);
  });
});
