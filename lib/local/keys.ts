import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Store } from '../core/ports.js';
import { createApiKey, looksLikeApiKey, principalForKey } from '../adapters/http/api-keys.js';

/**
 * The embedded host's own coordinator key, for the CLI on the same machine: the host makes it when it starts
 * listening and writes it to a file only its user can read; the store keeps only its hash. A CLI command that
 * talks to the running host's API reads it from there.
 */

/** The name the local key is created under, shown by `takedown keys list`. */
export const LOCAL_KEY_NAME = 'local CLI (made by the host)';

/** Where a data directory keeps the host's local key. */
export function localKeyFile(dataDir: string): string {
  return join(resolve(dataDir), 'api-key');
}

/** The local key of a data directory, if the host wrote one. */
export function readLocalKey(dataDir: string): string | undefined {
  const file = localKeyFile(dataDir);
  if (!existsSync(file)) return undefined;
  const key = readFileSync(file, 'utf8').trim();
  return looksLikeApiKey(key) ? key : undefined;
}

/** Keep the local key if it is still valid (not revoked), else make a new one and write it (mode 0600). */
export async function ensureLocalKey(store: Store, dataDir: string): Promise<void> {
  const current = readLocalKey(dataDir);
  if (current && (await principalForKey(store, current))?.role === 'coordinator') return;
  const { key } = await createApiKey(store, { role: 'coordinator', name: LOCAL_KEY_NAME });
  const file = localKeyFile(dataDir);
  // created with the mode, not chmod-ed after: no moment when another user could read it
  writeFileSync(`${file}.tmp`, `${key}\n`, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}
