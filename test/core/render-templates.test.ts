import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, TemplateError, templatesFromFiles, type Template } from '../../lib/core/notices/render/templates.js';

const t = (source: string, name = 'test.txt') => parseTemplate(source, name);
const run = (template: Template, data: object, partials: Record<string, string> = {}) =>
  renderTemplate(template, data, (name, mode) => {
    const text = partials[`_${name}.${mode === 'html' ? 'html' : 'txt'}`];
    return text === undefined ? undefined : parseTemplate(text, `_${name}`, mode);
  });

function refusal(source: string, name = 'x.txt'): string {
  try {
    parseTemplate(source, name);
  } catch (e) {
    expect(e).toBeInstanceOf(TemplateError);
    return (e as Error).message;
  }
  throw new Error('expected the template to be refused');
}

describe('the template language', () => {
  it('prints values, nested paths and numbers, and nothing for what is missing', () => {
    expect(run(t('{{a}} {{b.c}} {{n}} [{{missing}}] [{{b.missing.deeper}}]'), { a: 'x', b: { c: 'y' }, n: 3 })).toBe('x y 3 [] []');
  });

  it('escapes every value in an HTML template, and only there', () => {
    const data = { v: `<script>"x" & 'y'</script>` };
    expect(run(parseTemplate('<p title="{{v}}">{{v}}</p>', 'a.html'), data)).toBe(
      '<p title="&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;">&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;</p>',
    );
    expect(run(t('{{v}}'), data)).toBe(data.v);
    expect(() => t('{{{v}}}')).toThrow(TemplateError);
  });

  it('reaches no prototype and runs no code', () => {
    expect(run(t('[{{constructor}}][{{a.constructor.name}}][{{__proto__}}][{{a.toString}}]'), { a: {} })).toBe('[][][][]');
    expect(() => t('{{a + 1}}')).toThrow(/not a value name/);
    expect(() => t('{{process.exit()}}')).toThrow(/not a value name/);
  });

  it('chooses with if, else and unless, treating empty lists as false', () => {
    const tpl = t('{{#if a}}A{{else}}not A{{/if}}|{{#unless b}}no B{{/unless}}|{{#if list}}L{{else}}empty{{/if}}');
    expect(run(tpl, { a: true, b: 'x', list: [] })).toBe('A||empty');
    expect(run(tpl, { a: 0, list: [1] })).toBe('not A|no B|L');
  });

  it('repeats each item with its number, falls back to else on an empty list, and sees outer values inside', () => {
    const tpl = t('{{#each items}}{{@number}}.{{name}}@{{where}}{{#unless @last}}, {{/unless}}{{else}}none{{/each}}');
    expect(run(tpl, { where: 'KE', items: [{ name: 'a' }, { name: 'b', where: 'NG' }] })).toBe('1.a@KE, 2.b@NG');
    expect(run(tpl, { items: [] })).toBe('none');
    expect(run(t('{{#each xs}}[{{.}}]{{/each}}'), { xs: ['p', 'q'] })).toBe('[p][q]');
  });

  it('takes a block tag alone on its line out with the line, so text templates print as they read', () => {
    const tpl = t('Title\n{{#if a}}\n  line a\n{{/if}}\n{{! note }}\n{{#each xs}}\n- {{.}}\n{{/each}}\nEnd\n');
    expect(run(tpl, { a: true, xs: ['1', '2'] })).toBe('Title\n  line a\n- 1\n- 2\nEnd\n');
    expect(run(tpl, { a: false, xs: [] })).toBe('Title\nEnd\n');
  });

  it('includes partials of the same mode with the same values', () => {
    const tpl = parseTemplate('<div>{{> part}}</div>', 'x.html');
    expect(run(tpl, { v: '<b>' }, { '_part.html': '<i>{{v}}</i>', '_part.txt': 'wrong' })).toBe('<div><i>&lt;b&gt;</i></div>');
    expect(() => run(tpl, {})).toThrow(/no partial 'part'/);
    const loop = parseTemplate('{{> self}}', 'x.txt');
    expect(() => run(loop, {}, { '_self.txt': '{{> self}}' })).toThrow(/nested too deep/);
  });

  it('refuses a broken template with its name and line, never with a value', () => {
    expect(refusal('a\nb {{#if x}}\nc', 'fr/hosting.txt')).toBe('fr/hosting.txt:2: {{#if}} is never closed');
    expect(refusal('{{/if}}')).toMatch(/x\.txt:1: \{\{\/if\}\} closes nothing open/);
    expect(refusal('{{#each a}}{{/if}}')).toMatch(/closes nothing open/);
    expect(refusal('{{else}}')).toMatch(/outside a block/);
    expect(refusal('{{#with a}}{{/with}}')).toMatch(/unknown block/);
    expect(refusal('text {{ unclosed')).toMatch(/without its/);
    expect(refusal('{{> ../../etc/passwd}}')).toMatch(/not a partial name/);
  });
});

describe('templatesFromFiles', () => {
  const files = (over: Record<string, string> = {}): Record<string, string> => {
    const base: Record<string, string> = {
      'strings.json': JSON.stringify({
        name: 'English',
        plural: { indicators: { one: '{n} thing', other: '{n} things' }, days: '{n} d', hours: '{n} h', minutes: '{n} min' },
        tlp: { CLEAR: 'c', GREEN: 'g', AMBER: 'a', 'AMBER+STRICT': 's' },
      }),
      'subject.txt': 'S',
    };
    for (const k of ['hosting', 'registrar', 'registry', 'cert', 'upstream']) {
      base[`${k}.txt`] = `${k} {{> common}}`;
      base[`${k}.html`] = `<p>${k}</p>`;
    }
    base['_common.txt'] = 'common';
    // an override of undefined removes the file
    return Object.fromEntries(Object.entries({ ...base, ...over }).filter(([, text]) => text !== undefined));
  };

  it('offers complete folders and refuses to run without English', () => {
    const set = templatesFromFiles({ en: files(), ar: files() });
    expect([...set.languages].sort()).toEqual(['ar', 'en']);
    expect(set.pack('ar').dir).toBe('rtl');
    expect(set.pack('en').dir).toBe('ltr');
    expect(set.pack('en').render('cert.txt', {})).toBe('cert common');
    expect(set.pack('en').plural('indicators', 1)).toBe('1 thing');
    expect(set.pack('en').plural('indicators', 7)).toBe('7 things');
    expect(() => set.pack('fr')).toThrow(TemplateError);
    expect(() => templatesFromFiles({ fr: files() })).toThrow(/no English folder/);
    expect(() => templatesFromFiles({ en: files({ 'cert.html': undefined as unknown as string }) })).toThrow(/missing cert\.html/);
  });

  it('skips a folder whose partial is missing or whose strings are not valid', () => {
    const set = templatesFromFiles({ en: files(), fr: files({ '_common.txt': undefined as unknown as string }), pt: files({ 'strings.json': '{"name": "P"}' }) });
    expect([...set.languages]).toEqual(['en']);
    expect(set.skipped).toEqual([
      { language: 'fr', reason: "fr/hosting.txt: no partial 'common' in the folder" },
      { language: 'pt', reason: 'pt/strings.json is not valid' },
    ]);
  });
});
