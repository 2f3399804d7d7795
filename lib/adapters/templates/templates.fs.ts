import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TemplateFolders, TemplateSource } from '../../core/ports.js';
import { TemplateError, templateSet, type TemplateSet } from '../../core/notices/index.js';

/**
 * The notice templates from a folder (`<dir>/notice/<language>/<file>`): the template folder of a checkout on the
 * embedded host, the copy bundled beside the function on Lambda (lib/infra copies `templates/` into the asset).
 */
export class FileTemplateSource implements TemplateSource {
  private folders?: TemplateFolders;

  constructor(readonly dir: string) {}

  /** read once: a template edited under a running host takes effect at its next start */
  noticeFolders(): TemplateFolders {
    return (this.folders ??= readFolders(this.dir));
  }
}

function readFolders(dir: string): TemplateFolders {
  const base = join(dir, 'notice');
  let languages: string[];
  try {
    languages = readdirSync(base).filter((name) => statSync(join(base, name)).isDirectory());
  } catch (cause) {
    throw new TemplateError('cannot read the template folder', { cause });
  }
  const folders: Record<string, Record<string, string>> = {};
  for (const language of languages) {
    const files: Record<string, string> = {};
    for (const file of readdirSync(join(base, language))) {
      if (/\.(txt|html|json)$/.test(file)) files[file] = readFileSync(join(base, language, file), 'utf8');
    }
    folders[language] = files;
  }
  return folders;
}

/**
 * Where the templates are: TAKEDOWN_TEMPLATES_DIR, else `templates/` at the repository root (from the sources)
 * or beside the bundle (a Lambda's asset), else under the working directory.
 */
export function templatesDir(): string {
  const set = process.env.TAKEDOWN_TEMPLATES_DIR;
  if (set) return resolve(set);
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [resolve(here, '../../../templates'), resolve(here, 'templates'), resolve(process.cwd(), 'templates')];
  return candidates.find((c) => existsSync(join(c, 'notice', 'en'))) ?? candidates[0]!;
}

const sources = new Map<string, FileTemplateSource>();

/** The template source of a folder (default: templatesDir()), one per folder per process. */
export function fileTemplateSource(dir: string = templatesDir()): FileTemplateSource {
  let source = sources.get(dir);
  if (!source) sources.set(dir, (source = new FileTemplateSource(dir)));
  return source;
}

/** The parsed templates of a folder: fileTemplateSource's, checked. */
export function loadTemplates(dir: string = templatesDir()): TemplateSet {
  return templateSet(fileTemplateSource(dir));
}
