import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateKeyPairSync } from 'node:crypto';
import { simpleParser } from 'mailparser';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import type { AuditEvent, Case } from '../core/model.js';
import { listAll } from '../core/paging.js';
import { submitCampaign } from '../core/campaign/index.js';
import { sendFollowup } from '../core/notices/index.js';
import { listReviews } from '../core/answers/index.js';
import { CASE_FINISHED } from '../core/lifecycle.js';
import { createProber } from '../adapters/probe/prober.js';
import { startDnsStub, type DnsStub } from '../adapters/probe/dns-stub.js';
import { deliveryReport } from '../adapters/mail/dsn.js';
import { tableDnsResolver } from '../adapters/mail/mailauth.js';
import { startHost, type Host } from './host.js';

/**
 * `takedown demo`: a whole campaign on the embedded host against simulated recipients, with time compressed so
 * the lifecycle plays in about a minute. Everything is real but the recipients: the shipped workflows, the
 * outbox (SMTP), the inbound SMTP server that reads their replies, the classifier, the probes (against a web
 * server and a DNS server the demo starts on loopback). The recipients are scripted by their address.
 */

/** What a simulated recipient does with each message it gets. */
export type Behaviour =
  /** takes the site down and says so at once */
  | 'acts'
  /** ignores the notice, acts on the first reminder */
  | 'acts-after-reminder'
  /** never answers */
  | 'silent'
  /** its mailbox does not exist: every message bounces */
  | 'bounces'
  /** answers that it is not theirs */
  | 'not-ours'
  /** acts at once, but the site comes back once after it was verified down */
  | 'acts-then-revives'
  /** asks a question first; acts once the coordinator answered */
  | 'asks-first';

export interface DemoIndicator {
  /** a path on the demo web server, under a host whose registrable suffix picks the recipient */
  readonly host: string;
  readonly path: string;
  readonly threat: 'phishing' | 'malware' | 'c2';
  readonly evidence: string;
}

/** The demo's recipients, by address; the national CERT acts on whatever reaches it. */
export const DEMO_BEHAVIOUR: Readonly<Record<string, Behaviour>> = {
  'abuse@swift.example': 'acts',
  'abuse@sleepy.example': 'acts-after-reminder',
  'abuse@silent.example': 'silent',
  'abuse@gone.example': 'bounces',
  'abuse@wrong.example': 'not-ours',
  'abuse@lazarus.example': 'acts-then-revives',
  'abuse@talky.example': 'asks-first',
  'incidents@cert-ke.example': 'acts',
};

export const DEMO_INDICATORS: readonly DemoIndicator[] = [
  { host: 'login.swift.example', path: '/bank/', threat: 'phishing', evidence: 'Credential phishing kit imitating a bank' },
  { host: 'account.swift.example', path: '/reset', threat: 'phishing', evidence: 'Password reset lure, same kit' },
  { host: 'update.sleepy.example', path: '/flash.exe', threat: 'malware', evidence: 'Fake player update dropping an infostealer' },
  { host: 'c2.silent.example', path: '/gate.php', threat: 'c2', evidence: 'Botnet panel, 300 bots seen checking in' },
  { host: 'pay.gone.example', path: '/checkout', threat: 'phishing', evidence: 'Card skimming checkout page' },
  { host: 'files.wrong.example', path: '/invoice.zip', threat: 'malware', evidence: 'Malspam attachment host' },
  { host: 'secure.lazarus.example', path: '/verify', threat: 'phishing', evidence: 'Mobile money phishing page' },
  { host: 'mail.talky.example', path: '/owa', threat: 'phishing', evidence: 'Webmail credential phishing' },
];

const DEMO_DIRECTORY = fileURLToPath(new URL('../../examples/demo/directory.yaml', import.meta.url));

export interface DemoOptions {
  /** where the demo's host keeps its data; wiped first @default .takedown-demo */
  readonly dataDir?: string;
  /** domain seconds per real second @default 8640 (a day in 10 s) */
  readonly scale?: number;
  readonly indicators?: readonly DemoIndicator[];
  readonly behaviour?: Readonly<Record<string, Behaviour>>;
  /** progress lines; nothing printed when absent */
  readonly out?: (line: string) => void;
  /** give up after this many real milliseconds @default 180000 */
  readonly timeoutMs?: number;
}

export interface DemoResult {
  readonly campaignId: string;
  readonly cases: Case[];
  /** every message the recipients got, in order: recipient, subject */
  readonly sent: { readonly to: string; readonly subject: string }[];
  /** every message the recipients sent back: from, what */
  readonly replies: { readonly from: string; readonly what: string }[];
  readonly dataDir: string;
  readonly httpUrl?: string;
  readonly seconds: number;
}

/** Run the demo to the end: every case verified down, expired or otherwise finished, the revival seen. */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const started = Date.now();
  const dataDir = options.dataDir ?? '.takedown-demo';
  const scale = options.scale ?? 8640;
  const indicators = options.indicators ?? DEMO_INDICATORS;
  const behaviour = options.behaviour ?? DEMO_BEHAVIOUR;
  const out = options.out ?? (() => undefined);
  rmSync(dataDir, { recursive: true, force: true });

  const web = await startDemoWeb(indicators.map((i) => i.host));
  const dkim = demoDkim(Object.keys(behaviour).map((address) => address.split('@')[1]!));
  const dns = await startDnsStub(Object.fromEntries(indicators.map((i) => [i.host, { A: ['127.0.0.1'] }])));
  let host: Host | undefined;
  try {
    // the demo's sites are on loopback, where probes never go unless told: this prober is told, for 127.0.0.1 only
    const prober = createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0, allowAddresses: ['127.0.0.1/32'] });
    host = await startHost(
      { dataDir, timeScale: scale, directory: DEMO_DIRECTORY, rdap: 'off', httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'on', revivalChecks: [86400, 7 * 86400] },
      // the demo's recipients sign their mail with a DKIM key their (stub) DNS publishes: their answers are
      // authenticated the way real desks' are, and mail authentication stays on as in `takedown serve`
      { listen: true, prober, mailAuthResolver: tableDnsResolver(dkim.records) },
    );
    const h = host;
    out(`demo host: API ${h.httpUrl}, outbox ${h.files.outbox}; a day passes in ${(86400 / scale).toFixed(1)} s`);
    const content = [
      'indicator,type,country,first_seen,evidence,threat',
      ...indicators.map((i) => `http://${i.host}:${web.port}${i.path},url,KE,2026-11-20,"${i.evidence}",${i.threat}`),
    ].join('\n');
    const submitted = await submitCampaign(h.deps, {
      name: 'Demo operation',
      submitter: 'demo coordinator',
      content,
      requireApproval: false,
      tlp: 'GREEN',
      format: 'csv',
      sourceName: 'demo',
    });
    const campaignId = submitted.campaign.id;
    out(`campaign ${campaignId}: ${indicators.length} indicators submitted`);

    const recipients = new Recipients(h, web, behaviour, out, dkim);
    const reporter = new Reporter(h, campaignId, out);
    const deadline = started + (options.timeoutMs ?? 180_000);
    for (;;) {
      await recipients.poll();
      await reporter.poll();
      await recipients.answerQuestions(campaignId);
      const cases = await listAll((p) => h.store.listCases({ campaignId }, p));
      await recipients.bringBack(cases);
      if (settled(cases, recipients, behaviour)) {
        await reporter.poll();
        return {
          campaignId,
          cases,
          sent: recipients.received,
          replies: recipients.replies,
          dataDir: h.files.dataDir,
          httpUrl: h.httpUrl,
          seconds: (Date.now() - started) / 1000,
        };
      }
      if (Date.now() > deadline) throw new Error('the demo did not finish in time; see `takedown status` on its data directory');
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await host?.close();
    await dns.close();
    await web.close();
  }
}

/** One line per indicator for the closing table: the parties it went through, where it ended, the last probe. */
export function demoRows(cases: readonly Case[]): string[][] {
  const byValue = new Map<string, Case[]>();
  for (const c of cases) byValue.set(c.indicator.value, [...(byValue.get(c.indicator.value) ?? []), c]);
  return [...byValue.values()].map((chain) => {
    chain.sort((a, b) => (a.revival ?? 0) - (b.revival ?? 0) || a.step - b.step);
    const last = chain.at(-1)!;
    const asked = chain.map((c) => c.ladder[c.step]!.party.email.split('@')[1]).join(' > ');
    const state = last.state + ((last.revival ?? 0) > 0 ? ` (came back ${last.revival}x)` : '');
    return [last.indicator.host, asked, state, last.probe?.detail ?? '-'];
  });
}

/** Done when no case waits on anyone, nothing is being verified, and each site scripted to come back did. */
function settled(cases: readonly Case[], recipients: Recipients, behaviour: Readonly<Record<string, Behaviour>>): boolean {
  if (!cases.length || cases.some((c) => !CASE_FINISHED.has(c.state) || c.state === 'actioned')) return false;
  const reviving = cases.filter((c) => behaviour[c.ladder[0]!.party.email] === 'acts-then-revives');
  return reviving.every((c) => (c.revival ?? 0) >= 1 && c.state === 'verified-down') && recipients.idle();
}

/** The demo recipients' DKIM key: its DNS records, and signing as one of their domains. */
interface DemoDkim {
  /** `TXT demo._domainkey.<domain>` for every recipient domain and its mail server, as a table resolver takes them */
  readonly records: Record<string, string[][]>;
  sign(raw: string, domain: string): Promise<string>;
}

/** One key for every simulated recipient (and `mx.` of each, which signs its delivery reports). */
export function demoDkim(domains: readonly string[]): DemoDkim {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const record = [[`v=DKIM1; k=rsa; p=${keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`]];
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const records = Object.fromEntries([...new Set(domains)].flatMap((d) => [[`TXT demo._domainkey.${d}`, record], [`TXT demo._domainkey.mx.${d}`, record]]));
  return {
    records,
    async sign(raw, domain) {
      // mailauth reads the keys from signatureData; its type declarations name them at the top level. The signing
      // time is given: left to itself, mailauth reads the clock once for the signed header and again for the one it
      // writes, and a signature across a half-second boundary carries a t= it was not made over (it never verifies)
      const options = { signTime: new Date(), signatureData: [{ signingDomain: domain, selector: 'demo', privateKey }] } as unknown as Parameters<typeof dkimSign>[1];
      const signed = await dkimSign(raw, options);
      return signed.signatures + raw;
    },
  };
}

interface DemoWeb {
  readonly port: number;
  /** hosts whose page is up */
  readonly up: Set<string>;
  close(): Promise<void>;
}

/** The web server the demo's indicators point at: each host serves its page until its party takes it down. */
async function startDemoWeb(hosts: readonly string[]): Promise<DemoWeb> {
  const up = new Set(hosts);
  const server: Server = createServer((req, res) => {
    const name = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (up.has(name)) res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><form>Sign in to continue (${name})</form></body></html>`);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('Not Found');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  return {
    port: (server.address() as AddressInfo).port,
    up,
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

const REPLY_TEXT: Readonly<Record<'actioned' | 'not-ours' | 'needs-info', string>> = {
  actioned: 'Hello,\n\nWe have suspended the domain and removed the content. The site is now offline.\n\nRegards,\nAbuse desk',
  'not-ours': 'Hello,\n\nThis domain is not registered with us; we are not the registrar. Please contact the correct provider.\n\nAbuse desk',
  'needs-info': 'Hello,\n\nCould you please send the full URL and a screenshot? We need more information before we can act.\n\nAbuse desk',
};

/** The simulated recipients: read the outbox as it fills, answer by SMTP into the host, take pages down. */
class Recipients {
  readonly received: { to: string; subject: string }[] = [];
  readonly replies: { from: string; what: string }[] = [];
  private readonly seen = new Set<string>();
  private readonly answered = new Set<string>();
  private readonly revived = new Set<string>();
  private inFlight = 0;
  private seq = 0;
  private readonly transport;

  constructor(
    private readonly host: Host,
    private readonly web: DemoWeb,
    private readonly behaviour: Readonly<Record<string, Behaviour>>,
    private readonly out: (line: string) => void,
    private readonly dkim: DemoDkim,
  ) {
    this.transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true });
  }

  idle(): boolean {
    return this.inFlight === 0;
  }

  async poll(): Promise<void> {
    const dir = this.host.files.outbox;
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.eml')).sort()) {
      if (this.seen.has(file)) continue;
      this.seen.add(file);
      this.inFlight++;
      try {
        await this.handle(readFileSync(join(dir, file), 'utf8'));
      } finally {
        this.inFlight--;
      }
    }
  }

  private async handle(raw: string): Promise<void> {
    const mail = await simpleParser(raw);
    const to = (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address?.toLowerCase() ?? '';
    const subject = mail.subject ?? '';
    this.received.push({ to, subject });
    const replyTo = mail.replyTo?.value[0]?.address ?? '';
    const urls = [...new Set((mail.text ?? '').match(/https?:\/\/[^\s)>\]]+/g) ?? [])];
    const kind = /Reminder \d+:/.test(subject) ? 'reminder' : /\] Re: /.test(subject) ? 'followup' : 'notice';
    switch (this.behaviour[to] ?? 'silent') {
      case 'acts':
        return this.act(mail.messageId, to, replyTo, subject, urls);
      case 'acts-then-revives':
        return this.act(mail.messageId, to, replyTo, subject, urls);
      case 'acts-after-reminder':
        if (kind === 'reminder') return this.act(mail.messageId, to, replyTo, subject, urls);
        return;
      case 'asks-first':
        if (kind === 'notice') return this.reply(mail.messageId, to, replyTo, subject, 'needs-info');
        if (kind === 'followup') return this.act(mail.messageId, to, replyTo, subject, urls);
        return;
      case 'not-ours':
        return this.reply(mail.messageId, to, replyTo, subject, 'not-ours');
      case 'bounces':
        return this.bounce(raw, to);
      case 'silent':
        return;
    }
  }

  private async act(messageId: string | undefined, to: string, replyTo: string, subject: string, urls: readonly string[]): Promise<void> {
    for (const u of urls) {
      try {
        this.web.up.delete(new URL(u).hostname.toLowerCase());
      } catch {
        // not a URL of ours
      }
    }
    await this.reply(messageId, to, replyTo, subject, 'actioned');
  }

  private async reply(messageId: string | undefined, from: string, replyTo: string, subject: string, what: keyof typeof REPLY_TEXT): Promise<void> {
    if (!replyTo) return;
    const id = `<demo-${++this.seq}@${from.split('@')[1]}>`;
    const raw = [
      `From: Abuse Desk <${from}>`,
      `To: ${replyTo}`,
      `Subject: Re: ${subject}`,
      `Message-ID: ${id}`,
      ...(messageId ? [`In-Reply-To: ${messageId}`, `References: ${messageId}`] : []),
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      REPLY_TEXT[what],
      '',
    ].join('\r\n');
    await this.transport.sendMail({ envelope: { from, to: [replyTo] }, raw: await this.dkim.sign(raw, from.split('@')[1]!) });
    this.replies.push({ from, what });
  }

  /** A permanent failure report from the recipient's mail server, to the envelope sender (our reply mailbox). */
  private async bounce(raw: string, to: string): Promise<void> {
    const headers = raw.slice(0, raw.indexOf('\r\n\r\n'));
    const domain = to.split('@')[1];
    const report = deliveryReport({
      from: `Mail Delivery System <MAILER-DAEMON@mx.${domain}>`,
      to: this.host.deps.settings.replyMailbox,
      messageId: `<bounce-${++this.seq}@mx.${domain}>`,
      reportingMta: `mx.${domain}`,
      recipient: to,
      action: 'failed',
      status: '5.1.1',
      diagnostic: '550 5.1.1 no such mailbox',
      originalHeaders: headers,
    });
    await this.transport.sendMail({ envelope: { from: '', to: [this.host.deps.settings.replyMailbox] }, raw: await this.dkim.sign(report, `mx.${domain}`) });
    this.replies.push({ from: `MAILER-DAEMON@mx.${domain}`, what: 'bounce' });
  }

  /** The demo's coordinator answers every question a recipient asked, in the notice's thread. */
  async answerQuestions(campaignId: string): Promise<void> {
    const page = await listReviews(this.host.deps, { limit: 1000 });
    for (const item of page.items) {
      if (item.reason !== 'needs-info' || item.campaignId !== campaignId || !item.noticeId || this.answered.has(item.id)) continue;
      this.answered.add(item.id);
      this.out('   the coordinator answers the question in the same thread');
      await sendFollowup(
        this.host.deps,
        item.noticeId,
        { kind: 'answer', message: 'The full URL is in the notice above; the page asks for webmail passwords. A screenshot is in the attached evidence.', by: 'demo coordinator' },
        'demo coordinator',
      );
    }
  }

  /** A site scripted to come back does, once, after its case was verified down. */
  async bringBack(cases: readonly Case[]): Promise<void> {
    for (const c of cases) {
      if (c.state !== 'verified-down' || this.revived.has(c.id)) continue;
      if (this.behaviour[c.ladder[0]!.party.email] !== 'acts-then-revives' || (c.revival ?? 0) > 0) continue;
      this.revived.add(c.id);
      this.web.up.add(c.indicator.host);
      this.out(`   (the demo brings ${c.indicator.host} back online)`);
    }
  }
}

/** Prints the campaign's audit events as they are appended, with the domain time they happened at. */
class Reporter {
  private printed = 0;
  private readonly values = new Map<string, string>();
  /** the domain time the campaign was submitted at: day 0 */
  private readonly start: number;

  constructor(
    private readonly host: Host,
    private readonly campaignId: string,
    private readonly out: (line: string) => void,
  ) {
    this.start = host.clock.now().getTime();
  }

  async poll(): Promise<void> {
    const events = await this.host.store.listEvents({ campaignId: this.campaignId });
    for (const e of events.slice(this.printed)) {
      const line = await this.describe(e);
      if (line) this.out(`${this.when()}  ${line}`);
    }
    this.printed = events.length;
  }

  private when(): string {
    const days = (this.host.clock.now().getTime() - this.start) / 86_400_000;
    return `day ${days.toFixed(1).padStart(4)}`;
  }

  private async valueOf(caseId?: string): Promise<string> {
    if (!caseId) return '';
    let v = this.values.get(caseId);
    if (!v) {
      v = (await this.host.store.getCase(caseId))?.indicator.host ?? caseId;
      this.values.set(caseId, v);
    }
    return v;
  }

  private async describe(e: AuditEvent): Promise<string | undefined> {
    const d = e.data as Record<string, unknown>;
    const what = await this.valueOf(e.caseId);
    switch (e.type) {
      case 'notice.sent':
        return `-> notice to ${String(d['to'])} (${String(d['cases'])} indicator${d['cases'] === 1 ? '' : 's'})`;
      case 'notice.reminded':
        return `-> reminder ${String(d['reminder'])} (notice ${e.noticeId})`;
      case 'notice.followup':
        return `-> follow-up in the thread of ${e.noticeId} (${String(d['kind'])})`;
      case 'answer.applied':
        return `<- answer: ${String(d['intent'])} (${String(d['cases'])} case${d['cases'] === 1 ? '' : 's'}), notice ${String(d['notice'])}`;
      case 'mail.bounce': {
        const first = (d['recipients'] as { address?: string }[] | undefined)?.[0]?.address ?? '?';
        return `<- bounce (${String(d['severity'])}, ${String(d['status'])}) for ${first}`;
      }
      case 'contact.undeliverable':
        return `x  contact ${String(d['contact'])} marked undeliverable`;
      case 'case.escalated':
        return `^  ${what}: escalated (${String(d['reason'])}) to ${String(d['next'])}`;
      case 'case.expired':
        return `x  ${what}: expired, nobody left to ask`;
      case 'probe.result':
        return `?  probe ${String(d['target'])}: ${String(d['detail'])}`;
      case 'case.verified-down':
        return `OK ${what}: verified down`;
      case 'case.still-reachable':
        return `!  ${what}: still reachable after the party said it acted`;
      case 'case.revived':
        return `!  ${what}: back online after the takedown; reopened with its first party`;
      default:
        return undefined;
    }
  }
}
