import type { Command } from 'commander';
import { table } from './shared/terminal.js';
import { dataDirOf, err, out, UsageError } from './shared/options.js';

/**
 * `takedown config check`: the settings a data directory runs with, where each came from (flag, environment,
 * the settings file, the last serve, the default), secrets masked, and what real (non-demo) use still needs. Exits
 * 1 when something real use needs is missing, so a deployment script can stop on it.
 */

/** Adds `config check`. */
export function addConfigCommands(prog: Command): void {
  const config = prog.command('config').description("the host's settings: takedown.yaml in the data directory (or --config), TAKEDOWN_* variables, flags");
  config
    .command('check')
    .description('print the effective settings with where each came from (secrets masked) and what real use still needs; exits 1 when something is missing')
    .option('--data-dir <dir>', 'the data directory, whose takedown.yaml is read (env TAKEDOWN_DATA_DIR)')
    .option('--config <file>', "read this settings file instead of the data directory's takedown.yaml")
    .option('--json', 'machine-readable output')
    .action(async (opts: { dataDir?: string; config?: string; json?: boolean }) => {
      const { loadConfig, realUseGaps, masked, SETTINGS, ConfigError } = await import('../config.js');
      const dataDir = dataDirOf(opts);
      let loaded;
      try {
        loaded = await loadConfig({ dataDir, ...(opts.config ? { configFile: opts.config } : {}) });
      } catch (e) {
        if (e instanceof ConfigError) throw new UsageError(e.message);
        throw e;
      }
      const gaps = realUseGaps(loaded.values);
      const where = (key: (typeof SETTINGS)[number]['key']): string => {
        const s = loaded.sources[key];
        if (!s || s.kind === 'default') return 'default';
        if (s.kind === 'served') return 'the last serve';
        return `${s.kind} ${s.name}`;
      };
      if (opts.json) {
        out(
          JSON.stringify(
            {
              dataDir,
              file: loaded.file ?? null,
              settings: SETTINGS.map((s) => ({ key: s.key, value: masked(s.key, loaded.values[s.key]) || null, from: where(s.key), env: s.env[0] })),
              missingForRealUse: gaps,
            },
            null,
            2,
          ),
        );
      } else {
        out(`settings of ${dataDir}${loaded.file ? ` (file ${loaded.file})` : ' (no takedown.yaml: defaults, environment and flags)'}\n`);
        out(table(['setting', 'value', 'from', 'variable'], SETTINGS.map((s) => [s.key, masked(s.key, loaded.values[s.key]) || '(default)', where(s.key), s.env[0]!])));
        if (gaps.length) {
          out('\nmissing for real (non-demo) use:');
          for (const g of gaps) out(`  ${g.key}: ${g.problem}`);
          out(`\nset them in ${loaded.file ?? `${dataDir}/takedown.yaml`} (key: value) or as TAKEDOWN_* variables; the README's configuration table lists every key`);
        } else out('\nready for real use: nothing the demo defaults would give is left');
      }
      if (gaps.length) {
        if (!opts.json) err(`${gaps.length} setting(s) real use needs are missing`);
        process.exitCode = 1;
      }
    });
}
