import { fillTemplate } from '../../../core/audit/index.js';
import { AR } from './texts/ar.js';
import { FR } from './texts/fr.js';
import { PT } from './texts/pt.js';

/**
 * The dashboard's own words in English, French, Arabic (right to left) and Portuguese, chosen by the browser's
 * Accept-Language. A text is looked up by its English form, which is also what is shown when a language lacks it
 * (test/http/dashboard-i18n.test.ts keeps the three dictionaries complete). Values fill `{name}` slots after the
 * lookup, so an indicator, a name or a number is never translated.
 */

/** The languages the dashboard speaks. */
export const DASHBOARD_LANGUAGES = ['en', 'fr', 'ar', 'pt'] as const;
export type DashboardLanguage = (typeof DASHBOARD_LANGUAGES)[number];

/** Looks a text up in the page's language and fills its slots. */
export type Translate = (english: string, values?: Readonly<Record<string, string | number>>) => string;

const DICTIONARIES: Readonly<Record<DashboardLanguage, Readonly<Record<string, string>>>> = { en: {}, fr: FR, ar: AR, pt: PT };

/** The dictionary of a language (English: empty, every text is its own key). */
export function dictionary(lang: DashboardLanguage): Readonly<Record<string, string>> {
  return DICTIONARIES[lang];
}

/**
 * The first language of an Accept-Language header the dashboard speaks, by quality then order (`fr-CI;q=0.9`
 * is French); English when none is.
 */
export function languageOf(header: string | undefined): DashboardLanguage {
  if (!header) return 'en';
  const ranked = header
    .split(',')
    .slice(0, 20)
    .map((part, i) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
      return { lang: tag.trim().toLowerCase().split('-')[0] ?? '', q: q === undefined ? 1 : Number(q), i };
    })
    .filter((x) => x.q > 0)
    .sort((a, b) => b.q - a.q || a.i - b.i);
  for (const { lang } of ranked) if ((DASHBOARD_LANGUAGES as readonly string[]).includes(lang)) return lang as DashboardLanguage;
  return 'en';
}

/** The translator of a language. */
export function translator(lang: DashboardLanguage): Translate {
  const dict = DICTIONARIES[lang];
  return (english, values = {}) => fillTemplate(dict[english] ?? english, values);
}

/** The writing direction of a language. */
export function directionOf(lang: DashboardLanguage): 'ltr' | 'rtl' {
  return lang === 'ar' ? 'rtl' : 'ltr';
}
