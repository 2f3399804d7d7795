import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendEvent, eventHash } from '../../lib/core/audit/events.js';
import { Checkpointer, readCheckpoints } from '../../lib/core/audit/checkpoints.js';
import { verifyCampaign, verifyChains } from '../../lib/core/audit/verifier.js';
import type { AuditEvent } from '../../lib/core/model.js';
import type { AuditKey } from '../../lib/core/ports.js';
import { FileCheckpointLog } from '../../lib/adapters/checkpoints/checkpoints.file.js';
import { auditKeyFromBytes } from '../../lib/adapters/secrets/audit-key.file.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';

/*
 * The keyed audit trail in the core: MACs on events, the checkpoint log's own chain, and a trail written before
 * the key existed, which keeps verifying as exactly that.
 */

let dir: string;
let store: SqliteStore;
const key: AuditKey = auditKeyFromBytes(randomBytes(32));
const clock = new ScaledClock();
const ids = new CryptoIds();
const CAMPAIGN = 'cmp_test';

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'takedown-mac-'));
  store = new SqliteStore(join(dir, 'db.sqlite'));
});
afterEach(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function write(n: number, withKey: boolean, caseId = 'c0000000000000001'): Promise<void> {
  for (let i = 0; i < n; i++) {
    await appendEvent({ store, ids, clock, ...(withKey ? { auditKey: key } : {}) }, { campaignId: CAMPAIGN, caseId, type: 'case.note', actor: 'system', data: { i } });
  }
}

/** Rewrite a chain as a database writer can: change the first event, re-hash and re-link the rest. */
function rewrite(chain: string, change: (e: AuditEvent) => AuditEvent): void {
  const db = (store as unknown as { db: import('better-sqlite3').Database }).db;
  const rows = db.prepare<[string], { seq: number; data: string }>('SELECT seq, data FROM events WHERE chain = ? ORDER BY chain_seq').all(chain);
  let prev: string | undefined;
  for (const row of rows) {
    const event = JSON.parse(row.data) as AuditEvent;
    const next = prev === undefined ? change(event) : { ...event, prev };
    const hash = eventHash(next);
    db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(JSON.stringify({ ...next, hash }), row.seq);
    prev = hash;
  }
}

describe('MACed audit events', () => {
  it('catch a chain rewritten and re-hashed by someone without the key, where the hashes alone see nothing', async () => {
    await write(3, true);
    rewrite('case:c0000000000000001', (e) => ({ ...e, actor: 'someone else' }));

    expect((await verifyCampaign({ store }, CAMPAIGN)).ok).toBe(true);
    const keyed = await verifyCampaign({ store }, CAMPAIGN, { key, legacy: {} });
    expect(keyed.ok).toBe(false);
    expect(keyed.broken).toMatchObject({ chain: 'case:c0000000000000001', seq: 0, kind: 'mac-mismatch' });
  });

  it('catch a rewrite that strips the MACs instead', async () => {
    await write(3, true);
    rewrite('case:c0000000000000001', ({ mac: _mac, ...e }) => ({ ...e, actor: 'someone else' }));
    const keyed = await verifyCampaign({ store }, CAMPAIGN, { key, legacy: {} });
    expect(keyed.broken).toMatchObject({ chain: 'case:c0000000000000001', seq: 0, kind: 'unsigned' });
  });

  it('refuse MACs made under another key', async () => {
    await write(2, true);
    const report = await verifyCampaign({ store }, CAMPAIGN, { key: auditKeyFromBytes(randomBytes(32)), legacy: {} });
    expect(report.broken).toMatchObject({ kind: 'mac-mismatch' });
    expect(report.broken?.detail).toMatch(/another key/);
  });

  it('leave an exported pack verifiable by its hashes alone: the MAC is not part of the hash', async () => {
    await write(3, true);
    const events = await store.listEvents({ campaignId: CAMPAIGN });
    expect(events.every((e) => typeof e.mac === 'string')).toBe(true);
    expect(verifyChains(events).ok).toBe(true);
  });
});

describe('a trail written before the audit key', () => {
  it('keeps verifying, its old events reported as written before the key, its new ones MACed', async () => {
    await write(3, false);
    const log = new FileCheckpointLog(join(dir, 'checkpoints.jsonl'));
    const checkpointer = new Checkpointer({ store, clock, log, auditKey: key, otherTrails: [CAMPAIGN] });
    await checkpointer.open();
    await write(2, true);
    await checkpointer.checkpoint('all', 'test');

    const reading = await readCheckpoints(await log.readAll(), key);
    expect(reading).toMatchObject({ ok: true, records: 2 });
    const report = await verifyCampaign({ store }, CAMPAIGN, { key, legacy: reading.baseline[CAMPAIGN]!, heads: reading.heads[CAMPAIGN]! });
    expect(report.ok).toBe(true);
    // the campaign root (a genesis event) and three case events came before the key
    expect(report.macs).toEqual({ checked: 2, legacy: 4 });
  });

  it('does not let an event without a MAC pass once the baseline is behind it', async () => {
    await write(2, false);
    const log = new FileCheckpointLog(join(dir, 'checkpoints.jsonl'));
    await new Checkpointer({ store, clock, log, auditKey: key, otherTrails: [CAMPAIGN] }).open();
    // a database writer appends a well-linked event, with no key to MAC it
    await write(1, false);
    const reading = await readCheckpoints(await log.readAll(), key);
    const report = await verifyCampaign({ store }, CAMPAIGN, { key, legacy: reading.baseline[CAMPAIGN]! });
    expect(report.broken).toMatchObject({ chain: 'case:c0000000000000001', seq: 2, kind: 'unsigned' });
  });
});

describe('a checkpoint log that went missing under an existing key', () => {
  it('starts again without a baseline, so the events written meanwhile without a MAC stay breaks', async () => {
    await write(1, true);
    // the log is gone; someone without the key appended a well-linked event meanwhile
    await write(1, false);
    const log = new FileCheckpointLog(join(dir, 'checkpoints.jsonl'));
    await new Checkpointer({ store, clock, log, auditKey: key, otherTrails: [CAMPAIGN] }).open({ baseline: false });
    const reading = await readCheckpoints(await log.readAll(), key);
    expect(reading.baseline).toEqual({});
    const report = await verifyCampaign({ store }, CAMPAIGN, { key, legacy: reading.baseline[CAMPAIGN] ?? {} });
    expect(report.broken).toMatchObject({ chain: 'case:c0000000000000001', seq: 1, kind: 'unsigned' });
  });
});

describe('the checkpoint log', () => {
  async function threeRecords(): Promise<{ log: FileCheckpointLog; file: string }> {
    const file = join(dir, 'checkpoints.jsonl');
    const log = new FileCheckpointLog(file);
    const checkpointer = new Checkpointer({ store, clock, log, auditKey: key, otherTrails: [CAMPAIGN] });
    await checkpointer.open();
    for (let i = 0; i < 2; i++) {
      await write(1, true, `c000000000000000${i + 2}`);
      await checkpointer.checkpoint([CAMPAIGN], `step ${i}`);
    }
    return { log, file };
  }

  it('records only the chains that moved, each record linked to the one before and MACed', async () => {
    const { log } = await threeRecords();
    const records = (await log.readAll()) as { n: number; campaigns: Record<string, Record<string, unknown>> }[];
    expect(records.map((r) => r.n)).toEqual([1, 2, 3]);
    expect(Object.keys(records[2]!.campaigns[CAMPAIGN]!)).toEqual(['case:c0000000000000003']);
    expect((await readCheckpoints(records, key)).ok).toBe(true);
  });

  it('says which record was removed from the middle', async () => {
    const { file } = await threeRecords();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    writeFileSync(file, `${[lines[0], lines[2]].join('\n')}\n`);
    const reading = await readCheckpoints(await new FileCheckpointLog(file).readAll(), key);
    expect(reading.broken).toEqual({ n: 2, detail: 'checkpoint 2 is numbered 3: a record was removed or inserted' });
  });

  it('refuses a record re-hashed without the key', async () => {
    const { file } = await threeRecords();
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const record = JSON.parse(lines[2]!) as { hash: string; mac: string; reason: string };
    const { hash: _h, mac, ...rest } = { ...record, reason: 'nothing happened' };
    const { canonicalize } = await import('../../lib/core/audit/jcs.js');
    const { sha256Hex } = await import('../../lib/core/audit/sha256.js');
    lines[2] = JSON.stringify({ ...rest, hash: sha256Hex(canonicalize(rest)), mac });
    writeFileSync(file, `${lines.join('\n')}\n`);
    const reading = await readCheckpoints(await new FileCheckpointLog(file).readAll(), key);
    expect(reading.broken?.detail).toBe("checkpoint 3's MAC does not verify: it was not written with the audit key");
  });
});
