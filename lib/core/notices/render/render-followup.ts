import { oneLine } from './one-line.js';
import type { Campaign, Case, Notice } from '../../model.js';
import type { MailDraft, Settings } from '../../ports.js';
import { contentTlp, humanDuration } from './render.js';
import { replyAddress } from '../../routing/index.js';

/** What a follow-up in a notice's thread says: the coordinator's answer to a question, or a probe that found it still up. */
export type Followup =
  | { readonly kind: 'answer'; readonly message: string; readonly by: string }
  | {
      readonly kind: 'still-reachable';
      readonly probes: readonly { readonly caseId: string; readonly value: string; readonly detail: string; readonly at: string }[];
    };

export interface FollowupInput {
  readonly notice: Notice;
  readonly campaign: Campaign;
  readonly cases: readonly Case[];
  readonly token: string;
  readonly messageId: string;
  /** the Message-ID of the notice this follows, so mail clients and ticket systems thread it */
  readonly originalMessageId: string;
  readonly settings: Settings;
  readonly followup: Followup;
  readonly now: Date;
}

/** A plain-text message in the thread of an earlier notice: same tag, same reply channel, the new deadline. */
export function renderFollowup(input: FollowupInput): MailDraft {
  const { notice, campaign, cases, settings, followup } = input;
  const tlp = `TLP:${contentTlp(campaign, cases)}`;
  const deadline = notice.deadline ?? new Date(input.now.getTime() + notice.actionDeadline * 1000).toISOString();
  const what =
    followup.kind === 'answer'
      ? 'Answer to your question'
      : `Still reachable: ${cases.length === 1 ? '1 indicator' : `${cases.length} indicators`}`;
  const body =
    followup.kind === 'answer'
      ? [
          `You asked for more information about our notice ${notice.tag}. ${oneLine(settings.senderName)} answers:`,
          '',
          ...followup.message.split(/\r?\n/).map((line) => `  ${line}`),
        ]
      : [
          `You told us the infrastructure below was taken down. Our check finds it still reachable:`,
          '',
          ...followup.probes.flatMap((p, i) => [`${i + 1}. ${p.value}`, `   case: ${p.caseId}`, `   checked: ${p.at}: ${oneLine(p.detail)}`]),
        ];
  const text = [
    tlp,
    '',
    `To the abuse team of ${oneLine(notice.party.name)},`,
    '',
    ...body,
    '',
    `Please act on it by ${deadline} (${humanDuration(notice.actionDeadline)}).`,
    `Reply to this message (keep [${notice.tag}] in the subject) to tell us what you did.`,
    ...(cases.length && followup.kind === 'answer' ? ['', 'The cases concerned:', ...cases.map((c) => `- ${c.indicator.value} (case ${c.id})`)] : []),
    '',
    oneLine(settings.senderName),
    '',
    tlp,
  ].join('\n');
  return {
    from: settings.fromAddress,
    to: notice.party.email,
    replyTo: replyAddress(settings.replyMailbox, notice.id, input.token),
    subject: `[${notice.tag}] Re: ${what} - ${campaign.name} [${tlp}]`,
    text,
    messageId: input.messageId,
    inReplyTo: input.originalMessageId || undefined,
    headers: {
      'X-Takedown-Notice': notice.id,
      'X-Takedown-Campaign': campaign.id,
      'X-TLP': contentTlp(campaign, cases),
      ...(followup.kind === 'still-reachable' ? { 'Auto-Submitted': 'auto-generated' } : {}) },
  };
}
