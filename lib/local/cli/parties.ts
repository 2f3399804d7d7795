import { mkdirSync } from 'node:fs';
import type { Command } from 'commander';
import { InvalidInputError, type InputIssue } from '../../core/errors.js';
import type { Indicator, LadderStep, Party, PartyKind } from '../../core/model.js';
import type { Resolution } from '../../adapters/rdap/resolver.js';
import type { SqliteStore } from '../../adapters/sqlite/store.sqlite.js';
import type { RdapMode } from '../parties.js';
import { table } from './shared/terminal.js';
import { cliActor, err, out, UsageError, withPartyOptions } from './shared/options.js';

/**
 * `takedown resolve`, `takedown contacts override|list` and `takedown rdap bootstrap refresh`: finding parties
 * and correcting contacts without running a campaign. They open the data directory's store directly (the RDAP
 * cache and the overrides live there), so they work whether or not a host is serving it.
 */

interface PartyFlags {
  dataDir?: string;
  directory?: string;
  rdap?: RdapMode;
  rdapBootstrap?: string;
  routing?: string;
}

/** What finding parties needs of the settings: the data directory's (flag > env > takedown.yaml > default). */
async function configOf(flags: PartyFlags): Promise<{ dataDir: string; directory: string; rdap: RdapMode; rdapBootstrap?: string; routing?: string }> {
  const { loadConfig, ConfigError, EXAMPLE_DIRECTORY } = await import('../config.js');
  const dataDir = flags.dataDir ?? process.env.TAKEDOWN_DATA_DIR ?? '.takedown';
  const given: Record<string, unknown> = {};
  for (const key of ['directory', 'rdap', 'rdapBootstrap', 'routing'] as const) if (flags[key] !== undefined) given[key] = flags[key];
  try {
    const { values } = await loadConfig({ flags: given, dataDir });
    return { dataDir, directory: values.directory ?? EXAMPLE_DIRECTORY, rdap: values.rdap ?? 'local', ...(values.rdapBootstrap ? { rdapBootstrap: values.rdapBootstrap } : {}), ...(values.routing ? { routing: values.routing } : {}) };
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}

async function openStore(dataDir: string): Promise<SqliteStore> {
  const { hostFiles } = await import('../host-files.js');
  const { SqliteStore } = await import('../../adapters/sqlite/store.sqlite.js');
  const files = hostFiles(dataDir);
  mkdirSync(files.dataDir, { recursive: true });
  return new SqliteStore(files.database);
}

const hours = (s: number) => (s % 3600 === 0 ? `${s / 3600}h` : `${Math.round(s / 60)}m`);
const ROLES: readonly PartyKind[] = ['hosting', 'registrar', 'registry', 'upstream', 'cert'];

/** One indicator's resolution as `takedown resolve --json` prints it: what `takedown plan` needs too. */
export function resolutionJson(r: Resolution, ladder: LadderStep[]): Record<string, unknown> {
  const parties = Object.fromEntries(ROLES.flatMap((role) => (r.lookup[role] ? [[role, r.lookup[role]]] : [])));
  return {
    indicator: r.indicator.value,
    kind: r.indicator.kind,
    ...(r.lookup.country ? { country: r.lookup.country } : {}),
    ...(r.lookup.asn ? { asn: r.lookup.asn } : {}),
    ...(r.addresses ? { addresses: r.addresses } : {}),
    ...(r.registrableDomain ? { registrableDomain: r.registrableDomain } : {}),
    ...(r.network ? { network: r.network } : {}),
    ...(r.registrar ? { registrar: r.registrar } : {}),
    ...(r.autnum ? { autnum: r.autnum } : {}),
    parties,
    ladder,
    problems: r.lookup.problems ?? [],
  };
}

function resolutionText(r: Resolution, ladder: LadderStep[]): string {
  const head = [r.indicator.value, `(${r.indicator.kind}${r.lookup.country ? `, ${r.lookup.country}` : ''}${r.lookup.asn ? `, ${r.lookup.asn}` : ''})`].join(' ');
  const where: string[] = [];
  if (r.addresses) where.push(`resolves to ${r.addresses.length ? r.addresses.join(', ') : 'nothing'}`);
  if (r.network) where.push(`network ${r.network.range}${r.network.name ? ` ${r.network.name}` : ''} (RDAP ${r.network.server ?? ''}${r.network.cached ? ', cached' : ''})`);
  if (r.registrar) where.push(`registrar ${r.registrar.name}${r.registrar.ianaId ? ` (IANA ${r.registrar.ianaId})` : ''} for ${r.registrableDomain}`);
  const rows = ROLES.flatMap((role) => {
    const p: Party | undefined = r.lookup[role];
    return p ? [[role, p.name, p.email + (p.phone ? `  ${p.phone}` : ''), p.contactSource, p.matchedBy ?? '']] : [];
  });
  const lines = [head, ...where.map((w) => `  ${w}`)];
  lines.push(rows.length ? table(['party', 'name', 'contact', 'contact from', 'matched by'], rows).replace(/^/gm, '  ') : '  no party found: unroutable');
  if (ladder.length) {
    lines.push(`  ladder: ${ladder.map((s, i) => `${i + 1}. ${s.party.kind} ${s.party.email} (answer ${hours(s.answerDeadline)}, act ${hours(s.actionDeadline)}, ${s.reminders} reminder${s.reminders === 1 ? '' : 's'})`).join('  ')}`);
  }
  for (const p of r.lookup.problems ?? []) lines.push(`  ! ${p.party}: ${p.reason}`);
  return lines.join('\n');
}

/** Adds `resolve`, `contacts` and `rdap` to the program. */
export function addPartyCommands(prog: Command): void {
  withPartyOptions(
    prog
      .command('resolve')
      .argument('<indicator...>', 'IPs, domains or URLs (defanged is fine)')
      .description('find the parties of indicators: who gets a case, their contacts and where each contact came from, and the ladder')
      .option('--data-dir <dir>', 'the data directory: its RDAP cache and contact overrides (env TAKEDOWN_DATA_DIR)')
      .option('--directory <file>', 'the party directory (env TAKEDOWN_DIRECTORY)')
      .option('--json', 'machine-readable output'),
  ).action(async (values: string[], opts: PartyFlags & { json?: boolean }) => {
    const config = await configOf(opts);
    const { normaliseIndicator } = await import('../../core/intake/index.js');
    const { buildLadder, DEFAULT_ROUTING_POLICY } = await import('../../core/routing/index.js');
    const { loadDirectory } = await import('../../adapters/directory/directory.js');
    const { PinoLogger } = await import('../../adapters/runtime/logger.js');
    const issues: InputIssue[] = [];
    const indicators: Indicator[] = [];
    values.forEach((v, i) => {
      const r = normaliseIndicator(v);
      if (r.ok) indicators.push({ ...r.indicator, origin: `argument ${i + 1}` });
      else issues.push({ where: `argument ${i + 1}`, reason: r.reason });
    });
    if (issues.length) throw new InvalidInputError('some arguments are not indicators', issues);
    const directory = await loadDirectory(config.directory);
    // the party resolver brings the RDAP client and its local server: loaded only to resolve
    const { loadRoutingPolicy, startPartyResolver } = await import('../parties.js');
    const { hostFiles } = await import('../host-files.js');
    const routing = config.routing ? await loadRoutingPolicy(config.routing) : DEFAULT_ROUTING_POLICY;
    const store = await openStore(config.dataDir);
    const log = new PinoLogger('warn');
    const parties = await startPartyResolver({ mode: config.rdap, dataDir: hostFiles(config.dataDir).dataDir, store, directory, log, ...(config.rdapBootstrap ? { bootstrap: config.rdapBootstrap } : {}) });
    try {
      const results = await parties.resolver.explain(indicators);
      const withLadders = results.map((r) => ({ r, ladder: buildLadder(r.indicator, r.lookup, routing) }));
      if (opts.json) out(JSON.stringify(withLadders.map(({ r, ladder }) => resolutionJson(r, ladder)), null, 2));
      else out(withLadders.map(({ r, ladder }) => resolutionText(r, ladder)).join('\n\n'));
    } finally {
      await parties.close();
      store.close();
    }
  });

  const contacts = prog.command('contacts').description('the coordinators\' contact corrections, which win over the directory file and RDAP');
  contacts
    .command('override')
    .argument('<target>', 'a network (CIDR, 198.51.100.0/24), a domain (its registrar, for names at or under it) or a party id as `takedown resolve` prints it (registrar:iana:1251, upstream:AS64500, cert:KE)')
    .argument('<email>', 'the contact to use from now on')
    .option('--name <name>', 'the party\'s name in notices')
    .option('--note <text>', 'why (kept in the audit record)')
    .option('--as <who>', 'whom you correct it for (recorded beside your user name, never instead of it)')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .description('record a contact correction: an audited directory entry that wins from then on')
    .action(async (target: string, email: string, opts: { name?: string; note?: string; as?: string; dataDir?: string }) => {
      const config = await configOf(opts);
      const { overrideContact } = await import('../../core/routing/index.js');
      const { ScaledClock } = await import('../../adapters/runtime/clock.js');
      const { CryptoIds } = await import('../../adapters/runtime/ids.js');
      const store = await openStore(config.dataDir);
      try {
        const saved = await overrideContact({ store, ids: new CryptoIds(), clock: new ScaledClock() }, { target, email, by: cliActor(opts.as).name, ...(opts.name ? { name: opts.name } : {}), ...(opts.note || opts.as ? { note: [opts.as ? `for ${opts.as}` : '', opts.note ?? ''].filter(Boolean).join(': ') } : {}) });
        out(`recorded: ${saved.target} (${saved.targetKind}) -> ${saved.email}; it wins over the directory and RDAP from now on (audit: takedown contacts list)`);
      } finally {
        store.close();
      }
    });
  contacts
    .command('list')
    .option('--data-dir <dir>', 'the data directory (env TAKEDOWN_DATA_DIR)')
    .option('--json', 'machine-readable output')
    .description('the contact overrides in force, and the audit record of every change')
    .action(async (opts: { dataDir?: string; json?: boolean }) => {
      const config = await configOf(opts);
      const { DIRECTORY_AUDIT_ID } = await import('../../core/routing/index.js');
      const store = await openStore(config.dataDir);
      try {
        const overrides = await store.listContactOverrides();
        const events = await store.listEvents({ campaignId: DIRECTORY_AUDIT_ID });
        if (opts.json) return out(JSON.stringify({ overrides, events }, null, 2));
        if (!overrides.length) return out('no contact overrides');
        out(table(['target', 'kind', 'contact', 'name', 'by', 'at'], overrides.map((o) => [o.target, o.targetKind, o.email, o.name ?? '', o.by, o.at])));
        out(`\n${events.length} change${events.length === 1 ? '' : 's'} in the audit record`);
      } finally {
        store.close();
      }
    });

  prog
    .command('rdap')
    .description('the RDAP bootstrap data')
    .command('bootstrap')
    .description('the IANA RDAP bootstrap registries (RFC 9224)')
    .command('refresh')
    .option('--from <url>', 'where the registries are', 'https://data.iana.org/rdap/')
    .option('--data-dir <dir>', 'the data directory: the refreshed copy is kept there and used from then on (env TAKEDOWN_DATA_DIR)')
    .description('fetch the current registries (needs network); the shipped snapshot stays as it is')
    .action(async (opts: { from: string; dataDir?: string }) => {
      const config = await configOf(opts);
      const { partyFiles } = await import('../parties.js');
      const { hostFiles } = await import('../host-files.js');
      const { refreshBootstrap } = await import('../../adapters/rdap/bootstrap.js');
      const dir = partyFiles(hostFiles(config.dataDir).dataDir).rdapBootstrap;
      const fetched = await refreshBootstrap(dir, { from: opts.from });
      out(table(['registry', 'publication'], fetched.map((f) => [f.registry, f.publication ?? '(none)'])));
      err(`written to ${dir}; used by --rdap real from now on`);
    });
}
