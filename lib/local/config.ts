import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { PRIVATE_FILE } from './data-dir.js';

/**
 * The embedded host's settings, from one place per data directory: `takedown.yaml` in it (or `--config <file>`),
 * every key also a `TAKEDOWN_*` environment variable and, for the common ones, a flag. Precedence: flag > env >
 * file > the settings the last `takedown serve` of the data directory ran with > default. That last layer is what
 * makes a command run while no host serves (it records, composes and defers) compose what the host would have:
 * the same From, sender name, public URL for the answer links, size limit and transport. Validated with zod; an
 * error names the file, the key and the value.
 */

/** Where a setting's value came from, as `takedown config check` prints it. */
export type SettingSource = { readonly kind: 'flag'; readonly name: string } | { readonly kind: 'env'; readonly name: string } | { readonly kind: 'file'; readonly name: string } | { readonly kind: 'served'; readonly name: string } | { readonly kind: 'default' };

/** What one setting is: its key in the file, its environment variables (the first is the documented one), its flag. */
export interface SettingSpec {
  readonly key: SettingKey;
  readonly env: readonly string[];
  readonly flag?: string;
  /** its value is a secret (a password in an SMTP URL): masked wherever it is printed */
  readonly secret?: boolean;
  /** what it does, one line (the README's table and `config check`) */
  readonly doc: string;
  /** how an environment variable's text becomes the value */
  readonly parse?: 'number' | 'list';
}

const REPO_ROOT = new URL('../../', import.meta.url);

/** The demo sender name, which real use must replace. */
export const DEMO_SENDER_NAME = 'Takedown coordination (embedded demo)';
/** The example directory of the repository: documentation ranges only. */
export const EXAMPLE_DIRECTORY = new URL('examples/directory.yaml', REPO_ROOT).pathname;

/** The file's keys: everything a person sets for a data directory (the data directory itself is where the file is). */
export const ConfigFile = z
  .object({
    organisation: z.string().trim().min(1).max(200).describe('who coordinates: named in every notice and its XARF reports'),
    senderName: z.string().trim().min(1).max(200).describe('the name signed under every notice'),
    fromAddress: z.string().trim().min(3).max(320).describe('the From of every notice ("Name <address>")'),
    replyMailbox: z.email().describe('the mailbox replies come to; each notice gets <local>+<token>@<domain>'),
    publicUrl: z.url().describe("the HTTP API's address as recipients reach it: answer links and the webhook URL in notices"),
    mailAuth: z.enum(['off', 'dns', 'dns-relayed']).describe('SPF/DKIM/DMARC of replies: dns, dns-relayed (an MX relays to us), off'),
    mailDns: z.array(z.string().regex(/^[0-9A-Fa-f.:[\]]{2,60}$/, 'an address, or address:port')).min(1).max(8).describe("the DNS servers mail authentication asks (default: the system's resolver)"),
    smtpUrl: z.url().describe('send through this relay (smtp://user:pass@host:port); unset: the embedded outbox'),
    ehloName: z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name').describe("the name given in SMTP EHLO (default: the From's domain)"),
    probes: z.enum(['on', 'off']).describe('probe what the parties say they took down'),
    sendPerDomainPerMinute: z.number().positive().max(100_000).describe('messages per minute to one recipient domain, after a burst of 5'),
    languages: z.array(z.string().regex(/^[a-z]{2,3}$/)).max(50).describe('the languages notices may be written in besides English (default: every template folder)'),
    timeScale: z.number().min(1).max(10_000_000).describe('domain seconds per real second (86400: a day a second); 1 for real use'),
    maxMessageBytes: z.number().int().min(64 * 1024).max(100 * 1024 * 1024).describe('the largest message sent; a bigger notice goes in numbered parts'),
    escalationWindowSeconds: z.number().int().min(1).max(30 * 86400).describe('escalations to one party within this many seconds go in one notice'),
    defaultTlp: z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']).describe('the TLP of a campaign submitted without one'),
    directory: z.string().min(1).describe('the party directory (YAML or JSON)'),
    routing: z.string().min(1).describe('the routing policy (YAML or JSON); unset: the built-in policy'),
    rdap: z.enum(['local', 'real', 'off']).describe("how parties are found: local (recorded answers), real (the registries' RDAP), off (the directory only)"),
    rdapBootstrap: z.string().min(1).describe("another RDAP service's bootstrap files (a URL or a directory)"),
    httpPort: z.number().int().min(0).max(65535).describe('the HTTP API port (0: any free one)'),
    smtpPort: z.number().int().min(0).max(65535).describe('the inbound SMTP port for replies (0: any free one)'),
    logLevel: z.enum(['debug', 'info', 'warn', 'error', 'silent']).describe('the log level on stderr'),
  })
  .partial()
  .strict();
export type ConfigFile = z.infer<typeof ConfigFile>;
export type SettingKey = keyof ConfigFile;

/** Every setting, in the order the README and `config check` list them. */
export const SETTINGS: readonly SettingSpec[] = [
  { key: 'organisation', env: ['TAKEDOWN_ORGANISATION'], doc: 'who coordinates: named in every notice and its XARF reports' },
  { key: 'senderName', env: ['TAKEDOWN_SENDER_NAME'], doc: 'the name signed under every notice (default: "<organisation> takedown coordination", else the demo name)' },
  { key: 'fromAddress', env: ['TAKEDOWN_FROM'], doc: 'the From of every notice ("Name <address>")' },
  { key: 'replyMailbox', env: ['TAKEDOWN_REPLY_MAILBOX'], doc: 'the mailbox replies come to; each notice gets <local>+<token>@<domain>' },
  { key: 'publicUrl', env: ['TAKEDOWN_PUBLIC_URL'], doc: "the API's address as recipients reach it: answer links and the webhook URL in notices (default: the local address)" },
  { key: 'mailAuth', env: ['TAKEDOWN_MAIL_AUTH'], doc: 'SPF/DKIM/DMARC of replies: dns, dns-relayed (an MX you trust relays to the host), off' },
  { key: 'mailDns', env: ['TAKEDOWN_MAIL_DNS'], parse: 'list', doc: "the DNS servers mail authentication asks, address or address:port, comma-separated (default: the system's resolver)" },
  { key: 'smtpUrl', env: ['TAKEDOWN_SMTP_URL', 'SMTP_URL'], flag: '--smtp-url', secret: true, doc: 'send through this relay, smtp://user:pass@host:port (default: the embedded outbox)' },
  { key: 'ehloName', env: ['TAKEDOWN_EHLO_NAME'], doc: "the name given in SMTP EHLO (default: the From's domain)" },
  { key: 'probes', env: ['TAKEDOWN_PROBES'], doc: 'on: probe what parties say they took down (TAKEDOWN_PROBE_* set their egress); off' },
  { key: 'sendPerDomainPerMinute', env: ['TAKEDOWN_SEND_PER_DOMAIN_PER_MINUTE'], parse: 'number', doc: 'rate limit: messages per minute to one recipient domain, after a burst of 5 (default 60)' },
  { key: 'languages', env: ['TAKEDOWN_LANGUAGES'], parse: 'list', doc: 'languages notices may be written in besides English, e.g. fr,ar,pt (default: every template folder)' },
  { key: 'timeScale', env: ['TAKEDOWN_TIME_SCALE'], flag: '--time-scale', parse: 'number', doc: 'domain seconds per real second: 86400 makes a day pass in a second (default 1)' },
  { key: 'maxMessageBytes', env: ['TAKEDOWN_MAX_MESSAGE_BYTES'], parse: 'number', doc: 'message size limit: a bigger notice goes in numbered parts (default 10,240,000)' },
  { key: 'escalationWindowSeconds', env: ['TAKEDOWN_ESCALATION_WINDOW_SECONDS'], parse: 'number', doc: 'escalation window: escalations to one party within it go in one notice (default 600)' },
  { key: 'defaultTlp', env: ['TAKEDOWN_DEFAULT_TLP'], doc: 'the TLP of a campaign submitted without one (default AMBER)' },
  { key: 'directory', env: ['TAKEDOWN_DIRECTORY'], flag: '--directory', doc: 'the party directory (default: examples/directory.yaml, documentation ranges only)' },
  { key: 'routing', env: ['TAKEDOWN_ROUTING'], flag: '--routing', doc: 'the routing policy (default: the built-in policy)' },
  { key: 'rdap', env: ['TAKEDOWN_RDAP'], flag: '--rdap', doc: "local (recorded answers, no network), real (the registries' RDAP servers), off (default local)" },
  { key: 'rdapBootstrap', env: ['TAKEDOWN_RDAP_BOOTSTRAP'], flag: '--rdap-bootstrap', doc: "another RDAP service's bootstrap files" },
  { key: 'httpPort', env: ['TAKEDOWN_HTTP_PORT'], flag: '--http-port', parse: 'number', doc: 'the HTTP API port (default 8787)' },
  { key: 'smtpPort', env: ['TAKEDOWN_SMTP_PORT'], flag: '--smtp-port', parse: 'number', doc: 'the inbound SMTP port for replies (default 2525)' },
  { key: 'logLevel', env: ['TAKEDOWN_LOG_LEVEL'], flag: '--log-level', doc: 'the log level on stderr (default warn; serve: info)' },
];

/** The settings file of a data directory. */
export function configFileOf(dataDir: string): string {
  return join(resolve(dataDir), 'takedown.yaml');
}

/** The settings the last `takedown serve` of a data directory ran with (written by it, read by commands without a host). */
export function servedFileOf(dataDir: string): string {
  return join(resolve(dataDir), 'settings.served.json');
}

/** A settings file or value that is not valid: names the file (or variable), the key and the value. */
export class ConfigError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(`${message}:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/** Keys whose value is not printed as it is (a password in a URL). */
export function masked(key: SettingKey, value: unknown): string {
  if (value === undefined) return '';
  const text = Array.isArray(value) ? value.join(',') : String(value);
  const spec = SETTINGS.find((s) => s.key === key);
  return spec?.secret ? text.replace(/\/\/([^:@/]*):([^@/]*)@/, '//$1:***@').replace(/\/\/([^:@/]+)@/, '//***@') : text;
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function problemsOf(error: z.ZodError, where: (key: string) => string, input: Record<string, unknown>): string[] {
  return error.issues.map((i) => {
    const key = String(i.path[0] ?? '');
    if (i.code === 'unrecognized_keys') {
      const keys = (i as { keys?: string[] }).keys ?? [];
      return `${where(keys[0] ?? key)}: unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')} (known: ${SETTINGS.map((s) => s.key).join(', ')})`;
    }
    return `${where(key)}: ${shown(input[key])} is not valid: ${i.message}`;
  });
}

/** Reads and checks a settings file; a missing file is no settings (the default one need not exist). */
export async function readConfigFile(file: string, required: boolean): Promise<ConfigFile | undefined> {
  if (!existsSync(file)) {
    if (required) throw new ConfigError('the settings file is missing', [`${file}: no such file`]);
    return undefined;
  }
  const { parse, LineCounter } = await import('yaml');
  const text = readFileSync(file, 'utf8');
  const lines = new LineCounter();
  let data: unknown;
  try {
    data = parse(text, { lineCounter: lines, prettyErrors: true }) ?? {};
  } catch (e) {
    throw new ConfigError('the settings file is not valid YAML', [`${file}: ${(e as Error).message.split('\n')[0]}`]);
  }
  if (typeof data !== 'object' || Array.isArray(data)) throw new ConfigError('the settings file is not valid', [`${file}: expected keys and values (key: value)`]);
  const result = ConfigFile.safeParse(data);
  if (!result.success) {
    const lineOf = (key: string) => {
      const at = new RegExp(`^\\s*${key.replace(/[^A-Za-z0-9]/g, '')}\\s*:`, 'm').exec(text)?.index;
      return at === undefined ? '' : `:${lines.linePos(at).line}`;
    };
    throw new ConfigError('the settings file is not valid', problemsOf(result.error, (key) => `${file}${lineOf(key)} ${key}`, data as Record<string, unknown>));
  }
  return result.data;
}

function envValue(spec: SettingSpec, text: string): unknown {
  if (spec.parse === 'number') return text.trim() === '' ? undefined : Number(text);
  if (spec.parse === 'list') return text.split(/[\s,]+/).filter(Boolean);
  return text;
}

/** What a layered reading gives: the values, where each came from, the file read. */
export interface LoadedConfig {
  readonly values: ConfigFile & { dataDir: string };
  readonly sources: Readonly<Partial<Record<SettingKey, SettingSource>>>;
  /** the settings file read, if there was one */
  readonly file?: string;
}

export interface LoadInput {
  /** the flags given, by setting key (`--smtp-url` as smtpUrl) */
  readonly flags?: Partial<Record<SettingKey, unknown>>;
  readonly env?: NodeJS.ProcessEnv;
  /** `--config <file>`: read instead of the data directory's takedown.yaml (and then it must exist) */
  readonly configFile?: string;
  readonly dataDir: string;
  /**
   * read the settings the last serve ran with, below the file: for a command that records a change while no host
   * serves (it composes what that host will send); never for a serve, which is told its settings afresh
   */
  readonly served?: boolean;
}

/** The settings of a data directory: flag > env > file > the last serve's > default (defaults are the host's). */
export async function loadConfig(input: LoadInput): Promise<LoadedConfig> {
  const env = input.env ?? process.env;
  const file = input.configFile ? resolve(input.configFile) : configFileOf(input.dataDir);
  const fromFile = (await readConfigFile(file, input.configFile !== undefined)) ?? {};
  const served = input.served ? readServed(input.dataDir) : undefined;
  const values: Record<string, unknown> = {};
  const sources: Partial<Record<SettingKey, SettingSource>> = {};
  const envProblems: string[] = [];
  for (const spec of SETTINGS) {
    const flag = input.flags?.[spec.key];
    const envName = spec.env.find((name) => env[name] !== undefined && env[name] !== '');
    if (flag !== undefined) {
      values[spec.key] = flag;
      sources[spec.key] = { kind: 'flag', name: spec.flag ?? spec.key };
    } else if (envName) {
      const value = envValue(spec, env[envName]!);
      const checked = ConfigFile.shape[spec.key].safeParse(value);
      if (!checked.success) envProblems.push(`${envName}=${shown(env[envName])} is not valid: ${checked.error.issues[0]?.message ?? 'invalid'}`);
      values[spec.key] = value;
      sources[spec.key] = { kind: 'env', name: envName };
    } else if (fromFile[spec.key] !== undefined) {
      values[spec.key] = fromFile[spec.key];
      sources[spec.key] = { kind: 'file', name: file };
    } else if (served?.[spec.key] !== undefined) {
      values[spec.key] = served[spec.key];
      sources[spec.key] = { kind: 'served', name: servedFileOf(input.dataDir) };
    } else {
      sources[spec.key] = { kind: 'default' };
    }
  }
  if (envProblems.length) throw new ConfigError('an environment variable is not valid', envProblems);
  if (values.senderName === undefined && typeof values.organisation === 'string') values.senderName = `${values.organisation} takedown coordination`;
  return { values: { ...(values as ConfigFile), dataDir: input.dataDir }, sources, ...(existsSync(file) ? { file } : {}) };
}

/** The keys a serve records for the commands that run without it: what shapes a message and where it goes. */
const SERVED_KEYS: readonly SettingKey[] = ['organisation', 'senderName', 'fromAddress', 'replyMailbox', 'publicUrl', 'mailAuth', 'smtpUrl', 'ehloName', 'probes', 'languages', 'maxMessageBytes', 'escalationWindowSeconds', 'defaultTlp', 'directory', 'routing', 'sendPerDomainPerMinute'];

function readServed(dataDir: string): ConfigFile | undefined {
  const file = servedFileOf(dataDir);
  if (!existsSync(file)) return undefined;
  try {
    const parsed = ConfigFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** What a serve writes for the commands that run without it (mode 0600: the relay URL may hold a password). */
export function servedSettings(values: Record<string, unknown>): string {
  const kept: Record<string, unknown> = {};
  for (const key of SERVED_KEYS) if (values[key] !== undefined) kept[key] = values[key];
  return JSON.stringify(kept, null, 2);
}

/** The file mode the served settings are written with. */
export const SERVED_MODE = PRIVATE_FILE;

/** A problem for real (non-demo) use, with the key it is about. */
export interface RealUseGap {
  readonly key: SettingKey;
  readonly problem: string;
}

const EXAMPLE_DOMAIN = /(^|\.)(example|test|invalid|localhost|example\.(com|net|org))$/i;

function domainOf(address: string | undefined): string | undefined {
  if (!address) return undefined;
  const bare = /<([^<>]+)>\s*$/.exec(address)?.[1] ?? address;
  return bare.slice(bare.lastIndexOf('@') + 1).trim().toLowerCase() || undefined;
}

/** What real use needs that these settings do not give (the demo's defaults, example domains, loopback addresses). */
export function realUseGaps(values: Partial<ConfigFile>): RealUseGap[] {
  const gaps: RealUseGap[] = [];
  if (!values.organisation) gaps.push({ key: 'organisation', problem: 'not set: notices name no coordinating organisation' });
  if (!values.senderName || values.senderName === DEMO_SENDER_NAME) gaps.push({ key: 'senderName', problem: `the demo sender name ("${DEMO_SENDER_NAME}") signs every notice` });
  const from = domainOf(values.fromAddress ?? 'takedown@reply.example');
  if (!from || EXAMPLE_DOMAIN.test(from)) gaps.push({ key: 'fromAddress', problem: `an example domain (${from ?? 'none'}): nobody can answer or verify it` });
  const reply = domainOf(values.replyMailbox ?? 'takedown@reply.example');
  if (!reply || EXAMPLE_DOMAIN.test(reply)) gaps.push({ key: 'replyMailbox', problem: `an example domain (${reply ?? 'none'}): replies cannot reach this host` });
  if (!values.publicUrl) gaps.push({ key: 'publicUrl', problem: 'not set: answer links and the webhook URL point at this machine (127.0.0.1)' });
  else {
    const host = new URL(values.publicUrl).hostname;
    if (/^(127\.|localhost$|\[?::1\]?$|0\.0\.0\.0$)/.test(host)) gaps.push({ key: 'publicUrl', problem: `on this machine (${host}): recipients cannot open the answer links` });
    else if (EXAMPLE_DOMAIN.test(host)) gaps.push({ key: 'publicUrl', problem: `an example domain (${host})` });
  }
  if ((values.mailAuth ?? 'dns') === 'off') gaps.push({ key: 'mailAuth', problem: 'off: no reply is authenticated, every closing answer waits for a person' });
  if (!values.smtpUrl) gaps.push({ key: 'smtpUrl', problem: 'not set: notices go to the embedded outbox, not to anyone' });
  if ((values.timeScale ?? 1) !== 1) gaps.push({ key: 'timeScale', problem: `${values.timeScale}: deadlines pass faster than real time` });
  if (!values.directory || resolve(values.directory) === EXAMPLE_DIRECTORY) gaps.push({ key: 'directory', problem: 'the example directory (documentation ranges only)' });
  if ((values.rdap ?? 'local') === 'local') gaps.push({ key: 'rdap', problem: 'local: parties come from recorded demo answers, not the registries' });
  return gaps;
}
