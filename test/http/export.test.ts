import ExcelJS from 'exceljs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import type { Host } from '../../lib/local/host.js';
import { api, testHost, waitFor } from '../workflows/support.js';

/*
 * GET /campaigns/{id}/export and the dashboard's download buttons, over real HTTP on a host that sent real
 * notices and recorded a real answer.
 */

let host: Host & { dispose(): Promise<void> };
let auditor: string;
let campaignId: string;

beforeAll(async () => {
  host = await testHost(1);
  auditor = (await createApiKey(host.store, { role: 'auditor', name: 'court auditor' })).key;
  const res = await api<{ campaign: { id: string } }>(host, 'POST', '/campaigns', {
    name: 'Export test',
    submitter: 'tester',
    content: 'indicator,type,country,evidence\n198.51.100.5,ip,KE,c2\nhttp://192.0.2.44/login,url,NG,phishing kit\n',
    requireApproval: false,
    tlp: 'GREEN',
  });
  campaignId = res.body.campaign.id;
  const notices = await waitFor('both notices out', async () => {
    const items = (await host.store.listNotices({ campaignId })).items;
    return items.length === 2 && items.every((n) => n.state === 'sent' && n.taskToken) && items;
  });
  await api(host, 'POST', `/notices/${notices[0]!.id}/answers`, { intent: 'actioned', note: 'removed' });
});
afterAll(async () => host?.dispose());

async function get(path: string, key = auditor): Promise<Response> {
  return fetch(`${host.httpUrl}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

describe('GET /campaigns/{id}/export', () => {
  it('gives an auditor one CSV row per case, as an attachment', async () => {
    const res = await get(`/campaigns/${campaignId}/export?format=csv`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${campaignId}.csv"`);
    const lines = (await res.text()).trimEnd().split('\r\n');
    expect(lines).toHaveLength(3);
    expect(lines.slice(1).map((l) => l.split(',')[0]).sort()).toEqual(['198.51.100.5', 'http://192.0.2.44/login']);
    expect(lines.filter((l) => l.includes(',actioned,'))).toHaveLength(1);
    expect(lines.slice(1).every((l) => l.includes(',TLP:GREEN,'))).toBe(true);
  });

  it('gives a workbook with a sheet per country', async () => {
    const res = await get(`/campaigns/${campaignId}/export?format=xlsx`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet');
    const book = new ExcelJS.Workbook();
    await book.xlsx.load(Buffer.from(await res.arrayBuffer()) as never);
    expect(book.worksheets.map((w) => w.name)).toEqual(['All cases', 'KE', 'NG']);
  });

  it('gives the indicators and their outcome as a STIX bundle and as a MISP event', async () => {
    const stix = (await (await get(`/campaigns/${campaignId}/export?format=stix`)).json()) as { type: string; objects: { type: string }[] };
    expect(stix.type).toBe('bundle');
    expect(stix.objects.filter((o) => o.type === 'note')).toHaveLength(2);
    const misp = (await (await get(`/campaigns/${campaignId}/export?format=misp`)).json()) as { Event: { Attribute: unknown[] } };
    expect(misp.Event.Attribute).toHaveLength(2);
  });

  it('refuses an unknown format with the choices, and an unknown campaign with 404', async () => {
    const bad = await get(`/campaigns/${campaignId}/export?format=pdf`);
    expect(bad.status).toBe(400);
    expect(JSON.stringify(await bad.json())).toContain('one of csv, xlsx, stix, misp');
    expect((await get('/campaigns/cmp_0000000000000000/export')).status).toBe(404);
  });
});

describe('the dashboard', () => {
  it('shows download buttons on a campaign and serves them to an auditor', async () => {
    const page = await (await get(`/ui/campaigns/${campaignId}`)).text();
    for (const format of ['csv', 'xlsx', 'stix', 'misp']) expect(page).toContain(`href="/ui/campaigns/${campaignId}/export?format=${format}" download`);
    const res = await get(`/ui/campaigns/${campaignId}/export?format=csv`);
    expect(res.status).toBe(200);
    expect((await res.text()).split('\r\n')[0]).toMatch(/^indicator,kind,country,party/);
  });
});
