import { existsSync } from 'node:fs';
import type { SqliteStore } from '../../../adapters/sqlite/store.sqlite.js';
import { UsageError } from './options.js';

/**
 * Opens the store of a data directory for a command that reads it whether or not a host serves it (SQLite lets
 * several readers in); a directory without data is a usage error that names it and says how to fill it.
 */
export async function openStore(dataDir: string): Promise<SqliteStore> {
  const { hostFiles } = await import('../../host-files.js');
  const files = hostFiles(dataDir);
  if (!existsSync(files.database)) throw new UsageError(`no data in ${files.dataDir} yet: run a campaign first (takedown run <file> --data-dir ${dataDir})`);
  const { SqliteStore } = await import('../../../adapters/sqlite/store.sqlite.js');
  return new SqliteStore(files.database);
}
