import type { MailDraft, RenderJob, TemplateFolders } from '../../core/ports.js';
import { renderNotice, templatesFromFiles, type TemplateSet } from '../../core/notices/index.js';
import { signedComposer, type DkimKey } from '../mail/signed-compose.js';

/** Work for a compose thread: a draft to compose, or a notice to render and compose. */
export type Job = { readonly draft: MailDraft } | { readonly render: RenderJob };

/** A job done: the bytes, and for a rendered notice its draft. */
export interface Done {
  readonly raw: string;
  readonly draft?: MailDraft;
}

/** What every compose thread is started with (structured-cloneable): the host's DKIM key and notice templates. */
export interface Setup {
  readonly dkim?: DkimKey;
  readonly templates: TemplateFolders;
}

/**
 * How a job is done, the same on a compose thread and on the main thread (the pool's fallback): rendered with the
 * templates (read at the first render job), composed as the host's SMTP mailer composes (signedComposer).
 */
export function jobRunner(dkim: DkimKey | undefined, folders: () => TemplateFolders): (job: Job) => Promise<Done> {
  const compose = signedComposer(dkim);
  let templates: TemplateSet | undefined;
  return async (job) => {
    if ('draft' in job) return { raw: await compose(job.draft) };
    templates ??= templatesFromFiles(folders());
    const draft = renderNotice({ ...job.render, templates });
    return { draft, raw: await compose(draft) };
  };
}
