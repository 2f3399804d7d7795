import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { detectFormat, parseIndicators, type IntakeOptions } from '../../lib/core/intake/intake.js';

const NOW = new Date('2025-06-01T00:00:00Z');
const uuid = (n: number) => `5f0b1c2d-0000-4000-8000-${String(n).padStart(12, '0')}`;

function attribute(n: number, type: string, value: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { uuid: uuid(n), type, category: 'Network activity', value, to_ids: true, comment: '', deleted: false, ...extra };
}

/** A MISP event as MISP exports it (the inner object of `{"Event": ...}`). */
function event(attributes: Record<string, unknown>[], extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { uuid: uuid(0), info: 'Phishing wave against banks', date: '2025-05-01', Attribute: attributes, Object: [], Tag: [], ...extra };
}

const read = (doc: unknown, opts: IntakeOptions = {}) => parseIndicators(JSON.stringify(doc), { now: NOW, ...opts });

function refused(doc: unknown, opts: IntakeOptions = {}): InvalidInputError {
  try {
    const result = read(doc, opts);
    throw new Error(`expected a refusal, got ${result.indicators.length} indicators`);
  } catch (e) {
    if (!(e instanceof InvalidInputError)) throw e;
    return e;
  }
}

describe('parseIndicators: MISP events', () => {
  const ev = event([attribute(1, 'ip-dst', '192.0.2.10'), attribute(2, 'domain', 'evil.example')]);

  it('reads a bare Event, {"Event": ...} and a search response alike', () => {
    const expected = [['192.0.2.10', `attribute ${uuid(1)}`], ['evil.example', `attribute ${uuid(2)}`]];
    for (const doc of [ev, { Event: ev }, { response: [{ Event: ev }] }]) {
      expect(detectFormat(JSON.stringify(doc))).toBe('misp');
      const result = read(doc);
      expect(result.format).toBe('misp');
      expect(result.indicators.map((i) => [i.value, i.origin])).toEqual(expected);
    }
  });

  it('reads every event of a search response', () => {
    const second = event([attribute(9, 'url', 'http://second.example/x')], { uuid: uuid(100) });
    expect(read({ response: [{ Event: ev }, { Event: second }] }).indicators.map((i) => i.value)).toEqual(['192.0.2.10', 'evil.example', 'http://second.example/x']);
  });

  it('reads each supported attribute type, a port and both halves of domain|ip', () => {
    const doc = {
      Event: event([
        attribute(1, 'ip-dst', '192.0.2.1'),
        attribute(2, 'ip-src', '2001:DB8::5'),
        attribute(3, 'ip-dst|port', '192.0.2.3|8443'),
        attribute(4, 'domain', 'Evil[.]Example'),
        attribute(5, 'hostname', 'c2.evil.example'),
        attribute(6, 'domain|ip', 'panel.example|192.0.2.6'),
        attribute(7, 'url', 'hxxp://bücher[.]example/pay'),
        attribute(8, 'link', 'https://drop.example/kit.zip'),
      ]),
    };
    const result = read(doc);
    expect(result.indicators.map((i) => [i.value, i.kind, i.port, i.origin])).toEqual([
      ['192.0.2.1', 'ipv4', undefined, `attribute ${uuid(1)}`],
      ['2001:db8::5', 'ipv6', undefined, `attribute ${uuid(2)}`],
      ['192.0.2.3', 'ipv4', 8443, `attribute ${uuid(3)}`],
      ['evil.example', 'domain', undefined, `attribute ${uuid(4)}`],
      ['c2.evil.example', 'domain', undefined, `attribute ${uuid(5)}`],
      ['panel.example', 'domain', undefined, `attribute ${uuid(6)} (domain)`],
      ['192.0.2.6', 'ipv4', undefined, `attribute ${uuid(6)} (ip)`],
      ['http://xn--bcher-kva.example/pay', 'url', undefined, `attribute ${uuid(7)}`],
      ['https://drop.example/kit.zip', 'url', undefined, `attribute ${uuid(8)}`],
    ]);
    expect(result.indicators[0]).toMatchObject({ threat: 'Network activity', evidence: 'MISP: Phishing wave against banks' });
  });

  it('reads the attributes of MISP objects too', () => {
    const doc = { Event: event([], { Object: [{ name: 'domain-ip', uuid: uuid(50), Attribute: [attribute(51, 'domain', 'obj.example'), attribute(52, 'ip-dst', '192.0.2.52')] }] }) };
    expect(read(doc).indicators.map((i) => [i.value, i.origin])).toEqual([['obj.example', `attribute ${uuid(51)}`], ['192.0.2.52', `attribute ${uuid(52)}`]]);
  });

  it('does not notify what the source did not mark for detection (to_ids false), and lists it', () => {
    const doc = { Event: event([attribute(1, 'ip-dst', '192.0.2.1'), attribute(2, 'domain', 'bank.example', { to_ids: false }), attribute(3, 'link', 'https://blog.example/report', { to_ids: '0' })]) };
    const result = read(doc);
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.1']);
    expect(result.excluded.map((e) => [e.where, e.kind, e.value])).toEqual([
      [`attribute ${uuid(2)}`, 'not-for-detection', 'bank.example'],
      [`attribute ${uuid(3)}`, 'not-for-detection', 'https://blog.example/report'],
    ]);
  });

  it('lists unsupported types and deleted attributes, and notifies neither', () => {
    const doc = { Event: event([attribute(1, 'md5', 'd41d8cd98f00b204e9800998ecf8427e'), attribute(2, 'ip-dst', '192.0.2.2', { deleted: true }), attribute(3, 'ip-dst', '192.0.2.3')]) };
    const result = read(doc);
    expect(result.indicators.map((i) => i.value)).toEqual(['192.0.2.3']);
    expect(result.excluded.map((e) => [e.where, e.kind])).toEqual([[`attribute ${uuid(1)}`, 'unsupported'], [`attribute ${uuid(2)}`, 'deleted']]);
  });

  it('takes the tlp tag of the attribute over the event, and the strictest of several', () => {
    const doc = {
      Event: event(
        [
          attribute(1, 'ip-dst', '192.0.2.1', { Tag: [{ name: 'tlp:green' }] }),
          attribute(2, 'ip-dst', '192.0.2.2'),
          attribute(3, 'ip-dst', '192.0.2.3', { Tag: [{ name: 'tlp:white' }] }),
          attribute(4, 'ip-dst', '192.0.2.4', { Tag: [{ name: 'tlp:amber+strict' }, { name: 'tlp:red' }, { name: 'osint:source-type="blog"' }] }),
        ],
        { Tag: [{ name: 'tlp:amber' }] },
      ),
    };
    expect(read(doc).indicators.map((i) => [i.value, i.tlp])).toEqual([
      ['192.0.2.1', 'GREEN'],
      ['192.0.2.2', 'AMBER'],
      ['192.0.2.3', 'CLEAR'],
      ['192.0.2.4', 'RED'],
    ]);
  });

  it('reads event tags in the EventTag form of older exports', () => {
    const doc = { Event: event([attribute(1, 'ip-dst', '192.0.2.1')], { EventTag: [{ Tag: { name: 'TLP:RED' } }] }) };
    expect(read(doc).indicators[0]!.tlp).toBe('RED');
  });

  it('refuses the file for bad attributes, naming each by its uuid, and never reads an unknown tlp tag as none', () => {
    const doc = {
      Event: event([
        attribute(1, 'ip-dst', '192.0.2.1'),
        attribute(2, 'ip-dst', '192.0.2.999'),
        attribute(3, 'ip-dst|port', '192.0.2.3|http'),
        attribute(4, 'domain', 'evil.example', { Tag: [{ name: 'tlp:ex:chr' }] }),
        attribute(5, 'domain|ip', 'only.example'),
      ]),
    };
    const error = refused(doc);
    expect(error.issues).toEqual([
      { where: `attribute ${uuid(2)}`, reason: 'ip-dst: an IPv4 part is over 255' },
      { where: `attribute ${uuid(3)}`, reason: 'ip-dst|port: the port is not a number from 1 to 65535' },
      { where: `attribute ${uuid(4)}`, reason: 'the tag tlp:ex:chr is not a TLP 2.0 level' },
      { where: `attribute ${uuid(5)}`, reason: "a domain|ip value must be two parts joined by '|'" },
    ]);
    const skipped = read(doc, { skipInvalid: true });
    expect(skipped.indicators.map((i) => i.value)).toEqual(['192.0.2.1']);
    expect(skipped.skipped.map((s) => s.where)).toEqual([2, 3, 4, 5].map((n) => `attribute ${uuid(n)}`));
  });

  it('names an attribute without a uuid by its place in the event', () => {
    const doc = { Event: event([{ type: 'ip-dst', value: 'nope', to_ids: true }]) };
    expect(refused(doc).issues[0]!.where).toBe('Attribute[0]');
  });

  it('can be forced with format misp, and then refuses JSON of another shape', () => {
    expect(read({ Event: event([attribute(1, 'ip-dst', '192.0.2.1')]) }, { format: 'misp' }).format).toBe('misp');
    expect(refused({ type: 'bundle', objects: [] }, { format: 'misp' }).issues).toEqual([{ where: 'file', reason: 'no MISP Event in the document' }]);
  });
});
