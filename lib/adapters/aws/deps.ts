import { z } from 'zod';
import type { Deps, PartyResolver, Store } from '../../core/ports.js';
import { loadDirectory } from '../directory/directory.js';
import { IANA_BOOTSTRAP_URL, loadBootstrap } from '../rdap/bootstrap.js';
import { RdapClient } from '../rdap/client.js';
import { SystemHostResolver } from '../rdap/dns.js';
import { RdapResolver } from '../rdap/resolver.js';
import { DynamoDbStore } from '../dynamodb/store.dynamodb.js';
import { SesMailer } from '../mail/mailer.ses.js';
import { suffixOnlyAuthenticator } from '../mail/domains.js';
import { ScaledClock } from '../runtime/clock.js';
import { CryptoIds } from '../runtime/ids.js';
import { JsonLogger } from '../runtime/logger.js';
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

/**
 * A resolver that reads the directory file (and the RDAP bootstrap) on its first use only: most functions never
 * resolve parties. The RDAP cache and the overrides live in the table.
 */
function lazyResolver(path: string | undefined, store: Store, env: AwsEnv): PartyResolver {
  let resolver: Promise<RdapResolver> | undefined;
  const build = async (directoryPath: string): Promise<RdapResolver> => {
    const directory = await loadDirectory(directoryPath);
    if (env.RDAP_MODE === 'off') return new RdapResolver({ store, directory, securityTxt: false, guessAbuseMailbox: false });
    const bootstrap = await loadBootstrap(env.RDAP_BOOTSTRAP);
    return new RdapResolver({ store, directory, rdap: { client: new RdapClient(), bootstrap }, dns: new SystemHostResolver() });
  };
  return {
    async resolve(indicators) {
      if (path === undefined) throw new Error('DIRECTORY_PATH is not set: this function has no party directory');
      const pending = (resolver ??= build(path));
      // a failed load is not kept, so a transient read error heals on the next call
      pending.catch(() => {
        if (resolver === pending) resolver = undefined;
      });
      return (await pending).resolve(indicators);
    },
  };
}

let deps: Deps | undefined;

/** The ports of the AWS host, built once per Lambda container (SDK clients keep their connections warm). */
export function awsDeps(): Deps {
  if (deps) return deps;
  const env = readAwsEnv();
  const store = new DynamoDbStore({ tableName: env.TABLE_NAME });
  deps = {
    store,
    workflows: new SfnWorkflows({
      stateMachineArns: { campaign: env.CAMPAIGN_STATE_MACHINE_ARN, notice: env.NOTICE_STATE_MACHINE_ARN, verify: env.VERIFY_STATE_MACHINE_ARN },
    }),
    // per function container: with the notice functions' concurrency this bounds what one domain receives
    mailer: new DomainRateLimitedMailer(new SesMailer({ configurationSet: env.SES_CONFIGURATION_SET }), { perMinute: env.SEND_PER_DOMAIN_PER_MINUTE }),
    // SES's receipt verdicts stand in for SPF/DKIM/DMARC here: no DNS checks of our own
    mailAuth: suffixOnlyAuthenticator,
    parties: lazyResolver(env.DIRECTORY_PATH, store, env),
    clock: new ScaledClock(),
    ids: new CryptoIds(),
    log: new JsonLogger(env.LOG_LEVEL),
    // TAKEDOWN_TEMPLATES_DIR names the copy bundled beside the function (lib/infra/stack.ts)
    templates: fileTemplateSource(),
    messages: new S3MessageStore({ bucket: env.MESSAGES_BUCKET }),
    ...(env.TAKEDOWN_KMS_KEY_ID ? { secrets: new KmsSecretBox({ keyId: env.TAKEDOWN_KMS_KEY_ID }) } : {}),
    // the probes leave from the function's own address unless TAKEDOWN_PROBE_PROXY names an egress
    ...(env.TAKEDOWN_PROBES === 'on' ? { prober: createProber({ ...proberSettingsFromEnv(process.env), ...(env.PUBLIC_URL ? { contactUrl: env.PUBLIC_URL } : {}) }) } : {}),
    settings: {
      replyMailbox: env.REPLY_MAILBOX,
      fromAddress: env.FROM_ADDRESS,
      senderName: env.SENDER_NAME,
      publicUrl: env.PUBLIC_URL,
      pageSize: env.PAGE_SIZE,
      maxMessageBytes: env.MAX_MESSAGE_BYTES,
      ...(env.ESCALATION_WINDOW_SECONDS ? { escalationWindowSeconds: env.ESCALATION_WINDOW_SECONDS } : {}),
    },
  };
  return deps;
}
