import { oneLine } from './one-line.js';
import { TakedownError } from '../../errors.js';
import { indicatorCsv } from './indicator-csv.js';
import { chooseLanguage, DEFAULT_LANGUAGE } from './language.js';
import type { Campaign, Case, Notice, TLP } from '../../model.js';
import type { AnswerLinks, ArfFields, MailDraft, MessagePart, RenderJob } from '../../ports.js';
import { replyAddress } from '../../routing/index.js';
import { escapeHtml, type LanguagePack, type TemplateSet } from './templates.js';
import { strictestTlp } from '../../tlp.js';
import { xarfReport, type XarfParty } from './xarf.js';

export type { AnswerLinks, MessagePart, RenderJob };

/** A duration in domain seconds as people say it: "24 hours", "3 days". */
export function humanDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400 * 2) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  return `${Math.round(seconds / 60)} minutes`;
}

/** The same choice of unit as humanDuration, in a language pack's words. */
function localDuration(pack: LanguagePack, seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400 * 2) return pack.plural('days', seconds / 86400);
  if (seconds % 3600 === 0) return pack.plural('hours', seconds / 3600);
  return pack.plural('minutes', Math.round(seconds / 60));
}

/**
 * The level of what a message carries: the strictest marking among its indicators (an indicator without its
 * own carries the campaign's). RED cannot get here past the TLP gate; if it ever does, nothing is rendered.
 */
export function contentTlp(campaign: Pick<Campaign, 'tlp'>, cases: readonly Pick<Case, 'indicator'>[]): TLP {
  const tlp = strictestTlp(cases.map((c) => c.indicator.tlp ?? campaign.tlp)) ?? campaign.tlp;
  if (cases.some((c) => (c.indicator.tlp ?? campaign.tlp) === 'RED')) {
    throw new TakedownError('TLP.RED', 'a TLP:RED indicator reached a message; nothing was rendered');
  }
  return tlp;
}

/** What a message is rendered from: the job (data, so it can be rendered on another thread) and the templates. */
export interface RenderInput extends RenderJob {
  /** the notice templates (templateSet(deps.templates)) */
  readonly templates: TemplateSet;
}

/** What the reporting software calls itself in ARF reports. */
export const USER_AGENT = 'takedown-orchestrator/0.1';

/** TLP 2.0 label colours (FIRST): the label's text colour on a black background. */
const TLP_COLOUR: Readonly<Record<TLP, string>> = {
  CLEAR: '#FFFFFF',
  GREEN: '#33FF00',
  AMBER: '#FFC000',
  'AMBER+STRICT': '#FFC000',
  RED: '#FF2B2B',
};

/** A time as every language's reader reads it without ambiguity: `2025-01-02 14:30 UTC`. */
function when(time: string | undefined): string | undefined {
  if (!time) return undefined;
  const ms = Date.parse(time);
  if (Number.isNaN(ms)) return time;
  return `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function httpUrl(url: string | undefined, what: string): string | undefined {
  if (url === undefined) return undefined;
  if (!/^https?:\/\/[^\s"'<>\\]+$/i.test(url)) throw new TakedownError('NOTICE.BAD_LINK', `the ${what} is not an http(s) URL`);
  return url;
}

function addressOf(mailbox: string): string {
  return (/<([^<>]+)>\s*$/.exec(mailbox)?.[1] ?? mailbox).trim();
}

/**
 * The notice (or reminder, or escalation) for one recipient: text and HTML in the recipient's language with
 * English alongside, one XARF report per indicator and a CSV of them all, optionally as an ARF report.
 */
export function renderNotice(input: RenderInput): MailDraft {
  const { notice, campaign, cases, settings, now } = input;
  const templates = input.templates;
  const level = contentTlp(campaign, cases);
  const tlpOf = (c: Pick<Case, 'indicator'>): TLP => c.indicator.tlp ?? campaign.tlp;
  const mixedTlp = new Set(cases.map(tlpOf)).size > 1;
  const reply = replyAddress(settings.replyMailbox, notice.id, input.token);
  // a reminder starts a new answer period; the stored deadline is the one that just passed
  const deadline = input.reminder
    ? new Date(now.getTime() + notice.answerDeadline * 1000).toISOString()
    : (notice.deadline ?? new Date(now.getTime() + notice.answerDeadline * 1000).toISOString());
  const webhook = httpUrl(
    input.webhookUrl ?? (settings.publicUrl ? `${settings.publicUrl.replace(/\/+$/, '')}/webhooks/answers` : undefined),
    'webhook URL',
  );
  const links = input.links
    ? {
        acknowledge: httpUrl(input.links.acknowledge, 'acknowledge link')!,
        actioned: httpUrl(input.links.actioned, 'taken-down link')!,
        notOurs: httpUrl(input.links.notOurs, 'not-ours link')!,
      }
    : undefined;
  const csvName = `${notice.tag}-indicators.csv`;
  const xarfName = (i: number) => `${notice.tag}-${i + 1}.xarf.json`;

  const { language } = chooseLanguage(notice.party, templates.languages);
  const packs = language === DEFAULT_LANGUAGE ? [templates.pack(language)] : [templates.pack(language), templates.pack(DEFAULT_LANGUAGE)];

  // submitted and looked-up values enter the templates on one line each (one-line.ts)
  const common = {
    party: { name: oneLine(notice.party.name), kind: notice.party.kind },
    campaign: { name: oneLine(campaign.name), legalBasis: oneLine(campaign.legalBasis) },
    sender: oneLine(settings.senderName),
    tag: notice.tag,
    noticeId: notice.id,
    count: cases.length,
    part: input.part,
    reminder: input.reminder
      ? { n: input.reminder.n, sentAt: when(notice.sentAt), originalMessageId: input.reminder.originalMessageId || undefined }
      : undefined,
    escalation: !input.reminder && input.previous ? { party: oneLine(input.previous.party), sentAt: when(input.previous.sentAt) } : undefined,
    revival: input.revival ? { verifiedDownAt: when(input.revival.verifiedDownAt), detail: oneLine(input.revival.detail) } : undefined,
    deadline: when(deadline),
    indicators: cases.map((c) => ({
      value: c.indicator.value,
      kind: c.indicator.kind,
      threat: oneLine(c.indicator.threat),
      tlp: `TLP:${tlpOf(c)}`,
      caseId: c.id,
      firstSeen: when(c.indicator.firstSeen),
      evidence: oneLine(c.indicator.evidence) || undefined,
    })),
    mixedTlp,
    reply: { address: reply },
    links,
    webhook,
    attachments: { xarf: cases.length, csv: csvName },
  };
  const dataFor = (pack: LanguagePack, brief = false) => ({
    ...common,
    lang: pack.language,
    countPhrase: pack.plural('indicators', cases.length),
    answerWithin: localDuration(pack, notice.answerDeadline),
    actWithin: localDuration(pack, notice.actionDeadline),
    tlp: { level, label: `TLP:${level}`, handling: pack.strings.tlp[level as Exclude<TLP, 'RED'>] },
    englishFollows: packs.length > 1 && pack.language !== DEFAULT_LANGUAGE,
    brief,
  });

  const subjects = packs.map((pack, i) => oneLine(pack.render('subject.txt', dataFor(pack, i > 0))));
  const subject = `[${notice.tag}] ${subjects.join(' / ')} [TLP:${level}]`;

  const kind = notice.party.kind;
  const texts = packs.map((pack) => pack.render(`${kind}.txt`, dataFor(pack)).replace(/\s+$/, ''));
  const rule = '='.repeat(70);
  const text = [
    `TLP:${level}`,
    '',
    texts.join(`\n\n${rule}\nEnglish version\n${rule}\n\n`),
    '',
    '-- ',
    settings.senderName,
    '',
  ].join('\n');

  const first = packs[0]!;
  const label = `<span style="background:#000000;color:${TLP_COLOUR[level]};font-weight:bold;padding:2px 6px">TLP:${level}</span>`;
  const sections = packs.map(
    (pack) => `<div lang="${pack.language}" dir="${pack.dir}">\n${pack.render(`${kind}.html`, dataFor(pack)).trim()}\n</div>`,
  );
  const html = [
    '<!DOCTYPE html>',
    `<html lang="${first.language}" dir="${first.dir}">`,
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${escapeHtml(subject)}</title>`,
    '</head>',
    '<body style="font-family:Arial,Helvetica,sans-serif;line-height:1.45">',
    `<p dir="ltr">${label}</p>`,
    sections.join('\n<hr>\n'),
    `<p dir="auto">-- <br>${escapeHtml(settings.senderName)}</p>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');

  const reporter: XarfParty = {
    org: (settings.organisation ?? settings.senderName).slice(0, 200),
    contact: addressOf(settings.fromAddress),
    domain: addressOf(settings.fromAddress).split('@').pop()!.toLowerCase(),
  };
  const xarf = cases.map((c, i) => ({
    filename: xarfName(i),
    contentType: 'application/json',
    content: `${JSON.stringify(
      xarfReport({ indicator: c.indicator, caseId: c.id, tag: notice.tag, tlp: tlpOf(c), campaign, reporter, now, seed: input.messageId }),
      null,
      2,
    )}\n`,
  }));
  const csv = { filename: csvName, contentType: 'text/csv; charset=utf-8; header=present', content: indicatorCsv(cases, tlpOf) };

  return {
    from: settings.fromAddress,
    to: notice.party.email,
    replyTo: reply,
    subject,
    text,
    html,
    messageId: input.messageId,
    inReplyTo: input.reminder?.originalMessageId || undefined,
    headers: {
      'X-Takedown-Notice': notice.id,
      'X-Takedown-Campaign': campaign.id,
      'X-TLP': level,
    },
    // an ARF report's third part is the XARF report itself when there is one indicator (the CSV would repeat it)
    attachments: notice.party.arf && xarf.length === 1 ? xarf : [...xarf, csv],
    ...(notice.party.arf ? { arf: arfFields(cases) } : {}),
  };
}

/** The feedback-report fields of an ARF notice: what automated desks key on (the address, the names, the URLs). */
function arfFields(cases: readonly Case[]): ArfFields {
  const ascii = (s: string) => /^[\x21-\x7e]+$/.test(s);
  const ips = new Set(cases.filter((c) => c.indicator.hostKind !== 'domain').map((c) => c.indicator.host));
  const domains = [...new Set(cases.filter((c) => c.indicator.hostKind === 'domain').map((c) => c.indicator.host))].filter(ascii);
  // a URI cannot be folded: one longer than a header line may be is left to the attachments
  const uris = cases.filter((c) => c.indicator.kind === 'url').map((c) => c.indicator.value).filter((u) => ascii(u) && u.length <= 900);
  const earliest = cases.reduce((min, c) => {
    const ms = Date.parse(c.indicator.firstSeen ?? '');
    return Number.isNaN(ms) ? min : Math.min(min, ms);
  }, Infinity);
  return {
    feedbackType: 'xarf',
    userAgent: USER_AGENT,
    incidents: cases.length,
    ...(ips.size === 1 ? { sourceIp: [...ips][0]! } : {}),
    ...(earliest !== Infinity ? { arrivalDate: new Date(earliest).toISOString() } : {}),
    ...(domains.length ? { reportedDomains: domains } : {}),
    ...(uris.length ? { reportedUris: uris } : {}),
  };
}
