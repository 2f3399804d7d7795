import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { TakedownError } from '../../../core/errors.js';
import { progressFrom, summary, table } from '../shared/terminal.js';
import { dataDirOf, err, out, UsageError } from '../shared/options.js';
import { mispCa, mispKey, taxiiCredentials } from '../shared/sources.js';

/**
 * The threat-intelligence servers campaigns come from: `takedown misp sync <campaign>` writes a campaign's outcome
 * back to its MISP instance (tags on each source attribute, an expiration sighting once verified down), and
 * `takedown taxii collections <url>` lists what a TAXII server offers.
 */

/** Some attributes were refused: exit 1, after the report. */
class SyncIncompleteError extends TakedownError {
  constructor(message: string) {
    super('MISP.SYNC_INCOMPLETE', message);
    this.name = 'SyncIncompleteError';
  }
}

/** Adds `misp sync`. */
export function addMispCommands(prog: Command): void {
  const misp = prog.command('misp').description('MISP: write a campaign\'s outcome back to the instance its indicators came from');
  misp
    .command('sync')
    .argument('<campaign>', 'the campaign id')
    .description('tag each source attribute of the campaign with its takedown state (takedown:state="...") and who was notified (takedown:notified="<party kind>"), and add an expiration sighting (MISP type 2) for each one verified down; only what changed since the last sync is sent')
    .option('--misp-url <url>', 'the MISP instance (default: the one the campaign was read from, else env TAKEDOWN_MISP_URL)')
    .option('--misp-key-file <file>', 'a file holding the MISP API key (else env TAKEDOWN_MISP_KEY)')
    .option('--misp-ca <pem file>', 'the CA that signs the MISP server\'s certificate (env TAKEDOWN_MISP_CA)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .action(async (campaignId: string, opts: { mispUrl?: string; mispKeyFile?: string; mispCa?: string; dataDir?: string }) => {
      const { hostFiles, storedClock } = await import('../../host-files.js');
      const { campaignOrigin, syncOutcomes } = await import('../../../core/feeds/index.js');
      const { SqliteStore } = await import('../../../adapters/sqlite/store.sqlite.js');
      const { CryptoIds } = await import('../../../adapters/runtime/ids.js');
      const dataDir = dataDirOf(opts);
      const files = hostFiles(dataDir);
      if (!existsSync(files.database)) throw new UsageError(`no data in ${files.dataDir} yet: run a campaign first`);
      const store = new SqliteStore(files.database);
      try {
        const deps = { store, clock: storedClock(dataDir), ids: new CryptoIds() };
        const origin = await campaignOrigin(deps, campaignId);
        const url = opts.mispUrl ?? (origin?.kind === 'misp' ? origin.url : undefined) ?? process.env.TAKEDOWN_MISP_URL;
        if (!url) throw new UsageError(`campaign ${campaignId} was not read from a MISP instance: give --misp-url`);
        const { sameInstance } = await import('../../misp.js');
        if (origin?.kind === 'misp' && !sameInstance(origin.url, url)) throw new UsageError(`campaign ${campaignId} was read from ${origin.url}, not ${url}: its attributes live there`);
        const { MispClient } = await import('../../../adapters/misp/client.js');
        const { mispOutcomeTarget } = await import('../../../adapters/misp/source.js');
        const ca = mispCa(opts);
        const target = mispOutcomeTarget(new MispClient({ url, key: mispKey(opts), ...(ca ? { ca } : {}) }));
        const bar = progressFrom('sharing outcomes', 'attributes', 50);
        const report = await syncOutcomes(deps, campaignId, target, { actor: 'misp-sync', onProgress: (done, total) => bar.update(done, total) });
        bar.finish();
        out(
          summary([
            ['MISP', report.target],
            ['source attributes', report.attributes],
            ['changed', report.changed],
            ['tags attached', report.tagsAttached],
            ['tags removed', report.tagsRemoved],
            ['sightings (expiration)', report.sightings],
            ['refused', report.failed.length],
          ]),
        );
        if (report.attributes === 0) err('no indicator of this campaign names a MISP attribute (its source was not a MISP event)');
        if (report.failed.length) {
          out('\n' + table(['attribute', 'why'], report.failed.slice(0, 20).map((f) => [f.attribute, f.reason])));
          throw new SyncIncompleteError(`${report.failed.length} attribute(s) refused; the next sync tries them again`);
        }
      } finally {
        store.close();
      }
    });
}

/** Adds `taxii collections`. */
export function addTaxiiCommands(prog: Command): void {
  const taxii = prog.command('taxii').description('TAXII 2.1: what a server offers');
  taxii
    .command('collections')
    .argument('<url>', 'the server\'s discovery URL or an API root')
    .description('list the collections of a TAXII 2.1 API root (the discovery\'s default one), with whether these credentials may read them')
    .option('--taxii-user <user>', 'HTTP Basic user; the password comes from env TAKEDOWN_TAXII_PASSWORD (else a bearer token from env TAKEDOWN_TAXII_TOKEN)')
    .option('--taxii-ca <pem file>', 'the CA that signs the server\'s certificate (env TAKEDOWN_TAXII_CA)')
    .action(async (url: string, opts: { taxiiUser?: string; taxiiCa?: string }) => {
      const { TaxiiClient } = await import('../../../adapters/taxii/client.js');
      const client = new TaxiiClient({ url, ...taxiiCredentials(opts) });
      const root = await client.apiRoot();
      const collections = await client.collections(root);
      out(`API root ${root.href}\n`);
      out(collections.length ? table(['collection', 'title', 'read', 'write'], collections.map((c) => [c.id, c.title, c.can_read ? 'yes' : 'no', c.can_write ? 'yes' : 'no'])) : 'no collections');
    });
}
