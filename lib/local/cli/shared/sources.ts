import { existsSync, readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { FeedOrigin } from '../../../core/feeds/index.js';
import { InvalidInputError } from '../../../core/errors.js';
import { err, UsageError } from './options.js';

/**
 * Where `run` and `plan` read a campaign from when it is not a file: a MISP instance (events by id, or a search)
 * or a TAXII 2.1 collection. Credentials come from the environment or a file, never from the command line, where
 * any user of the machine could read them.
 */

/** The flags of a remote source. */
export interface SourceFlags {
  fromMisp?: string;
  event?: string[];
  mispSearch?: string;
  mispCa?: string;
  mispKeyFile?: string;
  fromTaxii?: string;
  collection?: string;
  addedAfter?: string;
  taxiiUser?: string;
  taxiiCa?: string;
}

/** A campaign read from a server, ready to submit. */
export interface RemoteSource {
  readonly content: string;
  readonly format: 'misp' | 'stix';
  /** how the campaign names its source */
  readonly sourceName: string;
  /** the campaign's default name */
  readonly name: string;
  readonly origin: FeedOrigin;
  /** events or objects read */
  readonly items: number;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, ...value.split(',').map((v) => v.trim()).filter(Boolean)];

/** `--from-misp`, `--event`, `--misp-search`, `--from-taxii`, `--collection`, `--added-after` and their credentials. */
export function withSourceOptions(cmd: Command): Command {
  return cmd
    .option('--from-misp <url>', 'read the campaign from this MISP instance (API key: env TAKEDOWN_MISP_KEY or --misp-key-file)')
    .option('--event <id|uuid>', 'with --from-misp: the event(s) to read, by number or UUID (repeat or comma-separate)', collect)
    .option('--misp-search <filters>', 'with --from-misp: the events of a restSearch, as `tags=tlp:green,acs type=url last=7d published=true` or a JSON object')
    .option('--misp-key-file <file>', 'a file holding the MISP API key (else env TAKEDOWN_MISP_KEY)')
    .option('--misp-ca <pem file>', 'the CA that signs the MISP server\'s certificate, when it is a private one (env TAKEDOWN_MISP_CA); verification is never switched off')
    .option('--from-taxii <url>', 'read the campaign from a TAXII 2.1 server: its discovery URL or an API root (token: env TAKEDOWN_TAXII_TOKEN; or --taxii-user with env TAKEDOWN_TAXII_PASSWORD)')
    .option('--collection <id>', 'with --from-taxii: the collection to read')
    .option('--added-after <time>', 'with --from-taxii: only objects added after this RFC 3339 time (2026-11-20T00:00:00Z)')
    .option('--taxii-user <user>', 'HTTP Basic user for the TAXII server; the password comes from env TAKEDOWN_TAXII_PASSWORD')
    .option('--taxii-ca <pem file>', 'the CA that signs the TAXII server\'s certificate, when it is a private one (env TAKEDOWN_TAXII_CA)');
}

function pem(file: string | undefined, option: string): string | undefined {
  if (file === undefined) return undefined;
  if (!existsSync(file)) throw new UsageError(`${option}: no such file: ${file}`);
  const text = readFileSync(file, 'utf8');
  if (!text.includes('-----BEGIN CERTIFICATE-----')) throw new UsageError(`${option}: ${file} holds no PEM certificate`);
  return text;
}

/** The MISP API key: from --misp-key-file, else TAKEDOWN_MISP_KEY. */
export function mispKey(flags: Pick<SourceFlags, 'mispKeyFile'>, env: NodeJS.ProcessEnv = process.env): string {
  if (flags.mispKeyFile) {
    if (!existsSync(flags.mispKeyFile)) throw new UsageError(`--misp-key-file: no such file: ${flags.mispKeyFile}`);
    return readFileSync(flags.mispKeyFile, 'utf8').trim();
  }
  const key = env.TAKEDOWN_MISP_KEY?.trim();
  if (!key) throw new UsageError('no MISP API key: set TAKEDOWN_MISP_KEY or give --misp-key-file (MISP: My Profile > Auth keys)');
  return key;
}

/** The CA file of MISP: --misp-ca, else TAKEDOWN_MISP_CA. */
export function mispCa(flags: Pick<SourceFlags, 'mispCa'>, env: NodeJS.ProcessEnv = process.env): string | undefined {
  return pem(flags.mispCa ?? env.TAKEDOWN_MISP_CA, '--misp-ca');
}

/** True when the flags name a remote source. */
export function hasRemoteSource(flags: SourceFlags): boolean {
  return flags.fromMisp !== undefined || flags.fromTaxii !== undefined;
}

/** Reads the campaign the flags point at, with a line per page read on stderr. */
export async function readRemoteSource(flags: SourceFlags, env: NodeJS.ProcessEnv = process.env): Promise<RemoteSource> {
  if (flags.fromMisp !== undefined && flags.fromTaxii !== undefined) throw new UsageError('give --from-misp or --from-taxii, not both');
  if (flags.fromMisp !== undefined) {
    if (!flags.event?.length === !flags.mispSearch) throw new UsageError('with --from-misp give the events: --event <id|uuid>, or --misp-search <filters>');
    const { MispClient, MispFilters } = await import('../../../adapters/misp/client.js');
    const { mispDocument, mispOrigin, parseMispSearch } = await import('../../../adapters/misp/source.js');
    const ca = mispCa(flags, env);
    const client = new MispClient({ url: flags.fromMisp, key: mispKey(flags, env), ...(ca ? { ca } : {}) });
    if (flags.event?.length) {
      const events = [];
      for (const [i, id] of flags.event.entries()) {
        events.push(await client.getEvent(id));
        if (flags.event.length > 1) err(`read MISP event ${i + 1}/${flags.event.length} (${id})`);
      }
      const what = `event${events.length > 1 ? 's' : ''} ${flags.event.join(', ')}`;
      return { content: mispDocument(events), format: 'misp', sourceName: `misp:${client.server} ${what}`.slice(0, 300), name: events.length === 1 ? events[0]!.info.slice(0, 200) : `MISP ${what}`.slice(0, 200), origin: mispOrigin(flags.fromMisp, what), items: events.length };
    }
    const filters = MispFilters.safeParse(parseMispSearch(flags.mispSearch!));
    if (!filters.success) throw new InvalidInputError('the MISP search is not valid', filters.error.issues.map((i) => ({ where: `--misp-search ${i.path.join('.')}`.trim(), reason: i.message })));
    const events = await client.searchAll(filters.data, { onPage: (page, total) => page > 1 && err(`read MISP search page ${page}: ${total} events so far`) });
    err(`read ${events.length} MISP event${events.length === 1 ? '' : 's'} from ${client.server}`);
    const what = `search ${flags.mispSearch}`;
    return { content: mispDocument(events), format: 'misp', sourceName: `misp:${client.server} ${what}`.slice(0, 300), name: `MISP ${what}`.slice(0, 200), origin: mispOrigin(flags.fromMisp, what), items: events.length };
  }
  if (flags.fromTaxii !== undefined) {
    if (!flags.collection) throw new UsageError('with --from-taxii give --collection <id> (takedown taxii collections <url> lists them)');
    const { TaxiiClient, stixBundle, taxiiOrigin } = await import('../../../adapters/taxii/client.js');
    const client = new TaxiiClient({ url: flags.fromTaxii, ...taxiiCredentials(flags, env) });
    const read = await client.readCollection(flags.collection, {
      ...(flags.addedAfter ? { addedAfter: flags.addedAfter } : {}),
      onPage: (page, total) => page > 1 && err(`read TAXII page ${page}: ${total} objects so far`),
    });
    err(`read ${read.objects.length} STIX object${read.objects.length === 1 ? '' : 's'} from ${client.server} in ${read.pages} page${read.pages === 1 ? '' : 's'}${read.addedLast ? ` (last added ${read.addedLast})` : ''}`);
    return { content: stixBundle(read.objects), format: 'stix', sourceName: `taxii:${client.server} ${flags.collection}`.slice(0, 300), name: `TAXII ${flags.collection}`.slice(0, 200), origin: taxiiOrigin(flags.fromTaxii, flags.collection), items: read.objects.length };
  }
  throw new UsageError('no remote source given');
}

/** The TAXII client's credentials and CA from the flags and the environment. */
export function taxiiCredentials(flags: Pick<SourceFlags, 'taxiiUser' | 'taxiiCa'>, env: NodeJS.ProcessEnv = process.env): { auth?: { user: string; password: string } | { token: string }; ca?: string } {
  const ca = pem(flags.taxiiCa ?? env.TAKEDOWN_TAXII_CA, '--taxii-ca');
  const user = flags.taxiiUser ?? env.TAKEDOWN_TAXII_USER;
  const token = env.TAKEDOWN_TAXII_TOKEN?.trim();
  if (user && token) throw new UsageError('give TAXII credentials one way: a user (with TAKEDOWN_TAXII_PASSWORD) or TAKEDOWN_TAXII_TOKEN');
  if (user) {
    const password = env.TAKEDOWN_TAXII_PASSWORD;
    if (!password) throw new UsageError(`no password for TAXII user ${user}: set TAKEDOWN_TAXII_PASSWORD`);
    return { auth: { user, password }, ...(ca ? { ca } : {}) };
  }
  return { ...(token ? { auth: { token } } : {}), ...(ca ? { ca } : {}) };
}
