import { oneLine } from './one-line.js';
import type { Campaign, Case, Notice } from '../../model.js';
import type { MailDraft, Settings } from '../../ports.js';
import { contentTlp, humanDuration } from './render.js';
import { replyAddress } from '../../routing/index.js';
import { chooseLanguage } from './language.js';

/** The follow-up's own words in the languages notices are written in; English always follows another language. */
const WORDS: Readonly<Record<'fr' | 'ar' | 'pt', { dear: string; reachable: string; checked: string; asked: string; answers: string; actBy: string; reply: string; subjectReachable: (n: number) => string; subjectAnswer: string }>> = {
  fr: {
    dear: "À l'équipe abuse de {party},",
    reachable: "Vous nous avez indiqué que l'infrastructure ci-dessous a été mise hors ligne. Notre vérification la trouve toujours accessible :",
    checked: 'vérifié',
    asked: 'Vous avez demandé des informations complémentaires sur notre signalement {tag}. {sender} répond :',
    answers: '',
    actBy: "Merci d'agir avant le {deadline}.",
    reply: 'Répondez à ce message (en gardant [{tag}] dans l’objet) pour nous dire ce que vous avez fait.',
    subjectReachable: (n) => (n === 1 ? 'Toujours accessible : 1 indicateur' : `Toujours accessible : ${n} indicateurs`),
    subjectAnswer: 'Réponse à votre question',
  },
  ar: {
    dear: 'إلى فريق مكافحة إساءة الاستخدام لدى {party}،',
    reachable: 'أبلغتمونا بأن البنية التحتية أدناه قد أُوقفت. لكن فحصنا يجد أنها ما زالت متاحة:',
    checked: 'تم الفحص',
    asked: 'طلبتم معلومات إضافية عن بلاغنا {tag}. يجيب {sender}:',
    answers: '',
    actBy: 'يرجى التصرف قبل {deadline}.',
    reply: 'ردوا على هذه الرسالة (مع الإبقاء على [{tag}] في الموضوع) لإبلاغنا بما قمتم به.',
    subjectReachable: (n) => (n === 1 ? 'ما زال متاحًا: مؤشر واحد' : `ما زال متاحًا: ${n} مؤشرات`),
    subjectAnswer: 'رد على سؤالكم',
  },
  pt: {
    dear: 'À equipa de abuso de {party},',
    reachable: 'Informou-nos de que a infraestrutura abaixo foi retirada do ar. A nossa verificação encontra-a ainda acessível:',
    checked: 'verificado',
    asked: 'Pediu mais informações sobre a nossa notificação {tag}. {sender} responde:',
    answers: '',
    actBy: 'Por favor aja até {deadline}.',
    reply: 'Responda a esta mensagem (mantendo [{tag}] no assunto) para nos dizer o que fez.',
    subjectReachable: (n) => (n === 1 ? 'Ainda acessível: 1 indicador' : `Ainda acessível: ${n} indicadores`),
    subjectAnswer: 'Resposta à sua pergunta',
  },
};

const fillIn = (text: string, values: Record<string, string>): string => text.replace(/\{([a-z]+)\}/g, (slot, k: string) => values[k] ?? slot);

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
  // the recipient's language first, as its notice was written, with the English after it
  const lang = chooseLanguage(notice.party, new Set(['en', 'fr', 'ar', 'pt'])).language as 'en' | 'fr' | 'ar' | 'pt';
  const w = lang === 'en' ? undefined : WORDS[lang];
  const values = { party: oneLine(notice.party.name), tag: notice.tag, sender: oneLine(settings.senderName), deadline };
  const local = w
    ? [
        fillIn(w.dear, values),
        '',
        ...(followup.kind === 'answer'
          ? [fillIn(w.asked, values), '', ...followup.message.split(/\r?\n/).map((line) => `  ${line}`)]
          : [w.reachable, '', ...followup.probes.flatMap((p, i) => [`${i + 1}. ${p.value}`, `   case: ${p.caseId}`, `   ${w.checked}: ${p.at}: ${oneLine(p.detail)}`])]),
        '',
        fillIn(w.actBy, values),
        fillIn(w.reply, values),
        '',
        '-- English --',
        '',
      ]
    : [];
  const text = [
    tlp,
    '',
    ...local,
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
    subject: `[${notice.tag}] Re: ${w ? `${followup.kind === 'answer' ? w.subjectAnswer : w.subjectReachable(cases.length)} / ` : ''}${what} - ${campaign.name} [${tlp}]`,
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
