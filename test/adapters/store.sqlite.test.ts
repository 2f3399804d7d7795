import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { CHAIN_SLOT_TAKEN, ZERO_HASH, eventHash } from '../../lib/core/audit/events.js';
import { AuditEvent, CampaignIndicator, Case } from '../../lib/core/model.js';
import { storeContract } from '../contract/store.contract.js';

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'takedown-store-'));
}

storeContract('sqlite', async () => {
  const dir = tempDir();
  const store = new SqliteStore(join(dir, 'state.db'));
  return {
    store,
    close: async () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SqliteStore', () => {
  let dir: string;

  beforeEach(() => {
    dir = tempDir();
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps its records in a WAL-mode file that a reopened store reads back', async () => {
    const file = join(dir, 'state.db');
    const indicator = CampaignIndicator.parse({
      campaignId: 'cmp_a',
      seq: 0,
      indicator: { value: 'bad.example', kind: 'domain', host: 'bad.example', hostKind: 'domain', raw: 'bad[.]example', origin: 'line 1' },
    });
    const first = new SqliteStore(file);
    await first.putIndicators([indicator]);
    first.close();

    const probe = new Database(file, { readonly: true });
    expect(probe.pragma('journal_mode', { simple: true })).toBe('wal');
    probe.close();

    const reopened = new SqliteStore(file);
    expect(await reopened.listIndicators('cmp_a')).toStrictEqual({ items: [indicator] });
    reopened.close();
  });

  it('stores 20,674 indicators in one batch and pages through them in order, each once', async () => {
    const store = new SqliteStore(join(dir, 'bulk.db'));
    const items = Array.from({ length: 20_674 }, (_, seq) => ({
      campaignId: 'cmp_bulk',
      seq,
      indicator: {
        value: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
        kind: 'ipv4' as const,
        host: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
        hostKind: 'ipv4' as const,
        raw: `10.${(seq >> 16) & 255}.${(seq >> 8) & 255}.${seq & 255}`,
        origin: `line ${seq + 1}`,
      },
    }));

    // its speed is a figure of `npm run bench`, not asserted here
    await store.putIndicators(items);
    const listed: number[] = [];
    let after: string | undefined;
    do {
      const page = await store.listIndicators('cmp_bulk', after === undefined ? { limit: 500 } : { after, limit: 500 });
      listed.push(...page.items.map((i) => i.seq));
      after = page.next;
    } while (after !== undefined);
    store.close();

    expect(listed).toStrictEqual(items.map((i) => i.seq));
  });

  it('lists a case\'s events from its chain, and an event from before the chains by its case id, in append order', async () => {
    // Prepare: a database from before the hash chains (an event with no chain, the old index by case id), then
    // reopened by this store and given a chained event of the same case
    const file = join(dir, 'legacy.db');
    new SqliteStore(file).close();
    const old = new Database(file);
    old.prepare('INSERT INTO events (id, campaign_id, case_id, notice_id, data) VALUES (?, ?, ?, ?, ?)').run(
      'evt_old', 'cmp_a', 'case_1', null, JSON.stringify({ id: 'evt_old', campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', at: '2024-01-01T00:00:00.000Z', data: {} }),
    );
    old.exec('CREATE INDEX events_by_case ON events (case_id, seq)');
    old.close();
    const store = new SqliteStore(file);
    const linked = { id: 'evt_new', at: '2025-03-01T08:00:00.000Z', campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: {}, chain: 'case:case_1', seq: 0, prev: ZERO_HASH };
    await store.appendEvent(AuditEvent.parse({ ...linked, hash: eventHash(linked) }));
    const other = { ...linked, id: 'evt_other', caseId: 'case_2', chain: 'case:case_2' };
    await store.appendEvent(AuditEvent.parse({ ...other, hash: eventHash(other) }));

    // Act
    const events = await store.listEvents({ caseId: 'case_1' });

    // Assess: both, oldest first, nothing of another case; and the old index is gone
    expect(events.map((e) => e.id)).toStrictEqual(['evt_old', 'evt_new']);
    store.close();
    const probe = new Database(file, { readonly: true });
    const indexes = probe.prepare<[], { name: string }>("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events'").all().map((r) => r.name);
    probe.close();
    expect(indexes).not.toContain('events_by_case');
    expect(indexes).toContain('events_unchained_by_case');
  });

  it('finds the live cases of 12,000 indicator values, more than one query looks up, wherever they are in the list', async () => {
    const store = new SqliteStore(join(dir, 'find.db'));
    const ladder = [{ party: { id: 'hosting:AS64500', kind: 'hosting', name: 'Hosting', email: 'abuse@hosting.example', contactSource: 'directory' }, answerDeadline: 60, actionDeadline: 60, reminders: 0 }];
    const value = (n: number) => `10.${Math.floor(n / 65536)}.${Math.floor(n / 256) % 256}.${n % 256}`;
    const caseOf = (n: number, state: string) =>
      Case.parse({ id: `case_${n}`, campaignId: 'cmp_a', indicator: { value: value(n), kind: 'ipv4', host: value(n), hostKind: 'ipv4', raw: value(n), origin: `line ${n}` }, ladder, step: 0, state, updatedAt: '2025-03-01T08:00:00.000Z', version: 1 });
    // live cases at the start, on both sides of the first query's end (5,000) and at the end; one closed
    await store.putCases([caseOf(0, 'open'), caseOf(4999, 'notified'), caseOf(5000, 'open'), caseOf(7000, 'actioned'), caseOf(11_999, 'withheld')]);

    const values = Array.from({ length: 12_000 }, (_, n) => value(n));
    const found = await store.findCasesByIndicator([...values, value(5000)], new Set(['open', 'notified', 'withheld']));
    store.close();

    expect(found.map((c) => c.id)).toStrictEqual(['case_0', 'case_11999', 'case_4999', 'case_5000']);
  });

  it('counts a campaign\'s escalated, reopened and withheld cases in a database made before it kept them apart', async () => {
    // Prepare: cases of each kind stored, then the column and index the counts read taken away, as an older
    // version of this store left the file
    const file = join(dir, 'counts.db');
    const first = new SqliteStore(file);
    const base = { indicator: { value: '10.0.0.1', kind: 'ipv4', host: '10.0.0.1', hostKind: 'ipv4', raw: '10.0.0.1', origin: 'line 1' }, ladder: [{ party: { id: 'hosting:AS64500', kind: 'hosting', name: 'Hosting', email: 'abuse@hosting.example', contactSource: 'directory' }, answerDeadline: 60, actionDeadline: 60, reminders: 0 }], step: 0, updatedAt: '2025-03-01T08:00:00.000Z', version: 1 };
    await first.putCases([
      Case.parse({ ...base, id: 'case_1', campaignId: 'cmp_a', state: 'escalated' }),
      Case.parse({ ...base, id: 'case_2', campaignId: 'cmp_a', state: 'notified', step: 1, previousCaseId: 'case_1' }),
      Case.parse({ ...base, id: 'case_3', campaignId: 'cmp_a', state: 'notified', revival: 1 }),
      Case.parse({ ...base, id: 'case_4', campaignId: 'cmp_a', state: 'withheld' }),
      Case.parse({ ...base, id: 'case_5', campaignId: 'cmp_b', state: 'withheld', revival: 2 }),
    ]);
    first.close();
    const old = new Database(file);
    old.exec('DROP INDEX cases_by_lineage; ALTER TABLE cases DROP COLUMN lineage');
    old.close();

    // Act
    const reopened = new SqliteStore(file);
    const counts = await reopened.countCases('cmp_a');
    reopened.close();

    // Assess
    expect(counts).toStrictEqual({ cases: 4, escalations: 1, reopened: 1, withheld: 1 });
  });

  it('stores a batch of audit events all or none: a taken slot anywhere in it leaves no event of it stored', async () => {
    // Prepare: a chain with one event, and a batch whose second event claims that event's slot
    const store = new SqliteStore(join(dir, 'audit.db'));
    const event = (id: string, caseId: string, seq: number): AuditEvent => {
      const linked = { id, at: '2025-03-01T08:00:00.000Z', campaignId: 'cmp_a', caseId, type: 'case.noted', actor: 'system', data: {}, chain: `case:${caseId}`, seq, prev: ZERO_HASH };
      return AuditEvent.parse({ ...linked, hash: eventHash(linked) });
    };
    await store.appendEvent(event('evt_1', 'case_1', 0));

    // Act
    const batch = store.appendEvents([event('evt_2', 'case_2', 0), event('evt_3', 'case_1', 0), event('evt_4', 'case_3', 0)]);

    // Assess: refused as a taken slot, and the events before and after it in the batch are not stored either
    await expect(batch).rejects.toMatchObject({ code: CHAIN_SLOT_TAKEN });
    expect((await store.listEvents({ campaignId: 'cmp_a' })).map((e) => e.id)).toStrictEqual(['evt_1']);
    await store.appendEvents([event('evt_2', 'case_2', 0), event('evt_4', 'case_3', 0)]);
    expect((await store.listEvents({ campaignId: 'cmp_a' })).map((e) => e.id)).toStrictEqual(['evt_1', 'evt_2', 'evt_4']);
    store.close();
  });
});
