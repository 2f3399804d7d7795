import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { AnswerInput, recordAnswer } from '../../core/answers/index.js';
import { InvalidInputError, NotFoundError, TakedownError } from '../../core/errors.js';
import { confirmLink, LinkUnusableError, useLink } from '../../core/answers/index.js';
import { chooseLanguage } from '../../core/notices/index.js';
import type { Notice } from '../../core/model.js';
import { fill, PAGE_LANGUAGES, pageLanguage, pageLanguageOfHeader, RECIPIENT_TEXTS, type PageLanguage } from './recipient-pages.js';
import type { Clock, Deps } from '../../core/ports.js';
import { RecipientId } from '../../core/answers/index.js';
import { SecretBoxError } from '../../core/errors.js';
import { forgetWebhook, verifyWebhook, WebhookRefusedError } from '../../core/answers/index.js';
import { ScaledClock } from '../runtime/clock.js';

export interface AnswerRoutesOptions {
  /**
   * real time, for webhook timestamps and secret rotation: senders stamp real time, while the embedded host's
   * domain clock may run fast or ahead @default the system clock
   */
  readonly wallClock?: Clock;
  /** how far a webhook's timestamp may be from ours, either way @default 300 */
  readonly toleranceSeconds?: number;
}

/** The body of `POST /webhooks/answers`. */
export const WebhookAnswerBody = AnswerInput.pick({ intent: true, caseIds: true, ticket: true, note: true, answerId: true })
  .extend({
    /** the party id the secret belongs to (`Notice.party.id`) */
    recipient: RecipientId,
    // the notice id, or the subject tag that carries it (TKD-<notice id>), as a ticket system has it
    noticeId: z
      .string()
      .max(80)
      .transform((s) => s.trim().replace(/^\[?TKD-/i, '').replace(/\]$/, '').toLowerCase())
      .pipe(z.string().regex(/^[a-z0-9_]{1,64}$/, 'a notice id (n...) or its tag (TKD-n...)')),
  })
  .strict();

const Recipient = z.object({ recipient: RecipientId });

/** Whether a signed delivery's answer is missing from the store (its notice's answers), as a crash leaves it. */
async function neverStored(deps: Deps, json: unknown, webhookId: string): Promise<boolean> {
  const body = WebhookAnswerBody.safeParse(json);
  if (!body.success) return false;
  const id = `${body.data.noticeId}:${body.data.answerId ?? webhookId}`;
  return !(await deps.store.listAnswers(body.data.noticeId)).some((a) => a.id === id);
}

function errorBody(code: string, message: string, issues?: readonly { where: string; reason: string }[]) {
  return { error: { code, message, ...(issues?.length ? { issues } : {}) } };
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (s: string): string => s.replace(/[&<>"']/g, (ch) => ESCAPES[ch]!);

function page(c: Context, status: 200 | 400 | 404 | 410 | 500, title: string, body: string, lang: PageLanguage = 'en'): Response {
  // the token is in the URL: no referrer leaves this page, nothing caches or indexes it, nothing may frame it
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  c.header('X-Robots-Tag', 'noindex, nofollow');
  c.header('X-Content-Type-Options', 'nosniff');
  c.header('Content-Language', lang);
  return c.html(
    `<!doctype html><html lang="${lang}" dir="${lang === 'ar' ? 'rtl' : 'ltr'}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}` +
      `button{font-size:1.1rem;padding:.5rem 1.2rem}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    status,
  );
}

/** The page language of a notice: the language its notice was written in (directory setting, else country). */
function languageOfNotice(notice: Pick<Notice, 'party'> | undefined, c: Context): PageLanguage {
  if (!notice) return pageLanguageOfHeader(c.req.header('accept-language'));
  return pageLanguage(chooseLanguage(notice.party, PAGE_LANGUAGES).language);
}

async function linkProblemPage(deps: Deps, c: Context, e: LinkUnusableError): Promise<Response> {
  const notice = e.noticeId ? await deps.store.getNotice(e.noticeId).catch(() => undefined) : undefined;
  const lang = languageOfNotice(notice, c);
  const t = RECIPIENT_TEXTS[lang];
  switch (e.problem) {
    case 'unknown':
      return page(c, 404, t.unknownTitle, `<p>${esc(t.unknown)}</p>`, lang);
    case 'used':
      return page(c, 410, t.usedTitle, `<p>${esc(t.used)}</p>`, lang);
    case 'expired':
      return page(c, 410, t.expiredTitle, `<p>${esc(t.expired)}</p>`, lang);
  }
}

/**
 * How recipients answer without mail: `POST /webhooks/answers` (Standard Webhooks, signed with the recipient's
 * secret) and the one-click links of a notice (`GET /links/:token` asks, `POST /links/:token` applies). Both end
 * in recordAnswer, which completes the waiting workflow.
 */
export function answerRoutes(deps: Deps, options: AnswerRoutesOptions = {}): Hono {
  const app = new Hono();
  const wallClock = options.wallClock ?? new ScaledClock();

  app.onError((err, c) => {
    const onLink = c.req.path.startsWith('/links/');
    const words = RECIPIENT_TEXTS[pageLanguageOfHeader(c.req.header('accept-language'))];
    if (err instanceof LinkUnusableError) return linkProblemPage(deps, c, err);
    if (err instanceof NotFoundError) {
      return onLink ? page(c, 404, words.noNoticeTitle, `<p>${esc(words.noNotice)}</p>`) : c.json(errorBody(err.code, err.message), 404);
    }
    if (err instanceof InvalidInputError && !onLink) return c.json(errorBody(err.code, err.message, err.issues), 400);
    if (err instanceof SecretBoxError) {
      // the key file or KMS key is not the one the secrets were sealed with: an operator must act, the sender may retry
      deps.log.error('recipient secrets cannot be opened', { code: err.code, error: err.message });
      return c.json(errorBody('WEBHOOK.UNAVAILABLE', 'webhook answers are unavailable on this host for now; retry later, or answer by mail or link'), 503);
    }
    deps.log.error('answer request failed', { method: c.req.method, path: c.req.routePath, error: err.name, ...(err instanceof TakedownError ? { code: err.code } : {}) });
    return onLink ? page(c, 500, words.failedTitle, `<p>${esc(words.failed)}</p>`) : c.json(errorBody('INTERNAL', 'internal error'), 500);
  });

  app.post(
    '/webhooks/answers',
    bodyLimit({ maxSize: 256 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the body is larger than 256 KB'), 413) }),
    async (c) => {
      if (!deps.secrets) {
        return c.json(errorBody('WEBHOOK.UNAVAILABLE', 'webhook answers are not configured on this host (no secret store); answer by mail or link'), 503);
      }
      // read once, as text: the signature covers these exact bytes
      const raw = await c.req.text();
      const request = { id: c.req.header('webhook-id'), timestamp: c.req.header('webhook-timestamp'), signature: c.req.header('webhook-signature'), body: raw };
      if (!request.id || !request.timestamp || !request.signature) {
        return c.json(errorBody('WEBHOOK.UNSIGNED', 'webhook-id, webhook-timestamp and webhook-signature headers are required'), 401);
      }
      let json: unknown;
      try {
        json = JSON.parse(raw);
      } catch {
        throw new InvalidInputError('the body is not JSON', [{ where: '(body)', reason: 'a JSON object' }]);
      }
      // only the recipient is read before the signature is checked: it names the secret to check it with
      const who = Recipient.safeParse(json);
      if (!who.success) throw new InvalidInputError('the answer is not valid', who.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
      const recipient = who.data.recipient;
      const secretDeps = { store: deps.store, clock: wallClock, secrets: deps.secrets };
      let webhookId: string;
      try {
        webhookId = (await verifyWebhook(secretDeps, recipient, request, options.toleranceSeconds === undefined ? {} : { toleranceSeconds: options.toleranceSeconds })).id;
      } catch (e) {
        if (!(e instanceof WebhookRefusedError)) throw e;
        // a signed delivery seen before whose answer was never stored: the host died between marking it seen and
        // storing it, and this is the sender's retry. Taken: its answer has the id it would have had, so nothing is
        // applied twice, and refused it would be lost (Standard Webhooks senders do not retry a 4xx)
        if (!(e.reason === 'replayed' && (await neverStored(deps, json, request.id)))) {
          deps.log.warn('webhook refused', { recipient, reason: e.reason });
          return c.json(errorBody(e.code, e.message), 401);
        }
        webhookId = request.id;
      }
      try {
        const body = WebhookAnswerBody.safeParse(json);
        if (!body.success) throw new InvalidInputError('the answer is not valid', body.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
        const { noticeId, intent, caseIds, ticket, note, answerId } = body.data;
        const notice = await deps.store.getNotice(noticeId);
        if (!notice) throw new NotFoundError('notice', noticeId);
        if (notice.party.id !== recipient) {
          deps.log.warn('webhook for another recipient\'s notice', { recipient, notice: noticeId });
          await forgetWebhook(deps, recipient, webhookId);
          return c.json(errorBody('WEBHOOK.NOT_YOUR_NOTICE', 'this notice was not sent to this recipient'), 403);
        }
        const result = await recordAnswer(deps, noticeId, {
          intent,
          source: 'webhook',
          from: recipient,
          // a retried delivery keeps its webhook-id: applied once
          answerId: answerId ?? webhookId,
          ...(caseIds ? { caseIds } : {}),
          ...(ticket !== undefined ? { ticket } : {}),
          ...(note !== undefined ? { note } : {}),
        });
        deps.log.info('webhook answer', { recipient, notice: noticeId, webhookId, intent, applied: result.applied });
        return c.json(
          { answer: result.answer, applied: result.applied, notice: { id: noticeId, state: result.notice.state, deadline: result.notice.deadline } },
          result.applied ? 201 : 200,
        );
      } catch (e) {
        // not applied: the sender's retry of this delivery must not be refused as a replay
        await forgetWebhook(deps, recipient, webhookId);
        throw e;
      }
    },
  );

  app.get('/links/:token', async (c) => {
    const view = await confirmLink(deps, c.req.param('token'));
    const n = view.notice;
    const lang = languageOfNotice(n, c);
    const t = RECIPIENT_TEXTS[lang];
    const what = t.intents[view.intent];
    const sentence = fill(esc(t.confirm), { means: esc(what.means), tag: `<strong>${esc(n.tag)}</strong>`, sender: esc(deps.settings.senderName), party: esc(n.party.name), indicators: esc(t.indicators(n.caseCount)) });
    return page(
      c,
      200,
      `${what.button}?`,
      `<p>${sentence}</p>` +
        `<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">${esc(what.button)}</button></form>` +
        `<p><small>${esc(fill(t.once, { date: view.expiresAt.slice(0, 10) }))}</small></p>`,
      lang,
    );
  });

  app.post('/links/:token', bodyLimit({ maxSize: 4 * 1024 }), async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    // only the page's own form applies: a bare POST (a scanner, a prefetch) does not
    if (form.confirm !== 'yes') {
      const t = RECIPIENT_TEXTS[pageLanguageOfHeader(c.req.header('accept-language'))];
      return page(c, 400, t.nothingTitle, `<p>${esc(t.nothing)}</p>`);
    }
    const used = await useLink(deps, c.req.param('token'));
    deps.log.info('link answer', { notice: used.notice.id, intent: used.intent, applied: used.applied });
    const lang = languageOfNotice(used.notice, c);
    const t = RECIPIENT_TEXTS[lang];
    return page(c, 200, t.thanks, `<p>${esc(t.intents[used.intent].done)}</p><p>${esc(fill(t.noticeLine, { tag: used.notice.tag }))}</p>`, lang);
  });

  return app;
}
