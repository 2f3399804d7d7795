import { z } from 'zod';
import type { InboundMail } from '../../ports.js';
import { cutOriginal, findDsn, isDaemonSender, readableText, sesNotificationInText, textBounce, type BounceFinding } from './bounce.js';
import { detectIntent, findTicket, type IntentFinding } from './intent.js';
import { allParts, decodeWords, parseHeaderBlock, parseMime, type MimePart } from './mime.js';
import { DEFAULT_NOTICE_MARKERS, humanPart } from './reply.js';

/**
 * Every inbound message is exactly one of four classes, decided in this order (the first that fits wins, so a
 * bounce that carries `Auto-Submitted` is a bounce and an ARF report is never an answer):
 *  1. report      an ARF feedback report (RFC 5965), an SES complaint, an XARF report, a mailbox provider's
 *                 complaint or one-click unsubscribe: kept for review, never an answer;
 *  2. bounce      an RFC 3464 delivery report, an SES notification, or a plain-text bounce; `severity` says
 *                 whether delivery failed for good, is delayed (4.x.x warnings), or succeeded (a delivery
 *                 success notice is a delivery report too: it is recorded and changes nothing);
 *  3. auto-reply  RFC 3834 `Auto-Submitted`, `X-Autoreply`, `Precedence: auto_reply`, Exchange's "Automatic
 *                 reply:" without headers, ticket-system receipts ("[Ticket#12345] received"), with the ticket;
 *  4. human       a person's answer, with its intent read from the text above the quoted part, or `unclear`.
 */

export const MailClass = z.enum(['bounce', 'report', 'auto-reply', 'human']);
export type MailClass = z.infer<typeof MailClass>;

export const HumanIntentValue = z.enum(['acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed', 'unclear']);
export type HumanIntentValue = z.infer<typeof HumanIntentValue>;

const Severity = z.enum(['permanent', 'delay', 'delivered']);

/** What the message refers to: thread ids, and the headers of a returned or quoted original. */
export const MailRefs = z.object({
  messageIds: z.array(z.string()),
  subjects: z.array(z.string()),
  addresses: z.array(z.string()),
});
export type MailRefs = z.infer<typeof MailRefs>;

export const BounceRecipientInfo = z.object({
  address: z.string().optional(),
  status: z.string().optional(),
  action: z.string().optional(),
  diagnostic: z.string().optional(),
  severity: Severity,
});

const Common = { reason: z.string(), refs: MailRefs };

/** The classifier's verdict, with the fields it extracted and why. */
export const Classification = z.discriminatedUnion('class', [
  z.object({
    class: z.literal('bounce'),
    severity: Severity,
    format: z.enum(['dsn', 'ses', 'text']),
    recipients: z.array(BounceRecipientInfo),
    ...Common,
  }),
  z.object({
    class: z.literal('report'),
    format: z.enum(['arf', 'ses', 'xarf', 'jmrp', 'unsubscribe']),
    feedbackType: z.string().optional(),
    ...Common,
  }),
  z.object({
    class: z.literal('auto-reply'),
    kind: z.enum(['vacation', 'receipt', 'automatic']),
    ticket: z.string().optional(),
    ...Common,
  }),
  z.object({
    class: z.literal('human'),
    intent: HumanIntentValue,
    phrase: z.string().optional(),
    language: z.enum(['en', 'fr', 'ar', 'pt']).optional(),
    ticket: z.string().optional(),
    /** the writer's own text (above the quoted part), shortened */
    text: z.string(),
    ...Common,
  }),
]);
export type Classification = z.infer<typeof Classification>;

/** What the classifier may know besides the message. */
export interface ClassifyContext {
  /** lines that start a copy of our notice pasted without quote marks (defaults to the notice's first lines) */
  readonly noticeMarkers?: readonly RegExp[];
}

const AUTO_SUBJECT =
  /^\s*(\[[^\]]{1,80}\]\s*)*(automatic reply|auto(matic)?[ -]?(reply|response|respons|antwort)|autoreply|out of (the )?office|away from (the )?office|abwesenheitsnotiz|r[ée]ponse automatique|absence du bureau|absent\b|resposta autom[áa]tica|respuesta autom[áa]tica|fuera de la oficina|aus[êe]ncia|fora do escrit[óo]rio|رد تلقائي|الرد التلقائي|رد آلي|خارج المكتب)/i;
const VACATION_WORDS = /out of (the )?office|vacation|holiday|on leave|away (from|until)|limited access to e-?mail|r[ée]ponse automatique|absent|cong[ée]s?|f[ée]rias|ausente|إجازة|اجازة|خارج المكتب/i;
const RECEIPT_SUBJECT = [
  /(ticket|case|request|report|incident|complaint|chamado|protocolo|dossier|demande|signalement|den[úu]ncia|تذكرة|بلاغ|طلب).{0,80}(has been |was |is )?(received|created|opened|logged|registered|acknowledg\w*|re[çc]u\w*|cr[ée]{2}\w*|ouvert\w*|enregistr\w*|recebid\w*|abert\w*|criad\w*|registrad\w*|استلام|إنشاء|انشاء|فتح|تسجيل)/i,
  /^\s*(\[[^\]]{1,80}\]\s*)*(received|acknowledg(e)?ment|we (have )?received|accus[ée] de r[ée]ception|confirma[çc][ãa]o de recebimento|تأكيد استلام|تم استلام)/i,
];
const AUTOMATED_BODY = [
  /this is an? (automated|automatic|auto-generated|system[- ]generated) (message|response|reply|notification|acknowledg(e)?ment|e-?mail|confirmation)/i,
  /(this|the) (message|e-?mail|response|reply) (was|has been|is) (automatically )?(generated|sent) automatically/i,
  /(do not|don't|please do not) reply (to|directly to) this (e-?mail|message|address)/i,
  /this mailbox is (not|un)monitored|no-?reply address/i,
  /(ceci est un|il s'agit d'un) (message|courriel|accus[ée] de r[ée]ception) automatique|message (g[ée]n[ée]r[ée] )?automatiquement|merci de ne pas r[ée]pondre/i,
  /(esta|este) [ée] uma? (mensagem|resposta|e-?mail) autom[áa]tic[oa]|mensagem autom[áa]tica|n[ãa]o responda (a )?este/i,
  /(هذه|هذة) (رسالة|الرسالة) (تلقائية|آلية|الية)|رسالة (آلية|الية|تلقائية)|يرجى عدم الرد/,
];
const STRONG_AUTO_HEADERS = ['x-autoreply', 'x-autorespond', 'x-autoresponder', 'x-autogenerated'] as const;

/** Classify one inbound message. Pure: reads the message's own bytes and headers, nothing else. */
export function classifyMail(mail: InboundMail, context: ClassifyContext = {}): Classification {
  const root = parseMime(mail.raw);
  const headers = mail.headers;
  const refs = refsOf(mail, root);
  const subject = mail.subject ?? '';
  const ownText = readableText(root);

  const ses = /sns\.amazonaws\.com|amazonses\.com/i.test(mail.from ?? '') || /\\?"notificationType\\?"/.test(ownText) ? sesNotificationInText(ownText) : undefined;
  if (ses?.kind === 'complaint') {
    return { class: 'report', format: 'ses', feedbackType: ses.feedbackType, reason: 'Amazon SES complaint notification', refs: withId(refs, ses.messageId) };
  }
  if (ses?.kind === 'bounce') return bounce(ses.finding, withId(refs, ses.messageId));

  const report = findReport(root, headers);
  if (report) return { class: 'report', ...report, refs };

  const dsn = findDsn(root);
  if (dsn) return bounce(dsn, refs);

  // the raw header: the adapter's parsed Return-Path of "<>" is an empty string
  const nullSender = /^\s*<\s*>\s*$/.test((root.headers['return-path'] ?? headers['return-path'] ?? '').split('\n')[0] ?? '');
  const autoSubmitted = autoSubmittedValue(headers);
  const text = textBounce(root, { subject, from: mail.from, to: mail.to, nullSender });
  if (text) return bounce(text, refs);

  // a mail system that did not say what happened is still not a person
  if (isDaemonSender(mail.from, headers['from']) && (nullSender || autoSubmitted !== undefined)) {
    return bounce({ format: 'text', severity: 'permanent', recipients: [{ severity: 'permanent' }], reason: 'a mail-system sender with a null return path, no delivery report fields' }, refs);
  }

  const part = humanPart(ownText, context.noticeMarkers ?? DEFAULT_NOTICE_MARKERS);
  const ticket = findTicket(subject, headers['rt-ticket'], headers['x-otrs-ticketnumber'], headers['x-ticket-id'], headers['x-ticket-number'], part.text.slice(0, 1000));
  const auto = autoReply(headers, subject, part.text, autoSubmitted);
  if (auto && auto.strength === 'strong') return { class: 'auto-reply', kind: auto.kind, ticket, reason: auto.reason, refs };

  const intent = detectIntent(part.text);
  if (auto) {
    // weak signals (Precedence: bulk, as RT puts on every reply) give way to a person's clear words
    if (intent.intent === 'unclear') return { class: 'auto-reply', kind: auto.kind, ticket, reason: auto.reason, refs };
    return human(intent, part.text, ticket, `${auto.reason}, but ${intent.reason}${part.quote ? `; quoted part cut at ${part.quote}` : ''}`, refs);
  }
  return human(intent, part.text, ticket, `${intent.reason}${part.quote ? `; quoted part cut at ${part.quote}` : ''}`, refs);
}

function human(intent: IntentFinding, text: string, ticket: string | undefined, reason: string, refs: MailRefs): Classification {
  return {
    class: 'human',
    intent: intent.intent,
    phrase: intent.phrase,
    language: intent.language,
    ticket,
    text: text.length > 2000 ? `${text.slice(0, 1999)}…` : text,
    reason,
    refs,
  };
}

function bounce(finding: BounceFinding, refs: MailRefs): Classification {
  return {
    class: 'bounce',
    severity: finding.severity,
    format: finding.format,
    recipients: finding.recipients.map((r) => ({ ...r })),
    reason: finding.reason,
    refs,
  };
}

function autoSubmittedValue(headers: Readonly<Record<string, string>>): string | undefined {
  const value = headers['auto-submitted']?.split('\n')[0]?.trim().toLowerCase();
  return value && !value.startsWith('no') ? value : undefined;
}

function autoReply(
  headers: Readonly<Record<string, string>>,
  subject: string,
  ownText: string,
  autoSubmitted: string | undefined,
): { kind: 'vacation' | 'receipt' | 'automatic'; reason: string; strength: 'strong' | 'weak' } | undefined {
  // our own subject ("[TKD-…] Takedown request: …") says nothing about theirs
  const theirSubject = subject.replace(/\[TKD-n[0-9a-z]{16}\][^[]*/gi, ' ');
  const head = ownText.slice(0, 3000);
  const receipt = RECEIPT_SUBJECT.find((r) => r.test(theirSubject));
  const automatedBody = AUTOMATED_BODY.find((r) => r.test(head));
  const kind = (): 'vacation' | 'receipt' | 'automatic' =>
    receipt || /ticket|case (number|id|#)|(report|request) (has been|was) (received|logged|registered)|chamado|protocolo|dossier|تذكرة/i.test(`${theirSubject}\n${head}`)
      ? 'receipt'
      : VACATION_WORDS.test(`${theirSubject}\n${head}`) || AUTO_SUBJECT.test(subject)
        ? 'vacation'
        : 'automatic';

  if (autoSubmitted) return { kind: kind(), reason: `Auto-Submitted: ${autoSubmitted} (RFC 3834)`, strength: 'strong' };
  const strongHeader = STRONG_AUTO_HEADERS.find((h) => headers[h] !== undefined);
  if (strongHeader) return { kind: kind(), reason: `${strongHeader} header`, strength: 'strong' };
  const precedence = headers['precedence']?.split('\n')[0]?.trim().toLowerCase();
  if (precedence === 'auto_reply' || precedence === 'auto-reply') return { kind: kind(), reason: `Precedence: ${precedence}`, strength: 'strong' };
  if (/vacation|auto.?reply/i.test(headers['x-apple-action'] ?? '')) return { kind: 'vacation', reason: `X-Apple-Action: ${headers['x-apple-action']}`, strength: 'strong' };
  const autoSubject = AUTO_SUBJECT.exec(subject);
  if (autoSubject) return { kind: kind(), reason: `an automatic-reply subject ("${autoSubject[0].trim()}")`, strength: 'strong' };
  if (automatedBody) return { kind: kind(), reason: `automated wording ("${automatedBody.exec(ownText)![0]}")`, strength: 'strong' };
  if (receipt) return { kind: 'receipt', reason: `a ticket-receipt subject ("${receipt.exec(theirSubject)![0].trim()}")`, strength: 'weak' };
  if (precedence === 'bulk' || precedence === 'junk' || precedence === 'list') return { kind: kind(), reason: `Precedence: ${precedence}`, strength: 'weak' };
  const suppress = headers['x-auto-response-suppress'];
  if (suppress && /\b(all|oof|autoreply)\b/i.test(suppress)) return { kind: kind(), reason: `X-Auto-Response-Suppress: ${suppress}`, strength: 'weak' };
  return undefined;
}

function findReport(root: MimePart, headers: Readonly<Record<string, string>>): { format: 'arf' | 'xarf' | 'jmrp' | 'unsubscribe'; feedbackType?: string; reason: string } | undefined {
  const parts = allParts(root);
  const feedback = parts.find((p) => !p.embedded && p.type === 'message/feedback-report');
  const isArf = root.type === 'multipart/report' && (root.params['report-type'] ?? '').toLowerCase() === 'feedback-report';
  if (feedback || isArf) {
    const fields = feedback ? parseHeaderBlock(feedback.body.trim()) : {};
    const type = fields['feedback-type']?.split('\n')[0]?.trim().toLowerCase();
    if (type === 'xarf') return { format: 'xarf', feedbackType: type, reason: 'an ARF report carrying an XARF report (Feedback-Type: xarf)' };
    return { format: 'arf', feedbackType: type, reason: `an ARF feedback report (RFC 5965)${type ? `, Feedback-Type: ${type}` : ''}` };
  }
  if (headers['x-xarf'] !== undefined || headers['x-arf'] !== undefined) {
    return { format: 'xarf', reason: `an X-ARF report (${headers['x-xarf'] !== undefined ? 'X-XARF' : 'X-ARF'} header)` };
  }
  const xarfJson = parts.find((p) => !p.embedded && /json/.test(p.type) && /"(ReporterInfo|Reporter)"\s*:/.test(p.body) && /"Category"\s*:/.test(p.body));
  if (xarfJson) return { format: 'xarf', reason: 'an XARF report (a JSON part with Reporter and Category)' };
  if (parts.some((p) => p.embedded && p.headers['x-hmxmroriginalrecipient'] !== undefined)) {
    return { format: 'jmrp', feedbackType: 'abuse', reason: 'a Microsoft JMRP complaint (returned message with X-HmXmrOriginalRecipient)' };
  }
  if (/^\s*true\s*$/i.test(headers['x-apple-unsubscribe'] ?? '')) {
    return { format: 'unsubscribe', feedbackType: 'opt-out', reason: 'a one-click unsubscribe request (X-Apple-Unsubscribe: true)' };
  }
  return undefined;
}

// bounded, so text without the closing part costs linear time
const MESSAGE_ID = /<[^<>\s@]{1,250}@[^<>\s]{1,250}>/g;
const ADDRESS = /(?<![A-Za-z0-9._%+=-])[A-Za-z0-9][A-Za-z0-9._%+=-]{0,63}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){1,10}/g;

/** The ids, subjects and addresses a message refers to: its thread headers and any returned or quoted original. */
export function refsOf(mail: InboundMail, root: MimePart = parseMime(mail.raw)): MailRefs {
  const messageIds = new Set<string>();
  const subjects = new Set<string>();
  const addresses = new Set<string>();
  for (const id of [mail.inReplyTo, ...mail.references].flatMap((v) => (v ?? '').match(MESSAGE_ID) ?? [])) messageIds.add(id);
  const take = (h: Readonly<Record<string, string>>): void => {
    for (const id of (h['message-id'] ?? '').match(MESSAGE_ID) ?? []) messageIds.add(id);
    for (const id of `${h['in-reply-to'] ?? ''} ${h['references'] ?? ''}`.match(MESSAGE_ID) ?? []) messageIds.add(id);
    if (h['subject']) subjects.add(decodeWords(h['subject']).slice(0, 500));
    for (const a of `${h['to'] ?? ''} ${h['cc'] ?? ''} ${h['reply-to'] ?? ''}`.match(ADDRESS) ?? []) addresses.add(a.toLowerCase());
  };
  for (const part of allParts(root)) if (part.embedded && Object.keys(part.headers).length) take(part.headers);
  // a text bounce copies the original inline, below its own words
  const text = readableText(root);
  const copy = text.slice(cutOriginal(text).length);
  if (copy) take(parseHeaderBlock(copy.replace(/^[^\n]*\n/, '').replace(/^\s*\n/, '')));
  for (const line of copy.split('\n').slice(0, 400)) {
    const m = /^\s*(Message-I[dD]|Subject|Reply-To|To)\s*:\s*(.*)$/i.exec(line);
    if (m) take({ [m[1]!.toLowerCase()]: m[2]! });
  }
  return { messageIds: [...messageIds].slice(0, 50), subjects: [...subjects].slice(0, 20), addresses: [...addresses].slice(0, 100) };
}

function withId(refs: MailRefs, sesMessageId: string | undefined): MailRefs {
  return sesMessageId ? { ...refs, messageIds: [...refs.messageIds, `<${sesMessageId}@email.amazonses.com>`] } : refs;
}
