import { existsSync, mkdirSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';
import { summary, table } from './shared/terminal.js';
import { dataDirOf, err, out } from './shared/options.js';

/**
 * `takedown keys create|list|revoke`: the API keys of the embedded host, one role each. They work on the data
 * directory itself, so a running host sees a new or revoked key at its next request.
 */

async function withStore<T>(dataDir: string, create: boolean, fn: (store: SqliteStore) => Promise<T>): Promise<T> {
  const { hostFiles } = await import('../host-files.js');
  const { SqliteStore } = await import('../../adapters/sqlite/store.sqlite.js');
  const files = hostFiles(dataDir);
  if (!existsSync(files.database)) {
    if (!create) throw new Error(`no data in ${files.dataDir} yet: no keys either`);
    mkdirSync(files.dataDir, { recursive: true });
  }
  const store = new SqliteStore(files.database);
  try {
    return await fn(store);
  } finally {
    store.close();
  }
}

/** Add `takedown keys ...` to the program. */
export function addKeyCommands(prog: Command): void {
  const keys = prog.command('keys').description('API keys for the HTTP API and the dashboard (stored hashed; a key is shown once)');

  keys
    .command('create')
    .description('create an API key and print it once (stdout); only its hash is stored')
    .addOption(new Option('--role <role>', 'coordinator: everything; auditor: read-only').choices(['coordinator', 'auditor']).makeOptionMandatory())
    .requiredOption('--name <who>', 'whose key it is (recorded as the actor of what it does)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .action(async (opts: { role: string; name: string; dataDir?: string }) => {
      const { createApiKey } = await import('../../adapters/http/api-keys.js');
      const { key, info } = await withStore(dataDirOf(opts), true, (store) => createApiKey(store, { role: opts.role, name: opts.name }));
      err(summary([['id', info.id], ['role', info.role], ['name', info.name], ['created', info.createdAt]]));
      err('The key follows on stdout. Keep it now: it is not stored and cannot be shown again.');
      out(key);
    });

  keys
    .command('list')
    .description('list the keys: id, role, name, created, revoked (never the keys themselves)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const { listApiKeys } = await import('../../adapters/http/api-keys.js');
      const list = await withStore(dataDirOf(opts), false, (store) => listApiKeys(store));
      if (opts.json) return out(JSON.stringify({ keys: list }, null, 2));
      if (!list.length) return out('no keys yet');
      out(table(['id', 'role', 'name', 'created', 'revoked'], list.map((k) => [k.id, k.role, k.name, k.createdAt, k.revokedAt ?? ''])));
    });

  keys
    .command('revoke')
    .argument('<id>', 'the key id (key_...), as `takedown keys list` shows it')
    .description('revoke a key: it and its dashboard sessions stop working at once')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .action(async (id: string, opts: { dataDir?: string }) => {
      const { revokeApiKey } = await import('../../adapters/http/api-keys.js');
      const info = await withStore(dataDirOf(opts), false, (store) => revokeApiKey(store, id));
      out(`revoked ${info.id} (${info.role}, ${info.name}) at ${info.revokedAt}`);
    });
}
