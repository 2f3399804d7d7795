import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventHash } from '../../lib/core/audit/events.js';
import type { AuditEvent, Notice } from '../../lib/core/model.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';
import { runCli } from './support.js';

/*
 * The four rewrites of "whoever can write the database can rewrite history", each on a copy of a data directory
 * a real host wrote (it sent a notice, checkpointed the chain heads, and stopped), each done with nothing but the
 * database: the attacker has no audit key. `takedown audit verify` must fail on every one and name the chain.
 */

let dataDir: string;
let work: string;
let campaignId: string;
let notice: Notice;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'takedown-rewrite-'));
  const host = await testHost(1);
  dataDir = host.files.dataDir;
  campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '198.51.100.7,ip,KE,phishing']);
  notice = await waitFor('the notices to be sent', async () => {
    const all = (await host.store.listNotices({ campaignId })).items;
    return all.length === 2 && all.every((n) => n.state === 'sent' && n.taskToken !== undefined) && all[0]!;
  });
  // a coordinator's hand on one case gives it a chain of its own
  const [first] = (await host.store.listCases({ noticeId: notice.id })).items;
  const cancelled = await api(host, 'POST', `/cases/${first!.id}/cancel`, { reason: 'duplicate of an older report' });
  expect(cancelled.status).toBe(200);
  // the host checkpoints as it stops: the heads of every chain it wrote are in the log now
  await host.close();
}, 60_000);

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

/** A copy of the data directory, and its database opened for writing, as an attacker without the key has it. */
function tamperable(name: string): { dir: string; db: Database.Database } {
  const dir = join(work, name);
  cpSync(dataDir, dir, { recursive: true });
  return { dir, db: new Database(join(dir, 'takedown.db')) };
}

function chainEvents(db: Database.Database, chain: string): { seq: number; event: AuditEvent }[] {
  return db
    .prepare<[string], { seq: number; data: string }>('SELECT seq, data FROM events WHERE chain = ? ORDER BY chain_seq')
    .all(chain)
    .map((r) => ({ seq: r.seq, event: JSON.parse(r.data) as AuditEvent }));
}

function caseChain(db: Database.Database): string {
  return db.prepare<[string], { chain: string }>("SELECT chain FROM events WHERE campaign_id = ? AND chain LIKE 'case:%' ORDER BY chain LIMIT 1").get(campaignId)!.chain;
}

async function verify(dir: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return runCli(['audit', 'verify', '--data-dir', dir]);
}

describe('takedown audit verify against a rewritten database', () => {
  it('says the untouched trail is valid, every MAC verified', async () => {
    const res = await verify(dataDir);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(new RegExp(`${campaignId}: valid \\(\\d+ chains, \\d+ events, \\d+ MACs verified\\)`));
    expect(res.stdout).toMatch(/checkpoints: \d+ records, .* MACs verified/);
  });

  it('fails when the newest events of a chain were deleted, naming the chain', async () => {
    const { dir, db } = tamperable('newest');
    const chain = `notice:${notice.id}`;
    const events = chainEvents(db, chain);
    expect(events.length).toBeGreaterThan(1);
    db.prepare('DELETE FROM events WHERE seq = ?').run(events.at(-1)!.seq);
    db.close();

    const res = await verify(dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`truncated at ${chain} seq ${events.at(-1)!.event.seq}`);
    expect(res.stderr).toContain(`chain ${chain}`);
  });

  it('fails when a whole case chain was deleted', async () => {
    const { dir, db } = tamperable('whole-chain');
    const chain = caseChain(db);
    db.prepare('DELETE FROM events WHERE chain = ?').run(chain);
    db.close();

    const res = await verify(dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toContain(`truncated at ${chain} seq 0: a chain recorded before has no event any more`);
  });

  it('fails when a chain was rewritten and re-hashed from the altered event on, every link consistent', async () => {
    const { dir, db } = tamperable('rehashed');
    const chain = caseChain(db);
    const events = chainEvents(db, chain);
    // the history says someone else decided: every later event re-linked, so every hash and link holds again
    let prev: string | undefined;
    for (const { seq, event } of events) {
      const changed: AuditEvent = { ...event, ...(prev === undefined ? { actor: 'someone else' } : { prev }) };
      const hash = eventHash(changed);
      db.prepare('UPDATE events SET data = ? WHERE seq = ?').run(JSON.stringify({ ...changed, hash }), seq);
      prev = hash;
    }
    db.close();

    const res = await verify(dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`(truncated|mac-mismatch) at ${chain} seq 0`));
  });

  it('fails when the whole trail was cut back to an earlier moment, across every chain', async () => {
    const { dir, db } = tamperable('truncated');
    const { total } = db.prepare<[], { total: number }>('SELECT COUNT(*) AS total FROM events').get()!;
    db.prepare('DELETE FROM events WHERE seq > ?').run(Math.floor(total / 2));
    db.close();

    const res = await verify(dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/BROKEN .* truncated at /);
  });

  it('fails when the checkpoint log itself was edited to match a rewritten database', async () => {
    const { dir, db } = tamperable('log-edited');
    db.close();
    const file = join(dir, 'audit-checkpoints.jsonl');
    const { readFileSync, writeFileSync } = await import('node:fs');
    const lines = readFileSync(file, 'utf8').trim().split('\n');
    const last = JSON.parse(lines.at(-1)!) as { reason: string };
    lines[lines.length - 1] = JSON.stringify({ ...last, reason: 'edited' });
    writeFileSync(file, `${lines.join('\n')}\n`);

    const res = await verify(dir);
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(/checkpoints: .* BROKEN: checkpoint \d+ does not match its hash/);
  });
});
