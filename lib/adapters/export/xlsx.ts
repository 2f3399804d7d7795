import ExcelJS from 'exceljs';
import { EXPORT_COLUMNS, spreadsheetText, type CampaignExport, type ExportRow } from '../../core/reports/index.js';

/**
 * A campaign's export as an Excel workbook (exceljs): every case on the first sheet, then a sheet per country,
 * each with a bold frozen header and a filter. Text cells are defused as in the CSV (spreadsheetText); no cell is
 * ever a formula.
 */

// Excel refuses sheet names with these characters, and names longer than 31
const SHEET_NAME_UNSAFE = /[\\/?*[\]:]/g;

function sheetName(country: string, taken: Set<string>): string {
  const base = (country === '??' ? 'Unknown country' : country).replace(SHEET_NAME_UNSAFE, '_').slice(0, 31) || 'Country';
  let name = base;
  for (let n = 2; taken.has(name.toLowerCase()); n++) name = `${base.slice(0, 27)} (${n})`;
  taken.add(name.toLowerCase());
  return name;
}

function addSheet(book: ExcelJS.Workbook, name: string, rows: readonly ExportRow[]): void {
  const sheet = book.addWorksheet(name, { views: [{ state: 'frozen', ySplit: 1 }] });
  sheet.columns = EXPORT_COLUMNS.map((c) => ({ header: c.header, key: c.header, width: c.width }));
  sheet.getRow(1).font = { bold: true };
  for (const row of rows) {
    sheet.addRow(
      EXPORT_COLUMNS.map((c) => {
        const v = c.value(row);
        return typeof v === 'string' ? spreadsheetText(v) : (v ?? null);
      }),
    );
  }
  sheet.autoFilter = { from: { row: 1, column: 1 }, to: { row: 1, column: EXPORT_COLUMNS.length } };
}

/** The workbook's bytes. `onProgress` hears each sheet written (the first is every case). */
export async function exportXlsx(data: CampaignExport, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const book = new ExcelJS.Workbook();
  book.creator = 'takedown';
  book.created = new Date(data.at);
  book.title = `${data.campaign.name} (${data.campaign.id})`;
  const byCountry = new Map<string, ExportRow[]>();
  for (const row of data.rows) {
    const g = byCountry.get(row.country);
    if (g) g.push(row);
    else byCountry.set(row.country, [row]);
  }
  const countries = [...byCountry.keys()].sort((a, b) => (a === '??' ? 1 : b === '??' ? -1 : a.localeCompare(b)));
  const total = countries.length + 1;
  const taken = new Set<string>(['all cases']);
  addSheet(book, 'All cases', data.rows);
  onProgress?.(1, total);
  for (const [i, country] of countries.entries()) {
    addSheet(book, sheetName(country, taken), byCountry.get(country)!);
    onProgress?.(i + 2, total);
  }
  return Buffer.from(await book.xlsx.writeBuffer());
}
