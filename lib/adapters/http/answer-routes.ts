import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { AnswerInput, recordAnswer } from '../../core/answers/index.js';
import { InvalidInputError, NotFoundError, TakedownError } from '../../core/errors.js';
import { confirmLink, LinkUnusableError, useLink } from '../../core/answers/index.js';
import { type LinkIntent } from '../../core/notices/index.js';
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

const INTENTS: Readonly<Record<LinkIntent, { button: string; means: string; done: string }>> = {
  acknowledged: {
    button: 'Acknowledge',
    means: 'you have received this notice and are looking into it',
    done: 'Recorded: you have received the notice and are looking into it.',
  },
  actioned: {
    button: 'Confirm it is taken down',
    means: 'you have taken the reported infrastructure down (we will check it)',
    done: 'Recorded: you have taken it down. We will check that it no longer answers.',
  },
  'not-ours': {
    button: 'Not ours',
    means: 'the reported infrastructure is not yours to act on, so the notice goes to the next party',
    done: 'Recorded: not yours. The notice goes to the next party that can act.',
  },
};

function page(c: Context, status: 200 | 400 | 404 | 410 | 500, title: string, body: string): Response {
  // the token is in the URL: no referrer leaves this page, nothing caches or indexes it, nothing may frame it
  c.header('Content-Security-Policy', "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  c.header('Referrer-Policy', 'no-referrer');
  c.header('Cache-Control', 'no-store');
  c.header('X-Robots-Tag', 'noindex, nofollow');
  c.header('X-Content-Type-Options', 'nosniff');
  return c.html(
    `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">` +
      `<title>${esc(title)}</title><style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.5}` +
      `button{font-size:1.1rem;padding:.5rem 1.2rem}</style></head><body><h1>${esc(title)}</h1>${body}</body></html>`,
    status,
  );
}

function linkProblemPage(c: Context, e: LinkUnusableError): Response {
  switch (e.problem) {
    case 'unknown':
      return page(c, 404, 'Link not found', '<p>This answer link is not known. Check that the whole link was copied, or answer by replying to the notice.</p>');
    case 'used':
      return page(c, 410, 'Link already used', '<p>This answer link was used already; your answer was recorded once. To say something else, reply to the notice.</p>');
    case 'expired':
      return page(c, 410, 'Link expired', '<p>This answer link has expired. Please answer by replying to the notice.</p>');
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
    if (err instanceof LinkUnusableError) return linkProblemPage(c, err);
    if (err instanceof NotFoundError) {
      return onLink ? page(c, 404, 'Notice not found', '<p>The notice this link answers no longer exists.</p>') : c.json(errorBody(err.code, err.message), 404);
    }
    if (err instanceof InvalidInputError && !onLink) return c.json(errorBody(err.code, err.message, err.issues), 400);
    if (err instanceof SecretBoxError) {
      // the key file or KMS key is not the one the secrets were sealed with: an operator must act, the sender may retry
      deps.log.error('recipient secrets cannot be opened', { code: err.code, error: err.message });
      return c.json(errorBody('WEBHOOK.UNAVAILABLE', 'webhook answers are unavailable on this host for now; retry later, or answer by mail or link'), 503);
    }
    deps.log.error('answer request failed', { method: c.req.method, path: c.req.routePath, error: err.name, ...(err instanceof TakedownError ? { code: err.code } : {}) });
    return onLink ? page(c, 500, 'Something went wrong', '<p>Your answer could not be recorded. Please try again later, or reply to the notice.</p>') : c.json(errorBody('INTERNAL', 'internal error'), 500);
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
    const what = INTENTS[view.intent];
    const n = view.notice;
    return page(
      c,
      200,
      `${what.button}?`,
      `<p>Confirm that ${esc(what.means)}: notice <strong>${esc(n.tag)}</strong> from ${esc(deps.settings.senderName)} to ${esc(n.party.name)}, ` +
        `${n.caseCount} indicator${n.caseCount === 1 ? '' : 's'}. Nothing is recorded until you press the button.</p>` +
        `<form method="post"><input type="hidden" name="confirm" value="yes"><button type="submit">${esc(what.button)}</button></form>` +
        `<p><small>This link works once and expires ${esc(view.expiresAt.slice(0, 10))}.</small></p>`,
    );
  });

  app.post('/links/:token', bodyLimit({ maxSize: 4 * 1024 }), async (c) => {
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    // only the page's own form applies: a bare POST (a scanner, a prefetch) does not
    if (form.confirm !== 'yes') {
      return page(c, 400, 'Nothing recorded', '<p>Open the link and press the button on its page to answer.</p>');
    }
    const used = await useLink(deps, c.req.param('token'));
    deps.log.info('link answer', { notice: used.notice.id, intent: used.intent, applied: used.applied });
    return page(c, 200, 'Thank you', `<p>${esc(INTENTS[used.intent].done)}</p><p>Notice ${esc(used.notice.tag)}.</p>`);
  });

  return app;
}
