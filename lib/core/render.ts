import type { Campaign, Case, Notice } from './model.js';
import type { MailDraft, Settings } from './ports.js';
import { replyAddress } from './routing.js';

/** A duration in domain seconds as people say it: "24 hours", "3 days". */
export function humanDuration(seconds: number): string {
  if (seconds % 86400 === 0 && seconds >= 86400 * 2) return `${seconds / 86400} days`;
  if (seconds % 3600 === 0) return `${seconds / 3600} hours`;
  return `${Math.round(seconds / 60)} minutes`;
}

function indicatorLines(cases: readonly Case[]): string[] {
  const lines: string[] = [];
  cases.forEach((c, i) => {
    const ind = c.indicator;
    lines.push(`${i + 1}. ${ind.value}  (${ind.kind}${ind.threat ? `, ${ind.threat}` : ''})`);
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
  const tlp = `TLP:${campaign.tlp}`;
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
    ...indicatorLines(cases),
    '',
    'How to answer:',
    `- Reply to this message (keep ${notice.tag} in the subject). Tell us whether you have taken the infrastructure down, will act, or are not the right contact.`,
    ...(settings.publicUrl
      ? [`- Or POST a JSON answer to ${settings.publicUrl}/notices/${notice.id}/answers`]
      : []),
    '',
    `This information is shared under ${tlp}: share it only as that marking allows.`,
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
      'X-TLP': campaign.tlp,
    },
  };
}
