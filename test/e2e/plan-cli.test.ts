import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Plan } from '../../lib/core/routing/plan.js';
import { REPO_ROOT, api, killAllHosts, makeDataDir, outboxCount, removeDataDirs, startServe, runCli } from './support.js';

const TLP2 = {
  green: 'marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb',
  amber: 'marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421',
  red: 'marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1',
};
const id = (n: number) => `indicator--00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const indicator = (n: number, pattern: string, marking?: string) => ({
  type: 'indicator', spec_version: '2.1', id: id(n), created: '2025-01-01T00:00:00Z', modified: '2025-01-01T00:00:00Z',
  pattern, pattern_type: 'stix', valid_from: '2020-01-01T00:00:00Z', ...(marking ? { object_marking_refs: [marking] } : {}),
});
const BUNDLE = JSON.stringify({
  type: 'bundle',
  id: 'bundle--00000000-0000-4000-8000-000000000000',
  objects: [
    indicator(1, "[ipv4-addr:value = '192.0.2.10']", TLP2.green),
    indicator(2, "[domain-name:value = 'phish.example']", TLP2.amber),
    indicator(3, "[ipv4-addr:value = '203.0.113.5']", TLP2.red),
    indicator(4, "[ipv4-addr:value = '192.0.2.300']"),
  ],
});

const takedown = runCli;

/** Rows of the tables a campaign would fill; a table that does not exist counts as empty. */
function stored(dataDir: string): Record<string, number> {
  const file = join(dataDir, 'takedown.db');
  const tables = ['campaigns', 'indicators', 'cases', 'notices', 'events', 'outbound'];
  if (!existsSync(file)) return Object.fromEntries(tables.map((t) => [t, 0]));
  const db = new Database(file, { readonly: true });
  try {
    const present = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").all().map((r) => r.name));
    return Object.fromEntries(tables.map((t) => [t, present.has(t) ? (db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n : 0]));
  } finally {
    db.close();
  }
}

const NOTHING = { campaigns: 0, indicators: 0, cases: 0, notices: 0, events: 0, outbound: 0 };

afterEach(async () => killAllHosts());
afterAll(() => removeDataDirs());

describe('takedown plan', () => {
  it('prints the plan as JSON and stores no campaign, case, notice or audit event, and sends nothing', async () => {
    const dataDir = makeDataDir();
    const file = join(dataDir, 'vendor.json');
    writeFileSync(file, BUNDLE);

    const res = await takedown(['plan', file, '--data-dir', dataDir, '--skip-invalid', '--json']);

    expect(res.code, res.stderr).toBe(0);
    const plan = JSON.parse(res.stdout) as Plan;
    expect(plan.recipients.map((r) => [r.party.email, r.indicators.map((i) => i.value)])).toEqual([['abuse@hosting.example', ['192.0.2.10']]]);
    expect(plan.withheld.map((w) => w.value)).toEqual(['phish.example', '203.0.113.5']);
    expect(plan.skipped).toEqual([{ where: id(4), reason: 'ipv4-addr:value: an IPv4 part is over 255' }]);
    expect(stored(dataDir)).toEqual(NOTHING);
    expect(outboxCount(dataDir)).toBe(0);
  }, 30_000);

  it('prints per recipient the indicators, the rule and the contact source, then what is withheld and why', async () => {
    const dataDir = makeDataDir();
    const file = join(dataDir, 'vendor.json');
    writeFileSync(file, BUNDLE);

    const res = await takedown(['plan', file, '--data-dir', dataDir, '--skip-invalid', '--allow-amber', 'Vendor X liaison']);

    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toContain('dry run: nothing was stored or sent');
    expect(res.stdout).toContain('granted by Vendor X liaison');
    expect(res.stdout).toMatch(/Example Hosting Ltd <abuse@hosting\.example>: 1 indicator, contact from directory, notice TLP:GREEN/);
    expect(res.stdout).toMatch(/192\.0\.2\.10 +ipv4 +TLP:GREEN \(marking\) +hosting network 192\.0\.2\.0\/24/);
    expect(res.stdout).toMatch(/phish\.example .*registrar for example/);
    expect(res.stdout).toMatch(/Withheld by TLP \(1\)/);
    expect(res.stdout).toContain('TLP:RED is for the named recipients only and never leaves');
    expect(res.stdout).toMatch(/Skipped as invalid \(1\)/);
    expect(stored(dataDir)).toEqual(NOTHING);
  }, 30_000);

  it('refuses a file with errors without --skip-invalid, naming the STIX id, and stores nothing', async () => {
    const dataDir = makeDataDir();
    const file = join(dataDir, 'vendor.json');
    writeFileSync(file, BUNDLE);

    const res = await takedown(['plan', file, '--data-dir', dataDir]);

    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${id(4)}: ipv4-addr:value: an IPv4 part is over 255`);
    expect(res.stderr).toContain('nothing was stored.');
    expect(stored(dataDir)).toEqual(NOTHING);
  }, 30_000);

  it('asks a running host for the plan through its API, which stores nothing either', async () => {
    const dataDir = makeDataDir();
    const file = join(dataDir, 'vendor.json');
    writeFileSync(file, BUNDLE);
    const host = await startServe({ dataDir, timeScale: 1 });

    const res = await takedown(['plan', file, '--data-dir', dataDir, '--skip-invalid', '--json', '--tlp', 'GREEN']);
    const refused = await takedown(['plan', file, '--data-dir', dataDir]);

    expect(res.code, res.stderr).toBe(0);
    const plan = JSON.parse(res.stdout) as Plan;
    expect(plan.campaign).toMatchObject({ tlp: 'GREEN', tlpFrom: 'input' });
    expect((await api<{ campaigns: unknown[] }>(host, '/campaigns')).body.campaigns).toEqual([]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(id(4));
  }, 40_000);
});
