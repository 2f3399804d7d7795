import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DASHBOARD_LANGUAGES, dictionary, languageOf } from '../../lib/adapters/http/dashboard/i18n.js';
import type { Host } from '../../lib/local/host.js';
import { readLocalKey } from '../../lib/local/keys.js';
import { dashboardKeys } from '../support/dashboard-texts.js';
import { testHost } from '../workflows/support.js';

/* The dashboard's own words in English, French, Arabic and Portuguese, chosen by the browser's Accept-Language. */

const slots = (text: string) => [...text.matchAll(/\{[a-zA-Z]+\}/g)].map((m) => m[0]).sort();

describe('the dashboard dictionaries', () => {
  const keys = dashboardKeys();

  it('find the texts the pages look up (a sanity check of the extraction itself)', () => {
    expect(keys.length).toBeGreaterThan(250);
    expect(keys).toContain('Review queue');
    expect(keys).toContain('Escalated to {party}: {reason}');
  });

  for (const lang of DASHBOARD_LANGUAGES.filter((l) => l !== 'en')) {
    it(`hold every text in ${lang}, with the same {slots}`, () => {
      const dict = dictionary(lang);
      const missing = keys.filter((k) => dict[k] === undefined);
      expect(missing).toEqual([]);
      const wrongSlots = keys.filter((k) => slots(k).join() !== slots(dict[k]!).join());
      expect(wrongSlots).toEqual([]);
      // and nothing the pages no longer use
      expect(Object.keys(dict).filter((k) => !keys.includes(k))).toEqual([]);
    });
  }

  it('choose the browser\'s first language the dashboard speaks, by quality', () => {
    expect(languageOf('fr-CI,fr;q=0.9,en;q=0.8')).toBe('fr');
    expect(languageOf('de-DE,de;q=0.9,ar;q=0.5')).toBe('ar');
    expect(languageOf('en;q=0.2, pt-BR;q=0.8')).toBe('pt');
    expect(languageOf('de')).toBe('en');
    expect(languageOf(undefined)).toBe('en');
  });
});

let host: Host & { dispose(): Promise<void> };
beforeAll(async () => {
  host = await testHost(1);
});
afterAll(async () => host?.dispose());

async function page(path: string, language: string): Promise<string> {
  const res = await fetch(`${host.httpUrl}${path}`, { headers: { authorization: `Bearer ${readLocalKey(host.files.dataDir)}`, 'accept-language': language } });
  expect(res.headers.get('content-language')).toBe(language.slice(0, 2));
  return res.text();
}

describe('a dashboard page', () => {
  it('is written in the browser\'s language, Arabic right to left', async () => {
    expect(await page('/ui', 'fr-FR,fr;q=0.9')).toMatch(/<html lang="fr" dir="ltr">.*<h1>Campagnes<\/h1>/s);
    expect(await page('/ui', 'ar')).toMatch(/<html lang="ar" dir="rtl">.*<h1>الحملات<\/h1>/s);
    expect(await page('/ui/reviews', 'pt-BR')).toContain('<h1>Fila de revisão</h1>');
  });
});
