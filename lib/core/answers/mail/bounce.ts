import { allParts, htmlToText, parseHeaderBlock, type MimePart } from './mime.js';

/**
 * Delivery reports: RFC 3464 `message/delivery-status`, Amazon SES notifications, and the plain-text bounces
 * real MTAs still send (qmail, Exim, Postfix without DSN, Exchange and Domino NDRs, Gmail, Yahoo...). The
 * sisimai corpus (test/fixtures/sisimai) is the ground truth these rules were tuned on.
 */

/** permanent: the MTA gave up; delay: it is still trying (4.x.x warnings); delivered: a success notice. */
export type DeliverySeverity = 'permanent' | 'delay' | 'delivered';

/** One recipient a delivery report speaks of. */
export interface BounceRecipient {
  readonly address?: string;
  /** the enhanced status code (RFC 3463), e.g. `5.1.1` */
  readonly status?: string;
  /** the DSN Action (failed, delayed, delivered, relayed, expanded) when the report names one */
  readonly action?: string;
  /** the remote server's words (Diagnostic-Code), shortened */
  readonly diagnostic?: string;
  readonly severity: DeliverySeverity;
}

/** What a delivery report says. */
export interface BounceFinding {
  readonly format: 'dsn' | 'ses' | 'text';
  /** permanent when any recipient failed for good, else delay when any is delayed, else delivered */
  readonly severity: DeliverySeverity;
  readonly recipients: readonly BounceRecipient[];
  readonly reason: string;
}

/** What an Amazon SES notification (SNS JSON, by mail or by event) says. */
export type SesFinding =
  | { readonly kind: 'bounce'; readonly finding: BounceFinding; readonly messageId?: string }
  | { readonly kind: 'complaint'; readonly feedbackType?: string; readonly recipients: readonly string[]; readonly messageId?: string };

const STATUS = /(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?!\.?\d)/;
const STATUS_ALL = new RegExp(STATUS.source, 'g');
const REPLY_CODE = /(?<![\d.])([245])\d\d(?=[\s-])/;
// bounded (RFC 5321 sizes) so a long run of letters without an @ costs linear time, not quadratic
const ADDRESS = /(?<![A-Za-z0-9._%+=!#$&'*/?^`{|}~-])[A-Za-z0-9][A-Za-z0-9._%+=!#$&'*/?^`{|}~-]{0,63}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?){1,10}/g;
const DAEMON_LOCAL = /^(mailer-?daemon|postmaster|post_master|mail\.delivery\.system|mailerdaemon|mdaemon|double-bounce|bounces?|nobody)$/i;

/** The enhanced status code in a text, if any. */
export function statusIn(text: string | undefined): string | undefined {
  const m = text ? STATUS.exec(text) : null;
  return m ? `${m[1]}.${m[2]}.${m[3]}` : undefined;
}

function severityOf(action: string | undefined, status: string | undefined, diagnostic: string | undefined): DeliverySeverity {
  if (action) {
    if (action.startsWith('fail')) return 'permanent';
    if (action.startsWith('delay')) return 'delay';
    if (/^(delivered|relayed|expanded)/.test(action)) return 'delivered';
  }
  const cls = status?.[0] ?? REPLY_CODE.exec(diagnostic ?? '')?.[1];
  return cls === '4' ? 'delay' : cls === '2' ? 'delivered' : 'permanent';
}

function overall(recipients: readonly BounceRecipient[]): DeliverySeverity {
  if (recipients.some((r) => r.severity === 'permanent')) return 'permanent';
  if (recipients.some((r) => r.severity === 'delay')) return 'delay';
  return recipients.length ? 'delivered' : 'permanent';
}

function cleanAddress(value: string | undefined): string | undefined {
  if (!value) return undefined;
  const after = value.includes(';') ? value.slice(value.indexOf(';') + 1) : value;
  const m = after.match(ADDRESS);
  return m ? m[0].toLowerCase() : undefined;
}

function shorten(text: string | undefined, max = 300): string | undefined {
  if (!text) return undefined;
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat || undefined;
}

/**
 * The most telling status of a recipient: the code the remote server gave in its own reply (the Diagnostic-Code,
 * "550 5.7.1 ..."), which is more precise than the summary the reporting MTA puts in Status ("5.0.0", or 4.4.7
 * for a message that expired after that refusal); the Status field otherwise.
 */
function bestStatus(statusField: string | undefined, diagnostic: string | undefined): string | undefined {
  const declared = statusIn(statusField);
  const said = replyStatus(diagnostic) ?? statusIn(diagnostic);
  return said ?? declared;
}

/** The enhanced code right after an SMTP reply code ("550 5.1.1", "550-'5.7.1"), else undefined. */
function replyStatus(text: string | undefined): string | undefined {
  const m = text ? /(?<![\d.])[245]\d\d[ -]['"(]?([245]\.\d{1,3}\.\d{1,3})(?!\.?\d)/.exec(text) : null;
  return m?.[1];
}

/** The recipients of RFC 3464 `message/delivery-status` bodies (one per-message group, then one per recipient). */
export function parseDeliveryStatus(body: string): BounceRecipient[] {
  const recipients: BounceRecipient[] = [];
  for (const group of body.split(/\r?\n[ \t]*\r?\n/)) {
    const fields = parseHeaderBlock(group.replace(/^\s+/, ''));
    const final = fields['final-recipient'] ?? fields['x-actual-recipient'];
    const original = fields['original-recipient'];
    const action = fields['action']?.trim().split(/[\s;(]/)[0]?.toLowerCase();
    if (!final && !original && !(action && fields['status'])) continue;
    const diagnostic = fields['diagnostic-code'];
    const status = bestStatus(fields['status'], diagnostic);
    recipients.push({
      address: cleanAddress(final) ?? cleanAddress(original),
      status,
      action: action || undefined,
      diagnostic: shorten(diagnostic?.replace(/^\s*[\w-]+\s*;\s*/, '')),
      severity: severityOf(action, status, diagnostic),
    });
  }
  return recipients;
}

/** A structured delivery report: a `message/delivery-status` part anywhere in the returned structure's top. */
export function findDsn(root: MimePart): BounceFinding | undefined {
  const statusParts = allParts(root).filter(
    (p) => !p.embedded && (p.type === 'message/delivery-status' || p.type === 'message/global-delivery-status'),
  );
  const isReport = root.type === 'multipart/report' && (root.params['report-type'] ?? '').toLowerCase() === 'delivery-status';
  if (!statusParts.length && !isReport) return undefined;
  const recipients = statusParts.flatMap((p) => parseDeliveryStatus(p.body));
  if (!recipients.length) {
    // a report without usable fields (some MTAs leave them out): read its human part like a text bounce
    const text = textBounce(root, { force: true });
    return text ? { ...text, format: 'dsn', reason: `multipart/report; report-type=delivery-status without recipient fields; ${text.reason}` } : undefined;
  }
  // fill a missing code from the human-readable part, which often quotes the remote server
  const human = cutOriginal(readableText(root));
  const filled = recipients.map((r) => {
    if (r.status && !/^\d\.0\.0$/.test(r.status)) return r;
    const near = statusNear(human, r.address);
    return near && (!r.status || near[0] === r.status[0]) ? { ...r, status: near } : r;
  });
  const where = isReport ? 'multipart/report; report-type=delivery-status' : 'a message/delivery-status part';
  return { format: 'dsn', severity: overall(filled), recipients: filled, reason: where };
}

/** An Amazon SES notification (the SNS JSON of a bounce, complaint or delivery) in a mail body or an event. */
export function parseSesNotification(json: unknown): SesFinding | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const n = json as Record<string, unknown>;
  // the SNS envelope around it (an SNS subscription delivers the notification as a string in Message)
  if (n['Type'] === 'Notification' && typeof n['Message'] === 'string') {
    try {
      return parseSesNotification(JSON.parse(n['Message']));
    } catch {
      return sesNotificationInText(n['Message'].replace(/\\"/g, '"'));
    }
  }
  const type = String(n['notificationType'] ?? n['eventType'] ?? '');
  const mail = n['mail'] as { messageId?: string } | undefined;
  const messageId = typeof mail?.messageId === 'string' ? mail.messageId : undefined;
  if (type === 'Bounce') {
    const b = (n['bounce'] ?? {}) as { bounceType?: string; bouncedRecipients?: { emailAddress?: string; status?: string; action?: string; diagnosticCode?: string }[] };
    const transient = b.bounceType === 'Transient';
    const recipients = (b.bouncedRecipients ?? []).map((r) => {
      const status = bestStatus(r.status, r.diagnosticCode);
      return {
        address: cleanAddress(r.emailAddress),
        status,
        action: r.action,
        diagnostic: shorten(r.diagnosticCode?.replace(/^\s*[\w-]+\s*;\s*/, '')),
        severity: transient ? ('delay' as const) : severityOf(r.action, status, r.diagnosticCode),
      };
    });
    return { kind: 'bounce', messageId, finding: { format: 'ses', severity: recipients.length ? overall(recipients) : transient ? 'delay' : 'permanent', recipients, reason: `Amazon SES ${b.bounceType ?? ''} bounce notification`.replace('  ', ' ') } };
  }
  if (type === 'Delivery') {
    const d = (n['delivery'] ?? {}) as { recipients?: string[]; smtpResponse?: string };
    const status = statusIn(d.smtpResponse);
    const recipients = (d.recipients ?? []).map((r) => ({ address: cleanAddress(r), status, action: 'delivered', severity: 'delivered' as const }));
    return { kind: 'bounce', messageId, finding: { format: 'ses', severity: 'delivered', recipients, reason: 'Amazon SES delivery notification' } };
  }
  if (type === 'Complaint') {
    const c = (n['complaint'] ?? {}) as { complaintFeedbackType?: string; complainedRecipients?: { emailAddress?: string }[] };
    return {
      kind: 'complaint',
      messageId,
      feedbackType: c.complaintFeedbackType,
      recipients: (c.complainedRecipients ?? []).map((r) => cleanAddress(r.emailAddress)).filter((a): a is string => !!a),
    };
  }
  return undefined;
}

/** The JSON of an SES notification sent by mail (SNS email subscription), if this body is one. */
export function sesNotificationInText(text: string): SesFinding | undefined {
  // an MTA that breaks long lines leaves "!" + newline + space inside the JSON
  const body = text.replace(/!\r?\n /g, '');
  const start = body.indexOf('{');
  if (start === -1 || !/\\?"(notificationType|eventType)\\?"\s*:/.test(body)) return undefined;
  // SNS appends an unsubscribe footer after the JSON: cut back to each closing brace until it parses
  for (let end = body.lastIndexOf('}'), tries = 0; end > start && tries < 50; end = body.lastIndexOf('}', end - 1), tries++) {
    try {
      return parseSesNotification(JSON.parse(body.slice(start, end + 1)));
    } catch {
      // keep cutting
    }
  }
  // still not JSON (a mangled copy): read the fields one by one
  const field = (name: string): string | undefined => new RegExp(`"${name}"\\s*:\\s*"([^"]*)"`).exec(body)?.[1];
  const recipients = [...body.matchAll(/\{[^{}]*"emailAddress"\s*:\s*"([^"]+)"[^{}]*\}/g)].map((m) => {
    const one = m[0];
    const get = (name: string): string | undefined => new RegExp(`"${name}"\\s*:\\s*"([^"]*)"`).exec(one)?.[1];
    return { emailAddress: m[1], status: get('status'), action: get('action'), diagnosticCode: get('diagnosticCode') };
  });
  return parseSesNotification({
    notificationType: field('notificationType') ?? field('eventType'),
    mail: { messageId: field('messageId') },
    bounce: { bounceType: field('bounceType'), bouncedRecipients: recipients },
    complaint: { complaintFeedbackType: field('complaintFeedbackType'), complainedRecipients: recipients },
    delivery: { recipients: recipients.map((r) => r.emailAddress), smtpResponse: field('smtpResponse') },
  });
}

// what a person writes, or a report says, fits well within this; the rest is attachments and pasted logs
const MAX_READABLE = 200_000;

/** The text a person reads in the message: its own text parts (plain first, else HTML), not a returned message. */
export function readableText(root: MimePart): string {
  const own = allParts(root).filter((p) => !p.embedded && !p.children.length);
  const plain = own.filter((p) => p.type === 'text/plain' || p.type === 'text');
  if (plain.length) return plain.map((p) => p.body).join('\n').slice(0, MAX_READABLE);
  const html = own.filter((p) => p.type === 'text/html');
  return html.map((p) => htmlToText(p.body.slice(0, MAX_READABLE * 5))).join('\n').slice(0, MAX_READABLE);
}

// where a text bounce starts quoting the returned message
const ORIGINAL_MARKERS = [
  /^[ \t|]*[-=_*]*\s*(This is a copy of|Included is a copy of|Message text follows|Below this line is a copy of|Enclosed is a copy of|Original message|Original mail|Original Message follows|Unsent message follows|Original message headers|The header of the original message|Message header(s)? follow|Returned message|Returned mail follows|Forwarded message|Message original|Mensaje original|Ursprüngliche Nachricht|Headers of the original message|A copy of the original message)/im,
  /^[ \t]*-{3,}\s*(original|returned|unsent) (message|mail)/im,
  /^[ \t]*(The original message (was|is) (attached|included|below|as follows))/im,
];
const MESSAGE_HEADER = /^(Return-Path|Received|Message-I[dD]|DKIM-Signature|MIME-Version|Content-Type|From|To|Subject|Date|Reply-To|X-[\w-]+|Delivered-To|Authentication-Results):[ \t]/i;
const CORE_HEADER = /^(Return-Path|Received|Message-I[dD]|DKIM-Signature|MIME-Version|From|Delivered-To|Authentication-Results):[ \t]/i;

/** The report's own words, without the returned message that follows them. */
export function cutOriginal(text: string): string {
  let end = text.length;
  for (const marker of ORIGINAL_MARKERS) {
    const m = marker.exec(text);
    if (m && m.index < end && m.index > 0) end = m.index;
  }
  // otherwise the first run of message headers (two in a row) starts the copy
  const lines = text.slice(0, end).split('\n');
  let offset = 0;
  for (let i = 0; i < lines.length - 1; i++) {
    if (CORE_HEADER.test(lines[i]!) && MESSAGE_HEADER.test(lines[i + 1]!) && offset > 0) {
      end = offset;
      break;
    }
    offset += lines[i]!.length + 1;
  }
  return text.slice(0, end);
}

function statusNear(text: string, address: string | undefined): string | undefined {
  if (!address) return statusIn(text);
  const at = text.toLowerCase().indexOf(address);
  return at === -1 ? undefined : statusIn(text.slice(at, at + 800));
}

const BOUNCE_SUBJECT = [
  /undeliver(able|ed)/i,
  /(delivery|mail) (status notification|failure|failed|has failed|problem|notification)/i,
  /returned mail|mail returned|returning message|returned to sender/i,
  /failure notice|failure delivery|failed delivery|delivery error/i,
  /non[- ]?delivery|\bNDR\b/i,
  /(could not|cannot|couldn'?t|unable to) (be )?(send|deliver)/i,
  /message (not delivered|delayed|could not)|delayed mail|delivery delayed|\bdelayed \d+ hours?/i,
  /mail system error|mail failure|error sending your mail/i,
  /メッセージを配信できません|メールエラー|не доставлено|nicht zustellbar|non remis|não entregue|no entregado/i,
  /^(warning|delay)\b.*(delay|could not send|not yet delivered)/i,
];

const BOUNCE_BODY = [
  /did not reach the following recipient|error (while )?delivering|error has occurred while attempting to deliver|did not like (our|the) (rcpt|recipient|mail)/i,
  /(had|with) delivery errors|delivery (was|has been) aborted|was aborted after|could not find a gateway/i,
  /(unknown|invalid) (user|recipient|mailbox|address)|user unknown|no such user|requested action not taken|recipient address rejected/i,
  /(was|were) rejected by (a |the )?(remote|destination|recipient'?s?)? ?(mail )?server|failure reasons?|mailbox (is )?full|over quota|quota exceeded/i,
  /(could|can)(not|'t| not) be delivered/i,
  /(was|were) not (delivered|able to be delivered)/i,
  /(unable|not able|wasn'?t able|failed) to deliver/i,
  /delivery (to the following recipients?|has failed|failed|attempts? [^\n]{0,100}failed)/i,
  /(permanent|fatal|temporary) (error|failure)s?\b/i,
  /message (delivery )?(has )?(failed|could not|was rejected|delayed|not delivered|was undeliverable|is undeliverable)/i,
  /created automatically by mail delivery software/i,
  /this is the (qmail-send program|mail (delivery )?system|mail transport)/i,
  /the following (address(es)?|recipients?) (failed|had permanent|could not|was undeliverable)/i,
  /(remote host|remote server|server) (said|replied|returned|rejected)/i,
  /smtp error from remote|transcript of session follows|original message was received at/i,
  /has not (yet )?been delivered|will (continue to )?(be )?retr(y|ied)|still (being retried|trying)/i,
  /(user|mailbox|recipient|address) (unknown|not found|unavailable|does not exist|is full|full|disabled|inactive)/i,
  /no such (user|mailbox|recipient|address)/i,
  /retry time(out)? (not reached|exceeded)|giving up on|i'?ve given up/i,
  /your (message|mail|email) (to [^\n]{0,200}? )?(could not|couldn'?t|did not|didn'?t|wasn'?t|was not)/i,
  /undeliverable|returned to sender|non-?delivery/i,
  /配信できませんでした|送信できませんでした|не (может быть |было )?доставлено|не удалось доставить/i,
];

const DELAY_WORDS = /\bdelay(ed)?\b|will (continue to )?(be )?retr(y|ied)|still (being retried|trying)|has not (yet )?been delivered|not yet been delivered|warning/i;

const LIST_REFUSAL = /not (a )?member|loop alert|duplicated message-id|not allowed to post|posting (is )?(restricted|denied|rejected)|rejected|held for moderation|awaits moderator/i;

/** A mailing-list manager (fml, ezmlm, Mailman, Sympa...) answering for a list address, not a person. */
export function isListManager(from: string | undefined, headers: Readonly<Record<string, string>>): boolean {
  const local = from?.split('@')[0] ?? '';
  const listSoftware = headers['x-mlserver'] !== undefined || headers['mailing-list'] !== undefined || headers['x-mailman-version'] !== undefined || headers['x-sympa-to'] !== undefined;
  return /-(admin|owner|request|bounces?)$|^(listserv|majordomo|mailman|sympa|ezmlm)$/i.test(local) && (listSoftware || headers['list-id'] !== undefined);
}

/** The bounce's sender is a mail system, not a person. */
export function isDaemonSender(from: string | undefined, fromHeader: string | undefined): boolean {
  const local = from?.split('@')[0];
  if (local && DAEMON_LOCAL.test(local)) return true;
  if (!from && fromHeader !== undefined && /^\s*<?>?\s*$|mailer-?daemon/i.test(fromHeader)) return true;
  return /mail delivery (system|subsystem)|mailer.?daemon|postmaster|NDR Administrator|delivery status/i.test(fromHeader ?? '');
}

/**
 * A plain-text bounce: a bounce subject or mail-system sender, and the words a bounce uses. The failed
 * recipients are the addresses in the report's own words (not the returned copy), less the report's own sender
 * and recipient and the mail system's addresses; each gets the first status code that follows it.
 */
export function textBounce(
  root: MimePart,
  options: { force?: boolean; subject?: string; from?: string; to?: readonly string[]; nullSender?: boolean } = {},
): BounceFinding | undefined {
  const whole = readableText(root);
  const text = cutOriginal(whole);
  const subject = options.subject ?? '';
  const fromHeader = root.headers['from'];
  const subjectHit = BOUNCE_SUBJECT.find((r) => r.test(subject));
  const bodyHit = BOUNCE_BODY.find((r) => r.test(text));
  const daemon = isDaemonSender(options.from, fromHeader);
  const returned = allParts(root).some((p) => p.embedded);
  const listManager = isListManager(options.from, root.headers);
  if (!options.force) {
    const sure =
      (subjectHit && daemon) ||
      (bodyHit && (subjectHit || daemon || (options.nullSender && (STATUS.test(text) || returned)))) ||
      (options.nullSender && returned && (daemon || /no-?reply/i.test(options.from ?? ''))) ||
      (listManager && (bodyHit || LIST_REFUSAL.test(`${subject}\n${text}`)));
    if (!sure) return undefined;
  }

  const skip = new Set<string>([...(options.to ?? []), ...(options.from ? [options.from] : [])].map((a) => a.toLowerCase()));
  const found: { address: string; at: number; summary: boolean }[] = [];
  for (const m of text.matchAll(ADDRESS)) {
    const address = m[0].toLowerCase().replace(/\.$/, '');
    const local = address.split('@')[0]!;
    if (skip.has(address) || DAEMON_LOCAL.test(local) || found.some((f) => f.address === address)) continue;
    // Message-IDs and Received ids look like addresses: an address inside <...> after "id" or in a Message-ID is not one
    const before = text.slice(Math.max(0, m.index! - 40), m.index!);
    if (/(message-id|msgid|\bid)[:=]?\s*<?$/i.test(before)) continue;
    // the sender, an alias the recipient was expanded from, a help address: not a failed recipient
    const line = before.slice(before.lastIndexOf('\n') + 1);
    if (/(generated from|sent by|contact|send mail to|write to|envelope-from|\bfrom:)\s*[:<(]?\s*$/i.test(before)) {
      skip.add(address);
      continue;
    }
    const summary = /^\s*(From|To|Cc|Sent|Subject|Date|MAIL FROM|Reply-To|Return-Path|Sender)\s*:/i.test(line);
    found.push({ address, at: m.index!, summary });
  }
  // the summary of the returned message ("To: ...") names a recipient only when nothing else does
  if (found.some((f) => !f.summary)) found.splice(0, found.length, ...found.filter((f) => !f.summary));
  // some MTAs write the delivery-status fields into the text, or return a whole DSN as the "original"
  const inline = parseDeliveryStatus(text).filter((r) => r.address || r.status);
  const nested = allParts(root)
    .filter((p) => p.embedded && (p.type === 'message/delivery-status' || p.type === 'message/global-delivery-status'))
    .flatMap((p) => parseDeliveryStatus(p.body));
  const fielded = inline.length ? inline : nested;
  if (fielded.length && !fielded.every((r) => !r.status)) {
    const where = inline.length ? 'delivery-status fields in the text' : 'a delivery report returned inside the bounce';
    return { format: 'text', severity: overall(fielded), recipients: fielded, reason: `plain-text bounce with ${where}` };
  }
  const delayed = DELAY_WORDS.test(subject) || /\bwarning\b/i.test(subject) || (DELAY_WORDS.test(text) && !/permanent|given up|giving up|failed permanently/i.test(text));
  const recipients: BounceRecipient[] = found.map((f, i) => {
    const next = found[i + 1]?.at ?? text.length;
    const window = text.slice(f.at, Math.max(next, f.at + 1));
    const status = failureStatusIn(window) ?? failureStatusIn(text.slice(f.at, f.at + 600));
    return { address: f.address, status, severity: textSeverity(status, delayed) };
  });
  if (!recipients.length) {
    const status = failureStatusIn(text);
    recipients.push({ status, severity: textSeverity(status, delayed) });
  }
  const signals = [subjectHit ? 'a bounce subject' : '', daemon ? 'a mail-system sender' : '', listManager ? "a mailing-list manager's notice" : '', options.nullSender ? 'a null return path' : '', returned ? 'the original message returned' : '', bodyHit ? `bounce wording ("${bodyHit.exec(text)![0]}")` : ''].filter(Boolean);
  return { format: 'text', severity: overall(recipients), recipients, reason: `plain-text bounce: ${signals.join(', ') || 'delivery report without fields'}` };
}

function textSeverity(status: string | undefined, delayed: boolean): DeliverySeverity {
  if (status?.[0] === '2') return 'delivered';
  if (status?.[0] === '5') return 'permanent';
  if (delayed) return 'delay';
  // a 4.x.x code in a report that is not a delay warning: the MTA retried until it gave up
  return 'permanent';
}

/** The first failure code (4.x.x or 5.x.x) of a text, else its first code: an SMTP transcript starts with 2.x.x. */
function failureStatusIn(text: string): string | undefined {
  const all = statusesIn(text);
  return all.find((s) => s[0] !== '2') ?? all[0];
}

/** Every enhanced status code in a text, in order (for diagnostics). */
export function statusesIn(text: string): string[] {
  return [...text.matchAll(STATUS_ALL)].map((m) => `${m[1]}.${m[2]}.${m[3]}`);
}
