import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { silentLogger } from '../../lib/adapters/runtime/logger.js';
import { DirectoryResolver, loadDirectory } from '../../lib/adapters/directory/directory.js';
import type { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import type { Deps, Workflows } from '../../lib/core/ports.js';
import { fileTemplateSource } from '../../lib/adapters/templates/templates.fs.js';

/**
 * What intake, routing and planning need, on a real SQLite store and the real directory resolver: no workflow
 * runs and no mail goes out in these tests, so those ports (and the message store) only refuse to matter. The
 * message store stores nothing: a folder made for it here was never used and never removed.
 */
export async function intakeDeps(store: SqliteStore, options: { directory: string; now: Date; pageSize: number }): Promise<Deps> {
  const workflows: Workflows = { start: async () => {}, succeed: async () => {}, describe: async () => 'absent' };
  return {
    store,
    workflows,
    mailer: { compose: async () => '', sendRaw: async () => ({ transportId: '', destination: '' }) },
    parties: new DirectoryResolver(await loadDirectory(options.directory)),
    clock: { now: () => options.now, engineSeconds: (s) => s },
    ids: new CryptoIds(),
    log: silentLogger,
    templates: fileTemplateSource(),
    messages: {
      put: async () => {
        throw new Error('intake, routing and planning store no message');
      },
      get: async () => undefined,
      delete: async () => {},
    },
    settings: { replyMailbox: 'takedown@reply.example', fromAddress: 'takedown@reply.example', senderName: 'Test', pageSize: options.pageSize },
  };
}
