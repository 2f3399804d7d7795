import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { CampaignIndicator } from '../../lib/core/model.js';
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

  it('stores and pages through 20,674 indicators at well over 5,000 a second', async () => {
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

    const started = performance.now();
    await store.putIndicators(items);
    let listed = 0;
    let after: string | undefined;
    do {
      const page = await store.listIndicators('cmp_bulk', after === undefined ? { limit: 500 } : { after, limit: 500 });
      listed += page.items.length;
      after = page.next;
    } while (after !== undefined);
    const seconds = (performance.now() - started) / 1000;
    store.close();

    expect(listed).toBe(items.length);
    expect(items.length / seconds).toBeGreaterThan(5_000);
  });
});
