import { z } from 'zod';
import { TakedownError } from '../../errors.js';
import { RTL_LANGUAGES } from './language.js';
import { PartyKind } from '../../model.js';
import type { TemplateSource } from '../../ports.js';

/**
 * Notice templates: a tiny logic-light template language and the folder it is loaded from.
 *
 *   {{path.to.value}}             a value (HTML-escaped in .html templates; nothing else is ever unescaped)
 *   {{#if x}} .. {{else}} .. {{/if}}, {{#unless x}} .. {{/unless}}
 *   {{#each list}} .. {{else}} .. {{/each}}   inside: the item's fields, `.` (the item), @number (1-based), @first, @last
 *   {{> name}}                    the partial `_name.txt` / `_name.html` of the same language folder
 *   {{! a comment }}
 *
 * A block tag alone on its line takes the whole line with it, so text templates read as they print. No code
 * runs: a template can only select and print values the renderer hands it.
 *
 * The files come through the TemplateSource port (the folder on the embedded host, the copy bundled beside the
 * function on Lambda); templateSet parses and checks them once per source.
 */

export type TemplateMode = 'text' | 'html';

type Node =
  | { readonly t: 'text'; readonly s: string }
  | { readonly t: 'var'; readonly path: readonly string[] }
  | { readonly t: 'if'; readonly path: readonly string[]; readonly negate: boolean; readonly yes: Node[]; readonly no: Node[] }
  | { readonly t: 'each'; readonly path: readonly string[]; readonly body: Node[]; readonly empty: Node[] }
  | { readonly t: 'partial'; readonly name: string };

/** A parsed template. */
export interface Template {
  readonly name: string;
  readonly mode: TemplateMode;
  readonly nodes: readonly Node[];
}

/** A template or a template folder is not valid; the message names the file and line, never a value. */
export class TemplateError extends TakedownError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('TEMPLATE.INVALID', message, options);
    this.name = 'TemplateError';
  }
}

const TAG = /\{\{([\s\S]*?)\}\}/g;
const PATH = /^(?:\.|@?[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)$/;
const PARTIAL_NAME = /^[a-z0-9][a-z0-9-]*$/;

type TagKind = 'var' | 'open' | 'else' | 'close' | 'partial' | 'comment';

function tagKind(inner: string): TagKind {
  if (inner.startsWith('!')) return 'comment';
  if (inner.startsWith('#')) return 'open';
  if (inner.startsWith('/')) return 'close';
  if (inner.startsWith('>')) return 'partial';
  if (inner === 'else') return 'else';
  return 'var';
}

type Token = { readonly text: string } | { readonly tag: string; readonly kind: TagKind; readonly line: number };

function tokenize(source: string, name: string): Token[] {
  const tokens: Token[] = [];
  let last = 0;
  for (const m of source.matchAll(TAG)) {
    const inner = m[1]!.trim();
    const kind = tagKind(inner);
    let start = m.index;
    let end = start + m[0].length;
    if (kind !== 'var') {
      const lineStart = source.lastIndexOf('\n', start - 1) + 1;
      const newline = source.indexOf('\n', end);
      const lineEnd = newline < 0 ? source.length : newline;
      if (lineStart >= last && /^[ \t]*$/.test(source.slice(lineStart, start)) && /^[ \t\r]*$/.test(source.slice(end, lineEnd))) {
        start = lineStart;
        end = newline < 0 ? source.length : newline + 1;
      }
    }
    if (start > last) tokens.push({ text: source.slice(last, start) });
    tokens.push({ tag: inner, kind, line: lineOf(source, m.index) });
    last = end;
  }
  if (last < source.length) tokens.push({ text: source.slice(last) });
  for (const t of tokens) {
    if ('text' in t && t.text.includes('{{')) throw new TemplateError(`${name}: a '{{' without its '}}'`);
  }
  return tokens;
}

function lineOf(source: string, index: number): number {
  let line = 1;
  for (let i = 0; i < index; i++) if (source.charCodeAt(i) === 10) line++;
  return line;
}

function pathOf(text: string, name: string, line: number): string[] {
  if (!PATH.test(text)) throw new TemplateError(`${name}:${line}: '${text.slice(0, 40)}' is not a value name`);
  return text === '.' ? ['.'] : text.split('.');
}

/** Parses a template; the mode is taken from the name's extension (.html escapes, anything else is text). */
export function parseTemplate(source: string, name: string, mode: TemplateMode = name.endsWith('.html') ? 'html' : 'text'): Template {
  type Frame = { block: 'if' | 'unless' | 'each'; line: number; path: string[]; yes: Node[]; no: Node[]; inElse: boolean };
  const root: Node[] = [];
  const stack: Frame[] = [];
  const target = (): Node[] => {
    const top = stack[stack.length - 1];
    return top ? (top.inElse ? top.no : top.yes) : root;
  };
  for (const token of tokenize(source, name)) {
    if ('text' in token) {
      target().push({ t: 'text', s: token.text });
      continue;
    }
    const { tag, kind, line } = token;
    switch (kind) {
      case 'comment':
        break;
      case 'var':
        target().push({ t: 'var', path: pathOf(tag, name, line) });
        break;
      case 'partial': {
        const partial = tag.slice(1).trim();
        if (!PARTIAL_NAME.test(partial)) throw new TemplateError(`${name}:${line}: '${partial.slice(0, 40)}' is not a partial name`);
        target().push({ t: 'partial', name: partial });
        break;
      }
      case 'open': {
        const m = /^#(if|unless|each)\s+(\S+)$/.exec(tag);
        if (!m) throw new TemplateError(`${name}:${line}: unknown block '${tag.slice(0, 40)}'`);
        stack.push({ block: m[1] as Frame['block'], line, path: pathOf(m[2]!, name, line), yes: [], no: [], inElse: false });
        break;
      }
      case 'else': {
        const top = stack[stack.length - 1];
        if (!top || top.inElse) throw new TemplateError(`${name}:${line}: {{else}} outside a block`);
        top.inElse = true;
        break;
      }
      case 'close': {
        const top = stack.pop();
        const closing = tag.slice(1).trim();
        if (!top || top.block !== closing) throw new TemplateError(`${name}:${line}: {{/${closing.slice(0, 20)}}} closes nothing open`);
        const node: Node =
          top.block === 'each'
            ? { t: 'each', path: top.path, body: top.yes, empty: top.no }
            : { t: 'if', path: top.path, negate: top.block === 'unless', yes: top.yes, no: top.no };
        target().push(node);
        break;
      }
    }
  }
  const open = stack.pop();
  if (open) throw new TemplateError(`${name}:${open.line}: {{#${open.block}}} is never closed`);
  return { name, mode, nodes: root };
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function lookup(scopes: readonly unknown[], path: readonly string[]): unknown {
  if (path[0] === '.') return scopes[scopes.length - 1];
  for (let i = scopes.length - 1; i >= 0; i--) {
    const scope = scopes[i];
    if (scope === null || typeof scope !== 'object' || !Object.hasOwn(scope, path[0]!)) continue;
    let value: unknown = (scope as Record<string, unknown>)[path[0]!];
    for (const key of path.slice(1)) {
      // own properties only: a template never reaches a prototype (`constructor`, `__proto__`)
      value = value !== null && typeof value === 'object' && Object.hasOwn(value, key) ? (value as Record<string, unknown>)[key] : undefined;
    }
    return value;
  }
  return undefined;
}

function truthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  return Boolean(value);
}

function printable(value: unknown, mode: TemplateMode): string {
  if (typeof value !== 'string' && typeof value !== 'number') return '';
  const text = String(value);
  // text bodies: no control characters but the line and tab ones (a value never starts a MIME line of its own)
  return mode === 'html' ? escapeHtml(text) : text.replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '');
}

/** Looks up the partial `name` for a template of `mode`. */
export type PartialResolver = (name: string, mode: TemplateMode) => Template | undefined;

/** Renders a template with `data`; partials come from `partials` (rendered in the same mode). */
export function renderTemplate(template: Template, data: object, partials: PartialResolver = () => undefined): string {
  const out: string[] = [];
  const walk = (nodes: readonly Node[], scopes: unknown[], depth: number): void => {
    for (const node of nodes) {
      switch (node.t) {
        case 'text':
          out.push(node.s);
          break;
        case 'var':
          out.push(printable(lookup(scopes, node.path), template.mode));
          break;
        case 'if':
          walk(truthy(lookup(scopes, node.path)) !== node.negate ? node.yes : node.no, scopes, depth);
          break;
        case 'each': {
          const list = lookup(scopes, node.path);
          const items = Array.isArray(list) ? list : [];
          if (items.length === 0) walk(node.empty, scopes, depth);
          items.forEach((item: unknown, i) => {
            const meta = { '@number': i + 1, '@index': i, '@first': i === 0, '@last': i === items.length - 1 };
            walk(node.body, [...scopes, meta, item], depth);
          });
          break;
        }
        case 'partial': {
          const partial = partials(node.name, template.mode);
          if (!partial) throw new TemplateError(`${template.name}: no partial '${node.name}'`);
          if (depth >= 8) throw new TemplateError(`${template.name}: partials nested too deep at '${node.name}'`);
          walk(partial.nodes, scopes, depth + 1);
          break;
        }
      }
    }
  };
  walk(template.nodes, [data], 0);
  return out.join('');
}

/** The party kinds a language folder has a body for, as `<kind>.txt` and `<kind>.html`. */
export const TEMPLATE_KINDS: readonly PartyKind[] = PartyKind.options;

/** What every language folder holds; a folder missing one of them is not offered (English must be complete). */
export const REQUIRED_FILES: readonly string[] = [
  'strings.json',
  'subject.txt',
  ...TEMPLATE_KINDS.flatMap((kind) => [`${kind}.txt`, `${kind}.html`]),
];

/** A phrase that depends on a number: CLDR plural categories (Intl.PluralRules), `other` required; `{n}` is the number. */
const Plural = z.union([
  z.string(),
  z.object({
    zero: z.string().optional(),
    one: z.string().optional(),
    two: z.string().optional(),
    few: z.string().optional(),
    many: z.string().optional(),
    other: z.string(),
  }),
]);
type Plural = z.infer<typeof Plural>;

/** `strings.json` of a language folder: what is not prose, or depends on a number. */
const Strings = z.strictObject({
  /** the language's own name for itself */
  name: z.string().min(1),
  dir: z.enum(['ltr', 'rtl']).optional(),
  plural: z.strictObject({ indicators: Plural, days: Plural, hours: Plural, minutes: Plural }),
  /** what the recipient may do with content under each level (RED never gets rendered) */
  tlp: z.strictObject({ CLEAR: z.string(), GREEN: z.string(), AMBER: z.string(), 'AMBER+STRICT': z.string() }),
});
export type LanguageStrings = z.infer<typeof Strings>;

/** The templates of one language. */
export interface LanguagePack {
  readonly language: string;
  readonly dir: 'ltr' | 'rtl';
  readonly strings: LanguageStrings;
  /** renders the file `name` (`hosting.html`, `subject.txt`) with its folder's partials */
  render(name: string, data: object): string;
  /** a phrase of `strings.plural` for the number n */
  plural(key: keyof LanguageStrings['plural'], n: number): string;
}

/** Every usable language of a template folder. */
export interface TemplateSet {
  readonly languages: ReadonlySet<string>;
  /** the pack of a language in `languages`; TemplateError otherwise */
  pack(language: string): LanguagePack;
  /** language folders not offered, and why (a missing file, a template that does not parse) */
  readonly skipped: readonly { readonly language: string; readonly reason: string }[];
}

const LANGUAGE_DIR = /^[a-z]{2,3}$/;

function makePack(language: string, files: Readonly<Record<string, string>>): LanguagePack {
  const missing = REQUIRED_FILES.filter((f) => files[f] === undefined);
  if (missing.length) throw new TemplateError(`${language}: missing ${missing.join(', ')}`);
  let strings: LanguageStrings;
  try {
    strings = Strings.parse(JSON.parse(files['strings.json']!));
  } catch (cause) {
    throw new TemplateError(`${language}/strings.json is not valid`, { cause });
  }
  const parsed = new Map<string, Template>();
  for (const [file, text] of Object.entries(files)) {
    if (/\.(txt|html)$/.test(file)) parsed.set(file, parseTemplate(text, `${language}/${file}`));
  }
  const partials: PartialResolver = (name, mode) => parsed.get(`_${name}.${mode === 'html' ? 'html' : 'txt'}`);
  // a partial named in a template but absent from the folder is found now, not in the middle of a send
  const probe = (nodes: readonly Node[], from: string): void => {
    for (const node of nodes) {
      if (node.t === 'partial' && !partials(node.name, from.endsWith('.html') ? 'html' : 'text')) {
        throw new TemplateError(`${language}/${from}: no partial '${node.name}' in the folder`);
      }
      if (node.t === 'if') (probe(node.yes, from), probe(node.no, from));
      if (node.t === 'each') (probe(node.body, from), probe(node.empty, from));
    }
  };
  for (const [file, template] of parsed) probe(template.nodes, file);
  const rules = new Intl.PluralRules(language);
  return {
    language,
    dir: strings.dir ?? (RTL_LANGUAGES.has(language) ? 'rtl' : 'ltr'),
    strings,
    render(name, data) {
      const template = parsed.get(name);
      if (!template) throw new TemplateError(`${language}: no template ${name}`);
      return renderTemplate(template, data, partials);
    },
    plural(key, n) {
      const forms = strings.plural[key];
      const text = typeof forms === 'string' ? forms : (forms[rules.select(n)] ?? forms.other);
      return text.replace(/\{n\}/g, String(n));
    },
  };
}

/**
 * A TemplateSet from file contents: language -> file name -> text. A folder that is incomplete or does not parse
 * is skipped (listed in `skipped`); English must be usable, or TemplateError.
 */
export function templatesFromFiles(folders: Readonly<Record<string, Readonly<Record<string, string>>>>): TemplateSet {
  const packs = new Map<string, LanguagePack>();
  const skipped: { language: string; reason: string }[] = [];
  for (const [language, files] of Object.entries(folders)) {
    if (!LANGUAGE_DIR.test(language)) {
      skipped.push({ language, reason: 'not a BCP 47 primary language tag in lower case' });
      continue;
    }
    try {
      packs.set(language, makePack(language, files));
    } catch (e) {
      if (!(e instanceof TemplateError) || language === 'en') throw e;
      skipped.push({ language, reason: e.message });
    }
  }
  if (!packs.has('en')) throw new TemplateError('the templates have no English folder (en)');
  return {
    languages: new Set(packs.keys()),
    skipped,
    pack(language) {
      const pack = packs.get(language);
      if (!pack) throw new TemplateError(`no templates for language ${language}`);
      return pack;
    },
  };
}

const parsedSets = new WeakMap<TemplateSource, TemplateSet>();

/** The parsed templates of a source, parsed and checked once per source. */
export function templateSet(source: TemplateSource): TemplateSet {
  let set = parsedSets.get(source);
  if (!set) parsedSets.set(source, (set = templatesFromFiles(source.noticeFolders())));
  return set;
}
