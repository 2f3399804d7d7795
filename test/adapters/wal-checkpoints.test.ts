import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { WalCheckpoints } from '../../lib/adapters/sqlite/wal-checkpoints.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A database in WAL mode whose connection never checkpoints by itself: only another connection copies its log back. */
function writer(): { file: string; db: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'takedown-wal-'));
  dirs.push(dir);
  const file = join(dir, 'data.db');
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT NOT NULL)');
  return { file, db };
}

const insert = (db: Database.Database, from: number, count: number) => {
  const put = db.prepare('INSERT INTO t (id, body) VALUES (?, ?)');
  for (let i = from; i < from + count; i++) put.run(i, `row ${i} `.repeat(500));
};

async function until(check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('WalCheckpoints', () => {
  it('copies what a connection wrote back into the file, from a thread of its own', async () => {
    const { file, db } = writer();
    insert(db, 0, 300);
    const before = statSync(file).size;
    // nothing copied yet: the rows are in the log only
    expect(before).toBeLessThan(64 * 1024);

    const checkpoints = new WalCheckpoints([file], (m) => expect.fail(m), 5);
    await until(() => statSync(file).size > 1024 * 1024);
    await checkpoints.close();
    // the writer's next write finds the whole log copied and starts it over: what it adds goes to the log's start
    insert(db, 300, 1);
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 301 });
    db.close();
  });

  it('never holds up the writer: writes go on, none refused as busy, while the thread copies', async () => {
    const { file, db } = writer();
    const checkpoints = new WalCheckpoints([file], (m) => expect.fail(m), 1);
    const grown: number[] = [];
    for (let round = 0; round < 40; round++) {
      insert(db, round * 20, 20);
      grown.push(statSync(file).size);
      await new Promise((r) => setTimeout(r, 2));
    }
    await checkpoints.close();
    expect(db.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 800 });
    // the copies happened while the writes went on, not only at the end
    expect(new Set(grown).size).toBeGreaterThan(2);
    db.close();
    const again = new Database(file, { readonly: true });
    expect(again.prepare('SELECT COUNT(*) AS n FROM t').get()).toEqual({ n: 800 });
    again.close();
  });

  it('says once that it cannot work, and closes all the same', async () => {
    const failures: string[] = [];
    const missing = join(mkdtempSync(join(tmpdir(), 'takedown-wal-')), 'nowhere.db');
    dirs.push(join(missing, '..'));
    const checkpoints = new WalCheckpoints([missing], (m) => failures.push(m), 5);
    await until(() => failures.length > 0);
    await checkpoints.close();
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(/thread stopped; the writers checkpoint themselves/);
    // it did not make the file it could not open
    expect(() => statSync(missing)).toThrow(/ENOENT/);
  });

  it('closes once, however often it is asked, and lets the writers close after it', async () => {
    const { file, db } = writer();
    const checkpoints = new WalCheckpoints([file], (m) => expect.fail(m), 5);
    insert(db, 0, 10);
    await Promise.all([checkpoints.close(), checkpoints.close()]);
    await checkpoints.close();
    db.close();
    // the last connection to close copied the rest and removed the log
    expect(() => statSync(`${file}-wal`)).toThrow(/ENOENT/);
  });
});
