import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEvent, Campaign, Case, Notice } from '../../lib/core/model.js';
import type { Host } from '../../lib/local/host.js';
import { api, outbox, testHost, waitFor, type OutboxMessage } from '../workflows/support.js';

const TLP2 = {
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  strict: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};
const RED_VALUES = ['203.0.113.5', 'red-panel.example'];
const id = (n: number) => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function indicator(n: number, pattern: string, marking?: string) {
  return {
    type: 'indicator', spec_version: '2.1', id: id(n), created: '2025-01-01T00:00:00Z', modified: '2025-01-01T00:00:00Z',
    pattern, pattern_type: 'stix', valid_from: '2020-01-01T00:00:00Z', name: `vendor indicator ${n}`,
    ...(marking ? { object_marking_refs: [marking] } : {}),
  };
}

/** A vendor bundle mixing every level; RED on an address and on a name, as one object of two values. */
const BUNDLE = JSON.stringify({
  type: 'bundle',
  id: 'bundle--00000000-0000-4000-8000-000000000000',
  objects: [
    indicator(1, "[ipv4-addr:value = '192.0.2.10']", TLP2.green),
    indicator(2, "[domain-name:value = 'phish.example']", TLP2.amber),
    indicator(3, "[ipv4-addr:value = '198.51.100.5']", TLP2.strict),
    indicator(4, "[ipv4-addr:value = '203.0.113.5' OR domain-name:value = 'red-panel.example']", TLP2.red),
    indicator(5, "[ipv4-addr:value = '192.0.2.11']"),
    indicator(6, "[ipv4-addr:value = '192.0.2.300']"),
  ],
});

type View = { campaign: Campaign; cases: Partial<Record<Case['state'], number>>; notices: Notice[] };

let host: Host & { dispose(): Promise<void> };

beforeAll(async () => {
  host = await testHost(1);
});
afterAll(async () => host?.dispose());

async function submit(body: Record<string, unknown>): Promise<{ id: string; skipped: unknown[] }> {
  const res = await api<{ campaign: { id: string }; skipped: unknown[] }>(host, 'POST', '/campaigns', { name: 'Op Mixed', submitter: 'analyst', requireApproval: false, ...body });
  if (res.status !== 201) throw new Error(`submit answered ${res.status}: ${JSON.stringify(res.body)}`);
  return { id: res.body.campaign.id, skipped: res.body.skipped };
}

function allSent(campaignId: string): Promise<View> {
  return waitFor('every notice of the campaign to be sent', async () => {
    const view = (await api<View>(host, 'GET', `/campaigns/${campaignId}`)).body;
    return view.campaign.state === 'running' && view.notices.every((n) => n.state === 'sent') ? view : undefined;
  });
}

/** A captured message as text, with quoted-printable soft breaks and folded headers joined. */
const text = (m: OutboxMessage) => m.raw.replace(/=\r\n/g, '').replace(/\r\n[ \t]+/g, ' ');
const toOf = (m: OutboxMessage) => m.header('to') ?? '';

describe('the TLP gate on the embedded host', () => {
  let first: View;
  let second: View;

  beforeAll(async () => {
    const a = await submit({ content: BUNDLE, skipInvalid: true });
    first = await allSent(a.id);
    const b = await submit({ content: BUNDLE, skipInvalid: true, name: 'Op Mixed, permitted', tlpPermission: { grantedBy: 'Vendor X liaison' } });
    second = await allSent(b.id);
  }, 60_000);

  it('sends no RED indicator in any message, with or without a permission', () => {
    const messages = outbox(host);
    expect(messages.length).toBeGreaterThanOrEqual(3);
    for (const m of messages) for (const value of RED_VALUES) expect(text(m), `${m.file} carries ${value}`).not.toContain(value);
  });

  it('withholds AMBER and AMBER+STRICT without the permission, and keeps them as withheld cases', () => {
    expect(first.notices.map((n) => n.party.email)).toEqual(['abuse@hosting.example']);
    const hostingMail = outbox(host).filter((m) => toOf(m).includes('abuse@hosting.example'));
    expect(hostingMail).toHaveLength(1);
    expect(text(hostingMail[0]!)).not.toContain('phish.example');
    expect(text(hostingMail[0]!)).not.toContain('198.51.100.5');
    // phish.example, 198.51.100.5 and the two RED values
    expect(first.cases.withheld).toBe(4);
    expect(first.campaign.counts.withheld).toBe(4);
  });

  it('sends what a later permitted submission allows, and states each notice its level and what it allows', () => {
    // 192.0.2.10 and .11 are already in the first campaign's open cases; the withheld ones are not
    expect(second.notices.map((n) => n.party.email).sort()).toEqual(['abuse@demo-dc.example', 'abuse@registrar.example']);
    const strict = outbox(host).find((m) => toOf(m).includes('abuse@demo-dc.example'))!;
    expect(strict.header('subject')).toContain('[TLP:AMBER+STRICT]');
    expect(strict.header('x-tlp')).toBe('AMBER+STRICT');
    expect(text(strict)).toContain('198.51.100.5');
    expect(text(strict)).toContain('share it only within your own organisation');
    const amber = outbox(host).find((m) => toOf(m).includes('abuse@registrar.example'))!;
    expect(amber.header('subject')).toContain('[TLP:AMBER]');
    const green = outbox(host).find((m) => toOf(m).includes('abuse@hosting.example'))!;
    // GREEN from the vendor and the submitter's own unmarked address (the default AMBER) in one notice
    expect(green.header('subject')).toContain('[TLP:AMBER]');
    expect(text(green)).toContain('marking: TLP:GREEN');
  });

  it('keeps an AMBER+STRICT case to its operator, so it is never escalated to another organisation', async () => {
    const cases = await host.store.listCases({ campaignId: second.campaign.id });
    const strict = cases.items.find((c) => c.indicator.value === '198.51.100.5')!;
    expect(strict.ladder.map((s) => s.party.kind)).toEqual(['hosting']);
    expect(strict.indicator.tlp).toBe('AMBER+STRICT');
  });

  it('records the permission with who granted it, the skipped item and each withheld case in the audit record', async () => {
    expect(second.campaign.tlpPermission).toMatchObject({ notifyOperators: true, grantedBy: 'Vendor X liaison' });
    const events: AuditEvent[] = await host.store.listEvents({ campaignId: first.campaign.id });
    expect(events.filter((e) => e.type === 'intake.skipped').flatMap((e) => e.data.items as { where: string }[]).map((i) => i.where)).toEqual([id(6)]);
    const withheld = events.filter((e) => e.type === 'case.withheld');
    expect(withheld.map((e) => e.data.value).sort()).toEqual(['198.51.100.5', '203.0.113.5', 'phish.example', 'red-panel.example']);
    const submitted = (await host.store.listEvents({ campaignId: second.campaign.id })).find((e) => e.type === 'campaign.submitted')!;
    expect(submitted.data.tlpPermission).toMatchObject({ grantedBy: 'Vendor X liaison' });
  });
});

describe('POST /campaigns and POST /plans with the new intake', () => {
  type ErrorBody = { error: { code: string; issues?: { where: string; reason: string }[] } };

  it('refuses a bundle with a bad indicator with 400 naming its STIX id, and stores nothing', async () => {
    const before = (await host.store.listCampaigns()).length;
    const res = await api<ErrorBody>(host, 'POST', '/campaigns', { name: 'Bad', submitter: 'analyst', content: BUNDLE });
    expect(res.status).toBe(400);
    expect(res.body.error.issues).toEqual([{ where: id(6), reason: 'ipv4-addr:value: an IPv4 part is over 255' }]);
    expect(await host.store.listCampaigns()).toHaveLength(before);
  });

  it('answers POST /plans with the plan of the same body, and stores nothing', async () => {
    const before = (await host.store.listCampaigns()).length;
    const res = await api<{ counts: { withheld: number; skipped: number }; recipients: unknown[] }>(host, 'POST', '/plans', { name: 'Dry', submitter: 'analyst', content: BUNDLE, skipInvalid: true, format: 'stix' });
    expect(res.status).toBe(200);
    expect(res.body.counts).toMatchObject({ skipped: 1 });
    expect(await host.store.listCampaigns()).toHaveLength(before);
    const bad = await api<ErrorBody>(host, 'POST', '/plans', { name: 'Dry', submitter: 'analyst', content: BUNDLE, format: 'misp' });
    expect(bad.status).toBe(400);
  });
});
