import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import type { MessageStore } from '../../core/ports.js';

// keys are chosen by the core (`<outbound id>/<composition>/p<k>.eml`): nothing else may name a file
const KEY = /^[A-Za-z0-9_-][A-Za-z0-9._-]*(?:\/[A-Za-z0-9_-][A-Za-z0-9._-]*)*$/;

/**
 * The messages we send, one file per part under `<data dir>/messages/`, readable by this user only (the exact
 * bytes hold a working reply token until the part is sent; the copy kept afterwards has them masked). How the
 * embedded host kept them until SqliteMessageStore, which now reads (and removes) the files written this way.
 */
export class FileMessageStore implements MessageStore {
  private readonly root: string;
  /** folders this store made (or found): a message's two copies share one, so it is made once, not per write */
  private readonly folders = new Set<string>();

  constructor(dir: string) {
    this.root = resolve(dir);
    mkdirSync(this.root, { recursive: true, mode: 0o700 });
  }

  private path(key: string): string {
    if (!KEY.test(key) || key.split('/').some((p) => p === '.' || p === '..')) throw new TypeError('not a message key');
    const path = join(this.root, ...key.split('/'));
    if (!path.startsWith(this.root + sep)) throw new TypeError('not a message key');
    return path;
  }

  /** written whole or not at all: a crash leaves the old file or none, never half of one */
  async put(key: string, raw: string): Promise<void> {
    const path = this.path(key);
    const folder = dirname(path);
    if (!this.folders.has(folder)) {
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      this.folders.add(folder);
      // one entry per outbound: forget them all now and then rather than grow with every message ever sent
      if (this.folders.size > 10_000) this.folders.clear();
    }
    const tmp = `${path}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, raw, { mode: 0o600 });
    } catch (e) {
      // a folder removed behind this store's back (a cleanup) is made again
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      writeFileSync(tmp, raw, { mode: 0o600 });
    }
    renameSync(tmp, path);
  }

  async get(key: string): Promise<string | undefined> {
    try {
      return readFileSync(this.path(key), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    rmSync(this.path(key), { force: true });
  }
}
