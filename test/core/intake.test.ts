import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { detectFormat, parseIndicators } from '../../lib/core/intake/intake.js';

/** The error parseIndicators throws, or a failed test when it throws nothing. */
function refused(text: string, opts?: Parameters<typeof parseIndicators>[1]): InvalidInputError {
  try {
    const result = parseIndicators(text, opts);
    throw new Error(`expected a refusal, got ${result.indicators.length} indicators`);
  } catch (error) {
    if (!(error instanceof InvalidInputError)) throw error;
    return error;
  }
}

describe('parseIndicators: plain list', () => {
  it('reads one indicator a line, skipping blanks and comments, with the editor line as origin', () => {
    const text = ['# header comment', '', '192.0.2.10', '// section', 'evil[.]example   # inline note', 'http://evil.example/#frag'].join('\n');

    const result = parseIndicators(text);

    expect(result.format).toBe('list');
    expect(result.indicators.map((i) => [i.origin, i.value])).toEqual([
      ['line 3', '192.0.2.10'],
      ['line 5', 'evil.example'],
      ['line 6', 'http://evil.example/'],
    ]);
    expect(result.indicators[1]!.raw).toBe('evil[.]example');
  });

  it('counts lines the same with CRLF endings and a BOM', () => {
    const result = parseIndicators('\uFEFF# c\r\n\r\n192.0.2.1\r\n');
    expect(result.indicators[0]!.origin).toBe('line 3');
  });

  it('accepts nothing when one line among good ones is bad, and names that line and why', () => {
    const text = ['192.0.2.1', '192.0.2.2', '192.0.2.300', '192.0.2.4'].join('\n');

    const error = refused(text);

    expect(error.name).toBe('InvalidInputError');
    expect(error.issues).toEqual([{ where: 'line 3', reason: "'192.0.2.300': an IPv4 part is over 255" }]);
  });

  it('lists every bad line, not only the first', () => {
    const text = ['bad_name.example', '192.0.2.1', 'gopher://x.example/', '', '192.0.2.0/24'].join('\n');

    const error = refused(text);

    expect(error.issues.map((i) => i.where)).toEqual(['line 1', 'line 3', 'line 5']);
    expect(error.issues[2]!.reason).toBe("'192.0.2.0/24': a network range, not an address");
  });

  it('keeps the first of duplicate values and reports the others', () => {
    const text = ['hxxp://evil[.]example/a', '192.0.2.1', 'http://EVIL.example/a', '192[.]0[.]2[.]1'].join('\n');

    const result = parseIndicators(text);

    expect(result.indicators.map((i) => i.origin)).toEqual(['line 1', 'line 2']);
    expect(result.duplicates).toEqual([
      { origin: 'line 3', value: 'http://evil.example/a', firstOrigin: 'line 1' },
      { origin: 'line 4', value: '192.0.2.1', firstOrigin: 'line 2' },
    ]);
  });

  it('refuses an empty file and a file of comments only', () => {
    expect(refused('').issues).toEqual([{ where: 'file', reason: 'no indicators' }]);
    expect(refused('# nothing\n\n// here\n').message).toMatch(/no indicators/);
  });

  it('refuses more indicators than allowed', () => {
    expect(refused('192.0.2.1\n192.0.2.2\n192.0.2.3', { maxIndicators: 2 }).issues[0]!.reason).toMatch(/at most 2/);
    expect(parseIndicators('192.0.2.1\n192.0.2.1\n192.0.2.2', { maxIndicators: 2 }).indicators).toHaveLength(2);
  });
});

describe('parseIndicators: CSV', () => {
  it('reads the known columns, whatever their case and spelling, and ignores unknown ones', () => {
    const text = [
      'IOC,Kind,Country_Code,First Seen,Notes,Category,Port,analyst',
      '192.0.2.10,ip,ke,2024-08-01,beacon,c2,443,someone',
      'evil.example,domain,NG,2024-08-02T10:30:00+01:00,,phishing,,',
    ].join('\n');

    const result = parseIndicators(text);

    expect(result.format).toBe('csv');
    expect(result.indicators).toEqual([
      {
        value: '192.0.2.10', kind: 'ipv4', host: '192.0.2.10', hostKind: 'ipv4', raw: '192.0.2.10', origin: 'line 2',
        country: 'KE', firstSeen: '2024-08-01T00:00:00.000Z', evidence: 'beacon', threat: 'c2', port: 443,
      },
      {
        value: 'evil.example', kind: 'domain', host: 'evil.example', hostKind: 'domain', raw: 'evil.example', origin: 'line 3',
        country: 'NG', firstSeen: '2024-08-02T09:30:00.000Z', threat: 'phishing',
      },
    ]);
  });

  it('reads quoted fields with commas, doubled quotes and line breaks, and counts lines through them', () => {
    const text =
      '\uFEFFindicator,evidence\r\n' +
      '"http://evil.example/a?x=1,2","said ""verify"", twice"\r\n' +
      '192.0.2.1,"first line\r\nsecond line"\r\n' +
      '192.0.2.300,after the break\r\n';

    const error = refused(text);
    expect(error.issues).toEqual([{ where: 'line 5', reason: "'192.0.2.300': an IPv4 part is over 255" }]);

    const result = parseIndicators(text.replace('192.0.2.300', '192.0.2.3'));
    expect(result.indicators.map((i) => [i.origin, i.value, i.evidence])).toEqual([
      ['line 2', 'http://evil.example/a?x=1,2', 'said "verify", twice'],
      ['line 3', '192.0.2.1', 'first line\r\nsecond line'],
      ['line 5', '192.0.2.3', 'after the break'],
    ]);
  });

  it('accepts nothing when one row is bad, and lists every bad row with its reasons', () => {
    const text = [
      'indicator,type,country,first_seen,port',
      '192.0.2.1,ip,KE,2024-08-01,',
      'evil.example,ip,KE,2024-08-01,',
      '192.0.2.2,ip,Kenya,2024-02-30,0',
      '192.0.2.3,ip,KE',
      ',ip,KE,2024-08-01,',
      '"unterminated,ip,KE,2024-08-01,',
    ].join('\n');

    const error = refused(text);

    expect(error.issues).toEqual([
      { where: 'line 3', reason: "'evil.example' declared as ip: it is a domain; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" },
      {
        where: 'line 4',
        reason:
          'country is not a two-letter ISO 3166 code; first_seen is not a date (use YYYY-MM-DD or ISO 8601); port is not a number from 1 to 65535',
      },
      { where: 'line 5', reason: '3 fields where the header has 5' },
      { where: 'line 6', reason: 'no indicator' },
      { where: 'line 7', reason: 'a quoted field is not closed' },
    ]);
  });

  it('refuses a CSV without an indicator column with one error naming the header', () => {
    const error = refused('address,country\n192.0.2.1,KE\n', { format: 'csv' });
    expect(error.issues).toHaveLength(1);
    expect(error.issues[0]!.where).toBe('line 1');
    expect(error.issues[0]!.reason).toMatch(/header has no indicator column/);
  });

  it('refuses a port column that contradicts the port in the URL', () => {
    const error = refused('indicator,port\nhttp://evil.example:8080/,9090\n');
    expect(error.issues[0]!.reason).toMatch(/port column differs/);
  });

  it('dedupes rows by canonical value, keeping the first row', () => {
    const text = 'value,country\nhxxp://evil[.]example/a,KE\nhttp://evil.example/a,NG\n';

    const result = parseIndicators(text);

    expect(result.indicators).toHaveLength(1);
    expect(result.indicators[0]!.country).toBe('KE');
    expect(result.duplicates).toEqual([{ origin: 'line 3', value: 'http://evil.example/a', firstOrigin: 'line 2' }]);
  });

  it('refuses a header with no rows as having no indicators', () => {
    expect(refused('indicator,type\n').issues).toEqual([{ where: 'file', reason: 'no indicators' }]);
  });
});

describe('detectFormat', () => {
  it('takes a first line with a comma and an indicator column for CSV', () => {
    expect(detectFormat('indicator,type\n192.0.2.1,ip')).toBe('csv');
    expect(detectFormat('\n"Observable" , tags\nx')).toBe('csv');
    expect(detectFormat('\uFEFFIOCs,notes\n')).toBe('csv');
  });

  it('takes anything else for a plain list', () => {
    expect(detectFormat('192.0.2.1\nindicator,type')).toBe('list');
    expect(detectFormat('address,country\n')).toBe('list');
    expect(detectFormat('http://evil.example/a,b')).toBe('list');
  });

  it('lets the caller force the format', () => {
    const text = 'indicator,type\n192.0.2.1,ip\n';
    expect(parseIndicators(text, { format: 'csv' }).format).toBe('csv');
    expect(refused(text, { format: 'list' }).issues.map((i) => i.where)).toEqual(['line 1', 'line 2']);
  });
});

describe('isoDate', () => {
  it('reads each date the same way however often a file repeats it, a bad one included, and past its memory of them', async () => {
    const { isoDate } = await import('../../lib/core/intake/common.js');
    const cases: [string, string | undefined][] = [
      ['2024-08-01', '2024-08-01T00:00:00.000Z'],
      ['2024-08-02 09:30', '2024-08-02T09:30:00.000Z'],
      ['2024-08-02T11:30:00+02:00', '2024-08-02T09:30:00.000Z'],
      ['2024-02-30', undefined],
      ['yesterday', undefined],
    ];
    for (let round = 0; round < 3; round++) for (const [text, iso] of cases) expect(isoDate(text)).toBe(iso);
    // more distinct dates than it keeps: it forgets, and reads them again the same
    for (let d = 0; d < 5000; d++) {
      const day = new Date(Date.UTC(2000, 0, 1) + d * 86_400_000).toISOString().slice(0, 10);
      expect(isoDate(day)).toBe(`${day}T00:00:00.000Z`);
    }
    for (const [text, iso] of cases) expect(isoDate(text)).toBe(iso);
  });
});
