import ExcelJS from 'exceljs';
import { describe, expect, it } from 'vitest';
import type { Campaign } from '../../lib/core/model.js';
import { exportCsv, exportMisp, exportStix, indicatorOutcomes, type CampaignExport, type ExportRow } from '../../lib/core/reports/index.js';
import { TLP2_MARKING } from '../../lib/core/reports/export-formats.js';
import { parseIndicators } from '../../lib/core/intake/index.js';
import { STIX_TLP_MARKINGS } from '../../lib/core/tlp.js';
import { exportXlsx } from '../../lib/adapters/export/xlsx.js';

/*
 * The export formats from a campaign's rows: what a spreadsheet user, a STIX consumer and a MISP instance each get,
 * and that the STIX and MISP files read back through this project's own intake as what they claim to be.
 */

const campaign: Campaign = {
  id: 'cmp_0123456789abcdef',
  name: 'Operation Test',
  tlp: 'AMBER',
  submitter: 'tester',
  source: { format: 'misp' },
  requireApproval: false,
  state: 'running',
  createdAt: '2026-03-01T08:00:00.000Z',
  counts: { submitted: 3, indicators: 3, duplicates: 0, unroutable: 0, cases: 4, notices: 3 },
  version: 1,
};

const base = { step: 0, revival: 0, tlp: 'AMBER' as const, country: 'KE' };
const rows: ExportRow[] = [
  {
    ...base,
    caseId: 'c0000000000000001',
    indicator: 'http://phish.example/login',
    kind: 'url',
    party: 'Example Hosting',
    partyKind: 'hosting',
    contact: 'abuse@hosting.example',
    state: 'verified-down',
    noticeSentAt: '2026-03-01T09:00:00.000Z',
    firstNoticeAt: '2026-03-01T09:00:00.000Z',
    answer: 'actioned',
    answeredAt: '2026-03-01T15:00:00.000Z',
    verifiedDownAt: '2026-03-01T21:00:00.000Z',
    timeToTakedownSeconds: 12 * 3600,
    probeVerdict: 'down',
    probeAt: '2026-03-01T21:00:00.000Z',
    origin: 'attribute 5f1b0d8c-1b1e-4a59-9a0f-1f6c3c8b2a01',
  },
  {
    ...base,
    caseId: 'c0000000000000002',
    indicator: '198.51.100.7',
    kind: 'ipv4',
    port: 8443,
    country: 'NG',
    // a party name from an outside registry, written to be a formula
    party: '=HYPERLINK("http://evil.example","click")',
    partyKind: 'hosting',
    contact: 'abuse@net.example',
    state: 'escalated',
    noticeSentAt: '2026-03-01T09:00:00.000Z',
    firstNoticeAt: '2026-03-01T09:00:00.000Z',
    origin: 'attribute 5f1b0d8c-1b1e-4a59-9a0f-1f6c3c8b2a02',
  },
  {
    ...base,
    caseId: 'c0000000000000003',
    indicator: '198.51.100.7',
    kind: 'ipv4',
    port: 8443,
    country: 'NG',
    step: 1,
    party: 'ngCERT',
    partyKind: 'cert',
    contact: 'incident@cert.example',
    state: 'notified',
    noticeSentAt: '2026-03-03T09:00:00.000Z',
    firstNoticeAt: '2026-03-01T09:00:00.000Z',
    origin: 'attribute 5f1b0d8c-1b1e-4a59-9a0f-1f6c3c8b2a02',
  },
  {
    ...base,
    tlp: 'RED',
    caseId: 'c0000000000000004',
    indicator: 'c2.example',
    kind: 'domain',
    country: '??',
    party: 'Example Registrar',
    partyKind: 'registrar',
    contact: 'abuse@registrar.example',
    state: 'withheld',
    origin: 'attribute 5f1b0d8c-1b1e-4a59-9a0f-1f6c3c8b2a03',
  },
];
const data: CampaignExport = { campaign, rows, at: '2026-03-04T00:00:00.000Z' };

describe('the CSV export', () => {
  it('has a row per case with the time to takedown in hours, and defuses a cell a spreadsheet would run', () => {
    const lines = exportCsv(data).trimEnd().split('\r\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('indicator,kind,country,party,party_kind,contact,state,tlp,first_notice,notice_sent,answer,answered_at,verified_down_at,time_to_takedown_hours,probe_verdict,probe_at,threat,case_id');
    expect(lines[1]).toContain(',verified-down,TLP:AMBER,2026-03-01T09:00:00.000Z,2026-03-01T09:00:00.000Z,actioned,2026-03-01T15:00:00.000Z,2026-03-01T21:00:00.000Z,12,down,');
    expect(lines[2]).toContain(`"'=HYPERLINK(""http://evil.example"",""click"")"`);
    expect(lines.join('\n')).not.toMatch(/(^|,)=/m);
  });
});

describe('the outcome of each indicator', () => {
  it('is the state of its latest rung, with every kind of party told about it', () => {
    const ip = indicatorOutcomes(rows).find((o) => o.indicator === '198.51.100.7')!;
    expect(ip.state).toBe('notified');
    expect(ip.notified).toEqual(['hosting', 'cert']);
    expect(indicatorOutcomes(rows).find((o) => o.indicator === 'c2.example')!.notified).toEqual([]);
  });
});

describe('the STIX 2.1 export', () => {
  it('reads back through the STIX intake as the same indicators, each with its own TLP marking', () => {
    const bundle = JSON.parse(exportStix(data)) as { objects: { type: string; object_refs?: string[]; id: string; content?: string }[] };
    expect(bundle.objects.filter((o) => o.type === 'indicator')).toHaveLength(3);
    const notes = bundle.objects.filter((o) => o.type === 'note');
    expect(notes).toHaveLength(4);
    const indicatorIds = new Set(bundle.objects.filter((o) => o.type === 'indicator').map((o) => o.id));
    for (const n of notes) expect(indicatorIds.has(n.object_refs![0]!)).toBe(true);
    expect(notes[0]!.content).toContain('verified down 2026-03-01T21:00:00.000Z');

    const back = parseIndicators(exportStix(data), { format: 'stix', now: new Date('2026-03-04T00:00:00Z') });
    expect(back.indicators.map((i) => [i.value, i.tlp]).sort()).toEqual([
      ['198.51.100.7', 'AMBER'],
      ['c2.example', 'RED'],
      ['http://phish.example/login', 'AMBER'],
    ]);
  });

  it('uses the TLP 2.0 marking ids the intake knows', () => {
    for (const [tlp, id] of Object.entries(TLP2_MARKING)) expect(STIX_TLP_MARKINGS[id]).toBe(tlp);
  });
});

describe('the MISP export', () => {
  it('is an event the MISP intake reads, its outcome in takedown tags, a verified takedown no longer for detection', () => {
    const event = JSON.parse(exportMisp(data)) as { Event: { Attribute: { type: string; value: string; to_ids: boolean; Tag: { name: string }[] }[] } };
    const byValue = new Map(event.Event.Attribute.map((a) => [a.value, a]));
    expect(byValue.get('198.51.100.7|8443')!.type).toBe('ip-dst|port');
    expect(byValue.get('198.51.100.7|8443')!.Tag.map((t) => t.name)).toEqual(['takedown:state="notified"', 'takedown:notified="hosting"', 'takedown:notified="cert"', 'tlp:amber']);
    expect(byValue.get('http://phish.example/login')!.to_ids).toBe(false);

    const back = parseIndicators(exportMisp(data), { format: 'misp' });
    expect(back.indicators.map((i) => [i.value, i.port, i.tlp]).sort()).toEqual([
      ['198.51.100.7', 8443, 'AMBER'],
      ['c2.example', undefined, 'RED'],
    ]);
    expect(back.excluded.map((e) => e.kind)).toEqual(['not-for-detection']);
  });
});

describe('the XLSX export', () => {
  it('has every case on the first sheet and a sheet per country, text defused and no formula anywhere', async () => {
    const book = new ExcelJS.Workbook();
    // exceljs types its Buffer against an older @types/node
    await book.xlsx.load((await exportXlsx(data)) as never);
    expect(book.worksheets.map((w) => w.name)).toEqual(['All cases', 'KE', 'NG', 'Unknown country']);
    const all = book.getWorksheet('All cases')!;
    expect(all.rowCount).toBe(5);
    expect(all.getRow(1).getCell(1).value).toBe('indicator');
    expect(all.getRow(2).getCell(14).value).toBe(12);
    expect(book.getWorksheet('NG')!.rowCount).toBe(3);
    const cells: unknown[] = [];
    book.eachSheet((sheet) => sheet.eachRow((row) => row.eachCell((cell) => cells.push(cell.value))));
    expect(cells.filter((v) => typeof v === 'object' && v !== null && 'formula' in v)).toEqual([]);
    expect(cells).toContain(`'=HYPERLINK("http://evil.example","click")`);
  });
});
