import { Resolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { KMSClient } from '@aws-sdk/client-kms';
import { S3Client } from '@aws-sdk/client-s3';
import { z } from 'zod';
import type { Deps, PartyResolver, Settings, Store } from '../../core/ports.js';
import { parseRoutingPolicy, type RoutingPolicy } from '../../core/routing/index.js';
import { DirectoryFile, loadDirectory, type Directory } from '../directory/directory.js';
import { storedSetting } from '../directory/stored-settings.js';
import { IANA_BOOTSTRAP_URL, loadBootstrap } from '../rdap/bootstrap.js';
import { RdapClient } from '../rdap/client.js';
import { SystemHostResolver, type HostResolver } from '../rdap/dns.js';
import { canonicalAddress } from '../rdap/ip.js';
import { RdapResolver } from '../rdap/resolver.js';
import { guardedFetch } from '../net/guarded-fetch.js';
import { AddressGuard } from '../net/address-guard.js';
import { emfEventCounter, lambdaObservability, type LambdaObservability } from '../metrics/powertools.js';
import { observeEvents } from '../metrics/events.js';
import { storedAuditKey, awsCheckpointer } from './audit.js';
import { S3UploadStore } from '../uploads/uploads.s3.js';
import type { Checkpointer } from '../../core/audit/index.js';
import { DynamoDbStore } from '../dynamodb/store.dynamodb.js';
import { SesMailer } from '../mail/mailer.ses.js';
import { suffixOnlyAuthenticator } from '../mail/domains.js';
import { ScaledClock } from '../runtime/clock.js';
import { CryptoIds } from '../runtime/ids.js';
import { KmsSecretBox } from '../secrets/kms.js';
import { createProber, proberSettingsFromEnv } from '../probe/prober.js';
import { DomainRateLimitedMailer } from '../mail/rate-limit.js';
import { SfnWorkflows } from '../sfn/workflows.sfn.js';
import { fileTemplateSource } from '../templates/templates.fs.js';
import { S3MessageStore } from '../messages/messages.s3.js';

/** The environment every Lambda of the AWS host reads; lib/infra sets it. */
const AwsEnv = z.object({
  TABLE_NAME: z.string().min(1),
  CAMPAIGN_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  NOTICE_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  VERIFY_STATE_MACHINE_ARN: z.string().startsWith('arn:'),
  REPLY_MAILBOX: z.email(),
  FROM_ADDRESS: z.email(),
  SENDER_NAME: z.string().min(1).default('Takedown coordination'),
  PUBLIC_URL: z.url().optional(),
  // only the functions that resolve parties carry the directory in their bundle (see lib/infra/stack.ts)
  DIRECTORY_PATH: z.string().min(1).optional(),
  // off: the directory, the national CERTs and the coordinators' overrides; real: RDAP too, bootstrapped from IANA
  RDAP_MODE: z.enum(['off', 'real']).default('off'),
  RDAP_BOOTSTRAP: z.string().min(1).default(IANA_BOOTSTRAP_URL),
  // the DNS servers (host:port, comma-separated) asked for a name's addresses and for the hosts the RDAP and
  // security.txt fetches connect to; unset: the system resolver
  RDAP_DNS: z.string().min(1).optional(),
  PAGE_SIZE: z.coerce.number().int().positive().default(500),
  LOG_LEVEL: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  // the SES configuration set whose event destination reports bounces and complaints (lib/infra/ses-events.ts)
  SES_CONFIGURATION_SET: z.string().min(1).optional(),
  TAKEDOWN_PROBES: z.enum(['on', 'off']).default('on'),
  SEND_PER_DOMAIN_PER_MINUTE: z.coerce.number().positive().default(60),
  // the bucket that keeps the messages we send (the exact bytes until sent, then a masked copy)
  MESSAGES_BUCKET: z.string().min(3),
  // the largest message sent: a bigger notice goes in numbered parts (SES v2 takes 40 MB; recipients' servers often 10)
  MAX_MESSAGE_BYTES: z.coerce.number().int().min(65_536).max(40 * 1024 * 1024).default(10_240_000),
  // escalations to one party within this many seconds of the first go in one notice
  ESCALATION_WINDOW_SECONDS: z.coerce.number().int().min(1).max(30 * 86400).optional(),
  // the KMS key recipients' webhook secrets are sealed under; unset: webhook answers are refused (503)
  TAKEDOWN_KMS_KEY_ID: z.string().min(1).optional(),
  // the audit trail's KMS key and Object Lock bucket (lib/infra/audit-trail.ts); unset: events carry no MAC and
  // nothing is checkpointed (a host without them, as in some tests)
  AUDIT_KEY_ID: z.string().min(1).optional(),
  AUDIT_BUCKET: z.string().min(3).optional(),
  // the bucket coordinators upload big files to (the API presigns, the campaign workflow reads); unset: none
  UPLOADS_BUCKET: z.string().min(3).optional(),
  // fresh indicators of an upload stored per step of the campaign workflow's reading loop
  UPLOAD_PAGE_SIZE: z.coerce.number().int().positive().optional(),
});

export type AwsEnv = z.infer<typeof AwsEnv>;

/** Reads the AWS host's configuration; the error names the missing or invalid variables, never their values. */
export function readAwsEnv(env: NodeJS.ProcessEnv = process.env): AwsEnv {
  const parsed = AwsEnv.safeParse(env);
  if (parsed.success) return parsed.data;
  const missing = new Set<string>();
  const invalid = new Set<string>();
  for (const issue of parsed.error.issues) {
    const name = String(issue.path[0] ?? '(environment)');
    (env[name] === undefined ? missing : invalid).add(name);
  }
  const parts = [
    missing.size > 0 ? `missing: ${[...missing].join(', ')}` : '',
    invalid.size > 0 ? `invalid: ${[...invalid].join(', ')}` : '',
  ].filter(Boolean);
  throw new Error(`the Lambda environment is incomplete (${parts.join('; ')})`);
}

/** A resolver of names that asks given DNS servers (host:port) rather than the system's. */
class ServersHostResolver implements HostResolver {
  private readonly resolver = new Resolver({ timeout: 2000, tries: 1 });

  constructor(servers: readonly string[]) {
    this.resolver.setServers([...servers]);
  }

  async addresses(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.all([this.resolver.resolve4(host).catch(() => []), this.resolver.resolve6(host).catch(() => [])]);
    return [...v4, ...v6].map((a) => canonicalAddress(a)?.address).filter((a): a is string => a !== undefined);
  }
}

/** The address an operator's bootstrap URL names, let through the address guard: it is the operator's own RDAP service. */
function namedAddress(bootstrap: string): string[] {
  if (!/^https?:\/\//i.test(bootstrap)) return [];
  const host = new URL(bootstrap).hostname.replace(/^\[(.*)\]$/, '$1');
  return isIP(host) === 0 ? [] : [host];
}

/**
 * What the route function resolves parties and routes with, read from the store at each step so a coordinator's
 * change reaches the next page routed: the directory a coordinator stored (else the one bundled with the function)
 * and the routing policy stored (else the built-in one). Two reads per refresh: a step that routes a page pays
 * them gladly for a change that applies from the very next page.
 */
export class RuntimeSettings {
  private checkedAt = 0;
  private directoryVersion = -1;
  private resolver?: Promise<RdapResolver>;
  private bundled?: Promise<Directory>;
  routing?: RoutingPolicy;

  constructor(
    private readonly store: Store,
    private readonly env: AwsEnv,
    private readonly dns: HostResolver | undefined,
    private readonly maxAgeMs = 0,
  ) {}

  /** Reads the stored settings again when the last read is older than maxAgeMs. */
  async refresh(): Promise<void> {
    if (Date.now() - this.checkedAt < this.maxAgeMs) return;
    const [routing, directory] = await Promise.all([storedSetting(this.store, 'routing'), storedSetting(this.store, 'directory')]);
    this.routing = routing ? parseRoutingPolicy(routing.document) : undefined;
    const version = directory?.version ?? 0;
    if (version !== this.directoryVersion || !this.resolver) {
      this.directoryVersion = version;
      const stored = directory ? DirectoryFile.parse(directory.document) : undefined;
      this.resolver = this.build(stored);
      // a failed build is not kept, so a transient read error heals on the next call
      const pending = this.resolver;
      pending.catch(() => {
        if (this.resolver === pending) this.resolver = undefined;
      });
    }
    this.checkedAt = Date.now();
  }

  private async build(stored: Directory | undefined): Promise<RdapResolver> {
    const path = this.env.DIRECTORY_PATH;
    if (!stored && path === undefined) throw new Error('DIRECTORY_PATH is not set: this function has no party directory');
    const directory = stored ?? (await (this.bundled ??= loadDirectory(path!)));
    const store = this.store;
    if (this.env.RDAP_MODE === 'off') return new RdapResolver({ store, directory, securityTxt: false, guessAbuseMailbox: false });
    const bootstrap = await loadBootstrap(this.env.RDAP_BOOTSTRAP);
    // the registries' answers name the URLs asked next: never this account's network, but for the operator's own
    // RDAP service named by address
    const resolve = this.dns ? (host: string) => this.dns!.addresses(host) : undefined;
    const outside = guardedFetch({ guard: new AddressGuard({ allow: namedAddress(this.env.RDAP_BOOTSTRAP) }), ...(resolve ? { resolve } : {}) });
    return new RdapResolver({ store, directory, rdap: { client: new RdapClient({ fetch: outside }), bootstrap }, dns: this.dns ?? new SystemHostResolver(), securityTxt: { fetch: outside } });
  }

  /** The resolver of the current directory. */
  readonly parties: PartyResolver = {
    resolve: async (indicators) => {
      await this.refresh();
      return (await this.resolver!).resolve(indicators);
    },
  };
}

let deps: Deps | undefined;
let observability: LambdaObservability | undefined;
let runtime: RuntimeSettings | undefined;

/** The Powertools logger, metrics and tracer of this container (made once, outside the handler). */
export function awsObservability(): LambdaObservability {
  return (observability ??= lambdaObservability({ logLevel: readAwsEnv().LOG_LEVEL }));
}

/** The settings a coordinator changes at run time (the directory, the routing policy) of this container. */
export function awsRuntimeSettings(): RuntimeSettings {
  awsDeps();
  return runtime!;
}

/** The ports of the AWS host, built once per Lambda container (SDK clients keep their connections warm). */
export function awsDeps(): Deps {
  if (deps) return deps;
  const env = readAwsEnv();
  const o = awsObservability();
  // every audit event stored counts in the CloudWatch metrics (EMF), as the embedded host's Prometheus counts it
  const table = new DynamoDbStore({ tableName: env.TABLE_NAME });
  const store = observeEvents(table, emfEventCounter(o.metrics));
  const clock = new ScaledClock();
  const s3 = new S3Client({});
  const dns = env.RDAP_DNS ? new ServersHostResolver(env.RDAP_DNS.split(',').map((s) => s.trim()).filter(Boolean)) : undefined;
  const settingsRuntime = new RuntimeSettings(store, env, dns);
  runtime = settingsRuntime;
  const auditKey = env.AUDIT_KEY_ID && env.AUDIT_BUCKET ? storedAuditKey({ kmsKeyId: env.AUDIT_KEY_ID, bucket: env.AUDIT_BUCKET, s3, kms: new KMSClient({}) }) : undefined;
  const checkpoints = auditKey && env.AUDIT_BUCKET ? awsCheckpointer({ bucket: env.AUDIT_BUCKET, s3, store, clock, auditKey, log: o.logger }) : undefined;
  checkpointerOf = checkpoints?.checkpointer;
  const settings: Settings = {
    replyMailbox: env.REPLY_MAILBOX,
    fromAddress: env.FROM_ADDRESS,
    senderName: env.SENDER_NAME,
    publicUrl: env.PUBLIC_URL,
    pageSize: env.PAGE_SIZE,
    ...(env.UPLOAD_PAGE_SIZE ? { uploadPageSize: env.UPLOAD_PAGE_SIZE } : {}),
    maxMessageBytes: env.MAX_MESSAGE_BYTES,
    ...(env.ESCALATION_WINDOW_SECONDS ? { escalationWindowSeconds: env.ESCALATION_WINDOW_SECONDS } : {}),
    // the policy a coordinator stored, as the last refresh read it (RuntimeSettings)
    get routing() {
      return settingsRuntime.routing;
    },
  };
  deps = {
    store,
    workflows: new SfnWorkflows({
      stateMachineArns: { campaign: env.CAMPAIGN_STATE_MACHINE_ARN, notice: env.NOTICE_STATE_MACHINE_ARN, verify: env.VERIFY_STATE_MACHINE_ARN },
    }),
    // per function container: with the notice functions' concurrency this bounds what one domain receives
    mailer: new DomainRateLimitedMailer(new SesMailer({ configurationSet: env.SES_CONFIGURATION_SET }), { perMinute: env.SEND_PER_DOMAIN_PER_MINUTE }),
    // SES's receipt verdicts stand in for SPF/DKIM/DMARC here: no DNS checks of our own
    mailAuth: suffixOnlyAuthenticator,
    parties: settingsRuntime.parties,
    clock,
    ids: new CryptoIds(),
    log: o.logger,
    // TAKEDOWN_TEMPLATES_DIR names the copy bundled beside the function (lib/infra/stack.ts)
    templates: fileTemplateSource(),
    messages: new S3MessageStore({ bucket: env.MESSAGES_BUCKET, client: s3 }),
    ...(env.TAKEDOWN_KMS_KEY_ID ? { secrets: new KmsSecretBox({ keyId: env.TAKEDOWN_KMS_KEY_ID }) } : {}),
    ...(auditKey ? { auditKey } : {}),
    ...(checkpoints ? { checkpoints: checkpoints.port } : {}),
    ...(env.UPLOADS_BUCKET ? { uploads: new S3UploadStore({ bucket: env.UPLOADS_BUCKET, client: s3 }) } : {}),
    // the probes leave from the function's own address unless TAKEDOWN_PROBE_PROXY names an egress
    ...(env.TAKEDOWN_PROBES === 'on' ? { prober: createProber({ ...proberSettingsFromEnv(process.env), ...(env.PUBLIC_URL ? { contactUrl: env.PUBLIC_URL } : {}) }) } : {}),
    settings,
  };
  return deps;
}

let checkpointerOf: (() => Promise<Checkpointer>) | undefined;

/** The container's checkpointer (opened at its first use); undefined when the function has no audit bucket. */
export function awsCheckpoints(): (() => Promise<Checkpointer>) | undefined {
  awsDeps();
  return checkpointerOf;
}
