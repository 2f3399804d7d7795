import { z } from 'zod';
import { TLP } from '../../core/model.js';
import { InvalidInputError } from '../../core/errors.js';
import type { FeedPolicy, FeedReader } from '../../core/feeds/index.js';
import { MispClient, MispFilters } from '../misp/client.js';
import { mispFeed, parseMispSearch } from '../misp/source.js';
import { TaxiiClient, taxiiFeed, type TaxiiAuth } from '../taxii/client.js';

/**
 * The feeds a watch polls, as one configuration both hosts read (a YAML file on the embedded host, the same
 * document as JSON in the scheduler's Lambda environment). Secrets are never in it: it names the environment
 * variables that hold them, so the file can be kept with the rest of the configuration.
 */

const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,100}$/, 'an environment variable name');
const Name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'letters, digits, . _ - (up to 64)');

const MispFeedConfig = z.strictObject({
  url: z.url(),
  /** restSearch filters, as an object or as `tags=... last=7d` text */
  search: z.union([z.string().min(1).max(2000), z.record(z.string(), z.unknown())]),
  /** the variable holding the API key @default TAKEDOWN_MISP_KEY */
  keyEnv: EnvName.default('TAKEDOWN_MISP_KEY'),
  /** a PEM file of the CA that signs the server's certificate */
  ca: z.string().min(1).optional(),
  pageSize: z.number().int().min(1).max(1000).optional(),
});

const TaxiiFeedConfig = z.strictObject({
  /** the discovery URL or an API root */
  url: z.url(),
  collection: z.string().min(1).max(200),
  /** where the first poll starts (RFC 3339); later polls go on from where the last one stopped */
  addedAfter: z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/, 'an RFC 3339 UTC time').optional(),
  /** HTTP Basic user; the password is in `passwordEnv` */
  user: z.string().min(1).max(200).optional(),
  passwordEnv: EnvName.default('TAKEDOWN_TAXII_PASSWORD'),
  /** the variable holding a bearer token, when the server takes one instead */
  tokenEnv: EnvName.optional(),
  ca: z.string().min(1).optional(),
  pageSize: z.number().int().min(1).max(10_000).optional(),
});

const FeedConfig = z
  .strictObject({
    name: Name,
    misp: MispFeedConfig.optional(),
    taxii: TaxiiFeedConfig.optional(),
    /** a trusted feed's campaigns are sent without waiting for a coordinator @default false */
    trusted: z.boolean().default(false),
    /** the campaign's TLP for what the feed leaves unmarked */
    tlp: TLP.optional(),
    /** the source's permission to notify operators of AMBER material, and who granted it */
    allowAmber: z.string().min(1).max(200).optional(),
    probes: z.boolean().optional(),
  })
  .refine((f) => (f.misp === undefined) !== (f.taxii === undefined), 'a feed is either misp or taxii');

/** The watch's configuration. */
export const FeedsConfig = z.strictObject({
  /** seconds between two polls of every feed @default 300 */
  interval: z.number().int().min(10).max(86_400).default(300),
  /** who submits the feeds' campaigns @default feed-watch */
  submitter: z.string().min(1).max(200).default('feed-watch'),
  feeds: z
    .array(FeedConfig)
    .min(1)
    .refine((feeds) => new Set(feeds.map((f) => f.name)).size === feeds.length, 'feed names must differ'),
});
export type FeedsConfig = z.output<typeof FeedsConfig>;

/** A configured feed, ready to poll. */
export interface ConfiguredFeed {
  readonly reader: FeedReader;
  readonly policy: FeedPolicy;
}

/** The configuration from a parsed document; InvalidInputError names every problem by its place. */
export function parseFeedsConfig(doc: unknown): FeedsConfig {
  const parsed = FeedsConfig.safeParse(doc);
  if (!parsed.success) throw new InvalidInputError('the feeds configuration is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(top)', reason: i.message })));
  return parsed.data;
}

/**
 * The feeds of a configuration, with their clients: credentials read from the variables it names in `env`, CA
 * files through `readFile`. A missing credential is refused here, before any feed is polled.
 */
export function configuredFeeds(config: FeedsConfig, env: NodeJS.ProcessEnv, readFile: (path: string) => string): ConfiguredFeed[] {
  const secret = (name: string): string => env[name]?.trim() ?? '';
  const missing = config.feeds.flatMap((f) => {
    const names = f.misp ? [f.misp.keyEnv] : f.taxii!.tokenEnv ? [f.taxii!.tokenEnv] : f.taxii!.user ? [f.taxii!.passwordEnv] : [];
    return names.filter((n) => !secret(n)).map((n) => ({ where: `feeds.${f.name}`, reason: `the environment variable ${n} is not set` }));
  });
  if (missing.length) throw new InvalidInputError('a feed\'s credentials are missing', missing);
  return config.feeds.map((f): ConfiguredFeed => {
    const policy: FeedPolicy = {
      trusted: f.trusted,
      submitter: config.submitter,
      ...(f.tlp ? { tlp: f.tlp } : {}),
      ...(f.allowAmber ? { allowAmber: f.allowAmber } : {}),
      ...(f.probes !== undefined ? { probes: f.probes } : {}),
    };
    if (f.misp) {
      const m = f.misp;
      const filters = MispFilters.safeParse(typeof m.search === 'string' ? parseMispSearch(m.search) : m.search);
      if (!filters.success) throw new InvalidInputError(`the MISP search of feed ${f.name} is not valid`, filters.error.issues.map((i) => ({ where: `feeds.${f.name}.misp.search.${i.path.join('.')}`, reason: i.message })));
      const client = new MispClient({ url: m.url, key: secret(m.keyEnv), ...(m.ca ? { ca: readFile(m.ca) } : {}) });
      return { reader: mispFeed(client, { name: f.name, url: m.url, filters: filters.data, ...(m.pageSize ? { pageSize: m.pageSize } : {}) }), policy };
    }
    const t = f.taxii!;
    const auth: TaxiiAuth | undefined = t.tokenEnv ? { token: secret(t.tokenEnv) } : t.user ? { user: t.user, password: secret(t.passwordEnv) } : undefined;
    const client = new TaxiiClient({ url: t.url, ...(auth ? { auth } : {}), ...(t.ca ? { ca: readFile(t.ca) } : {}) });
    return { reader: taxiiFeed(client, { name: f.name, url: t.url, collection: t.collection, ...(t.addedAfter ? { addedAfter: t.addedAfter } : {}), ...(t.pageSize ? { pageSize: t.pageSize } : {}) }), policy };
  });
}
