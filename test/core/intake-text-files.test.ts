import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { parseIndicators, readIndicators } from '../../lib/core/intake/intake.js';
import { sniffText } from '../../lib/core/intake/formats/text.js';
import type { TextSource } from '../../lib/core/intake/text-source.js';

/*
 * The files coordinators actually have: a spreadsheet saved as CSV by Excel in French (semicolons), a tab-separated
 * export, a single column with its header, a byte order mark, Excel's quoting; and when a line is wrong, an error
 * that says which line, what value, what it was declared as and what was expected, then how to go on without it.
 */

function refused(text: string): InvalidInputError {
  try {
    parseIndicators(text);
  } catch (e) {
    if (e instanceof InvalidInputError) return e;
    throw e;
  }
  throw new Error('the file was accepted');
}

const values = (text: string) => parseIndicators(text).indicators.map((i) => [i.origin, i.value, i.country ?? '', i.evidence ?? '']);

describe('reading a CSV as people save it', () => {
  it('reads a one-column file with its header as CSV, not its header as a bad indicator', () => {
    const result = parseIndicators('indicator\n192.0.2.1\nbad.example\n');
    expect(result.format).toBe('csv');
    expect(result.indicators.map((i) => [i.origin, i.value])).toEqual([
      ['line 2', '192.0.2.1'],
      ['line 3', 'bad.example'],
    ]);
    expect(parseIndicators('IOC\r\nhxxp://evil[.]example/x\r\n').indicators.map((i) => i.value)).toEqual(['http://evil.example/x']);
  });

  it('reads a semicolon CSV, as Excel saves it in French, with its quoting', () => {
    const text = ['Indicateur;Type;Pays;Preuve', '192.0.2.1;ip;KE;"C2; seen twice"', '"bad.example";domain;CI;"said ""verify"""'].join('\r\n');
    expect(sniffText(text)).toEqual({ format: 'csv', delimiter: ';' });
    expect(values(text)).toEqual([
      ['line 2', '192.0.2.1', 'KE', 'C2; seen twice'],
      ['line 3', 'bad.example', 'CI', 'said "verify"'],
    ]);
  });

  it('reads a tab-separated export, with a byte order mark and the padding cells a spreadsheet adds', () => {
    const text = '\uFEFFindicator\ttype\tcountry\t\t\n192.0.2.7\tip\tNG\t\t\n2001:db8::1\tipv6\tKE\t\t\n';
    expect(values(text)).toEqual([
      ['line 2', '192.0.2.7', 'NG', ''],
      ['line 3', '2001:db8::1', 'KE', ''],
    ]);
  });

  it('reads a UTF-16 file with its byte order mark, as Excel saves "Unicode text"', async () => {
    const text = '\uFEFFindicator\ttype\n192.0.2.9\tip\n';
    const bytes = Buffer.from(text, 'utf16le');
    const source: TextSource = { chunks: async function* () { yield bytes.subarray(0, 7); yield bytes.subarray(7); } };
    const seen: string[] = [];
    const summary = await readIndicators(source, {}, async (batch) => void seen.push(...batch.map((i) => i.value)));
    expect(summary.format).toBe('csv');
    expect(seen).toEqual(['192.0.2.9']);
  });
});

describe('a refused line', () => {
  it('names the line, the value, the type it was declared as and what that type expects', () => {
    const error = refused('indicator,type\n192.0.2.1,ip\nnot-an-indicator!!,ip\n');
    expect(error.issues).toEqual([
      { where: 'line 3', reason: "'not-an-indicator!!' declared as ip: not an address; expected an IPv4 or IPv6 address, like 192.0.2.1 or 2001:db8::1" },
    ]);
  });

  it('says what a type expects when the value is of another kind', () => {
    const error = refused('indicator;type\nbad.example;url\n');
    expect(error.issues[0]).toEqual({ where: 'line 2', reason: "'bad.example' declared as url: it is a domain; expected a URL with its scheme, like https://bad.example/login" });
  });

  it('shows a URL without its query, which may hold a victim\'s address', () => {
    const error = refused('indicator,type\nhttp://evil.example/login?user=victim@mail.example,ip\n');
    expect(error.issues[0]!.reason).toContain("'http://evil.example/login?…'");
    expect(error.issues[0]!.reason).not.toContain('victim');
  });

  it('ends with how to take the file without the bad lines', () => {
    const error = refused('indicator\n192.0.2.1\n192.0.2.999\n');
    expect(error.hint).toMatch(/--skip-invalid/);
    expect(parseIndicators('indicator\n192.0.2.1\n192.0.2.999\n', { skipInvalid: true }).indicators.map((i) => i.value)).toEqual(['192.0.2.1']);
  });
});
