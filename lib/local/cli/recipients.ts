import { mkdirSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import { AlreadyExistsError, NotFoundError, TakedownError } from '../../core/errors.js';
import type { IssuedSecret, SecretDeps } from '../../core/answers/index.js';
import { table } from './shared/terminal.js';
import { err, out } from './shared/options.js';

/**
 * `takedown recipients secret create|rotate|list`: recipients' webhook secrets. They open the data directory
 * (its store and its key file) directly, so they work whether or not a host is serving it.
 */

function hours(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || n > 720) throw new InvalidArgumentError('expected hours from 0 to 720');
  return n;
}

/** The secrets module of the answers context, loaded when a secrets command runs. */
const secretsCore = () => import('../../core/answers/index.js');

async function withSecrets<T>(dataDir: string | undefined, fn: (deps: SecretDeps) => Promise<T>): Promise<T> {
  const { hostFiles } = await import('../host-files.js');
  const { SqliteStore } = await import('../../adapters/sqlite/store.sqlite.js');
  const { ScaledClock } = await import('../../adapters/runtime/clock.js');
  const { KeyFileSecretBox } = await import('../../adapters/secrets/keyfile.js');
  const files = hostFiles(dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown');
  mkdirSync(files.dataDir, { recursive: true });
  const store = new SqliteStore(files.database);
  try {
    // wall-clock time, as the webhook route checks it: a demo host's fast clock must not shorten a grace period
    return await fn({ store, clock: new ScaledClock(), secrets: new KeyFileSecretBox(files.secretKey) });
  } finally {
    store.close();
  }
}

function show(issued: IssuedSecret, what: string): void {
  // the secret alone on stdout, so it can be piped; everything for people on stderr
  out(issued.secret);
  err(`${what} for ${issued.recipient}. It is shown this once: hand it to the recipient over a channel you trust.`);
  if (issued.previousValidUntil) err(`the previous secret still verifies until ${issued.previousValidUntil}`);
  err('they sign POST /webhooks/answers with it (Standard Webhooks); see docs/answering.md');
}

/** Adds `recipients secret create <recipient>`, `recipients secret rotate <recipient>` and `recipients secret list`. */
export function addRecipientCommands(prog: Command): void {
  const secret = prog
    .command('recipients')
    .description('the recipients of notices (parties, by the id `takedown resolve` prints) and how they answer')
    .command('secret')
    .description('webhook secrets: a recipient signs its answers to POST /webhooks/answers with one');

  secret
    .command('create')
    .argument('<recipient>', 'the party id, e.g. hosting:192.0.2.0/24, registrar:example, cert:KE')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .description('create the webhook secret of a recipient and print it once')
    .action(async (recipient: string, opts: { dataDir?: string }) => {
      await withSecrets(opts.dataDir, async (deps) => {
        try {
          show(await (await secretsCore()).createRecipientSecret(deps, recipient), 'webhook secret created');
        } catch (e) {
          if (e instanceof AlreadyExistsError) throw new TakedownError(e.code, `${recipient} has a webhook secret already; to replace it: takedown recipients secret rotate ${recipient}`);
          throw e;
        }
      });
    });

  secret
    .command('rotate')
    .argument('<recipient>', 'the party id')
    .option('--grace <hours>', 'how long the replaced secret still verifies', hours, 24)
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .description('replace the webhook secret of a recipient and print the new one once; the old one verifies for the grace period')
    .action(async (recipient: string, opts: { grace: number; dataDir?: string }) => {
      await withSecrets(opts.dataDir, async (deps) => {
        try {
          show(await (await secretsCore()).rotateRecipientSecret(deps, recipient, { graceSeconds: Math.round(opts.grace * 3600) }), 'webhook secret rotated');
        } catch (e) {
          if (e instanceof NotFoundError) throw new TakedownError(e.code, `${recipient} has no webhook secret; create one: takedown recipients secret create ${recipient}`);
          throw e;
        }
      });
    });

  secret
    .command('list')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .description('the recipients that have a webhook secret (never the secrets)')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      await withSecrets(opts.dataDir, async (deps) => {
        const all = await (await secretsCore()).listRecipientSecrets(deps);
        if (opts.json) return out(JSON.stringify(all, null, 2));
        if (!all.length) return out('no recipient has a webhook secret');
        out(table(['recipient', 'secret created', 'previous secret verifies until'], all.map((s) => [s.recipient, s.createdAt, s.previousValidUntil ?? ''])));
      });
    });
}
