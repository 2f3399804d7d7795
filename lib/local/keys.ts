import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { userInfo } from 'node:os';
import type { Store } from '../core/ports.js';
import { looksLikeApiKey } from '../adapters/http/key-shape.js';

/**
 * The embedded host's own coordinator key, for the CLI on the same machine: the host makes it when it starts
 * listening and writes it to a file only its user can read; the store keeps only its hash. A CLI command that
 * talks to the running host's API reads it from there.
 */

/**
 * Who the CLI acts as on this machine: the user running it, as the local CLI. The host's own key is named so
 * (only that user can read its file), and a command run without a host records the same name: the audit trail
 * says the same thing whichever way a command went.
 */
export function localActorName(): string {
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    // no passwd entry (a container's arbitrary uid): the uid still tells users apart
    user = `uid ${process.getuid?.() ?? '?'}`;
  }
  return `${user || 'unknown user'} (local CLI)`;
}

/** The name the local key is created under, shown by `takedown keys list`. */
export const LOCAL_KEY_NAME = localActorName();

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
  // the key store is loaded by the host, never by a command that only reads the key file
  const { createApiKey, principalForKey } = await import('../adapters/http/api-keys.js');
  const principal = current ? await principalForKey(store, current) : undefined;
  // a key made under another name (an older version's, another user's) is replaced: its name is the actor
  if (principal?.role === 'coordinator' && principal.name === LOCAL_KEY_NAME) return;
  const { key } = await createApiKey(store, { role: 'coordinator', name: LOCAL_KEY_NAME });
  const file = localKeyFile(dataDir);
  // created with the mode, not chmod-ed after: no moment when another user could read it
  writeFileSync(`${file}.tmp`, `${key}\n`, { mode: 0o600 });
  chmodSync(`${file}.tmp`, 0o600);
  renameSync(`${file}.tmp`, file);
}

/**
 * A one-time link that signs a browser in to the dashboard as the host's own key: `takedown serve` prints it to
 * whoever started the host (who could read the key file anyway). Used once, within 15 minutes.
 */
export async function signInLink(store: Store, dataDir: string, httpUrl: string): Promise<string | undefined> {
  const key = readLocalKey(dataDir);
  if (!key) return undefined;
  const { createSignInToken } = await import('../adapters/http/api-keys.js');
  return `${httpUrl}/ui/login/${await createSignInToken(store, key)}`;
}
