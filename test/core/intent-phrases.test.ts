import { describe, expect, it } from 'vitest';
import { detectIntent } from '../../lib/core/answers/mail/intent.js';

/*
 * "It was removed" as abuse desks write it in Arabic, French and Portuguese. Each sentence below exercises one
 * hand-written phrase of the reader (lib/core/answers/mail/intent.ts), and must be read as actioned, in its
 * language; a negated one must not.
 */

const ARABIC: readonly [string, string][] = [
  ['تمت إزالة الموقع', 'تمت إزالة'],
  ['جرى حذف المحتوى المخالف من الخادم', 'جرى حذف'],
  ['قام العميل بحذف الملفات المبلغ عنها', 'قام العميل بحذف'],
  ['أصبح الموقع غير متاح منذ الصباح', 'أصبح الموقع غير متاح'],
  ['الحساب موقوف الآن', 'موقوف الآن'],
  ['أُزيلت الصفحة المبلغ عنها', 'أُزيلت الصفحة'],
  ['تم اتخاذ الإجراءات اللازمة بحق العميل', 'تم اتخاذ الإجراءات اللازمة'],
  ['تمت معالجة البلاغ، شكرا لكم', 'تمت معالجة البلاغ'],
  ['الخادم خارج الخدمة الآن', 'خارج الخدمة الآن'],
  ['تم فسخ عقد العميل', 'تم فسخ عقد العميل'],
  ['تم تنظيف الخادم من البرمجيات الخبيثة', 'تم تنظيف الخادم'],
];

const FRENCH: readonly [string, string][] = [
  ['Bonjour, nous venons de suspendre le compte concerné.', 'nous venons de suspendre'],
  ["Bonjour, c'est fait.", "c'est fait"],
  ['Cela a été traité par notre équipe.', 'Cela a été traité'],
  ['Le nécessaire a été fait.', 'Le nécessaire a été fait'],
  ['Nous avons procédé à la suppression du contenu.', 'Nous avons procédé à la suppression'],
  ['La suspension a été effectuée ce matin.', 'La suspension a été effectuée'],
  ["Le site n'est plus accessible.", "n'est plus accessible"],
  ['Le serveur est désormais hors service.', 'est désormais hors service'],
  ['La machine a été mise hors service.', 'a été mise hors service'],
  ['Le serveur a été désinfecté et sécurisé.', 'a été désinfecté'],
  ['Le problème a été résolu.', 'Le problème a été résolu'],
  ["L'abonnement du client a été résilié.", 'abonnement du client a été résilié'],
  ['Nous avons mis fin au service de ce client.', 'Nous avons mis fin au'],
];

const PORTUGUESE: readonly [string, string][] = [
  ['O site ficou fora do ar.', 'ficou fora do ar'],
  ['O domínio não está mais no ar.', 'não está mais no ar'],
  ['O servidor já não responde mais.', 'já não responde mais'],
  ['Já foram tomadas as devidas providências.', 'Já foram tomadas as devidas providências'],
  ['Procedemos com a remoção do conteúdo.', 'Procedemos com a remoção'],
  ['A remoção foi concluída hoje.', 'A remoção foi concluída'],
  ['O problema foi resolvido.', 'O problema foi resolvido'],
  ['O contrato do cliente foi rescindido.', 'O contrato do cliente foi rescindido'],
  ['Já está resolvido, obrigado.', 'Já está resolvido'],
  ['Tiraram o site do ar ontem.', 'Tiraram o site do ar'],
  ['Conta desativada com sucesso.', 'desativada com sucesso'],
  ['O domínio está indisponível.', 'domínio está indisponível'],
];

describe('reading "taken down" in Arabic, French and Portuguese', () => {
  for (const [language, table] of [['ar', ARABIC], ['fr', FRENCH], ['pt', PORTUGUESE]] as const) {
    for (const [text, phrase] of table) {
      it(`reads "${text}" as actioned (${language})`, () => {
        const found = detectIntent(text);
        expect([found.intent, found.language, found.phrase]).toEqual(['actioned', language, phrase]);
      });
    }
  }

  it('does not read a denial as taken down', () => {
    expect(detectIntent("Nous n'avons pas procédé à la suppression.").intent).not.toBe('actioned');
    expect(detectIntent('لم تتم إزالة الموقع').intent).not.toBe('actioned');
    expect(detectIntent('Não procedemos com a remoção.').intent).not.toBe('actioned');
  });
});
