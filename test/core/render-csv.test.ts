import { describe, expect, it } from 'vitest';
import { csvField, indicatorCsv, INDICATOR_CSV_COLUMNS } from '../../lib/core/notices/render/indicator-csv.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { cases, indicator, input, kase } from './render-fixtures.js';

/** An RFC 4180 reader, written independently of the writer: quoted fields, doubled quotes, CRLF rows. */
function readCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\r' && text[i + 1] === '\n') row.push(field), rows.push(row), (row = []), (field = ''), i++;
    else field += c;
  }
  if (field || row.length) throw new Error('the last row has no CRLF');
  return rows;
}

describe('indicatorCsv', () => {
  it('lists every indicator of the notice under a header row, one CRLF row each', () => {
    const csv = renderNotice(input()).attachments!.find((a) => a.filename.endsWith('.csv'))!.content;
    const rows = readCsv(csv);
    expect(rows[0]).toEqual([...INDICATOR_CSV_COLUMNS]);
    expect(rows.slice(1)).toEqual([
      ['198.51.100.23', 'ipv4', 'C2', '2025-01-05T08:15:00Z', 'TLP:AMBER', 'c00000000000000a1', 'Beacons every 60 s to /gate.php,\nseen by the vendor sinkhole'],
      ['http://login-bank.example/secure', 'url', 'phishing', '', 'TLP:AMBER', 'c00000000000000a2', 'Clone of a bank login page'],
      ['scam-shop.example', 'domain', 'fake shop', '', 'TLP:GREEN', 'c00000000000000a3', ''],
    ]);
    expect(csv.replace(/\r\n/g, '')).not.toMatch(/\r(?!\n)/);
  });

  it('quotes commas, quotes, line breaks and edge spaces', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded ')).toBe('" padded "');
    expect(csvField('')).toBe('');
  });

  it('defuses every cell a spreadsheet would run as a formula', () => {
    for (const bad of ['=HYPERLINK("http://x.example","click")', '+1+cmd|/C calc!A0', '-2+3', '@SUM(A1:A2)', '\t=1', '\r=1']) {
      const [[cell]] = readCsv(`${csvField(bad)}\r\n`) as [[string]];
      expect(cell.startsWith("'"), JSON.stringify(bad)).toBe(true);
      expect(cell.slice(1)).toBe(bad);
    }
    const evil = kase('c00000000000000e1', indicator('192.0.2.77', { threat: '=cmd|" /C calc"!A0', evidence: '@import, "x"' }));
    const rows = readCsv(indicatorCsv([evil], () => 'GREEN'));
    expect(rows[1]).toEqual(['192.0.2.77', 'ipv4', `'=cmd|" /C calc"!A0`, '', 'TLP:GREEN', 'c00000000000000e1', `'@import, "x"`]);
  });

  it('shows each case its own marking, else the campaign level', () => {
    const rows = readCsv(indicatorCsv(cases(), (c) => c.indicator.tlp ?? 'AMBER+STRICT'));
    expect(rows.slice(1).map((r) => r[4])).toEqual(['TLP:AMBER+STRICT', 'TLP:AMBER+STRICT', 'TLP:GREEN']);
  });
});
