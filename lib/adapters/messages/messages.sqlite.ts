import { closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { MessageStore } from '../../core/ports.js';

// keys are chosen by the core: refused otherwise, as the file store refuses them
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/** The keys the core gives a part (`<outbound id>/<composition>/p<k>.eml`, `.masked.eml` for its copy). */
const EARLIER_KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*\/[A-Za-z0-9_-][A-Za-z0-9._-]*\/p\d+(?:\.masked)?\.eml$/;

function checked(key: string): string {
  if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) throw new TypeError('not a message key');
  return key;
}

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
 * `earlier`: where messages were kept before (the file per part): a key not in the table is read there, and a
 * deleted key is deleted there too, so a data directory written by an earlier version keeps every message it holds
 * (its masked copies stay files). Only keys of the core's shape (`<outbound id>/<composition>/p<k>.eml`) are
 * looked for there: nothing else can name a file beside the database.
 */
export class SqliteMessageStore implements MessageStore {
  private readonly db: Database.Database;
  private readonly stmt: {
    readonly put: Database.Statement<[string, string]>;
    readonly get: Database.Statement<[string], { raw: string }>;
    readonly delete: Database.Statement<[string]>;
  };

  constructor(
    /** the database file */
    readonly file: string,
    private readonly earlier?: MessageStore,
  ) {
    // created private: SQLite gives its -wal and -shm files the database file's mode
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    // as the main database: a power cut may lose the last writes, a killed process none
    this.db.pragma('synchronous = NORMAL');
    // a notice's bytes fill ~25 pages of the log: at the default (1,000 pages) this connection copied them back, and
    // synced, every ~40 notices sent, in the commit's call; the host's WalCheckpoints copies them on a thread of its own
    this.db.pragma('wal_autocheckpoint = 10000');
    // the log shrinks back after a checkpoint instead of keeping the size a big notice's parts gave it
    this.db.pragma('journal_size_limit = 67108864');
    this.db.exec('CREATE TABLE IF NOT EXISTS messages (key TEXT PRIMARY KEY, raw TEXT NOT NULL)');
    this.stmt = {
      put: this.db.prepare('INSERT INTO messages (key, raw) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET raw = excluded.raw'),
      get: this.db.prepare('SELECT raw FROM messages WHERE key = ?'),
      delete: this.db.prepare('DELETE FROM messages WHERE key = ?'),
    };
  }

  /** written whole or not at all (one row, one transaction) */
  async put(key: string, raw: string): Promise<void> {
    this.stmt.put.run(checked(key), raw);
  }

  async get(key: string): Promise<string | undefined> {
    const row = this.stmt.get.get(checked(key));
    if (row) return row.raw;
    return EARLIER_KEY.test(key) ? this.earlier?.get(key) : undefined;
  }

  async delete(key: string): Promise<void> {
    this.stmt.delete.run(checked(key));
    if (EARLIER_KEY.test(key)) await this.earlier?.delete(key);
  }

  close(): void {
    this.db.close();
  }
}
