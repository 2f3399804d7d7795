import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The data directory holds the database (answers, messages, the audit trail), raw mail, the API key and the
 * secret keys: nobody but the host's own user may read any of it. Directories are 0700 and files 0600, made so
 * and, for a directory written by an older version (0755/0644), repaired at every start.
 */

/** Mode of every directory under the data directory. */
export const PRIVATE_DIR = 0o700;
/** Mode of every file under the data directory. */
export const PRIVATE_FILE = 0o600;

/** Make `dir` (and its parents, when missing) a private directory. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  chmodSync(dir, PRIVATE_DIR);
}

/** Write a file through a private temporary file and a rename, so it is never readable by others, even for a moment. */
export function writePrivate(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text, { mode: PRIVATE_FILE });
  chmodSync(`${path}.tmp`, PRIVATE_FILE);
  renameSync(`${path}.tmp`, path);
}

/**
 * Close everything under `dir` to group and others: directories 0700, files 0600 (symbolic links are left
 * alone: their own mode means nothing). Returns how many entries it had to change.
 */
export function secureTree(dir: string): number {
  let changed = 0;
  const walk = (path: string): void => {
    const info = lstatSync(path, { throwIfNoEntry: false });
    if (!info || info.isSymbolicLink()) return;
    const want = info.isDirectory() ? PRIVATE_DIR : PRIVATE_FILE;
    if ((info.mode & 0o777) !== want) {
      chmodSync(path, want);
      changed++;
    }
    if (info.isDirectory()) for (const name of readdirSync(path)) walk(join(path, name));
  };
  walk(dir);
  return changed;
}
