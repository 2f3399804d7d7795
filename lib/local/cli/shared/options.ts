import { readFileSync, existsSync, statSync } from 'node:fs';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { Actor } from '../../../core/model.js';
import type { HostConfig } from '../../host.js';
import type { SettingKey } from '../../config.js';
import { localActorName } from '../../keys.js';

/**
 * What the command groups share: the output writers, the usage error, the argument parsers, and the option sets
 * with the flags they parse into (host, intake, party).
 */

/** A line on stdout. */
export const out = (text: string): void => void process.stdout.write(text + '\n');
/** A line on stderr. */
export const err = (text: string): void => void process.stderr.write(text + '\n');

/** Raised for a user mistake the CLI explains in one line (exit 2), as opposed to a failure (exit 1). */
export class UsageError extends Error {}

/** Parses a number >= 1. */
export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 1) throw new InvalidArgumentError('expected a number >= 1');
  return n;
}

/** Parses a TCP port, 0 for any free one. */
export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port from 0 to 65535');
  return n;
}

/** `--rdap`, `--rdap-bootstrap` and `--routing`: how parties are found and laddered. */
export function withPartyOptions(cmd: Command): Command {
  return cmd
    .addOption(new Option('--rdap <mode>', 'local: the local RDAP server with recorded answers (no network); real: the registries\' RDAP servers; off: directory only (env TAKEDOWN_RDAP)').choices(['local', 'real', 'off']))
    .option('--rdap-bootstrap <url or dir>', 'RDAP bootstrap files (ipv4.json, ipv6.json, asn.json, dns.json) of another RDAP service to ask (env TAKEDOWN_RDAP_BOOTSTRAP)')
    .option('--routing <file>', 'the routing policy, YAML or JSON (env TAKEDOWN_ROUTING; default: the built-in policy)');
}

/** The host-config keys these options set. */
export const PARTY_OPTION_KEYS = { rdap: 1, rdapBootstrap: 1, routing: 1 } as const;

/** The flags of the commands that start an embedded host. */
export interface HostFlags {
  dataDir?: string;
  /** `--config <file>`: the settings file instead of the data directory's takedown.yaml */
  config?: string;
  timeScale?: number;
  smtpUrl?: string;
  directory?: string;
  httpPort?: number;
  smtpPort?: number;
  logLevel?: string;
  rdap?: string;
  rdapBootstrap?: string;
  routing?: string;
}

/**
 * The options of the commands that start an embedded host: data, settings, clock, mail, directory, parties. A
 * command whose `--config` means something else (watch: its feeds file) names the settings file `--settings`.
 */
export function withHostOptions(cmd: Command, settingsFlag: '--config' | '--settings' = '--config'): Command {
  return withPartyOptions(cmd)
    .option('--data-dir <dir>', 'where the database, outbox and inbox live (env TAKEDOWN_DATA_DIR)', undefined)
    .option(`${settingsFlag} <file>`, "the settings file (default: the data directory's takedown.yaml; see takedown config check)")
    .option('--time-scale <n>', 'domain seconds per real second, e.g. 86400 = a day a second (env TAKEDOWN_TIME_SCALE)', positiveNumber)
    .option('--smtp-url <url>', 'send through this SMTP relay instead of the embedded outbox (env SMTP_URL)')
    .option('--directory <file>', 'the party directory, YAML or JSON (env TAKEDOWN_DIRECTORY)')
    .addOption(new Option('--log-level <level>', 'log level on stderr').choices(['debug', 'info', 'warn', 'error', 'silent']));
}

/** The options `run` and `plan` share: how to read the file and under which marking and permission. */
export function withIntakeOptions(cmd: Command): Command {
  return cmd
    .option('--name <name>', 'operation name (default: the file name)')
    .addOption(new Option('--tlp <tlp>', 'TLP of the campaign, for indicators without their own marking (default: TAKEDOWN_DEFAULT_TLP, else AMBER)').choices(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']))
    .addOption(new Option('--format <format>', 'input format (auto: detected from the content)').choices(['auto', 'csv', 'list', 'stix', 'misp']).default('auto'))
    .option('--skip-invalid', 'leave out the items with errors (they are listed in the plan and the audit record) instead of refusing the file')
    .option('--allow-amber <who granted it>', "record the source's permission to notify the infrastructure's operators of AMBER and AMBER+STRICT indicators")
    .option('--no-probes', 'do not probe what the parties say they took down (a probe from your address can tip off the operator)');
}

/** The flags `withIntakeOptions` parses into. */
export interface IntakeFlags {
  name?: string;
  tlp?: string;
  format: string;
  skipInvalid?: boolean;
  allowAmber?: string;
  /** commander's negation of --no-probes: true unless it was given */
  probes?: boolean;
}

/** The flags that are settings (SETTINGS in config.ts), by setting key. */
const FLAG_KEYS: readonly SettingKey[] = ['timeScale', 'smtpUrl', 'directory', 'httpPort', 'smtpPort', 'logLevel', 'rdap', 'rdapBootstrap', 'routing'];

/**
 * The host config of a data directory: flag > env > its settings file (takedown.yaml, or --config) > what its
 * last serve ran with > default (see config.ts); `extra` (a command's own needs) over all of them.
 */
export async function hostConfig(flags: HostFlags, extra: Partial<HostConfig> = {}, served = false): Promise<HostConfig> {
  const { loadConfig, ConfigError } = await import('../../config.js');
  const given: Partial<Record<SettingKey, unknown>> = {};
  for (const key of FLAG_KEYS) if ((flags as Record<string, unknown>)[key] !== undefined) given[key] = (flags as Record<string, unknown>)[key];
  try {
    const { values } = await loadConfig({ flags: given, dataDir: dataDirOf(flags), served, ...(flags.config ? { configFile: flags.config } : {}) });
    const { configFromEnv } = await import('../../host.js');
    const misp = configFromEnv().misp;
    return { ...values, ...(misp ? { misp } : {}), ...extra } as HostConfig;
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

/** The host config of a command that records a change while no host serves: with what the last serve ran with. */
export function commandHostConfig(flags: HostFlags): Promise<HostConfig> {
  return hostConfig(flags, {}, true);
}

/** The data directory: `--data-dir`, else TAKEDOWN_DATA_DIR, else `.takedown`. */
export function dataDirOf(flags: { dataDir?: string }): string {
  return flags.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown';
}

/** The text of a file given as an argument. */
export function readCampaignFile(file: string): string {
  return readFileSync(campaignFile(file), 'utf8');
}

/** The file, checked to exist and not to be a directory. */
export function campaignFile(file: string): string {
  if (!existsSync(file)) throw new UsageError(`no such file: ${file}`);
  if (statSync(file).isDirectory()) throw new UsageError(`${file} is a directory, not a campaign file`);
  return file;
}

/**
 * Who acts when the CLI records a change itself: the user running it, as the local CLI (the same name the host's
 * own key carries, so a change through the running host records the same actor); `--as` is only whom it acts for.
 */
export function cliActor(as?: string): Actor {
  const name = localActorName();
  const on = as?.trim();
  return on && on !== name ? { name, onBehalfOf: on } : { name };
}

/** `--as <who>`: whom the command acts for (recorded beside the CLI's user, never instead of it). */
export const AS_OPTION_HELP = 'whom you act for (recorded beside your user name in the audit trail, never instead of it)';
