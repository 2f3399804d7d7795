import { cpSync, mkdtempSync, mkdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DirectoryResolver, parseDirectory } from '../../lib/adapters/directory/directory.js';
import { chooseLanguage, COUNTRY_LANGUAGE, usualLanguage } from '../../lib/core/notices/render/language.js';
import type { Party, PartyKind } from '../../lib/core/model.js';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { REQUIRED_FILES } from '../../lib/core/notices/render/templates.js';
import { loadTemplates } from '../../lib/adapters/templates/templates.fs.js';

const defaultTemplates = () => loadTemplates();
import { cases, indicator, input, notice, party } from './render-fixtures.js';

const TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));
const LINKS = { acknowledge: 'https://takedown.example/l/a1', actioned: 'https://takedown.example/l/b2', notOurs: 'https://takedown.example/l/c3' };
const SHIPPED = ['en', 'fr', 'ar', 'pt'];

function render(p: Partial<Party>, over: Parameters<typeof input>[0] = {}) {
  const pt = party(p);
  return renderNotice(input({ notice: notice(pt), cases: cases(pt), ...over }));
}

describe('chooseLanguage', () => {
  const available = new Set(SHIPPED);

  it('takes the directory setting first, then the usual language of the country, then English', () => {
    expect(chooseLanguage({ language: 'pt', country: 'CI' }, available)).toEqual({ language: 'pt', from: 'directory' });
    expect(chooseLanguage({ country: 'CI' }, available)).toEqual({ language: 'fr', from: 'country' });
    expect(chooseLanguage({ country: 'eg' }, available)).toEqual({ language: 'ar', from: 'country' });
    expect(chooseLanguage({ country: 'AO' }, available)).toEqual({ language: 'pt', from: 'country' });
    expect(chooseLanguage({ country: 'KE' }, available)).toEqual({ language: 'en', from: 'country' });
    expect(chooseLanguage({}, available)).toEqual({ language: 'en', from: 'default' });
  });

  it('falls through a language that has no templates rather than to a wrong one', () => {
    expect(chooseLanguage({ country: 'TZ' }, available)).toEqual({ language: 'en', from: 'default' });
    expect(chooseLanguage({ language: 'sw', country: 'CI' }, available)).toEqual({ language: 'fr', from: 'country' });
    expect(chooseLanguage({ country: 'TZ' }, new Set([...available, 'sw']))).toEqual({ language: 'sw', from: 'country' });
  });

  it('knows the countries an operation across Africa, the Middle East and Europe reaches', () => {
    const africa = 'DZ AO BJ BW BF BI CV CM CF TD KM CD CG CI DJ EG GQ ER SZ ET GA GM GH GN GW KE LS LR LY MG MW ML MR MU MA MZ NA NE NG RW ST SN SC SL SO ZA SS SD TZ TG TN UG ZM ZW';
    const middleEast = 'AE BH IQ IR IL JO KW LB OM PS QA SA SY TR YE CY';
    const europe = 'AL AD AT BY BE BA BG HR CZ DK EE FI FR DE GR HU IS IE IT LV LI LT LU MT MD MC ME NL MK NO PL PT RO RU SM RS SK SI ES SE CH UA GB';
    for (const c of `${africa} ${middleEast} ${europe}`.split(' ')) expect(usualLanguage(c), c).toMatch(/^[a-z]{2,3}$/);
    expect(Object.entries(COUNTRY_LANGUAGE).filter(([, l]) => l === 'ar').length).toBeGreaterThanOrEqual(15);
    expect(['SN', 'CM', 'CD', 'CI'].map(usualLanguage)).toEqual(['fr', 'fr', 'fr', 'fr']);
    expect(['MZ', 'AO', 'CV', 'GW'].map(usualLanguage)).toEqual(['pt', 'pt', 'pt', 'pt']);
  });
});

describe('renderNotice in the recipient language', () => {
  it('writes the local language first and English after it, in the text and in the HTML', () => {
    const d = render({ country: 'CI' });
    const fr = d.text.indexOf('Ce que nous vous demandons, en tant qu’hébergeur');
    const sep = d.text.indexOf('\nEnglish version\n');
    const en = d.text.indexOf('What we ask of you, as the provider hosting');
    expect(fr).toBeGreaterThan(0);
    expect(sep).toBeGreaterThan(fr);
    expect(en).toBeGreaterThan(sep);
    expect(d.text.split('\n')[0]).toBe('TLP:AMBER');
    expect(d.text).toContain('(La version anglaise de ce message suit le texte français.)');
    expect(d.subject).toBe('[TKD-n0123456789abcdef] Demande de retrait : 3 indicateurs malveillants pour Demo Datacentre SARL - Africa Cyber Surge II / Takedown request: 3 malicious indicators [TLP:AMBER]');
    expect(d.html).toMatch(/<html lang="fr" dir="ltr">[\s\S]*<div lang="fr" dir="ltr">[\s\S]*<hr>\n<div lang="en" dir="ltr">/);
  });

  it('writes Arabic right to left and keeps every indicator value left to right', () => {
    const d = render({ country: 'EG', kind: 'cert', id: 'cert:EG', name: 'EG-CERT' });
    expect(d.html).toMatch(/^<!DOCTYPE html>\n<html dir="rtl" lang="ar">|^<!DOCTYPE html>\n<html lang="ar" dir="rtl">/);
    expect(d.html).toMatch(/<div lang="ar" dir="rtl">[\s\S]*<div lang="en" dir="ltr">/);
    const [arabic, english] = d.html!.split('<hr>');
    for (const c of cases()) {
      for (const section of [arabic!, english!]) {
        expect(section).toContain(`<bdi dir="ltr"><code>${c.indicator.value}</code></bdi>`);
        expect(section).toContain(`<bdi dir="ltr"><code>${c.id}</code></bdi>`);
      }
    }
    expect(d.text).toContain('إلى فريق الاستجابة للحوادث لدى EG-CERT،');
    expect(d.text).toContain('بصفتكم فريق الاستجابة الوطني (CERT)');
    expect(d.subject).toMatch(/^\[TKD-n0123456789abcdef\] طلب إزالة: 3 مؤشرات خبيثة - EG-CERT - Africa Cyber Surge II \/ Takedown request: 3 malicious indicators \[TLP:AMBER\]$/);
  });

  it('says durations and counts with the plural forms of each language', () => {
    const at = (seconds: number, country: string) => render({ country }, { notice: notice(party({ country }), { answerDeadline: seconds, actionDeadline: seconds }) }).text;
    expect(at(2 * 86400, 'EG')).toContain('خلال يومين');
    expect(at(3 * 86400, 'EG')).toContain('خلال 3 أيام');
    expect(at(11 * 86400, 'EG')).toContain('خلال 11 يومًا');
    expect(at(3600, 'EG')).toContain('خلال ساعة واحدة');
    expect(at(3600, 'CI')).toContain('dans un délai de 1 heure');
    expect(at(90 * 60, 'AO')).toContain('no prazo de 90 minutos');
    const one = render({ country: 'EG' }, { cases: cases().slice(0, 1) });
    expect(one.subject).toContain('طلب إزالة: مؤشر خبيث واحد');
  });

  it('has every shipped language say everything the English says, for every kind of party', () => {
    const kinds: PartyKind[] = ['hosting', 'registrar', 'registry', 'cert', 'upstream'];
    const country = { en: 'KE', fr: 'SN', ar: 'SA', pt: 'MZ' } as const;
    for (const [lang, cc] of Object.entries(country)) {
      for (const kind of kinds) {
        const sentAt = '2025-01-08T09:00:00Z';
        const p = party({ kind, id: `${kind}:x`, country: cc });
        const variants = [
          renderNotice(input({ notice: notice(p), cases: cases(p), links: LINKS, webhookUrl: 'https://takedown.example/webhooks/answers', previous: { party: 'First Host Ltd', sentAt } })),
          renderNotice(input({ notice: notice(p, { sentAt }), cases: cases(p), reminder: { n: 2, originalMessageId: '<orig@reply.example>' } })),
        ];
        for (const d of variants) {
          const where = `${lang} ${kind}`;
          const sections = lang === 'en' ? [d.text] : d.text.split(/\n={70}\nEnglish version\n={70}\n/);
          expect(sections, where).toHaveLength(lang === 'en' ? 1 : 2);
          expect(d.html, where).toMatch(new RegExp(`<html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}">`));
          for (const body of [...sections, d.html!]) {
            expect(body, where).not.toContain('{{');
            for (const c of cases(p)) {
              expect(body, where).toContain(c.indicator.value);
              expect(body, where).toContain(c.id);
            }
            expect(body, where).toContain('Beacons every 60 s to /gate.php, seen by the vendor sinkhole');
            expect(body, where).toContain('2025-01-05 08:15 UTC');
            expect(body, where).toContain('TLP:GREEN');
            expect(body, where).toContain('TKD-n0123456789abcdef');
            expect(body, where).toContain(d.replyTo);
            expect(body, where).toContain('Cybercrime Act, section 12');
          }
          if (d === variants[0]) {
            for (const body of [...sections, d.html!]) {
              expect(body, where).toContain(LINKS.notOurs);
              expect(body, where).toContain('https://takedown.example/webhooks/answers');
              expect(body, where).toContain('First Host Ltd');
              expect(body, where).toContain('2025-01-08 09:00 UTC');
            }
          } else {
            for (const body of sections) expect(body, where).toContain('<orig@reply.example>');
            expect(d.html, where).toContain('&lt;orig@reply.example&gt;');
          }
        }
      }
    }
  });

  it('follows the language and ARF settings of the directory file', async () => {
    const directory = parseDirectory(`
networks:
  - { cidr: 198.51.100.0/24, name: Demo DC, abuse: abuse@demo-dc.example, country: CI, language: pt-AO, arf: true }
  - { cidr: 203.0.113.0/24, name: Example Networks, abuse: abuse@example-networks.example, country: MA }
registrars:
  - { suffix: example, name: Example Registrar, abuse: abuse@registrar.example, country: EG }
certs:
  - { country: CI, name: CI CERT, abuse: incidents@cert-ci.example, language: en }
`);
    const resolver = new DirectoryResolver(directory);
    const [a, b, c] = await resolver.resolve([indicator('198.51.100.9'), indicator('203.0.113.9'), indicator('evil.example')]);
    expect(a!.hosting).toMatchObject({ language: 'pt', arf: true, country: 'CI' });
    expect(a!.cert).toMatchObject({ language: 'en' });
    expect(b!.hosting!.language).toBeUndefined();
    expect(b!.hosting!.arf).toBeUndefined();
    expect(c!.registrar).toMatchObject({ country: 'EG' });
    const draft = (p: Party) => renderNotice(input({ notice: notice(p), cases: cases(p) }));
    expect(draft(a!.hosting!).html).toMatch(/^<!DOCTYPE html>\n<html lang="pt" dir="ltr">/);
    expect(draft(a!.hosting!).arf?.feedbackType).toBe('xarf');
    expect(draft(a!.cert!).text).not.toContain('English version');
    expect(draft(b!.hosting!).html).toMatch(/<html lang="fr" dir="ltr">/);
    expect(draft(c!.registrar!).html).toMatch(/<html lang="ar" dir="rtl">/);
    expect(() => parseDirectory('certs:\n  - { country: KE, name: K, abuse: a@b.example, language: "not a tag" }\n')).toThrow(/invalid entries/);
  });
});

describe('the template folder', () => {
  let dir: string;
  const before = process.env.TAKEDOWN_TEMPLATES_DIR;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'takedown-templates-'));
    cpSync(join(TEMPLATES, 'notice', 'en'), join(dir, 'notice', 'en'), { recursive: true });
    // a new language: the same file names, its own words
    cpSync(join(TEMPLATES, 'notice', 'en'), join(dir, 'notice', 'sw'), { recursive: true });
    const hosting = join(dir, 'notice', 'sw', 'hosting.txt');
    writeFileSync(hosting, readFileSync(hosting, 'utf8').replace('To the abuse team of', 'Kwa timu ya matumizi mabaya ya'));
    const strings = join(dir, 'notice', 'sw', 'strings.json');
    writeFileSync(strings, readFileSync(strings, 'utf8').replace('"English"', '"Kiswahili"'));
    // an unfinished one: a file missing
    cpSync(join(TEMPLATES, 'notice', 'en'), join(dir, 'notice', 'so'), { recursive: true });
    unlinkSync(join(dir, 'notice', 'so', 'cert.html'));
    // a broken one: a block never closed
    cpSync(join(TEMPLATES, 'notice', 'en'), join(dir, 'notice', 'am'), { recursive: true });
    writeFileSync(join(dir, 'notice', 'am', 'registrar.txt'), 'hello {{#if reminder}}\n');
    mkdirSync(join(dir, 'notice', 'Not-A-Tag'));
  });

  afterAll(() => {
    if (before === undefined) delete process.env.TAKEDOWN_TEMPLATES_DIR;
    else process.env.TAKEDOWN_TEMPLATES_DIR = before;
    rmSync(dir, { recursive: true, force: true });
  });

  it('ships English, French, Arabic and Portuguese, each complete', () => {
    const set = loadTemplates(TEMPLATES);
    for (const lang of SHIPPED) expect(set.languages.has(lang), lang).toBe(true);
    expect(set.skipped).toEqual([]);
    expect(REQUIRED_FILES).toContain('upstream.html');
  });

  it('picks up a new language folder from TAKEDOWN_TEMPLATES_DIR with no code change, and skips unfinished ones', () => {
    process.env.TAKEDOWN_TEMPLATES_DIR = dir;
    const set = defaultTemplates();
    expect([...set.languages].sort()).toEqual(['en', 'sw']);
    expect(set.skipped.map((s) => s.language).sort()).toEqual(['Not-A-Tag', 'am', 'so']);
    expect(set.skipped.find((s) => s.language === 'so')?.reason).toMatch(/missing cert\.html/);
    expect(set.skipped.find((s) => s.language === 'am')?.reason).toMatch(/am\/registrar\.txt:1: \{\{#if\}\} is never closed/);

    const d = render({ country: 'TZ' });
    expect(d.text).toContain('Kwa timu ya matumizi mabaya ya Demo Datacentre SARL,');
    expect(d.text.indexOf('Kwa timu')).toBeLessThan(d.text.indexOf('\nEnglish version\n'));
    expect(d.text.slice(d.text.indexOf('\nEnglish version\n'))).toContain('To the abuse team of Demo Datacentre SARL,');
    expect(d.html).toMatch(/<html lang="sw" dir="ltr">/);
    // a language whose folder is unfinished is not half-used: English alone
    expect(render({ country: 'SO' }).text).not.toContain('English version');
    delete process.env.TAKEDOWN_TEMPLATES_DIR;
    expect(defaultTemplates().languages.has('fr')).toBe(true);
  });

  it('takes a template set given in the input over the default folder', () => {
    const d = render({ country: 'TZ' }, { templates: loadTemplates(dir) });
    expect(d.text).toContain('Kwa timu ya matumizi mabaya');
    expect(render({ country: 'TZ' }).text).not.toContain('Kwa timu');
  });
});
