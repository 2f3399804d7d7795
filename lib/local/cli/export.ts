import { existsSync, writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import type { ExportFormat } from '../../core/reports/index.js';
import { progressFrom } from './shared/terminal.js';
import { dataDirOf, err, UsageError } from './shared/options.js';

/**
 * `takedown export <campaign>`: the campaign's outcome in a file people open elsewhere: one row per case as CSV
 * or an Excel workbook (a sheet per country), or the indicators with their outcome as a STIX 2.1 bundle or a MISP
 * event. Reads the database only; a running host may keep serving it.
 */

/** Adds `export`. */
export function addExportCommand(prog: Command): void {
  prog
    .command('export')
    .argument('<campaign>', 'the campaign id (takedown status lists them)')
    .description('export a campaign: one row per case (indicator, country, party, contact, state, first notice, answer, time to takedown, probe verdict) as CSV or XLSX, or the indicators and their outcome as STIX 2.1 or a MISP event')
    .addOption(new Option('--format <format>', 'csv, xlsx (a sheet per country), stix (a bundle with a note per case) or misp (an event)').choices(['csv', 'xlsx', 'stix', 'misp']).default('csv'))
    .option('--out <file>', 'write to this file (default: stdout; an XLSX workbook needs a file unless stdout is redirected)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .action(async (campaignId: string, opts: { format: ExportFormat; out?: string; dataDir?: string }) => {
      const { hostFiles, storedClock } = await import('../host-files.js');
      const { campaignExport, exportFile, exportText } = await import('../../core/reports/index.js');
      const { SqliteStore } = await import('../../adapters/sqlite/store.sqlite.js');
      const files = hostFiles(dataDirOf(opts));
      if (!existsSync(files.database)) throw new UsageError(`no data in ${files.dataDir} yet: run a campaign first (takedown run <file>)`);
      if (opts.format === 'xlsx' && !opts.out && process.stdout.isTTY) throw new UsageError('an XLSX workbook is binary: give --out <file>, or redirect stdout to a file');
      const store = new SqliteStore(files.database);
      try {
        const reading = progressFrom('reading answers', 'notices');
        const data = await campaignExport({ store, clock: storedClock(dataDirOf(opts)) }, campaignId, (done, total) => reading.update(done, total));
        reading.finish();
        let bytes: string | Buffer;
        if (opts.format === 'xlsx') {
          // exceljs is loaded only for a workbook
          const { exportXlsx } = await import('../../adapters/export/xlsx.js');
          const writing = progressFrom('writing sheets', 'sheets', 20);
          bytes = await exportXlsx(data, (done, total) => writing.update(done, total));
          writing.finish();
        } else {
          bytes = exportText(data, opts.format);
        }
        if (opts.out) {
          writeFileSync(opts.out, bytes);
          err(`wrote ${data.rows.length} cases of ${campaignId} to ${opts.out} (${exportFile(campaignId, opts.format).contentType})`);
        } else {
          process.stdout.write(bytes);
        }
      } finally {
        store.close();
      }
    });
}
