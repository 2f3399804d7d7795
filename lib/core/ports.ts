import type { Campaign, Case, Indicator, Notice, Party, PartyKind, RoutingPolicy, TLP } from './model.js';
import type { Store } from './store.js';

/**
 * The ports: what the domain needs from the outside world. One interface here, one adapter per host.
 * Every adapter of a port passes the same contract test suite.
 */

export type { CachedLookup, CaseCounts, Page, PageRequest, QueuedReview, Store, StoredRecord } from './store.js';

export type WorkflowName = 'campaign' | 'notice' | 'verify';

/** Every workflow, each defined by `workflows/<name>.asl.json`. */
export const WORKFLOW_NAMES: readonly WorkflowName[] = ['campaign', 'notice', 'verify'];

/** Starts workflow executions and completes the tasks they wait on. */
export interface Workflows {
  /**
   * Starts an execution named `name` (derived from ids and a round). Starting a name that is already
   * running is not an error and starts nothing.
   */
  start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void>;
  /** TaskTokenExpiredError when nothing waits on the token any more */
  succeed(taskToken: string, output: Record<string, unknown>): Promise<void>;
  /**
   * What became of the execution named `name`: `failed` covers failed, timed out and aborted; `absent` an
   * execution never started (or forgotten: AWS keeps a closed one's name 90 days, the embedded engine in memory).
   */
  describe(workflow: WorkflowName, name: string): Promise<ExecutionStatus>;
  /**
   * The names of `workflow`'s executions that run, and of those that ended without success (failed, timed out,
   * aborted) and are still known: what the sweeper asks in a call per thousand executions, where a describe per live
   * notice cost a call each (a big operation's 20,000 notices, one after the other, every sweep). A name in neither
   * is described. Optional: a sweep on an engine without it describes each execution.
   */
  census?(workflow: WorkflowName): Promise<ExecutionCensus>;
}

/** An execution as the sweeper sees it (Workflows.describe). */
export type ExecutionStatus = 'running' | 'succeeded' | 'failed' | 'absent';

/** The executions of one workflow that run, and those that ended without success (Workflows.census). */
export interface ExecutionCensus {
  readonly running: ReadonlySet<string>;
  readonly failed: ReadonlySet<string>;
}

/** A message ready to compose; the adapter turns it into exact bytes. */
export interface MailDraft {
  readonly from: string;
  readonly to: string;
  readonly replyTo: string;
  readonly subject: string;
  readonly text: string;
  readonly messageId: string;
  readonly inReplyTo?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly attachments?: readonly { filename: string; contentType: string; content: string }[];
  /** the same notice as HTML, sent as the alternative of `text` */
  readonly html?: string;
  /** send as an ARF report (RFC 5965): `text` first, then these fields, then the attachments as the third part */
  readonly arf?: ArfFields;
}

/** Which slice of a message's cases one part carries, for its text: indicators `first` to `last` of `total`. */
export interface MessagePart {
  readonly index: number;
  readonly of: number;
  /** 1-based, inclusive */
  readonly first: number;
  readonly last: number;
  readonly total: number;
}

/** One-click answer links of a notice: full URLs, each single-use, made by the links module. */
export interface AnswerLinks {
  readonly acknowledge: string;
  readonly actioned: string;
  readonly notOurs: string;
}

/** What a message is rendered from, as data: renderNotice's input but the templates. */
export interface RenderJob {
  readonly notice: Notice;
  readonly campaign: Campaign;
  readonly cases: readonly Case[];
  /** the reply token: it goes into the reply address, and nowhere else */
  readonly token: string;
  readonly messageId: string;
  readonly settings: Settings;
  /** for a reminder: which one, and the Message-ID of the original notice */
  readonly reminder?: { readonly n: number; readonly originalMessageId: string };
  /** for a case that came back after a verified takedown: when it was verified down, and the probe that found it back */
  readonly revival?: { readonly verifiedDownAt?: string; readonly detail: string };
  /** for an escalation: who was asked before, and when */
  readonly previous?: { readonly party: string; readonly sentAt?: string };
  readonly now: Date;
  /** one-click links (acknowledge / taken down / not ours), shown when given */
  readonly links?: AnswerLinks;
  /** where ticket systems post signed answers @default settings.publicUrl + '/webhooks/answers' when publicUrl is set */
  readonly webhookUrl?: string;
  /** set when the message goes in several parts (a notice too big for one): which slice of the cases this is */
  readonly part?: MessagePart;
}

/**
 * The core's CPU-bound pure work, run off the calling thread (the embedded host's compose threads). Absent: it runs
 * on the calling thread. Whatever it gives must be what running here gives.
 */
export interface Offload {
  /** renderNotice(job) with the host's templates, and the draft's bytes as deps.mailer composes them */
  renderAndCompose(job: RenderJob): Promise<{ readonly draft: MailDraft; readonly raw: string }>;
}

/** The `message/feedback-report` fields of an ARF notice; all ASCII (the part is 7-bit). */
export interface ArfFields {
  readonly feedbackType: 'xarf';
  /** product/version of the reporting software */
  readonly userAgent: string;
  /** how many indicators the report covers */
  readonly incidents?: number;
  /** the address the reported infrastructure sits at, when the notice covers exactly one */
  readonly sourceIp?: string;
  /** ISO time the first indicator was first seen */
  readonly arrivalDate?: string;
  readonly reportedDomains?: readonly string[];
  readonly reportedUris?: readonly string[];
}

export interface SentMail {
  /** what the transport calls the message (SES rewrites the Message-ID) */
  readonly transportId: string;
  /** where the message went, for people: "outbox/…eml", "smtp://relay", "ses" */
  readonly destination: string;
  /** nothing was handed over: the message waits, stored, for a host that sends (see DeferringMailer) */
  readonly deferred?: boolean;
}

/** An inbound message, parsed by an adapter (mailparser) from its raw bytes. */
export interface InboundMail {
  /** the exact bytes received */
  readonly raw: string;
  readonly from?: string;
  /** every recipient address (To, Cc, and the SMTP envelope's RCPT TO), lower case */
  readonly to: readonly string[];
  readonly subject: string;
  /** the plain-text body (from the HTML part when there is no text part) */
  readonly text: string;
  readonly messageId?: string;
  readonly inReplyTo?: string;
  readonly references: readonly string[];
  /** header names lower case; repeated headers joined with "\n" */
  readonly headers: Readonly<Record<string, string>>;
  readonly date?: string;
  /** the SMTP session it came in: the client's address, its HELO name and the envelope's MAIL FROM ('' for a bounce) */
  readonly client?: { readonly ip?: string; readonly helo?: string; readonly mailFrom?: string };
  /** verdicts the receiving service already reached (SES's receipt); when absent, `Deps.mailAuth` checks the message */
  readonly auth?: MailAuthVerdicts;
}

/**
 * What the receiving side concluded about who sent a message, each verdict lower case as in Authentication-Results
 * (RFC 8601): pass, fail, softfail, neutral, none, temperror, permerror, policy. Absent: not checked.
 */
export interface MailAuthVerdicts {
  readonly spf?: string;
  /** of the signatures aligned with the From domain (SES: of the message) */
  readonly dkim?: string;
  readonly dmarc?: string;
  /** the From domain's DMARC policy (none, quarantine, reject), when DMARC failed */
  readonly dmarcPolicy?: string;
  /** a receiving service's content scans (SES: X-SES-Spam-Verdict, X-SES-Virus-Verdict) */
  readonly spam?: string;
  readonly virus?: string;
  /** who reached them: `mailauth`, `ses`, `ses-headers` */
  readonly by?: string;
}

/** Checks who sent an inbound message: SPF, DKIM and DMARC need DNS, a domain's owner needs the public suffix list. */
export interface MailAuthenticator {
  /** the message's verdicts; empty when this host does not check them (no DNS) */
  check(mail: InboundMail): Promise<MailAuthVerdicts>;
  /** the registrable domain of a host name (`tickets.hoster.co.uk` -> `hoster.co.uk`); undefined for a public suffix */
  registrableDomain(host: string): string | undefined;
}

export interface Mailer {
  /** the exact RFC 5322 bytes of the draft */
  compose(draft: MailDraft): Promise<string>;
  /**
   * Hands `raw` over unchanged. `envelope.from` is the envelope sender (VERP), `size` the message's length in
   * bytes, announced where the transport can (SMTP SIZE), so a server that would refuse it says so before the
   * upload. MailTransientError (retry may help) or MailRejectedError (it will not; its `scope` says whose fault).
   */
  sendRaw(envelope: { from: string; to: string; size?: number }, raw: string): Promise<SentMail>;
}

/**
 * The exact bytes of the messages we send, outside the store's records: a notice to a big hoster is megabytes,
 * a DynamoDB item 400 KB at most. A SQLite file of their own in the data directory on the embedded host, an S3
 * bucket on AWS.
 * Keys are chosen by the core (`<outbound id>/<composition>/p<k>.eml`); values are ASCII message text.
 */
export interface MessageStore {
  put(key: string, raw: string): Promise<void>;
  /** undefined when nothing is stored under the key */
  get(key: string): Promise<string | undefined>;
  /** removes the object if it is there */
  delete(key: string): Promise<void>;
}

/**
 * Files too big for a request body (up to 100 MB, 200,000 indicators), uploaded by the coordinator straight to
 * storage and read from there a piece at a time by the campaign workflow: an S3 bucket and presigned URLs on AWS.
 * Keys are chosen by the core (`uploads/<upload id>`).
 */
export interface UploadStore {
  /** a URL the coordinator PUTs exactly `size` bytes to, until `expiresAt` */
  createUpload(key: string, size: number): Promise<{ url: string; expiresAt: string }>;
  /** the uploaded file, read from its start on each call to `chunks`; undefined when nothing was uploaded */
  open(key: string): Promise<{ readonly size: number; chunks(): AsyncIterable<Uint8Array | string> } | undefined>;
}

/** The parties that can act on one indicator, found by a directory, RDAP ... */
export interface PartyLookup {
  readonly hosting?: Party;
  readonly registrar?: Party;
  readonly registry?: Party;
  /** the network announcing the hosting network (its origin AS), for the step after the hosting network */
  readonly upstream?: Party;
  readonly cert?: Party;
  /** the country the indicator's infrastructure sits in, when known */
  readonly country?: string;
  /** the origin AS of the hosting network, `AS64500`, when known */
  readonly asn?: string;
  /** why a party could not be found or has only a guessed contact, one line each; never stops the campaign */
  readonly problems?: readonly { party: PartyKind; reason: string }[];
}

export interface PartyResolver {
  /** one result per indicator, same order */
  resolve(indicators: readonly Indicator[]): Promise<PartyLookup[]>;
}

/**
 * Domain time. On the embedded host it may run faster than real time; waits in the workflows are
 * computed from stored absolute deadlines through `engineSeconds`.
 */
export interface Clock {
  now(): Date;
  /** how many seconds the workflow engine must wait for `domainSeconds` of domain time to pass (>= 1) */
  engineSeconds(domainSeconds: number): number;
}

export interface Ids {
  /** a new random id with a prefix, e.g. `cmp_…` */
  newId(prefix: string): string;
  /** a stable id from its parts: the same parts give the same id (idempotent starts, deterministic cases) */
  derive(prefix: string, ...parts: string[]): string;
  /** an unguessable token (>= 128 bits), URL- and mailbox-safe */
  newToken(): string;
  hash(value: string): string;
  /** constant-time comparison of a token with a stored hash */
  tokenMatches(token: string, hash: string): boolean;
}

export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/* The verification probes (verify/probe.ts decides what their observations mean). */

export type ProbeMethod = 'dns' | 'tcp' | 'http';

export type ProbeVerdict = 'live' | 'down' | 'nxdomain' | 'sinkholed' | 'parked' | 'refused' | 'timeout' | 'error';

/** Where a probe was when it failed or timed out. */
export type ProbePhase = 'dns' | 'connect' | 'proxy' | 'tls' | 'response' | 'body';

export interface ProbeEvidence {
  /** what the name resolved to (canonical addresses, IPv4 first) */
  addresses?: string[];
  /** the HTTP status of the last response */
  status?: number;
  /** the URL of the last response (after redirects) */
  finalUrl?: string;
  /** redirects followed */
  redirects?: number;
  /** sha-256 (hex) of the body bytes read (decoded, at most the configured cap) */
  bodySha256?: string;
  bodyBytes?: number;
  /** the body was longer than the cap: the hash covers its beginning only and is not compared */
  bodyTruncated?: boolean;
  /** the body's hash equals the evidence's; absent when there was nothing to compare */
  matchesEvidence?: boolean;
  /** what gave a parked or suspended page away: a phrase or a parking host */
  parkedBy?: string;
  /** TCP: the ports that accepted a connection */
  openPorts?: number[];
  /** HTTPS: whether the certificate verified (a probe reads the page either way: a bad certificate does not take a page down) */
  tlsAuthorized?: boolean;
  /** a system error code (ECONNREFUSED, ENOTFOUND, ...) or a short reason; never a message with data in it */
  error?: string;
  phase?: ProbePhase;
  /** the probe went out through the configured egress proxy */
  viaProxy?: boolean;
  /** the whole probe, retries and the wait for the host's turn included */
  durationMs?: number;
}

export interface ProbeResult {
  readonly method: ProbeMethod;
  /** what was probed (host, host:port, URL) */
  readonly target: string;
  /** is the malicious thing still reachable/serving; read it together with `conclusive` */
  readonly live: boolean;
  /**
   * the result is evidence either way. `live: false, conclusive: false` (verdict `error`, or a time-out after the
   * connection was made) proves nothing: probe again, and do not close the case on it
   */
  readonly conclusive: boolean;
  readonly verdict: ProbeVerdict;
  /** one line for people: "HTTP 200 after 1 redirect, body sha256 matches the evidence" */
  readonly detail: string;
  /** ISO time the probe finished */
  readonly at: string;
  readonly attempts: number;
  readonly evidence: ProbeEvidence;
}

export interface ProbeRequest {
  readonly indicator: Indicator;
  /** sha-256 (hex) of the page as the evidence saw it */
  readonly evidenceSha256?: string;
}

/** Probes one indicator through the network port. Never throws for a network failure: that is a verdict. */
export interface Prober {
  probe(req: ProbeRequest): Promise<ProbeResult>;
}

/**
 * Encryption at rest for secrets the host must read back in the clear: a webhook's HMAC key cannot be checked
 * against a hash. One adapter per host: a key file on the embedded host, KMS on AWS.
 */
export interface SecretBox {
  /**
   * the plaintext encrypted and authenticated, as text safe to store in a record, bound to `context` (whose secret
   * it is, e.g. `webhook-secret:<recipient>`): it opens for that context only
   */
  seal(plaintext: string, context: string): Promise<string>;
  /**
   * the plaintext of `seal`'s output; SecretBoxError when it was altered, sealed under another key or bound to
   * another context. A value sealed before values were bound opens for any context: see `bound`
   */
  open(sealed: string, context: string): Promise<string>;
  /** false for a value sealed before values were bound to their context: re-seal it once opened */
  bound(sealed: string): boolean;
}

/**
 * The key of the audit trail, held outside the store (a 0600 key file on the embedded host, a KMS-protected data
 * key on AWS): each event and each checkpoint carries its MAC, so rewriting the trail needs the key, not only
 * write access to the database.
 */
export interface AuditKey {
  /** names the key in each MAC (a short hash of it, never the key), so another key is told apart from tampering */
  readonly keyId: string;
  /** HMAC-SHA-256 of `message` under the key, lower-case hex */
  mac(message: string): Promise<string>;
}

/**
 * Write-once storage for checkpoints of the audit trail's chain heads (an append-only file with its own hash
 * chain on the embedded host, the Object Lock bucket on AWS): records are added, never replaced or removed.
 */
export interface CheckpointLog {
  /** every record, oldest first, as stored (audit/checkpoints.ts checks them) */
  readAll(): Promise<unknown[]>;
  /**
   * the newest record only, undefined for an empty log; optional: a log too long to read whole at every start
   * (the AWS host's, opened in each Lambda container) offers it
   */
  readLast?(): Promise<unknown>;
  /** stores the record numbered `n`; AlreadyExistsError when a record with that number exists */
  append(record: { readonly n: number } & Record<string, unknown>): Promise<void>;
}

/** Writes a checkpoint of a campaign's chain heads when the campaign's state changes (the host composes it). */
export interface AuditCheckpointer {
  campaignChanged(campaignId: string, reason: string): Promise<void>;
}

/** The notice templates as files: language folder -> file name -> text (`templates/notice/<language>/<file>`). */
export type TemplateFolders = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * Where the notice templates come from: the template folder on the embedded host, the copy bundled beside the
 * function on Lambda. Read once; notices/templates.ts parses and checks them.
 */
export interface TemplateSource {
  noticeFolders(): TemplateFolders;
}

/** Settings the commands need that are not ports. */
export interface Settings {
  /** the mailbox replies come to; the token goes in its plus part: local+token@domain */
  readonly replyMailbox: string;
  /** the From of every notice */
  readonly fromAddress: string;
  /** the name signed under notices */
  readonly senderName: string;
  /** who coordinates, as notices and their XARF reports name it @default senderName */
  readonly organisation?: string;
  /** base URL of the HTTP API, shown to recipients */
  readonly publicUrl?: string;
  /** indicators routed per workflow step */
  readonly pageSize: number;
  /** fresh indicators of an uploaded file stored per step of the campaign workflow's reading loop @default 50,000 */
  readonly uploadPageSize?: number;
  /** who gets a case, in which order, with which deadlines @default DEFAULT_ROUTING_POLICY */
  readonly routing?: RoutingPolicy;
  /** the TLP of a campaign submitted without one @default 'AMBER' */
  readonly defaultTlp?: TLP;
  /**
   * the largest message sent, in bytes: a bigger notice goes as numbered parts of one thread; the smaller of this
   * and a server's own limit applies @default DEFAULT_MAX_MESSAGE_BYTES (10 MB, Postfix's default)
   */
  readonly maxMessageBytes?: number;
  /**
   * cases escalating to the same party within this many domain seconds go in one notice, sent when the window ends
   * @default DEFAULT_ESCALATION_WINDOW_SECONDS (10 minutes)
   */
  readonly escalationWindowSeconds?: number;
  /** revival checks after a verified takedown, domain seconds after it @default DEFAULT_REVIVAL_CHECKS (+1 day, +7 days) */
  readonly revivalChecks?: readonly number[];
}

/** Everything a command may use. */
export interface Deps {
  readonly store: Store;
  readonly workflows: Workflows;
  readonly mailer: Mailer;
  readonly parties: PartyResolver;
  readonly clock: Clock;
  readonly ids: Ids;
  readonly log: Logger;
  readonly settings: Settings;
  /** rendering and composing notices off the calling thread; absent: on it */
  readonly offload?: Offload;
  /** the verification probes; absent: actioned cases stay actioned, unverified (recorded) */
  readonly prober?: Prober;
  /** who sent an inbound message; absent: only the sender's own domain and its subdomains fit a notice's contact */
  readonly mailAuth?: MailAuthenticator;
  /** seals recipients' webhook secrets at rest; absent: webhook answers are refused (503) */
  readonly secrets?: SecretBox;
  /** the notice templates */
  readonly templates: TemplateSource;
  /** the exact bytes of the messages we send */
  readonly messages: MessageStore;
  /** MACs every audit event; absent: events carry their hash only (tests, and hosts without a key) */
  readonly auditKey?: AuditKey;
  /** checkpoints the chain heads of a campaign whose state changed; absent: no checkpoints (tests) */
  readonly checkpoints?: AuditCheckpointer;
  /** where big files are uploaded for the campaign workflow to read; absent: files come in the request (the embedded host) */
  readonly uploads?: UploadStore;
}
