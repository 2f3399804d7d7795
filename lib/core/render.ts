import { TakedownError } from './errors.js';
import type { Campaign, Case, Notice, TLP } from './model.js';
import type { MailDraft, Settings } from './ports.js';
import { replyAddress } from './routing.js';
import { strictestTlp, tlpHandling } from './tlp.js';

/** A duration in domain seconds as people say it: "24 hours", "3 days". */
export function humanDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400 * 2) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  return `${Math.round(seconds / 60)} minutes`;
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

function indicatorLines(cases: readonly Case[], campaign: Campaign, mixed: boolean): string[] {
  const lines: string[] = [];
  cases.forEach((c, i) => {
    const ind = c.indicator;
    lines.push(`${i + 1}. ${ind.value}  (${ind.kind}${ind.threat ? `, ${ind.threat}` : ''})`);
    if (mixed) lines.push(`   marking: TLP:${ind.tlp ?? campaign.tlp}`);
    lines.push(`   case: ${c.id}`);
    if (ind.firstSeen) lines.push(`   first seen: ${ind.firstSeen}`);
    if (ind.evidence) lines.push(`   evidence: ${ind.evidence.replace(/\s+/g, ' ')}`);
  });
  return lines;
}

export interface RenderInput {
  readonly notice: Notice;
  readonly campaign: Campaign;
  readonly cases: readonly Case[];
  readonly token: string;
  readonly messageId: string;
  readonly settings: Settings;
  /** for a reminder: which one, and the Message-ID of the original notice */
  readonly reminder?: { readonly n: number; readonly originalMessageId: string };
  /** for an escalation: who was asked before, and when */
  readonly previous?: { readonly party: string; readonly sentAt?: string };
  readonly now: Date;
}

/** The plain-text notice (or reminder) for one recipient. */
export function renderNotice(input: RenderInput): MailDraft {
  const { notice, campaign, cases, settings } = input;
  const n = cases.length;
  const what = n === 1 ? '1 malicious indicator' : `${n} malicious indicators`;
  const level = contentTlp(campaign, cases);
  const tlp = `TLP:${level}`;
  const mixed = new Set(cases.map((c) => c.indicator.tlp ?? campaign.tlp)).size > 1;
  const prefix = input.reminder ? `Reminder ${input.reminder.n}: ` : input.previous ? 'Escalation: ' : '';
  const subject = `[${notice.tag}] ${prefix}Takedown request: ${what} for ${notice.party.name} - ${campaign.name} [${tlp}]`;
  const deadline = notice.deadline ?? new Date(input.now.getTime() + notice.answerDeadline * 1000).toISOString();
  const reply = replyAddress(settings.replyMailbox, notice.id, input.token);

  const body = [
    `${tlp}`,
    '',
    `To the abuse team of ${notice.party.name},`,
    '',
    input.reminder
      ? `We have not yet received an answer to our notice ${notice.tag} sent on ${notice.sentAt ?? 'an earlier date'}. Please act on it.`
      : `As part of ${campaign.name}, ${settings.senderName} asks you to take down the infrastructure below, which has been confirmed as malicious.`,
    ...(input.previous
      ? [
          '',
          `These indicators were first reported to ${input.previous.party}${input.previous.sentAt ? ` on ${input.previous.sentAt}` : ''}, who did not act on them in time. We are escalating to you as the next responsible party.`,
        ]
      : []),
    ...(campaign.legalBasis ? ['', `Legal basis: ${campaign.legalBasis}`] : []),
    '',
    `Please answer by ${deadline} (${humanDuration(notice.answerDeadline)} from the notice).`,
    '',
    `Indicators (${n}):`,
    ...indicatorLines(cases, campaign, mixed),
    '',
    'How to answer:',
    `- Reply to this message (keep ${notice.tag} in the subject). Tell us whether you have taken the infrastructure down, will act, or are not the right contact.`,
    ...(settings.publicUrl
      ? [`- Or POST a JSON answer to ${settings.publicUrl}/notices/${notice.id}/answers`]
      : []),
    '',
    `This information is shared under ${tlp}${mixed ? ' (the strictest marking among the indicators; each one shows its own)' : ''}.`,
    tlpHandling(level),
    '',
    `-- `,
    settings.senderName,
  ].join('\n');

  return {
    from: settings.fromAddress,
    to: notice.party.email,
    replyTo: reply,
    subject,
    text: body + '\n',
    messageId: input.messageId,
    inReplyTo: input.reminder?.originalMessageId,
    headers: {
      'X-Takedown-Notice': notice.id,
      'X-Takedown-Campaign': campaign.id,
      'X-TLP': level,
    },
  };
}
