import type { LinkIntent } from '../../core/notices/index.js';

/**
 * The words of the pages a recipient sees when it opens an answer link: the confirmation, the thanks, and the
 * refusals (unknown, used, expired), in the notice's language (English, French, Arabic written right to left,
 * Portuguese), as the notice itself was written. A value (a tag, a name, a date) fills a `{slot}` and is never
 * translated.
 */

/** The languages recipient pages are written in. */
export type PageLanguage = 'en' | 'fr' | 'ar' | 'pt';
export const PAGE_LANGUAGES: ReadonlySet<string> = new Set<PageLanguage>(['en', 'fr', 'ar', 'pt']);

export interface RecipientTexts {
  readonly intents: Readonly<Record<LinkIntent, { button: string; means: string; done: string }>>;
  readonly confirm: string;
  readonly once: string;
  readonly nothingTitle: string;
  readonly nothing: string;
  readonly thanks: string;
  readonly noticeLine: string;
  readonly unknownTitle: string;
  readonly unknown: string;
  readonly usedTitle: string;
  readonly used: string;
  readonly expiredTitle: string;
  readonly expired: string;
  readonly noNoticeTitle: string;
  readonly noNotice: string;
  readonly failedTitle: string;
  readonly failed: string;
  /** "1 indicator" / "{n} indicators" */
  readonly indicators: (n: number) => string;
}

export const RECIPIENT_TEXTS: Readonly<Record<PageLanguage, RecipientTexts>> = {
  en: {
    intents: {
      acknowledged: { button: 'Acknowledge', means: 'you have received this notice and are looking into it', done: 'Recorded: you have received the notice and are looking into it.' },
      actioned: { button: 'Confirm it is taken down', means: 'you have taken the reported infrastructure down (we will check it)', done: 'Recorded: you have taken it down. We will check that it no longer answers.' },
      'not-ours': { button: 'Not ours', means: 'the reported infrastructure is not yours to act on, so the notice goes to the next party', done: 'Recorded: not yours. The notice goes to the next party that can act.' },
    },
    confirm: 'Confirm that {means}: notice {tag} from {sender} to {party}, {indicators}. Nothing is recorded until you press the button.',
    once: 'This link works once and expires {date}.',
    nothingTitle: 'Nothing recorded',
    nothing: 'Open the link and press the button on its page to answer.',
    thanks: 'Thank you',
    noticeLine: 'Notice {tag}.',
    unknownTitle: 'Link not found',
    unknown: 'This answer link is not known. Check that the whole link was copied, or answer by replying to the notice.',
    usedTitle: 'Link already used',
    used: 'This answer link was used already; your answer was recorded once. To say something else, reply to the notice.',
    expiredTitle: 'Link expired',
    expired: 'This answer link has expired. Please answer by replying to the notice.',
    noNoticeTitle: 'Notice not found',
    noNotice: 'The notice this link answers no longer exists.',
    failedTitle: 'Something went wrong',
    failed: 'Your answer could not be recorded. Please try again later, or reply to the notice.',
    indicators: (n) => (n === 1 ? '1 indicator' : `${n} indicators`),
  },
  fr: {
    intents: {
      acknowledged: { button: 'Accuser réception', means: 'vous avez reçu ce signalement et vous l’examinez', done: 'Enregistré : vous avez reçu le signalement et vous l’examinez.' },
      actioned: { button: 'Confirmer la suppression', means: 'vous avez mis hors ligne l’infrastructure signalée (nous le vérifierons)', done: 'Enregistré : vous l’avez mise hors ligne. Nous vérifierons qu’elle ne répond plus.' },
      'not-ours': { button: 'Pas chez nous', means: 'l’infrastructure signalée ne relève pas de vous ; le signalement passe à l’interlocuteur suivant', done: 'Enregistré : ne relève pas de vous. Le signalement passe à l’interlocuteur suivant qui peut agir.' },
    },
    confirm: 'Confirmez que {means} : signalement {tag} de {sender} à {party}, {indicators}. Rien n’est enregistré avant que vous appuyiez sur le bouton.',
    once: 'Ce lien ne fonctionne qu’une fois et expire le {date}.',
    nothingTitle: 'Rien n’a été enregistré',
    nothing: 'Ouvrez le lien et appuyez sur le bouton de sa page pour répondre.',
    thanks: 'Merci',
    noticeLine: 'Signalement {tag}.',
    unknownTitle: 'Lien introuvable',
    unknown: 'Ce lien de réponse est inconnu. Vérifiez que le lien a été copié en entier, ou répondez au message du signalement.',
    usedTitle: 'Lien déjà utilisé',
    used: 'Ce lien de réponse a déjà été utilisé ; votre réponse a été enregistrée une fois. Pour dire autre chose, répondez au message du signalement.',
    expiredTitle: 'Lien expiré',
    expired: 'Ce lien de réponse a expiré. Merci de répondre au message du signalement.',
    noNoticeTitle: 'Signalement introuvable',
    noNotice: 'Le signalement auquel ce lien répond n’existe plus.',
    failedTitle: 'Une erreur est survenue',
    failed: 'Votre réponse n’a pas pu être enregistrée. Réessayez plus tard, ou répondez au message du signalement.',
    indicators: (n) => (n <= 1 ? `${n} indicateur` : `${n} indicateurs`),
  },
  ar: {
    intents: {
      acknowledged: { button: 'تأكيد الاستلام', means: 'أنكم استلمتم هذا البلاغ وتقومون بفحصه', done: 'تم التسجيل: لقد استلمتم البلاغ وتقومون بفحصه.' },
      actioned: { button: 'تأكيد الإزالة', means: 'أنكم أوقفتم البنية التحتية المبلغ عنها (وسنتحقق من ذلك)', done: 'تم التسجيل: لقد أوقفتموها. سنتحقق من أنها لم تعد تستجيب.' },
      'not-ours': { button: 'ليست لدينا', means: 'أن البنية التحتية المبلغ عنها لا تخصكم، فيُحال البلاغ إلى الجهة التالية', done: 'تم التسجيل: لا تخصكم. يُحال البلاغ إلى الجهة التالية القادرة على التصرف.' },
    },
    confirm: 'يرجى تأكيد {means}: البلاغ {tag} من {sender} إلى {party}، {indicators}. لا يُسجَّل شيء قبل الضغط على الزر.',
    once: 'يعمل هذا الرابط مرة واحدة وتنتهي صلاحيته في {date}.',
    nothingTitle: 'لم يُسجَّل شيء',
    nothing: 'افتحوا الرابط واضغطوا على الزر في صفحته للرد.',
    thanks: 'شكرًا لكم',
    noticeLine: 'البلاغ {tag}.',
    unknownTitle: 'الرابط غير موجود',
    unknown: 'رابط الرد هذا غير معروف. تحققوا من نسخ الرابط كاملًا، أو ردوا على رسالة البلاغ.',
    usedTitle: 'الرابط مستخدم من قبل',
    used: 'استُخدم رابط الرد هذا من قبل؛ وقد سُجّل ردكم مرة واحدة. لقول شيء آخر، ردوا على رسالة البلاغ.',
    expiredTitle: 'انتهت صلاحية الرابط',
    expired: 'انتهت صلاحية رابط الرد هذا. يرجى الرد على رسالة البلاغ.',
    noNoticeTitle: 'البلاغ غير موجود',
    noNotice: 'البلاغ الذي يجيب عنه هذا الرابط لم يعد موجودًا.',
    failedTitle: 'حدث خطأ',
    failed: 'تعذّر تسجيل ردكم. يرجى المحاولة لاحقًا، أو الرد على رسالة البلاغ.',
    indicators: (n) => (n === 1 ? 'مؤشر واحد' : n === 2 ? 'مؤشران' : n <= 10 ? `${n} مؤشرات` : `${n} مؤشرًا`),
  },
  pt: {
    intents: {
      acknowledged: { button: 'Confirmar recebimento', means: 'recebeu esta notificação e está a analisá-la', done: 'Registado: recebeu a notificação e está a analisá-la.' },
      actioned: { button: 'Confirmar a remoção', means: 'retirou do ar a infraestrutura denunciada (vamos verificar)', done: 'Registado: retirou-a do ar. Vamos verificar que já não responde.' },
      'not-ours': { button: 'Não é nosso', means: 'a infraestrutura denunciada não é da sua responsabilidade, e a notificação segue para a parte seguinte', done: 'Registado: não é vossa. A notificação segue para a parte seguinte que pode agir.' },
    },
    confirm: 'Confirme que {means}: notificação {tag} de {sender} para {party}, {indicators}. Nada é registado antes de premir o botão.',
    once: 'Este link funciona uma vez e expira em {date}.',
    nothingTitle: 'Nada foi registado',
    nothing: 'Abra o link e prima o botão da sua página para responder.',
    thanks: 'Obrigado',
    noticeLine: 'Notificação {tag}.',
    unknownTitle: 'Link não encontrado',
    unknown: 'Este link de resposta é desconhecido. Verifique se o link foi copiado por inteiro, ou responda à mensagem da notificação.',
    usedTitle: 'Link já utilizado',
    used: 'Este link de resposta já foi utilizado; a sua resposta foi registada uma vez. Para dizer outra coisa, responda à mensagem da notificação.',
    expiredTitle: 'Link expirado',
    expired: 'Este link de resposta expirou. Por favor responda à mensagem da notificação.',
    noNoticeTitle: 'Notificação não encontrada',
    noNotice: 'A notificação a que este link responde já não existe.',
    failedTitle: 'Ocorreu um erro',
    failed: 'Não foi possível registar a sua resposta. Tente mais tarde, ou responda à mensagem da notificação.',
    indicators: (n) => (n === 1 ? '1 indicador' : `${n} indicadores`),
  },
};

/** The recipient page language of a notice's language choice, or of a browser's Accept-Language. */
export function pageLanguage(language: string | undefined): PageLanguage {
  const primary = language?.toLowerCase().split(/[-_]/)[0];
  return primary && PAGE_LANGUAGES.has(primary) ? (primary as PageLanguage) : 'en';
}

/** The first language of an Accept-Language header the pages speak, else English. */
export function pageLanguageOfHeader(header: string | undefined): PageLanguage {
  for (const part of (header ?? '').split(',').slice(0, 20)) {
    const lang = pageLanguage(part.split(';')[0]?.trim());
    if (lang !== 'en' || part.trim().toLowerCase().startsWith('en')) return lang;
  }
  return 'en';
}

/** Fill `{slot}`s. */
export function fill(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(/\{([a-z]+)\}/g, (slot, name: string) => values[name] ?? slot);
}
