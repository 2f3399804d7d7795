import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildNotices } from '../../lib/core/campaign/plan.js';
import { listAll } from '../../lib/core/paging.js';
import { routeCampaign } from '../../lib/core/campaign/route.js';
import { submitCampaign, type SubmitCampaignInput } from '../../lib/core/campaign/submit.js';
import { planSubmission } from '../../lib/core/campaign/dry-run.js';
import type { Deps } from '../../lib/core/ports.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { intakeDeps } from '../support/intake-deps.js';

const DIRECTORY = new URL('../../examples/directory.yaml', import.meta.url).pathname;
const NOW = new Date('2025-06-01T00:00:00Z');
const TLP2 = {
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  strict: 'marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};
const id = (n: number) => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;

function indicator(n: number, pattern: string, extra: Record<string, unknown> = {}) {
  return { type: 'indicator', spec_version: '2.1', id: id(n), created: '2025-01-01T00:00:00Z', modified: '2025-01-01T00:00:00Z', pattern, pattern_type: 'stix', valid_from: '2025-01-01T00:00:00Z', ...extra };
}

/** A vendor bundle with one indicator of every kind of outcome. */
const BUNDLE = JSON.stringify({
  type: 'bundle',
  id: 'bundle--00000000-0000-4000-8000-000000000000',
  objects: [
    indicator(1, "[ipv4-addr:value = '192.0.2.10']", { object_marking_refs: [TLP2.green] }),
    indicator(2, "[domain-name:value = 'phish.example']", { object_marking_refs: [TLP2.amber] }),
    indicator(3, "[ipv4-addr:value = '198.51.100.5']", { object_marking_refs: [TLP2.strict] }),
    indicator(4, "[ipv4-addr:value = '203.0.113.5']", { object_marking_refs: [TLP2.red] }),
    indicator(5, "[ipv4-addr:value = '192.0.2.11']"),
    indicator(6, "[ipv4-addr:value = '192.0.2.12']", { valid_until: '2025-03-01T00:00:00Z' }),
    indicator(7, "[domain-name:value MATCHES 'evil']"),
    indicator(8, "[ipv4-addr:value = '10.0.0.1']", { object_marking_refs: [TLP2.green] }),
    indicator(9, "[ipv4-addr:value = '192.0.2.300']"),
  ],
});

const PERMISSION = { grantedBy: 'Vendor X liaison (mail of 2025-05-30)' };

let dir: string;
let store: SqliteStore;
let deps: Deps;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-plan-'));
  store = new SqliteStore(join(dir, 'db.sqlite'));
  deps = await intakeDeps(store, { directory: DIRECTORY, now: NOW, pageSize: 3 });
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Every row of every table, counted: what "stores nothing" means. */
function rowCounts(): Record<string, number> {
  const db = new Database(join(dir, 'db.sqlite'), { readonly: true });
  try {
    const tables = db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    return Object.fromEntries(tables.map((t) => [t.name, (db.prepare(`SELECT count(*) AS n FROM "${t.name}"`).get() as { n: number }).n]));
  } finally {
    db.close();
  }
}

const submission = (over: Partial<SubmitCampaignInput> = {}): SubmitCampaignInput => ({
  name: 'Op Vendor X', submitter: 'analyst', content: BUNDLE, skipInvalid: true, requireApproval: false, sourceName: 'vendor-x.json', ...over,
});

describe('planSubmission', () => {
  it('shows per recipient what it would get and why, and everything that would not go out with why', async () => {
    const plan = await planSubmission(deps, submission());

    expect(plan.campaign).toMatchObject({ name: 'Op Vendor X', tlp: 'AMBER', tlpFrom: 'default', format: 'stix', sourceName: 'vendor-x.json' });
    expect(plan.counts).toEqual({ submitted: 6, accepted: 6, duplicates: 0, alreadyOpen: 0, recipients: 1, notified: 2, withheld: 3, unroutable: 1, excluded: 2, skipped: 1 });
    expect(plan.recipients).toHaveLength(1);
    const [hosting] = plan.recipients;
    expect(hosting!.party).toMatchObject({ name: 'Example Hosting Ltd', email: 'abuse@hosting.example', contactSource: 'directory' });
    expect(hosting!.tlp).toBe('AMBER');
    expect(hosting!.indicators.map(({ ladder: _l, ...rest }) => rest)).toEqual([
      { value: '192.0.2.10', kind: 'ipv4', tlp: 'GREEN', tlpFrom: 'marking', origin: id(1), as: 'hosting', matchedBy: '192.0.2.0/24' },
      { value: '192.0.2.11', kind: 'ipv4', tlp: 'AMBER', tlpFrom: 'default', origin: id(5), as: 'hosting', matchedBy: '192.0.2.0/24' },
    ]);
    // each indicator shows its whole ladder with the contact source and deadlines of every rung
    expect(
      hosting!.indicators[0]!.ladder.map((s) => [s.party.kind, s.party.email, s.party.contactSource, s.answerDeadline, s.actionDeadline]),
    ).toEqual([
      ['hosting', 'abuse@hosting.example', 'directory', 86_400, 259_200],
      ['cert', 'incidents@cert-ke.example', 'directory', 259_200, 432_000],
    ]);
    expect(plan.withheld.map((w) => [w.value, w.tlp, w.party, w.reason])).toEqual([
      ['phish.example', 'AMBER', 'Example Registrar <abuse@registrar.example>', "TLP:AMBER without the source's permission to notify the infrastructure's operators"],
      ['198.51.100.5', 'AMBER+STRICT', 'Demo Datacentre SARL (example) <abuse@demo-dc.example>', "TLP:AMBER+STRICT without the source's permission to notify the infrastructure's operators"],
      ['203.0.113.5', 'RED', 'Example Networks (Pty) Ltd <abuse@example-networks.example>', 'TLP:RED is for the named recipients only and never leaves'],
    ]);
    expect(plan.unroutable).toEqual([{ value: '10.0.0.1', origin: id(8) }]);
    expect(plan.excluded.map((e) => [e.where, e.kind, e.value])).toEqual([[id(6), 'expired', '192.0.2.12'], [id(7), 'unsupported', undefined]]);
    expect(plan.skipped).toEqual([{ where: id(9), reason: 'ipv4-addr:value: an IPv4 part is over 255' }]);
  });

  it('with the permission, sends AMBER to the operators and keeps AMBER+STRICT from the CERT; RED stays', async () => {
    const plan = await planSubmission(deps, submission({ tlpPermission: PERMISSION }));
    expect(plan.campaign.tlpPermission).toEqual({ notifyOperators: true, grantedBy: PERMISSION.grantedBy, grantedAt: NOW.toISOString() });
    expect(plan.recipients.map((r) => [r.party.email, r.tlp, r.indicators.map((i) => i.value)])).toEqual([
      ['abuse@hosting.example', 'AMBER', ['192.0.2.10', '192.0.2.11']],
      ['abuse@demo-dc.example', 'AMBER+STRICT', ['198.51.100.5']],
      ['abuse@registrar.example', 'AMBER', ['phish.example']],
    ]);
    const strict = plan.recipients[1]!.indicators[0]!;
    expect(strict.notEscalatedTo).toEqual([{ party: 'CI CERT (example) <incidents@cert-ci.example>', reason: expect.stringContaining('AMBER+STRICT stays with the operator itself') }]);
    expect(plan.withheld.map((w) => w.value)).toEqual(['203.0.113.5']);
  });

  it('stores nothing: every table has the same rows before and after', async () => {
    await submitCampaign(deps, submission({ content: '192.0.2.50\n' }));
    const before = rowCounts();
    await planSubmission(deps, submission({ tlpPermission: PERMISSION }));
    expect(rowCounts()).toEqual(before);
  });

  it('refuses a file with errors like a submission does, unless told to skip them', async () => {
    await expect(planSubmission(deps, submission({ skipInvalid: false }))).rejects.toMatchObject({ name: 'InvalidInputError', issues: [{ where: id(9) }] });
  });

  it('gives an empty plan that says why when nothing is left to notify', async () => {
    const content = JSON.stringify({ type: 'bundle', id: 'bundle--00000000-0000-4000-8000-000000000001', objects: [indicator(6, "[ipv4-addr:value = '192.0.2.12']", { valid_until: '2025-03-01T00:00:00Z' })] });
    const plan = await planSubmission(deps, submission({ content }));
    expect(plan.counts).toMatchObject({ recipients: 0, notified: 0, excluded: 1 });
    expect(plan.excluded[0]).toMatchObject({ kind: 'expired', value: '192.0.2.12' });
  });
});

describe('the stored campaign and the dry run', () => {
  /** Submit and route the way the campaign workflow does, page by page, up to the plan. */
  async function routed(input: SubmitCampaignInput) {
    const { campaign } = await submitCampaign(deps, input);
    let cursor: string | undefined;
    for (;;) {
      const page = await routeCampaign(deps, campaign.id, cursor);
      if (page.done) break;
      cursor = page.cursor;
    }
    await buildNotices(deps, campaign.id);
    return campaign.id;
  }

  it('route every indicator the same way: recipients, withheld cases and ladders', async () => {
    const input = submission({ tlpPermission: PERMISSION });
    const plan = await planSubmission(deps, input);
    const campaignId = await routed(input);

    const notices = await listAll((p) => store.listNotices({ campaignId }, p));
    const cases = await listAll((p) => store.listCases({ campaignId }, p));
    expect(notices.map((n) => n.party.email).sort()).toEqual(plan.recipients.map((r) => r.party.email).sort());
    for (const r of plan.recipients) {
      const notice = notices.find((n) => n.party.email === r.party.email)!;
      expect(cases.filter((c) => c.noticeId === notice.id).map((c) => c.indicator.value).sort()).toEqual(r.indicators.map((i) => i.value).sort());
    }
    const withheld = cases.filter((c) => c.state === 'withheld');
    expect(withheld.map((c) => [c.indicator.value, c.reason, c.noticeId])).toEqual(plan.withheld.map((w) => [w.value, w.reason, undefined]));
    expect(cases.find((c) => c.indicator.value === '198.51.100.5')!.ladder.map((s) => s.party.kind)).toEqual(['hosting']);
    expect(cases.find((c) => c.indicator.value === '192.0.2.10')!.ladder.map((s) => s.party.kind)).toEqual(['hosting', 'cert']);
    expect((await store.getCampaign(campaignId))!.counts).toMatchObject({ indicators: 6, withheld: 1, unroutable: 1, excluded: 2, skipped: 1, notices: 3 });
  });

  it('records the skipped, the excluded and each withheld case in the audit events of the campaign', async () => {
    const campaignId = await routed(submission());
    const events = await store.listEvents({ campaignId });
    const byType = (type: string) => events.filter((e) => e.type === type);
    expect(byType('intake.skipped').flatMap((e) => e.data.items as unknown[])).toEqual([{ where: id(9), reason: 'ipv4-addr:value: an IPv4 part is over 255' }]);
    expect(byType('intake.excluded').flatMap((e) => (e.data.items as { where: string }[]).map((i) => i.where))).toEqual([id(6), id(7)]);
    expect(byType('case.withheld').map((e) => [e.data.value, e.data.tlp])).toEqual([['phish.example', 'AMBER'], ['198.51.100.5', 'AMBER+STRICT'], ['203.0.113.5', 'RED']]);
    expect(byType('case.withheld').every((e) => typeof e.caseId === 'string')).toBe(true);
    // a retried routing page records nothing twice
    await routeCampaign(deps, campaignId).catch(() => undefined);
    expect((await store.listEvents({ campaignId })).filter((e) => e.type === 'case.withheld')).toHaveLength(3);
  });

  it('counts an indicator open in another campaign across formats, but not one that campaign withheld', async () => {
    await routed(submission());
    const csv = 'indicator,type,tlp\n192.0.2.10,ip,green\n203.0.113.5,ip,green\n';
    const plan = await planSubmission(deps, submission({ content: csv, name: 'Op CSV' }));
    expect(plan.alreadyOpen.map((a) => a.value)).toEqual(['192.0.2.10']);
    expect(plan.recipients.map((r) => [r.party.email, r.indicators.map((i) => i.value)])).toEqual([['abuse@example-networks.example', ['203.0.113.5']]]);
  });
});
