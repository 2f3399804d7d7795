import type { Party } from '../../model.js';

/**
 * The language notices are written in. A directory setting (`Party.language`) wins; else the usual language of
 * business correspondence in the party's country; else English. The table states what is usual in a country,
 * not what templates exist: a country whose language has no template folder gets English, until someone adds
 * the folder (templates/notice/<tag>/), which is then picked up with no code change.
 */

/** The language every notice also carries, and the one used when nothing else is known. */
export const DEFAULT_LANGUAGE = 'en';

/**
 * ISO 3166-1 alpha-2 -> BCP 47 primary language tag, for Africa, the Middle East and Europe (the reach of
 * operations like Africa Cyber Surge), plus a few large senders' countries. Where a country has several official
 * languages the entry is the one abuse desks and CERTs there usually write in; a directory entry's `language`
 * overrides it for one party.
 */
export const COUNTRY_LANGUAGE: Readonly<Record<string, string>> = {
  // Africa: English-speaking
  BW: 'en', GH: 'en', GM: 'en', KE: 'en', LR: 'en', LS: 'en', MU: 'en', MW: 'en', NA: 'en', NG: 'en', RW: 'en',
  SC: 'en', SH: 'en', SL: 'en', SS: 'en', SZ: 'en', UG: 'en', ZA: 'en', ZM: 'en', ZW: 'en', ER: 'en',
  // Africa: French-speaking (the Maghreb included: French is the usual language of its ISPs' and CERTs' mail)
  BF: 'fr', BI: 'fr', BJ: 'fr', CD: 'fr', CF: 'fr', CG: 'fr', CI: 'fr', CM: 'fr', DJ: 'fr', DZ: 'fr', GA: 'fr',
  GN: 'fr', KM: 'fr', MA: 'fr', MG: 'fr', ML: 'fr', NE: 'fr', RE: 'fr', SN: 'fr', TD: 'fr', TG: 'fr', TN: 'fr',
  YT: 'fr',
  // Africa: Arabic-speaking
  EG: 'ar', EH: 'ar', LY: 'ar', MR: 'ar', SD: 'ar',
  // Africa: Portuguese-speaking
  AO: 'pt', CV: 'pt', GW: 'pt', MZ: 'pt', ST: 'pt',
  // Africa: others
  ET: 'am', GQ: 'es', SO: 'so', TZ: 'sw',
  // Middle East
  AE: 'ar', BH: 'ar', IQ: 'ar', JO: 'ar', KW: 'ar', LB: 'ar', OM: 'ar', PS: 'ar', QA: 'ar', SA: 'ar', SY: 'ar',
  YE: 'ar', IL: 'he', IR: 'fa', TR: 'tr', CY: 'el',
  // Europe
  AD: 'ca', AL: 'sq', AM: 'hy', AT: 'de', AZ: 'az', BA: 'bs', BE: 'nl', BG: 'bg', BY: 'ru', CH: 'de', CZ: 'cs',
  DE: 'de', DK: 'da', EE: 'et', ES: 'es', FI: 'fi', FO: 'fo', FR: 'fr', GB: 'en', GE: 'ka', GI: 'en', GR: 'el',
  HR: 'hr', HU: 'hu', IE: 'en', IM: 'en', IS: 'is', IT: 'it', JE: 'en', GG: 'en', LI: 'de', LT: 'lt', LU: 'fr',
  LV: 'lv', MC: 'fr', MD: 'ro', ME: 'sr', MK: 'mk', MT: 'en', NL: 'nl', NO: 'nb', PL: 'pl', PT: 'pt', RO: 'ro',
  RS: 'sr', RU: 'ru', SE: 'sv', SI: 'sl', SK: 'sk', SM: 'it', UA: 'uk', VA: 'it', XK: 'sq',
  // elsewhere, where much of the world's hosting sits
  AU: 'en', BR: 'pt', CA: 'en', CN: 'zh', HK: 'zh', IN: 'en', JP: 'ja', KR: 'ko', NZ: 'en', SG: 'en', US: 'en',
};

/** The usual language of a country (ISO 3166 alpha-2, any case), if the table knows it. */
export function usualLanguage(country: string | undefined): string | undefined {
  return country ? COUNTRY_LANGUAGE[country.toUpperCase()] : undefined;
}

/** The primary subtag of a BCP 47 tag, lower case (`fr-CI` -> `fr`), or undefined when it is not one. */
export function primaryLanguage(tag: string | undefined): string | undefined {
  const m = tag ? /^([A-Za-z]{2,3})(?:[-_][A-Za-z0-9]{1,8})*$/.exec(tag.trim()) : null;
  return m ? m[1]!.toLowerCase() : undefined;
}

export interface LanguageChoice {
  readonly language: string;
  /** where it came from: the directory's setting, the party's country, or the default */
  readonly from: 'directory' | 'country' | 'default';
}

/**
 * The language of a notice to `party`, among those `available` (the template folders present). A setting or a
 * country whose language has no templates falls through to the next source rather than to a wrong language.
 */
export function chooseLanguage(party: Pick<Party, 'language' | 'country'>, available: ReadonlySet<string>): LanguageChoice {
  const set = primaryLanguage(party.language);
  if (set && available.has(set)) return { language: set, from: 'directory' };
  const usual = usualLanguage(party.country);
  if (usual && available.has(usual)) return { language: usual, from: 'country' };
  return { language: DEFAULT_LANGUAGE, from: 'default' };
}

/** Languages written right to left (primary tags), for the HTML `dir` of a language folder that does not say. */
export const RTL_LANGUAGES: ReadonlySet<string> = new Set(['ar', 'arc', 'ckb', 'dv', 'fa', 'he', 'ks', 'ku', 'ps', 'sd', 'ug', 'ur', 'yi']);
