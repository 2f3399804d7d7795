import { oneLine } from './one-line.js';
import type { Campaign, Case, Notice } from '../../model.js';
import type { MailDraft, Settings } from '../../ports.js';
import { contentTlp } from './render.js';
import { chooseLanguage, DEFAULT_LANGUAGE } from './language.js';
import { replyAddress } from '../../routing/index.js';

/**
 * "Resolved by the party we asked first: nothing needed from you", to a party a case was escalated to, in its
 * language (English alongside, as notices go). Short and plain: it closes a thread, it asks for nothing.
 */

interface Words {
  readonly subject: string;
  /** `{by}` is the party that took it down */
  readonly body: string;
  readonly thanks: string;
}

const WORDS: Readonly<Record<string, Words>> = {
  en: {
    subject: 'Resolved: no action needed from you',
    body: 'The infrastructure below, which we escalated to you, was taken down by {by}, to whom we reported it first. No action is needed from you; we will check that it stays down.',
    thanks: 'Thank you.',
  },
  fr: {
    subject: 'Résolu : aucune action requise de votre part',
    body: 'L’infrastructure ci-dessous, que nous vous avions transmise en escalade, a été retirée par {by}, à qui nous l’avions signalée en premier. Aucune action n’est requise de votre part ; nous vérifierons qu’elle reste hors ligne.',
    thanks: 'Merci.',
  },
  pt: {
    subject: 'Resolvido: nenhuma ação necessária da sua parte',
    body: 'A infraestrutura abaixo, que lhe encaminhámos em escalamento, foi retirada por {by}, a quem a tínhamos comunicado primeiro. Não é necessária nenhuma ação da sua parte; vamos verificar que continua fora de linha.',
    thanks: 'Obrigado.',
  },
  ar: {
    subject: 'تم الحل: لا يلزم أي إجراء من جانبكم',
    body: 'البنية التحتية أدناه، التي صعّدناها إليكم، قد أزالها {by}، وهي الجهة التي أبلغناها أولاً. لا يلزم أي إجراء من جانبكم، وسنتحقق من أنها تبقى غير متاحة.',
    thanks: 'شكرًا لكم.',
  },
};

export interface ResolvedInput {
  readonly notice: Notice;
  readonly campaign: Campaign;
  readonly cases: readonly Case[];
  readonly token: string;
  readonly messageId: string;
  readonly originalMessageId: string;
  readonly settings: Settings;
  /** the party that took it down */
  readonly by: string;
}

/** The message telling a party a case escalated to it was resolved by a party asked before it. */
export function renderResolved(input: ResolvedInput): MailDraft {
  const { notice, campaign, cases, settings } = input;
  const tlp = `TLP:${contentTlp(campaign, cases)}`;
  const { language } = chooseLanguage(notice.party, new Set(Object.keys(WORDS)));
  const languages = language === DEFAULT_LANGUAGE ? [language] : [language, DEFAULT_LANGUAGE];
  const list = cases.map((c, i) => `${i + 1}. ${oneLine(c.indicator.value)}  (case ${c.id})`);
  const section = (lang: string): string[] => {
    const w = WORDS[lang]!;
    return [w.body.replace('{by}', oneLine(input.by)), '', ...list, '', w.thanks];
  };
  const text = [
    tlp,
    '',
    ...languages.flatMap((lang, i) => [...(i ? ['', '='.repeat(70), 'English version', '='.repeat(70), ''] : []), ...section(lang)]),
    '',
    '-- ',
    oneLine(settings.senderName),
    '',
  ].join('\n');
  const subject = `[${notice.tag}] ${languages.map((l) => WORDS[l]!.subject).join(' / ')} - ${oneLine(campaign.name)} [${tlp}]`;
  return {
    from: settings.fromAddress,
    to: notice.party.email,
    replyTo: replyAddress(settings.replyMailbox, notice.id, input.token),
    subject,
    text,
    messageId: input.messageId,
    inReplyTo: input.originalMessageId || undefined,
    headers: { 'X-Takedown-Notice': notice.id, 'X-Takedown-Campaign': campaign.id, 'X-TLP': contentTlp(campaign, cases), 'Auto-Submitted': 'auto-generated' },
  };
}
