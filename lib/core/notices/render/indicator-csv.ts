import type { Case, TLP } from '../../model.js';

/**
 * The indicators of a notice as CSV (RFC 4180: CRLF rows, a header row, fields quoted when they hold a comma, a
 * quote, a line break or edge spaces). Abuse desks open these in spreadsheets, and evidence is text from an
 * outside source: a cell that a spreadsheet would read as a formula (= + - @, or a leading tab or CR) is
 * prefixed with an apostrophe, so it shows as text and never runs.
 */

export const INDICATOR_CSV_COLUMNS = ['value', 'kind', 'threat', 'first_seen', 'tlp', 'case_id', 'evidence'] as const;

/** One CSV field, defused and quoted as needed. */
export function csvField(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The CSV of a notice's cases; `tlpOf` gives each case's marking (its own, else the campaign's). */
export function indicatorCsv(cases: readonly Pick<Case, 'id' | 'indicator'>[], tlpOf: (c: Pick<Case, 'indicator'>) => TLP): string {
  const rows = [INDICATOR_CSV_COLUMNS.join(',')];
  for (const c of cases) {
    const ind = c.indicator;
    const cells = [ind.value, ind.kind, ind.threat ?? '', ind.firstSeen ?? '', `TLP:${tlpOf(c)}`, c.id, ind.evidence ?? ''];
    rows.push(cells.map(csvField).join(','));
  }
  return `${rows.join('\r\n')}\r\n`;
}
