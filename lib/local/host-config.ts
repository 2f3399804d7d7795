import { z } from 'zod';
import { TLP } from '../core/model.js';
import { DEMO_SENDER_NAME } from './config.js';

/**
 * What the embedded host is told: the settings (HostConfig, validated with zod, each with a default that works on a
 * fresh clone) and the TAKEDOWN_* environment variables they come from. The CLI merges its flags and takedown.yaml
 * over these (cli/shared/options.ts); README's settings table lists them all.
 */

const REPO_ROOT = new URL('../../', import.meta.url);

/** Everything the embedded host can be told; every field has a default that works on a fresh clone. */
export const HostConfig = z.object({
  /** where the database, the outbox, the inbox and the clock live */
  dataDir: z.string().min(1).default('.takedown'),
  /** domain seconds per real second: 86400 makes a day pass in a second */
  timeScale: z.number().min(1).max(10_000_000).default(1),
  httpHost: z.string().default('127.0.0.1'),
  /** 0 picks a free port */
  httpPort: z.number().int().min(0).max(65535).default(8787),
  smtpHost: z.string().default('127.0.0.1'),
  /** inbound replies; 0 picks a free port */
  smtpPort: z.number().int().min(0).max(65535).default(2525),
  /** send through this relay instead of the embedded outbox (smtp://user:pass@host:port) */
  smtpUrl: z.string().url().optional(),
  directory: z.string().default(new URL('examples/directory.yaml', REPO_ROOT).pathname),
  /** local: a local RDAP server with recorded answers (no network); real: the registries' RDAP servers; off: directory only */
  rdap: z.enum(['local', 'real', 'off']).default('local'),
  /** RDAP bootstrap files (a URL base or a directory) of another RDAP service to ask */
  rdapBootstrap: z.string().min(1).optional(),
  /** the routing policy file; absent: the built-in policy */
  routing: z.string().min(1).optional(),
  replyMailbox: z.string().email().default('takedown@reply.example'),
  fromAddress: z.string().default('Takedown coordination <takedown@reply.example>'),
  /** who coordinates: named in every notice and its XARF reports */
  organisation: z.string().min(1).max(200).optional(),
  senderName: z.string().default(DEMO_SENDER_NAME),
  publicUrl: z.string().url().optional(),
  /** the languages notices may be written in besides English @default every template folder */
  languages: z.array(z.string().regex(/^[a-z]{2,3}$/)).max(50).optional(),
  /**
   * indicators routed (and notices started) per workflow step. Each step is one transaction of the store, and
   * random case ids dirty an index page per case whatever the page's size, so bigger pages rewrite each index
   * page fewer times (200,000 indicators routed, bench/intake-scale.ts: pages of 500 ~15.5 s, of 5,000 ~11 s, of
   * 20,000 ~9.5 s, with ~80 MB more resident for the page in memory). With `rdap: real` a step waits on the
   * registries (at most 10 lookups a second per server) and must end within its state's 900 s: 500 then.
   * @default 20000, or 500 with rdap real
   */
  pageSize: z.number().int().min(1).max(20_000).optional(),
  /** the TLP of a campaign submitted without one */
  defaultTlp: TLP.default('AMBER'),
  logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).default('warn'),
  /**
   * SPF/DKIM/DMARC of replies. `dns` (the default): checked with the system's resolver (or the one the host is
   * started with), SPF against the connecting client (this server is the MX); `dns-relayed`: an MX we trust relays
   * to this server, so SPF reads the client from the Received header it writes; `off`: nothing is checked, so no
   * From is authenticated and every answer that would close or hand on cases waits for a person.
   */
  mailAuth: z.enum(['off', 'dns', 'dns-relayed']).default('dns'),
  /** the DNS servers mail authentication asks (`address` or `address:port`) @default the system's resolver */
  mailDns: z.array(z.string().regex(/^[0-9A-Fa-f.:[\]]{2,60}$/, 'an address, or address:port')).min(1).max(8).optional(),
  /**
   * on: actioned cases are verified by probing what they point at, for real, through TAKEDOWN_PROBE_* settings
   * (egress proxy, DNS servers, sinkholes); off: they stay actioned, unverified
   */
  probes: z.enum(['on', 'off']).default('on'),
  /** the largest message sent, in bytes: a bigger notice goes in numbered parts (the relay's own SIZE, if smaller, wins) */
  maxMessageBytes: z.number().int().min(64 * 1024).max(100 * 1024 * 1024).default(10_240_000),
  /** the name this host gives in SMTP EHLO @default the From's domain (ehloNameOf) */
  ehloName: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name').optional(),
  /**
   * DKIM-sign notices sent through SMTP with the key in `<data dir>/dkim.key` (made at the first start when missing;
   * publish its record: see README), under this selector @default no signature (SES signs with Easy DKIM on AWS)
   */
  dkimSelector: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/i, 'a DNS label').optional(),
  /** the signing domain @default the From's domain (DMARC alignment needs it) */
  dkimDomain: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a domain').optional(),
  /** escalations to one party within this many domain seconds of the first go in one notice @default 600 */
  escalationWindowSeconds: z.number().int().min(1).max(30 * 86400).optional(),
  /** worker threads that compose messages beside the main thread @default one per core beyond the first, at most 2 */
  composeThreads: z.number().int().min(0).max(16).optional(),
  /** messages per minute to one recipient domain (real time), after a burst of 5 */
  sendPerDomainPerMinute: z.number().positive().max(100_000).default(60),
  /** revival checks after a verified takedown, in domain seconds after it @default +1 day, +7 days */
  revivalChecks: z.array(z.number().int().positive()).max(20).optional(),
  /**
   * the MISP instance campaigns are read from and their outcome written back to; `sync: auto` writes it back as it
   * happens (tags on each source attribute, an expiration sighting once verified down) for campaigns read from it
   */
  misp: z
    .object({
      url: z.string().url(),
      /** the API key (from TAKEDOWN_MISP_KEY; never on a command line) */
      key: z.string().min(8),
      /** a PEM file of the CA that signs the instance's certificate, when it is a private one */
      caFile: z.string().min(1).optional(),
      sync: z.enum(['off', 'auto']).default('off'),
    })
    .optional(),
});
export type HostConfig = z.input<typeof HostConfig>;

/** The config from TAKEDOWN_* environment variables, for the CLI to merge its flags over. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): HostConfig {
  const num = (v?: string) => (v === undefined || v === '' ? undefined : Number(v));
  const out: Record<string, unknown> = {
    dataDir: env.TAKEDOWN_DATA_DIR,
    timeScale: num(env.TAKEDOWN_TIME_SCALE),
    httpPort: num(env.TAKEDOWN_HTTP_PORT),
    smtpPort: num(env.TAKEDOWN_SMTP_PORT),
    smtpUrl: env.TAKEDOWN_SMTP_URL || env.SMTP_URL,
    directory: env.TAKEDOWN_DIRECTORY,
    rdap: env.TAKEDOWN_RDAP,
    rdapBootstrap: env.TAKEDOWN_RDAP_BOOTSTRAP,
    routing: env.TAKEDOWN_ROUTING,
    replyMailbox: env.TAKEDOWN_REPLY_MAILBOX,
    fromAddress: env.TAKEDOWN_FROM,
    organisation: env.TAKEDOWN_ORGANISATION,
    senderName: env.TAKEDOWN_SENDER_NAME,
    languages: env.TAKEDOWN_LANGUAGES ? env.TAKEDOWN_LANGUAGES.split(/[\s,]+/).filter(Boolean) : undefined,
    publicUrl: env.TAKEDOWN_PUBLIC_URL,
    logLevel: env.TAKEDOWN_LOG_LEVEL,
    defaultTlp: env.TAKEDOWN_DEFAULT_TLP,
    mailAuth: env.TAKEDOWN_MAIL_AUTH,
    mailDns: env.TAKEDOWN_MAIL_DNS ? env.TAKEDOWN_MAIL_DNS.split(',').map((s) => s.trim()).filter(Boolean) : undefined,
    probes: env.TAKEDOWN_PROBES,
    sendPerDomainPerMinute: num(env.TAKEDOWN_SEND_PER_DOMAIN_PER_MINUTE),
    maxMessageBytes: num(env.TAKEDOWN_MAX_MESSAGE_BYTES),
    composeThreads: num(env.TAKEDOWN_COMPOSE_THREADS),
    escalationWindowSeconds: num(env.TAKEDOWN_ESCALATION_WINDOW_SECONDS),
    dkimSelector: env.TAKEDOWN_DKIM_SELECTOR,
    dkimDomain: env.TAKEDOWN_DKIM_DOMAIN,
    ehloName: env.TAKEDOWN_EHLO_NAME,
    misp:
      env.TAKEDOWN_MISP_URL && env.TAKEDOWN_MISP_KEY
        ? { url: env.TAKEDOWN_MISP_URL, key: env.TAKEDOWN_MISP_KEY, ...(env.TAKEDOWN_MISP_CA ? { caFile: env.TAKEDOWN_MISP_CA } : {}), ...(env.TAKEDOWN_MISP_SYNC ? { sync: env.TAKEDOWN_MISP_SYNC } : {}) }
        : undefined,
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined)) as HostConfig;
}
