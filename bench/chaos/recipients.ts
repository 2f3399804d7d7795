import { createHash, createHmac, generateKeyPairSync } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser } from 'mailparser';
import { dkimSign } from 'mailauth';
import nodemailer from 'nodemailer';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import type { Party } from './world.js';

/**
 * The simulated recipients of the chaos run. They read what the relay delivered (its capture directory: their
 * mailboxes), and answer as their behaviour says, through every channel a real desk has: a reply to the reply
 * address or a delivery report to our envelope sender (DKIM-signed with a key the run's DNS publishes, delivered to
 * the host's inbound SMTP like any MTA would, retried until it is taken), the one-click links, and signed webhooks.
 * What they cannot reach (the host is down) they try again, as an MTA's queue or a person would. Every answer given
 * is written to the ledger, which the checks hold the store to.
 */

/** One answer a recipient (or the coordinator on its behalf) gave, and how to find it in the store. */
export interface GivenAnswer {
  readonly channel: 'mail' | 'auto-reply' | 'link' | 'webhook' | 'ack' | 'ack-passive' | 'bounce';
  readonly noticeId: string;
  readonly intent: string;
  /** the answer's id in the store (`<notice>:<answerId>`), when the channel derives it; acks are found by their note */
  readonly answerId?: string;
  /** an ack's note */
  readonly note?: string;
  /** real time, ms, when it was taken (250, 2xx, a CLI's exit 0) */
  readonly at: number;
}

/** A delivered message, as the recipients read it. */
export interface Delivered {
  readonly file: string;
  readonly messageId: string;
  readonly sha256: string;
  readonly to: string;
  readonly noticeId: string;
  readonly kind: 'notice' | 'reminder' | 'followup';
  readonly mtimeMs: number;
}

export interface RecipientsOptions {
  readonly seed: number;
  readonly parties: ReadonlyMap<string, Party>;
  readonly deliveredDir: string;
  /** the envelope sender a delivered message came with (our VERP address), by Message-ID */
  envelopeOf(messageId: string): string | undefined;
  readonly smtpPort: number;
  readonly httpUrl: string;
  /** the webhook secret of a party, once made */
  secretOf(partyId: string): string | undefined;
  /** real milliseconds a domain hour lasts */
  readonly hourMs: number;
  /** the coordinator: record "taken down" by hand (`takedown ack`), answer a question (`takedown followup`) */
  coordinatorAck(noticeId: string, note: string): void;
  coordinatorFollowup(noticeId: string): void;
  readonly log: (line: string) => void;
}

interface Task {
  readonly due: number;
  readonly what: string;
  readonly run: () => Promise<boolean>;
  tries: number;
}

const TEXT = {
  actioned: 'Hello,\n\nWe have suspended the server and removed the content. The site is now offline.\n\nRegards,\nAbuse desk',
  acknowledged: 'Hello,\n\nWe have received your report and are investigating it.\n\nRegards,\nAbuse desk',
  'not-ours': 'Hello,\n\nThis is not our customer; we do not host this and are not the provider. Please contact the correct provider.\n\nAbuse desk',
  'needs-info': 'Hello,\n\nCould you please send the full URL and a screenshot? We need more information before we can act.\n\nAbuse desk',
} as const;

/** The recipients' DKIM key: one for all, published under `chaos._domainkey.<domain>` for each of their domains. */
export interface RecipientKeys {
  /** TXT records by name, for the run's DNS */
  readonly txt: Record<string, string[]>;
  /** PEM, kept with the run to check a signature again */
  readonly privateKey: string;
  sign(raw: string, domain: string): Promise<string>;
}

export function recipientKeys(domains: readonly string[]): RecipientKeys {
  const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const record = `v=DKIM1; k=rsa; p=${keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
  const privateKey = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const txt = Object.fromEntries([...new Set(domains)].flatMap((d) => [[`chaos._domainkey.${d}`, [record]], [`chaos._domainkey.mx.${d}`, [record]]]));
  return {
    txt,
    privateKey,
    async sign(raw, domain) {
      // mailauth reads the keys from signatureData; its type declarations name them at the top level
      // the signing time given: mailauth otherwise reads the clock twice, and a t= across a half second never verifies
      const options = { signTime: new Date(), signatureData: [{ signingDomain: domain, selector: 'chaos', privateKey }] } as unknown as Parameters<typeof dkimSign>[1];
      const signed = await dkimSign(raw, options);
      return signed.signatures + raw;
    },
  };
}

export class Recipients {
  readonly ledger: GivenAnswer[] = [];
  /** every delivered message, in the order read; a Message-ID delivered twice is here twice */
  readonly delivered: Delivered[] = [];
  /** answers given up on (a link that is unknown, a webhook refused): each one is a finding */
  readonly refused: { what: string; why: string }[] = [];
  private readonly seen = new Set<string>();
  private readonly read = new Set<string>();
  private readonly tasks: Task[] = [];
  private readonly transport;
  private readonly keys: RecipientKeys;
  private running = 0;
  private seq = 0;
  private stopped = false;

  constructor(
    private readonly options: RecipientsOptions,
    keys: RecipientKeys,
  ) {
    this.keys = keys;
    // pooled: the inbound server takes 30 connections a minute from one client, and every reply here is one client
    this.transport = nodemailer.createTransport({ host: '127.0.0.1', port: options.smtpPort, secure: false, ignoreTLS: true, pool: true, maxConnections: 2, logger: false });
  }

  /** Nothing left to answer: every task given or given up on. */
  idle(): boolean {
    return this.tasks.length === 0 && this.running === 0;
  }

  pending(): number {
    return this.tasks.length + this.running;
  }

  stop(): void {
    this.stopped = true;
    this.transport.close();
  }

  /** Read what arrived since the last call and schedule the answers; then run the answers that are due. */
  async poll(): Promise<void> {
    await this.readMailboxes();
    this.runDue();
  }

  private async readMailboxes(): Promise<void> {
    const dir = this.options.deliveredDir;
    if (!existsSync(dir)) return;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).sort()) {
      if (this.read.has(file)) continue;
      this.read.add(file);
      const path = join(dir, file);
      const bytes = readFileSync(path);
      const mail = await simpleParser(bytes);
      const to = (Array.isArray(mail.to) ? mail.to[0] : mail.to)?.value[0]?.address?.toLowerCase() ?? '';
      const subject = mail.subject ?? '';
      const noticeId = String(mail.headers.get('x-takedown-notice') ?? '');
      const kind = /\bReminder \d+:/.test(subject) ? 'reminder' : /\bRe: /.test(subject) ? 'followup' : 'notice';
      const messageId = mail.messageId ?? '';
      this.delivered.push({ file, messageId, sha256: createHash('sha256').update(bytes).digest('hex'), to, noticeId, kind, mtimeMs: Date.now() });
      // a desk reads a message delivered twice once
      if (this.seen.has(messageId)) continue;
      this.seen.add(messageId);
      const party = this.options.parties.get(to);
      if (!party || !noticeId) continue;
      const replyTo = mail.replyTo?.value[0]?.address ?? '';
      const links = linksOf(mail.text ?? '');
      this.react({ party, noticeId, kind, messageId, subject, replyTo, links, headers: bytes.toString('utf8').slice(0, bytes.indexOf('\r\n\r\n')) });
    }
  }

  private react(m: { party: Party; noticeId: string; kind: 'notice' | 'reminder' | 'followup'; messageId: string; subject: string; replyTo: string; links: Links; headers: string }): void {
    const { party, noticeId, kind } = m;
    const now = Date.now();
    const soon = now + this.options.hourMs * 2;
    const reply = (intent: keyof typeof TEXT, at = soon) => this.schedule(at, `${intent} mail ${noticeId}`, () => this.reply(m, intent));
    switch (party.behaviour) {
      case 'mail-actioned':
        if (kind !== 'followup') reply('actioned');
        return;
      case 'mail-ack-then-actioned':
        if (kind === 'notice') {
          reply('acknowledged');
          reply('actioned', now + this.options.hourMs * 12);
        }
        return;
      case 'mail-not-ours':
        if (kind === 'notice') reply('not-ours');
        return;
      case 'link-actioned':
        if (kind !== 'followup' && m.links.actioned) this.schedule(soon, `actioned link ${noticeId}`, () => this.link(noticeId, 'actioned', m.links.actioned!));
        return;
      case 'link-ack':
        if (kind === 'notice' && m.links.acknowledge) this.schedule(soon, `acknowledge link ${noticeId}`, () => this.link(noticeId, 'acknowledged', m.links.acknowledge!));
        return;
      case 'webhook-actioned':
        if (kind !== 'followup') this.schedule(soon, `actioned webhook ${noticeId}`, () => this.webhook(party, noticeId, 'actioned', m.messageId));
        return;
      case 'webhook-not-ours':
        if (kind === 'notice') this.schedule(soon, `not-ours webhook ${noticeId}`, () => this.webhook(party, noticeId, 'not-ours', m.messageId));
        return;
      case 'after-reminder':
        if (kind === 'reminder') reply('actioned');
        return;
      case 'late':
        // long after the last deadline of its rung: the cases have gone on to the CERT by then
        if (kind === 'reminder') reply('actioned', now + this.options.hourMs * 40);
        return;
      case 'asks':
        if (kind === 'notice') {
          this.schedule(soon, `question mail ${noticeId}`, async () => {
            const taken = await this.reply(m, 'needs-info');
            // the coordinator reads the question (the review queue) a little later and answers in the thread
            if (taken) this.options.coordinatorFollowup(noticeId);
            return taken;
          });
        }
        if (kind === 'followup') reply('actioned');
        return;
      case 'bounces':
        if (kind === 'notice') this.schedule(now + 200, `bounce ${noticeId}`, () => this.bounce(m));
        return;
      case 'auto-reply':
        if (kind === 'notice') this.schedule(now + 100, `auto-reply ${noticeId}`, () => this.autoReply(m));
        return;
      case 'coordinator-ack':
        if (kind === 'notice') this.options.coordinatorAck(noticeId, `chaos-ack-${createHash('sha256').update(m.messageId).digest('hex').slice(0, 12)}`);
        return;
      case 'silent':
        return;
    }
  }

  private schedule(due: number, what: string, run: () => Promise<boolean>): void {
    this.tasks.push({ due, what, run, tries: 0 });
  }

  private runDue(): void {
    if (this.stopped) return;
    const now = Date.now();
    this.tasks.sort((a, b) => a.due - b.due);
    while (this.running < 6 && this.tasks.length && this.tasks[0]!.due <= now) {
      const task = this.tasks.shift()!;
      this.running++;
      task
        .run()
        .catch((e: unknown) => {
          // the host is down or restarting: expected, and tried again; anything else is worth a line
          const quiet = /ECONNREFUSED|ECONNRESET|fetch failed|socket hang up|Connection closed|closed unexpectedly|\b4\d\d\b/i.test(`${(e as Error).message} ${String((e as { cause?: Error }).cause?.message ?? '')}`);
          if (!quiet) this.options.log(`  (${task.what}: ${(e as Error).message}; tried again later)`);
          return false;
        })
        .then((done) => {
          if (done) return;
          // not taken (the host is down or starting): again in a moment, as a queue would
          task.tries++;
          if (task.tries > 400) {
            this.refused.push({ what: task.what, why: 'never taken' });
            return;
          }
          this.tasks.push({ ...task, due: Date.now() + Math.min(3000, 300 * task.tries) });
        })
        .finally(() => this.running--);
    }
  }

  /** A reply to the reply address, DKIM-signed as the party's domain; true once the host answered 250. */
  private async reply(m: { party: Party; noticeId: string; messageId: string; subject: string; replyTo: string }, intent: keyof typeof TEXT): Promise<boolean> {
    if (!m.replyTo) {
      this.refused.push({ what: `${intent} mail ${m.noticeId}`, why: 'no Reply-To' });
      return true;
    }
    const domain = m.party.email.split('@')[1]!;
    // the same Message-ID on every try, as an MTA retrying a queued message keeps it
    const id = `<chaos-${intent}-${createHash('sha256').update(m.messageId + intent).digest('hex').slice(0, 16)}@${domain}>`;
    const raw = [
      `From: Abuse Desk <${m.party.email}>`,
      `To: ${m.replyTo}`,
      `Subject: Re: ${m.subject}`,
      `Message-ID: ${id}`,
      `In-Reply-To: ${m.messageId}`,
      `References: ${m.messageId}`,
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      TEXT[intent],
      '',
    ].join('\r\n');
    const signed = await this.keys.sign(raw, domain);
    await this.transport.sendMail({ envelope: { from: m.party.email, to: [m.replyTo] }, raw: signed });
    this.ledger.push({ channel: 'mail', noticeId: m.noticeId, intent, answerId: `${m.noticeId}:mail-${sha256(id).slice(0, 32)}`, at: Date.now() });
    return true;
  }

  /** An RFC 3834 auto-reply, to our envelope sender as auto-replies go. */
  private async autoReply(m: { party: Party; noticeId: string; messageId: string; subject: string }): Promise<boolean> {
    const verp = this.options.envelopeOf(m.messageId);
    if (!verp) return false;
    const domain = m.party.email.split('@')[1]!;
    const id = `<chaos-auto-${createHash('sha256').update(m.messageId).digest('hex').slice(0, 16)}@${domain}>`;
    const raw = [
      `From: Abuse Desk <${m.party.email}>`,
      `To: ${verp}`,
      `Subject: Automatic reply: ${m.subject}`,
      `Message-ID: ${id}`,
      `In-Reply-To: ${m.messageId}`,
      'Auto-Submitted: auto-replied',
      `Date: ${new Date().toUTCString()}`,
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Thank you for your message. This is an automatic reply: your ticket number is 4711.',
      '',
    ].join('\r\n');
    await this.transport.sendMail({ envelope: { from: '', to: [verp] }, raw: await this.keys.sign(raw, domain) });
    this.ledger.push({ channel: 'auto-reply', noticeId: m.noticeId, intent: 'received', answerId: `${m.noticeId}:mail-${sha256(id).slice(0, 32)}`, at: Date.now() });
    return true;
  }

  /** A permanent failure report from the party's mail server, to our envelope sender. */
  private async bounce(m: { party: Party; noticeId: string; messageId: string; headers: string }): Promise<boolean> {
    const verp = this.options.envelopeOf(m.messageId);
    if (!verp) return false;
    const domain = m.party.email.split('@')[1]!;
    const report = deliveryReport({
      from: `Mail Delivery System <MAILER-DAEMON@mx.${domain}>`,
      to: verp,
      messageId: `<chaos-bounce-${createHash('sha256').update(m.messageId).digest('hex').slice(0, 16)}@mx.${domain}>`,
      reportingMta: `mx.${domain}`,
      recipient: m.party.email,
      action: 'failed',
      status: '5.1.1',
      diagnostic: '550 5.1.1 no such mailbox',
      originalHeaders: m.headers,
    });
    await this.transport.sendMail({ envelope: { from: '', to: [verp] }, raw: await this.keys.sign(report, `mx.${domain}`) });
    this.ledger.push({ channel: 'bounce', noticeId: m.noticeId, intent: 'bounce', at: Date.now() });
    return true;
  }

  /** Opens a one-click link and presses its button. */
  private async link(noticeId: string, intent: string, url: string): Promise<boolean> {
    const token = url.slice(url.lastIndexOf('/') + 1);
    // the link names the host the notice was sent from; the run's host keeps its address
    const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'confirm=yes' });
    if (res.status === 200 || res.status === 410) {
      // 410: used already, by an earlier try whose answer got lost on the way back
      this.ledger.push({ channel: 'link', noticeId, intent, answerId: `${noticeId}:link-${sha256(token).slice(0, 40)}`, at: Date.now() });
      return true;
    }
    if (res.status === 404) {
      this.refused.push({ what: `${intent} link ${noticeId}`, why: `404: ${(await res.text()).slice(0, 200)}` });
      return true;
    }
    return false;
  }

  /** A Standard Webhooks delivery of the party's answer, signed with its secret; the same webhook-id on every try. */
  private async webhook(party: Party, noticeId: string, intent: string, messageId: string): Promise<boolean> {
    const secret = this.options.secretOf(party.id);
    if (!secret) return false;
    const webhookId = `chaos-${createHash('sha256').update(`${messageId}|${intent}`).digest('hex').slice(0, 24)}`;
    const body = JSON.stringify({ recipient: party.id, noticeId, intent, note: 'answered by the chaos run' });
    const timestamp = Math.floor(Date.now() / 1000);
    const res = await fetch(`${this.options.httpUrl}/webhooks/answers`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, webhookId, timestamp, body) },
      body,
    });
    const text = await res.text();
    if (res.status === 200 || res.status === 201 || (res.status === 401 && /REPLAYED/.test(text))) {
      // replayed: an earlier try of this delivery was taken and its answer lost on the way back
      this.ledger.push({ channel: 'webhook', noticeId, intent, answerId: `${noticeId}:${webhookId}`, at: Date.now() });
      return true;
    }
    if (res.status === 403 || res.status === 400 || res.status === 404) {
      this.refused.push({ what: `${intent} webhook ${noticeId}`, why: `${res.status}: ${text.slice(0, 200)}` });
      return true;
    }
    return false;
  }

  /** A hand-recorded answer, once its command exited 0. */
  recordAck(noticeId: string, note: string, passive: boolean): void {
    this.ledger.push({ channel: passive ? 'ack-passive' : 'ack', noticeId, intent: 'actioned', note, at: Date.now() });
  }

  nextSeq(): number {
    return ++this.seq;
  }
}

interface Links {
  readonly acknowledge?: string;
  readonly actioned?: string;
  readonly notOurs?: string;
}

/** The one-click links of a notice's text part. */
function linksOf(text: string): Links {
  const find = (label: string) => new RegExp(`${label}:\\s+(https?://\\S+/links/[A-Za-z0-9_-]+)`).exec(text)?.[1];
  return { acknowledge: find('Acknowledge'), actioned: find('Taken down'), notOurs: find('Not ours') };
}

/** Standard Webhooks: v1, the base64 HMAC-SHA256 of `id.timestamp.body` under the bytes after `whsec_`; as a recipient's own code signs. */
function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64')}`;
}

function sha256(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}
