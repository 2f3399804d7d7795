import { App } from 'aws-cdk-lib';
import { TakedownStack } from '../lib/infra/stack.js';

/**
 * The CDK app (cdk.json's "app"). Every setting comes from `-c name=value`, else from the environment, else the
 * default below. It synthesises offline and without credentials: the stack is environment-agnostic unless the
 * CLI supplies an account and region (CDK_DEFAULT_ACCOUNT/REGION, set when credentials are present).
 *
 *   replyMailbox  TAKEDOWN_REPLY_MAILBOX  default takedown@example.org   the mailbox replies come to
 *   fromAddress   TAKEDOWN_FROM_ADDRESS   default takedown@example.org   the From of every notice (SES identity)
 *   senderName    TAKEDOWN_SENDER_NAME    default Takedown coordination  signed under notices
 *   directoryFile TAKEDOWN_DIRECTORY      default examples/directory.yaml
 *   publicUrl     TAKEDOWN_PUBLIC_URL     default the HTTP API's URL
 *   stackName     TAKEDOWN_STACK_NAME     default Takedown               also prefixes the state machine names
 *   inboundDomain TAKEDOWN_INBOUND_DOMAIN default none: no SES receiving  the reply mailbox's domain, received by SES
 *   sesEvents     TAKEDOWN_SES_EVENTS     default on                     'off': no configuration set, no bounce events
 *   evidenceRetentionDays  TAKEDOWN_EVIDENCE_RETENTION_DAYS  default none: no evidence bucket; else the days each
 *                 exported evidence pack stays locked (S3 Object Lock, COMPLIANCE mode: cannot be shortened)
 *   escalationWindowSeconds TAKEDOWN_ESCALATION_WINDOW_SECONDS default 600: escalations to one party within it share a notice
 *   maxMessageBytes TAKEDOWN_MAX_MESSAGE_BYTES default 10240000: a bigger notice goes in numbered parts
 *   rdap          TAKEDOWN_RDAP           default on: 'off' routes by the directory and the overrides alone
 *   rdapBootstrap TAKEDOWN_RDAP_BOOTSTRAP default IANA's registries: a URL or folder of bootstrap files
 *   auditRetentionDays TAKEDOWN_AUDIT_RETENTION_DAYS default 400: days each audit checkpoint stays locked
 *   probeProxy    TAKEDOWN_PROBE_PROXY    default none: probes leave from the functions' own addresses; else the
 *                 egress proxy (http://host:port) they leave through, so the probed operator never sees the account
 *   indexProjection TAKEDOWN_INDEX_PROJECTION default keys: the table's indexes hold keys; 'all' for a stack deployed
 *                 before they did (CloudFormation cannot change an index's projection in place)
 */
const app = new App();

function setting(name: string, envName: string): string | undefined {
  const value: unknown = app.node.tryGetContext(name) ?? process.env[envName];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
const evidenceRetentionDays = setting('evidenceRetentionDays', 'TAKEDOWN_EVIDENCE_RETENTION_DAYS');

new TakedownStack(app, setting('stackName', 'TAKEDOWN_STACK_NAME') ?? 'Takedown', {
  env: account && region ? { account, region } : undefined,
  description: 'Takedown orchestrator: route confirmed malicious infrastructure to who can take it down',
  replyMailbox: setting('replyMailbox', 'TAKEDOWN_REPLY_MAILBOX') ?? 'takedown@example.org',
  fromAddress: setting('fromAddress', 'TAKEDOWN_FROM_ADDRESS') ?? 'takedown@example.org',
  senderName: setting('senderName', 'TAKEDOWN_SENDER_NAME'),
  directoryFile: setting('directoryFile', 'TAKEDOWN_DIRECTORY'),
  publicUrl: setting('publicUrl', 'TAKEDOWN_PUBLIC_URL'),
  inboundDomain: setting('inboundDomain', 'TAKEDOWN_INBOUND_DOMAIN'),
  sesEvents: setting('sesEvents', 'TAKEDOWN_SES_EVENTS') !== 'off',
  ...(setting('escalationWindowSeconds', 'TAKEDOWN_ESCALATION_WINDOW_SECONDS') ? { escalationWindowSeconds: Number(setting('escalationWindowSeconds', 'TAKEDOWN_ESCALATION_WINDOW_SECONDS')) } : {}),
  ...(setting('maxMessageBytes', 'TAKEDOWN_MAX_MESSAGE_BYTES') ? { maxMessageBytes: Number(setting('maxMessageBytes', 'TAKEDOWN_MAX_MESSAGE_BYTES')) } : {}),
  rdap: { enabled: setting('rdap', 'TAKEDOWN_RDAP') !== 'off', ...(setting('rdapBootstrap', 'TAKEDOWN_RDAP_BOOTSTRAP') ? { bootstrap: setting('rdapBootstrap', 'TAKEDOWN_RDAP_BOOTSTRAP') } : {}) },
  ...(setting('auditRetentionDays', 'TAKEDOWN_AUDIT_RETENTION_DAYS') ? { auditRetentionDays: Number(setting('auditRetentionDays', 'TAKEDOWN_AUDIT_RETENTION_DAYS')) } : {}),
  ...(evidenceRetentionDays ? { evidenceBucket: { retentionDays: Number(evidenceRetentionDays) } } : {}),
  ...(setting('probeProxy', 'TAKEDOWN_PROBE_PROXY') ? { probes: { proxy: setting('probeProxy', 'TAKEDOWN_PROBE_PROXY') } } : {}),
  indexesProjectAll: indexProjection(setting('indexProjection', 'TAKEDOWN_INDEX_PROJECTION')),
});

/** Whether the table's indexes project every attribute: `all` says so, `keys` (the default) not; anything else is refused. */
function indexProjection(value: string | undefined): boolean {
  if (value === undefined || value === 'keys') return false;
  if (value === 'all') return true;
  throw new Error(`indexProjection is "${value}": it takes "keys" (the default) or "all" (a stack deployed before the indexes held keys only)`);
}
