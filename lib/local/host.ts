import { readFileSync, writeFileSync, rmSync, existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { serve, type ServerType } from '@hono/node-server';
import { z } from 'zod';
import type { Deps, Logger, MailAuthenticator, Mailer, PartyResolver, Settings, TemplateSource } from '../core/ports.js';
import type { AuditEvent } from '../core/model.js';
import type { Prober } from '../core/verify/index.js';
import { createProber, proberSettingsFromEnv } from '../adapters/probe/prober.js';
import { runTask } from '../core/tasks.js';
import { receiveMail, type MailAuthResolver } from '../core/answers/index.js';
import { resumeAll, type ResumeReport } from '../core/campaign/index.js';
import { archiveExecution } from '../core/audit/index.js';
import { SqliteStore } from '../adapters/sqlite/store.sqlite.js';
import { LocalWorkflows } from '../adapters/local-sfn/workflows.local.js';
import { OfflineWorkflows } from '../adapters/local-sfn/workflows.offline.js';
import { DeferringMailer } from '../adapters/mail/deferring.js';
import { SmtpMailer } from '../adapters/mail/mailer.smtp.js';
import { OffloadPool } from '../adapters/offload/pool.js';
import { WalCheckpoints } from '../adapters/sqlite/wal-checkpoints.js';
import { DomainRateLimitedMailer } from '../adapters/mail/rate-limit.js';
import { startCaptureServer } from '../adapters/mail/capture-server.js';
import { startInboundServer } from '../adapters/mail/inbound-server.js';
import { registrableDomain, suffixOnlyAuthenticator } from '../adapters/mail/domains.js';
import { loadDirectory } from '../adapters/directory/directory.js';
import type { RdapResolver } from '../adapters/rdap/resolver.js';
import { loadRoutingPolicy, startPartyResolver } from './parties.js';
import { createApp } from '../adapters/http/app.js';
import { ScaledClock } from '../adapters/runtime/clock.js';
import { CryptoIds } from '../adapters/runtime/ids.js';
import { PinoLogger, silentLogger } from '../adapters/runtime/logger.js';
import { startSweeps } from './sweeps.js';
import { KeyFileSecretBox } from '../adapters/secrets/keyfile.js';
import { ensureLocalKey } from './keys.js';
import { registerOwnListener } from '../adapters/net/address-guard.js';
import { privateDir, PRIVATE_FILE, secureTree, writePrivate } from './data-dir.js';
import { loadAuditKeyFile } from '../adapters/secrets/audit-key.file.js';
import { FileCheckpointLog } from '../adapters/checkpoints/checkpoints.file.js';
import { Checkpointer } from '../core/audit/index.js';
import { DIRECTORY_AUDIT_ID, parseReplyAddress, parseVerpAddress } from '../core/routing/index.js';
import { fileTemplateSource } from '../adapters/templates/templates.fs.js';
import { openMessageStore } from './message-store.js';
import { observeEvents } from '../adapters/metrics/events.js';
import type { PrometheusMetrics } from '../adapters/metrics/prometheus.js';
import { servedFileOf, servedSettings } from './config.js';
import { HostConfig } from './host-config.js';

/** How often the running host checkpoints the heads of every chain that moved (real time). */
export const CHECKPOINT_INTERVAL_MS = 3_600_000;

export { configFromEnv, HostConfig } from './host-config.js';
export { alive, hostFiles, HostInfo, runningHost, storedClock, type HostFiles } from './host-files.js';
import { alive, hostFiles, type HostFiles, type HostInfo } from './host-files.js';

/**
 * One host per data directory: two engines over one store would each resume the other's notices. A lock
 * left by a killed host (its pid gone) is taken over; one held by a live process is waited for up to `waitMs`
 * (a command finishing its change), then refused.
 */
async function takeLock(files: HostFiles, waitMs: number, onWait?: (pid: number) => void): Promise<void> {
  const until = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      // exclusive create: of two hosts starting at once, one gets the lock and the other is told
      writeFileSync(files.lock, String(process.pid), { flag: 'wx', mode: PRIVATE_FILE });
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const pid = Number(readFileSync(files.lock, 'utf8'));
    if (!pid || pid === process.pid || !alive(pid)) {
      rmSync(files.lock, { force: true });
      continue;
    }
    if (Date.now() >= until) throw new Error(`another takedown process (pid ${pid}) is using ${files.dataDir}; stop it or use --data-dir`);
    if (!told) onWait?.(pid);
    told = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

function writeAtomic(path: string, text: string): void {
  writePrivate(path, text);
}

/**
 * The domain clock continues where the last run left it: the anchor is stored, and a new scale takes over
 * from the domain time reached under the old one.
 */
function openClock(files: HostFiles, scale: number, keep = false): ScaledClock {
  const realNow = Date.now();
  let anchorDomain = realNow;
  let stored: { anchorReal: number; anchorDomain: number; scale: number } | undefined;
  if (existsSync(files.clock)) {
    const old = z.object({ anchorReal: z.number(), anchorDomain: z.number(), scale: z.number() }).safeParse(JSON.parse(readFileSync(files.clock, 'utf8')));
    if (old.success) stored = old.data;
    if (stored) anchorDomain = stored.anchorDomain + (realNow - stored.anchorReal) * stored.scale;
  }
  // a command reads the clock the host keeps: it never changes its scale, nor writes it
  if (keep && stored) return new ScaledClock(stored);
  const clock = new ScaledClock({ scale, anchorReal: realNow, anchorDomain });
  if (!keep) writeAtomic(files.clock, JSON.stringify(clock.anchor()));
  return clock;
}

/**
 * The EHLO name when none is configured: the From's domain, which is a name the relay and the recipients' servers
 * can check, where the machine's own host name is often a container's id or `localhost`.
 */
function ehloNameOf(fromAddress: string): string | undefined {
  const address = /<([^<>]+)>\s*$/.exec(fromAddress)?.[1] ?? fromAddress;
  const domain = address.slice(address.lastIndexOf('@') + 1).trim().toLowerCase();
  return /^[a-z0-9.-]+\.[a-z]{2,}$/.test(domain) ? domain : undefined;
}


/** Whether a recipient address is one of ours: the reply mailbox, the From's address, a reply address or an envelope sender. */
function isOurAddress(settings: Settings, address: string): boolean {
  const a = address.trim().toLowerCase();
  const from = /<([^>]+)>\s*$/.exec(settings.fromAddress)?.[1] ?? settings.fromAddress;
  return (
    a === settings.replyMailbox.toLowerCase() ||
    a === from.trim().toLowerCase() ||
    parseReplyAddress(settings.replyMailbox, a) !== undefined ||
    parseVerpAddress(settings.replyMailbox, a) !== undefined
  );
}

/** SPF, DKIM and DMARC with mailauth, loaded with the first message to check: it takes about a second to load. */
function lazyMailauth(resolver: MailAuthResolver | undefined, trustReceived: boolean, servers?: readonly string[]): MailAuthenticator {
  let loaded: Promise<MailAuthenticator> | undefined;
  const load = () =>
    (loaded ??= import('../adapters/mail/mailauth.js').then((m) => new m.MailauthAuthenticator({ resolver: resolver ?? m.systemDnsResolver(undefined, servers), trustReceived })));
  return { check: async (mail) => (await load()).check(mail), registrableDomain };
}

/**
 * The DKIM key of the data directory, made (RSA 2048, mode 0600) when missing; the DNS record to publish is logged
 * once when it is made, and `openssl rsa -in dkim.key -pubout` shows it again.
 */
function dkimSigning(files: HostFiles, keySelector: string, domainName: string | undefined, log: Logger): { domainName: string; keySelector: string; privateKey: string } {
  if (!domainName) throw new Error('DKIM needs a signing domain: set dkimDomain (TAKEDOWN_DKIM_DOMAIN), or a From with a domain');
  if (!existsSync(files.dkimKey)) {
    const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writePrivate(files.dkimKey, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    log.warn('a DKIM key was made: publish its record before sending for real', { record: `${keySelector}._domainkey.${domainName}`, value: `v=DKIM1; k=rsa; p=${p}` });
  }
  return { domainName, keySelector, privateKey: readFileSync(files.dkimKey, 'utf8') };
}

/** The notice templates of English and the listed languages only (English is always there: every notice carries it). */
function onlyLanguages(source: TemplateSource, languages: readonly string[]): TemplateSource {
  const keep = new Set(['en', ...languages]);
  return { noticeFolders: () => Object.fromEntries(Object.entries(source.noticeFolders()).filter(([language]) => keep.has(language))) };
}

function makeLogger(level: z.infer<typeof HostConfig>['logLevel']): Logger {
  return level === 'silent' ? silentLogger : new PinoLogger(level);
}

export interface Host {
  readonly deps: Deps;
  readonly config: z.infer<typeof HostConfig>;
  readonly files: HostFiles;
  /** the workflow engine; a passive (command) host's runs nothing */
  readonly workflows: LocalWorkflows | OfflineWorkflows;
  readonly store: SqliteStore;
  readonly clock: ScaledClock;
  /** http://host:port of the API, when listening */
  readonly httpUrl?: string;
  readonly smtpPort?: number;
  /** where outbound mail goes, for people */
  readonly mailDestination: string;
  /** finds the parties of indicators (directory, overrides, RDAP) */
  readonly parties: RdapResolver;
  /** the local RDAP server, when the host started one */
  readonly rdapUrl?: string;
  readonly resumed: ResumeReport;
  /** the host's Prometheus metrics (served at GET /metrics) */
  readonly metrics: PrometheusMetrics;
  /** tell `observer` of every audit event stored through the host's deps from now on (MISP sync, tests) */
  onEvent(observer: (event: AuditEvent) => void): void;
  close(): Promise<void>;
}

export interface StartOptions {
  /** serve the HTTP API and the inbound SMTP server */
  readonly listen?: boolean;
  /** start again the executions a previous run left, and sweep while running (the default) */
  readonly resume?: boolean;
  /** wrap a port, e.g. to inject failures in a test */
  readonly decorate?: { readonly mailer?: (mailer: Mailer) => Mailer; readonly parties?: (resolver: PartyResolver) => PartyResolver };
  /** the verification prober (tests and the demo point it at their own servers); default: the real one, when probes are on */
  readonly prober?: Prober;
  /**
   * a command's host while no host serves the data directory: it records the command's change and runs and sends
   * nothing (no execution starts, mail is composed and deferred), keeps the clock as it stands and publishes no
   * address; the next `takedown serve` acts on what it recorded
   */
  readonly passive?: boolean;
  /** how long to wait for another process holding the data directory (a command finishing) @default 0 for a command, 30 s to serve */
  readonly lockWaitMs?: number;
  /** told once, when the lock is held by another process and the host waits for it */
  readonly onLockWait?: (pid: number) => void;
  /** the DNS that mail authentication asks (tests and the demo answer from a table); default: the system's resolver */
  readonly mailAuthResolver?: MailAuthResolver;
  /** how often the running host sweeps failed executions (a test shortens it) @default SWEEP_INTERVAL_MS (sweeps.ts) */
  readonly sweepEveryMs?: number;
}

/**
 * The embedded host: the core wired to SQLite, the local workflow engine running the shipped ASL, an outbox
 * (or a relay), an inbound SMTP server and the HTTP API. Everything lives under the data directory.
 */
export async function startHost(input: HostConfig = {}, options: StartOptions = {}): Promise<Host> {
  const config = HostConfig.parse(input);
  const files = hostFiles(config.dataDir);
  for (const dir of [files.dataDir, files.outbox, files.inbox]) privateDir(dir);
  const passive = options.passive === true;
  await takeLock(files, options.lockWaitMs ?? (options.listen ? 30_000 : 0), options.onLockWait);
  // a data directory an older version left open to others is closed before anything is read from it
  secureTree(files.dataDir);
  const log = makeLogger(config.logLevel);
  const closers: (() => Promise<void> | void)[] = [() => rmSync(files.lock, { force: true })];
  let closing: Promise<void> | undefined;
  // last opened, first closed; a second call waits for the first instead of closing again
  const closeAll = () =>
    (closing ??= (async () => {
      for (const close of [...closers].reverse()) await close();
    })());
  // prom-client takes a noticeable while to load: it loads while the store, the clock and the outbox start
  const metricsModule = import('../adapters/metrics/prometheus.js');
  try {
    if (options.listen && !passive) {
      // published at once: a command that finds the lock taken waits for this host's address instead of failing
      writeAtomic(files.hostInfo, JSON.stringify({ pid: process.pid, state: 'starting', startedAt: new Date().toISOString() } satisfies HostInfo));
      closers.push(() => rmSync(files.hostInfo, { force: true }));
    }
    const store = new SqliteStore(files.database);
    closers.push(() => store.close());
    const messages = openMessageStore(files);
    closers.push(() => messages.close());
    if (!passive) {
      // the logs are copied back on a thread of its own, not in a commit on the event loop (a command writes little)
      const checkpoints = new WalCheckpoints([files.database, messages.file], (m) => log.warn(m));
      closers.push(() => checkpoints.close());
    }
    // every audit event stored through the deps is counted, and shown to whoever asked (onEvent)
    const observers: ((event: AuditEvent) => void)[] = [];
    const observedStore = observeEvents(store, (event) => {
      for (const observe of observers) observe(event);
    });
    let running = () => 0;
    const clock = openClock(files, config.timeScale, passive);
    // every event is MACed with a key kept beside the database, never in it; chain heads go to an append-only log
    const newKey = !existsSync(files.auditKey);
    const auditKey = await loadAuditKeyFile(files.auditKey);
    const checkpointer = new Checkpointer({ store, clock, log: new FileCheckpointLog(files.checkpoints), auditKey, otherTrails: [DIRECTORY_AUDIT_ID] });
    let hourly: NodeJS.Timeout | undefined;
    // closed after everything opened later (the engine's last archives included) and before the store: the newest
    // events get a checkpoint of their own before the host stops
    closers.push(async () => {
      if (hourly) clearInterval(hourly);
      if (!checkpointsOpen) return;
      await checkpointer.checkpoint('all', 'host stop').catch((e: unknown) => log.error('the closing audit checkpoint failed', { error: (e as Error).name }));
    });
    let checkpointsOpen = false;

    let relayUrl = config.smtpUrl;
    let mailDestination: string;
    if (passive) {
      // nothing is handed over: the next serve sends through the transport the data directory's settings name
      relayUrl = 'smtp://127.0.0.1:9';
      mailDestination = 'deferred until takedown serve runs';
    } else if (!relayUrl) {
      const capture = await startCaptureServer({ dir: files.outbox });
      closers.push(() => capture.close());
      closers.push(registerOwnListener('127.0.0.1', capture.port));
      relayUrl = capture.url;
      mailDestination = files.outbox;
    } else {
      mailDestination = relayUrl.replace(/\/\/[^@/]*@/, '//');
    }
    const metrics = new (await metricsModule).PrometheusMetrics({ store, runningExecutions: () => running() });
    observers.push(metrics.onEvent);
    const dkim = config.dkimSelector ? dkimSigning(files, config.dkimSelector, config.dkimDomain ?? ehloNameOf(config.fromAddress), log) : undefined;
    const templates = config.languages ? onlyLanguages(fileTemplateSource(), config.languages) : fileTemplateSource();
    // notices rendered and composed on compose threads; none for a command (a thread's start costs more than its work)
    const offload = new OffloadPool(passive ? 0 : composeThreadsOf(config), dkim, () => templates.noticeFolders(), (m, d) => log.warn(m, d));
    closers.push(() => offload.close());
    const smtp = new SmtpMailer({ url: relayUrl, destination: mailDestination, ehloName: config.ehloName ?? ehloNameOf(config.fromAddress), composer: offload });
    closers.push(() => smtp.close());
    // one provider's desks are not flooded: messages to each recipient domain are spaced; the latency measured is
    // the transport's own, not the wait for a domain's turn
    const limited = new DomainRateLimitedMailer(metrics.timed(smtp), { perMinute: config.sendPerDomainPerMinute });
    const mailer = passive ? new DeferringMailer(smtp) : options.decorate?.mailer ? options.decorate.mailer(limited) : limited;

    const directory = await loadDirectory(config.directory);
    const routing = config.routing ? await loadRoutingPolicy(config.routing) : undefined;
    // a command routes nothing: no RDAP server of its own
    const parties = await startPartyResolver({ mode: passive ? 'off' : config.rdap, dataDir: files.dataDir, store, directory, log, ...(config.rdapBootstrap ? { bootstrap: config.rdapBootstrap } : {}) });
    closers.push(() => parties.close());
    if (parties.rdapUrl) closers.push(registerOwnListener(new URL(parties.rdapUrl).hostname, Number(new URL(parties.rdapUrl).port)));
    let depsRef: Deps | undefined;
    // every finished execution's event log goes into the audit trail: the engine keeps it in memory only
    const workflows = passive ? new OfflineWorkflows() : new LocalWorkflows((task, taskInput) => runTask(task, depsRef!, taskInput), log, 16, async (record) => {
      await archiveExecution(depsRef!, {
        workflow: record.workflow,
        name: record.name,
        status: record.status,
        startedAt: record.startedAt.toISOString(),
        endedAt: (record.endedAt ?? new Date()).toISOString(),
        events: record.events.map((e) => ({ type: e.type, ...(e.state ? { state: e.state } : {}), at: new Date(e.at).toISOString() })),
      });
    });
    closers.push(() => workflows.close());

    const settings: Settings = {
      replyMailbox: config.replyMailbox,
      fromAddress: config.fromAddress,
      senderName: config.senderName,
      ...(config.organisation ? { organisation: config.organisation } : {}),
      publicUrl: config.publicUrl,
      pageSize: pageSizeOf(config),
      defaultTlp: config.defaultTlp,
      maxMessageBytes: config.maxMessageBytes,
      ...(config.escalationWindowSeconds ? { escalationWindowSeconds: config.escalationWindowSeconds } : {}),
      ...(routing ? { routing } : {}),
      ...(config.revivalChecks ? { revivalChecks: config.revivalChecks } : {}),
    };
    const prober = config.probes === 'off' ? undefined : (options.prober ?? createProber({ ...proberSettingsFromEnv(process.env), ...(config.publicUrl ? { contactUrl: config.publicUrl } : {}) }));
    running = () => workflows.running();
    const deps: Deps = {
      store: observedStore,
      workflows,
      mailer,
      parties: options.decorate?.parties ? options.decorate.parties(parties.resolver) : parties.resolver,
      clock,
      ids: new CryptoIds(),
      log,
      settings,
      templates,
      ...(passive ? {} : { offload }),
      messages,
      secrets: new KeyFileSecretBox(files.secretKey),
      auditKey,
      checkpoints: { campaignChanged: async (campaignId, reason) => void (await checkpointer.checkpoint([campaignId], reason)) },
      mailAuth: config.mailAuth === 'off' ? suffixOnlyAuthenticator : lazyMailauth(options.mailAuthResolver, config.mailAuth === 'dns-relayed', config.mailDns),
      ...(prober ? { prober } : {}),
    };
    depsRef = deps;
    // the first record of a new log is the baseline: the events it covers are the only ones that may lack a MAC
    const checkpoints = await checkpointer.open({ baseline: newKey });
    checkpointsOpen = true;
    if (!checkpoints.ok) log.error('the audit checkpoint log does not verify; run `takedown audit verify`', { record: checkpoints.broken?.n });
    if (!newKey && checkpoints.records === 0) log.error('the audit checkpoint log was missing under an existing audit key; run `takedown audit verify`');
    await checkpointer.checkpoint('all', 'host start');
    hourly = setInterval(() => {
      checkpointer.checkpoint('all', 'hourly').catch((e: unknown) => log.error('the hourly audit checkpoint failed', { error: (e as Error).name }));
    }, CHECKPOINT_INTERVAL_MS);
    hourly.unref();

    let httpUrl: string | undefined;
    let smtpPort: number | undefined;
    if (options.listen && !passive) {
      const inbound = await startInboundServer({
        host: config.smtpHost,
        port: config.smtpPort,
        // our reply mailbox, its reply addresses and envelope senders: nothing else is delivered here
        acceptRecipient: (address) => isOurAddress(settings, address),
        onMail: async (mail) => {
          // kept whole before it is read, so a reply is never lost to a bug in the reader
          const name = `${new Date().toISOString().replace(/:/g, '-')}-${deps.ids.newId('m')}.eml`;
          writeAtomic(join(files.inbox, name), mail.raw);
          const result = await receiveMail(deps, mail, { rawRef: `inbox/${name}` });
          log.info('inbound mail', { file: name, class: result.class, outcome: result.outcome, matched: result.matched, notice: result.noticeId, intent: result.intent });
        },
      });
      closers.push(() => inbound.close());
      smtpPort = inbound.port;
      // probes and lookups never connect to this host's own servers, whatever a submitter's URL or DNS says
      closers.push(registerOwnListener(config.smtpHost, inbound.port));

      // the CLI on this machine reaches the API with it (keys.ts); written before host.json tells anyone to try
      await ensureLocalKey(store, files.dataDir);
      const app = createApp(deps, { metrics, rootRedirect: true, keyHint: `takedown keys create --role coordinator --name <you> --data-dir ${files.dataDir}` });
      const server = await new Promise<ServerType>((ok) => {
        const s = serve({ fetch: app.fetch, hostname: config.httpHost, port: config.httpPort }, () => ok(s));
      });
      closers.push(() => new Promise<void>((done) => server.close(() => done())));
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : config.httpPort;
      closers.push(registerOwnListener(config.httpHost, port));
      httpUrl = `http://${config.httpHost}:${port}`;
      if (!settings.publicUrl) (settings as { publicUrl?: string }).publicUrl = httpUrl;
      // what this serve composes with, for the commands that record changes while it is not running: they compose
      // the same messages (the same From, sender, public URL for the links, size limit) and defer them to it
      writePrivate(servedFileOf(files.dataDir), servedSettings({ ...input, publicUrl: settings.publicUrl }));
    }

    // what the start wrote (the database, the seeded RDAP answers, the local API key) is private too
    secureTree(files.dataDir);
    if (config.misp?.sync === 'auto' && !passive) {
      // outcomes go back to the MISP instance as they happen; loaded only when configured
      const { autoSyncToMisp } = await import('./misp.js');
      const auto = autoSyncToMisp(deps, config.misp, log);
      observers.push(auto.observe);
      closers.push(() => auto.drain());
    }

    if (httpUrl) {
      // reachable before it resumes: a command arriving meanwhile goes through the API rather than wait or fail; its
      // change and the resume meet in the store, where every step is a versioned write
      writeAtomic(files.hostInfo, JSON.stringify({ pid: process.pid, state: 'ready', httpUrl, smtpPort, startedAt: new Date().toISOString() } satisfies HostInfo));
    }
    const resumed = options.resume === false || passive ? { campaigns: 0, notices: 0, answersApplied: 0 } : await resumeAll(deps);
    if (Object.values(resumed).some((n) => n)) log.info('resumed', { ...resumed });
    // a follow-up the relay refused for now goes when it takes it, a failed execution starts again: not only at the
    // next start (a dry-run host, which must not send, neither resumes nor sweeps)
    if (!passive && options.resume !== false) closers.push(startSweeps(deps, options.sweepEveryMs));

    return {
      deps,
      config,
      files,
      workflows,
      store,
      clock,
      httpUrl,
      smtpPort,
      mailDestination,
      parties: parties.resolver,
      ...(parties.rdapUrl ? { rdapUrl: parties.rdapUrl } : {}),
      resumed,
      metrics,
      onEvent: (observer) => void observers.push(observer),
      close: closeAll,
    };
  } catch (e) {
    await closeAll();
    throw e;
  }
}

/**
 * Worker threads that compose messages: one per core beside the main thread's, at most two (the main thread is what
 * bounds sending; a third composer would wait on it). None on one core.
 */
export function composeThreadsOf(config: Pick<HostConfig, 'composeThreads'>): number {
  return config.composeThreads ?? Math.min(2, availableParallelism() - 1);
}

/** The routing page: the configured one, else 20,000, or 500 when a page waits on the registries' RDAP servers. */
export function pageSizeOf(config: Pick<HostConfig, 'pageSize' | 'rdap'>): number {
  return config.pageSize ?? (config.rdap === 'real' ? 500 : 20_000);
}
