import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { MessageStore } from '../../core/ports.js';

/**
 * The messages we send, in a SQLite file of their own (`<data dir>/messages/messages.db`, readable by this user
 * only): the exact bytes of each part until it is sent (they hold a working reply token), then a copy with every
 * token masked.
 *
 * A file per part cost the file system ~1.8 ms per notice sent on this project's test machine (a file made, renamed,
 * read, a second one made and renamed, the first removed: 3.6 s of system time for 2,022 notices), all of it on
 * the event loop; a row costs ~0.15 ms (0.3 s). A separate file keeps the main database's log and checkpoints free
 * of the messages' bytes, which a big hoster's notice counts in megabytes.
 *
 * `earlier`: where messages were kept before (the file per part): what is not in the table is read, and removed,
 * there, so a data directory written by an earlier version keeps every message it holds.
 */
export class SqliteMessageStore implements MessageStore {
  private readonly db: Database.Database;
  private readonly stmt: {
    readonly put: Database.Statement<[string, string]>;
    readonly get: Database.Statement<[string], { raw: string }>;
    readonly delete: Database.Statement<[string]>;
  };

  constructor(
    file: string,
    private readonly earlier?: MessageStore,
  ) {
    // created private: SQLite gives its -wal and -shm files the database file's mode
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // as the main database: a power cut may lose the last writes, a killed process none
    this.db.pragma('synchronous = NORMAL');
    this.db.exec('CREATE TABLE IF NOT EXISTS messages (key TEXT PRIMARY KEY, raw TEXT NOT NULL)');
    this.stmt = {
      put: this.db.prepare('INSERT INTO messages (key, raw) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET raw = excluded.raw'),
      get: this.db.prepare('SELECT raw FROM messages WHERE key = ?'),
      delete: this.db.prepare('DELETE FROM messages WHERE key = ?'),
    };
  }

  /** written whole or not at all (one row, one transaction) */
  async put(key: string, raw: string): Promise<void> {
    this.stmt.put.run(key, raw);
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.stmt.get.get(key);
    if (row) return row.raw;
    return this.earlier?.get(key);
  }

  async delete(key: string): Promise<void> {
    this.stmt.delete.run(key);
    await this.earlier?.delete(key);
  }

  close(): void {
    this.db.close();
  }
}
