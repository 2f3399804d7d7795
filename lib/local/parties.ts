import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { InvalidInputError } from '../core/errors.js';
import type { Logger, Store } from '../core/ports.js';
import { parseRoutingPolicy, type RoutingPolicy } from '../core/routing/index.js';
import type { Directory } from '../adapters/directory/directory.js';
import { bootstrapAgeWarning, loadBootstrap, SHIPPED_BOOTSTRAP_DIR, type Bootstrap } from '../adapters/rdap/bootstrap.js';
import { RdapClient } from '../adapters/rdap/client.js';
import { SystemHostResolver } from '../adapters/rdap/dns.js';
import { startLocalRdapServer, type LocalRdapServer } from '../adapters/rdap/local-server.js';
import { RdapResolver } from '../adapters/rdap/resolver.js';
import { guardedFetch } from '../adapters/net/guarded-fetch.js';
import { AddressGuard } from '../adapters/net/address-guard.js';

/**
 * How the embedded host finds parties. `local` (the default): a local RDAP server it starts itself, serving the
 * recorded answers under the data directory, so a run needs no network. `real`: the registries' own RDAP
 * servers through the IANA bootstrap, DNS for a name's hosting network, security.txt. `off`: the directory and
 * the overrides only. In every mode the directory and the coordinators' overrides win.
 */
export type RdapMode = 'local' | 'real' | 'off';

/** The demo answers a fresh data directory is seeded with. */
export const DEMO_RDAP_ANSWERS = fileURLToPath(new URL('../adapters/rdap/demo/', import.meta.url));

export interface PartyFiles {
  /** recorded RDAP answers the local server serves */
  readonly rdapAnswers: string;
  /** a refreshed bootstrap (`takedown rdap bootstrap refresh`), used instead of the shipped snapshot */
  readonly rdapBootstrap: string;
}

export function partyFiles(dataDir: string): PartyFiles {
  return { rdapAnswers: join(dataDir, 'rdap', 'answers'), rdapBootstrap: join(dataDir, 'rdap-bootstrap') };
}

export interface PartyResolution {
  readonly resolver: RdapResolver;
  readonly mode: RdapMode;
  /** the local RDAP server's base URL, when one was started */
  readonly rdapUrl?: string;
  /** where the bootstrap data came from */
  readonly bootstrapSource?: string;
  /** the bootstrap data is old: say so to people */
  readonly warning?: string;
  close(): Promise<void>;
}

/** Builds the resolver of a mode (starting the local RDAP server for `local`); `close` stops what it started. */
export async function startPartyResolver(options: {
  readonly mode: RdapMode;
  readonly dataDir: string;
  readonly store: Store;
  readonly directory?: Directory;
  /** a URL base or directory of bootstrap files: ask that RDAP service instead */
  readonly bootstrap?: string;
  readonly log?: Logger;
}): Promise<PartyResolution> {
  const files = partyFiles(options.dataDir);
  const base = { store: options.store, ...(options.directory ? { directory: options.directory } : {}), ...(options.log ? { log: options.log } : {}) };
  if (options.mode === 'off') {
    return { resolver: new RdapResolver({ ...base, securityTxt: false, guessAbuseMailbox: false }), mode: 'off', close: async () => {} };
  }
  let server: LocalRdapServer | undefined;
  let bootstrap: Bootstrap;
  if (options.bootstrap) {
    bootstrap = await loadBootstrap(options.bootstrap);
  } else if (options.mode === 'local') {
    if (!existsSync(files.rdapAnswers)) {
      mkdirSync(files.rdapAnswers, { recursive: true });
      cpSync(DEMO_RDAP_ANSWERS, files.rdapAnswers, { recursive: true, filter: (src) => !src.endsWith('.md') });
    }
    server = await startLocalRdapServer({ dir: files.rdapAnswers });
    bootstrap = await loadBootstrap(server.bootstrapUrl);
  } else {
    bootstrap = await loadBootstrap(existsSync(join(files.rdapBootstrap, 'ipv4.json')) ? files.rdapBootstrap : SHIPPED_BOOTSTRAP_DIR);
  }
  const warning = bootstrapAgeWarning(bootstrap, new Date());
  if (warning) options.log?.warn(warning);
  const real = options.mode === 'real';
  // the registries' answers (and the redirects they give) name the URLs asked next: never this host or its network,
  // except the address of an RDAP service the operator named itself (--rdap-bootstrap http://10.0.0.5/...)
  const outside = server ? undefined : guardedFetch({ guard: new AddressGuard({ allow: namedAddress(options.bootstrap) }) });
  const resolver = new RdapResolver({
    ...base,
    // a loopback server needs no politeness; the registries' servers do
    rdap: { client: new RdapClient(server ? { minIntervalMs: 0, timeoutMs: 5000 } : { fetch: outside! }), bootstrap },
    ...(real ? { dns: new SystemHostResolver() } : {}),
    // without network there is no security.txt to read: go straight to abuse@
    securityTxt: real ? { fetch: outside! } : false,
  });
  return {
    resolver,
    mode: options.mode,
    ...(server ? { rdapUrl: server.url } : {}),
    bootstrapSource: bootstrap.source,
    ...(warning ? { warning } : {}),
    close: async () => {
      await server?.close();
    },
  };
}

/** The IP address an operator's bootstrap URL names, to be let through the guard; none for a name or a directory. */
function namedAddress(bootstrap: string | undefined): string[] {
  if (!bootstrap || !/^https?:\/\//i.test(bootstrap)) return [];
  const host = new URL(bootstrap).hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? [] : [host];
}

/** Reads and validates a routing policy file (YAML or JSON); InvalidInputError names each bad field. */
export async function loadRoutingPolicy(path: string): Promise<RoutingPolicy> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    throw new InvalidInputError('cannot read the routing policy file', [{ where: path, reason: (cause as NodeJS.ErrnoException).code ?? 'unreadable' }], { cause });
  }
  const doc = parseDocument(text);
  if (doc.errors.length) {
    throw new InvalidInputError(
      'the routing policy is not valid YAML or JSON',
      doc.errors.map((e) => ({ where: e.linePos ? `line ${e.linePos[0].line}` : 'file', reason: e.message.split(/ at line \d+|\n/)[0] ?? e.code })),
    );
  }
  return parseRoutingPolicy(doc.toJS());
}
