import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { CampaignStateError, InvalidInputError, InvalidTransitionError, NotFoundError, TakedownError } from '../../../core/errors.js';
import type { Deps } from '../../../core/ports.js';
import { canWrite } from '../../../core/access/index.js';
import { approveCampaign } from '../../../core/campaign/index.js';
import { listAll } from '../../../core/paging.js';
import { control, ControlAction, targetOf } from '../../../core/campaign/index.js';
import { campaignStats } from '../../../core/campaign/index.js';
import { caseTimeline } from '../../../core/audit/index.js';
import { applyReview, dismissReview, reviewQueue, ReviewResolvedError } from '../../../core/answers/index.js';
import { closeSession, openSession, sameSecret, SESSION_SECONDS } from '../api-keys.js';
import { DASHBOARD_PREFIX, SESSION_COOKIE, type DenyRenderer } from '../auth.js';
import { chainStatusFor } from './chain.js';
import { exportFormatOf, exportResponse } from '../export-routes.js';
import { PAGE_HEADERS, STYLE, layout, type Html } from './html.js';
import { campaignPage, campaignsPage, casePage, errorPage, loginPage, reviewsPage, type FormContext } from './pages.js';

const ID = /^[a-z0-9_]{1,64}$/;
const CURSOR = /^[A-Za-z0-9_=-]{1,512}$/;
const CASES_PER_PAGE = 200;

/** A dashboard form whose origin or CSRF token is wrong: refused, nothing done. */
class FormForgeryError extends TakedownError {
  constructor() {
    super('AUTH.CSRF', 'the form did not come from this dashboard; reload the page and try again');
    this.name = 'FormForgeryError';
  }
}

function checkId(kind: string, id: string): string {
  if (!ID.test(id)) throw new NotFoundError(kind, id.slice(0, 64));
  return id;
}

function page(c: Context, status: 200 | 400 | 401 | 403 | 404 | 409 | 500, title: string, body: Html): Response {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
  const session = c.get('session');
  return c.html(layout(title, body, { principal: c.get('principal'), session: session !== undefined, csrf: session?.csrf ?? '' }), status);
}

function forms(c: Context): FormContext {
  return { writable: canWrite(c.get('principal')), csrf: c.get('session')?.csrf ?? '' };
}

function sameOrigin(c: Context): boolean {
  const own = new URL(c.req.url).origin;
  const origin = c.req.header('origin');
  if (origin !== undefined) return origin === own;
  const referer = c.req.header('referer');
  if (referer === undefined) return true;
  try {
    return new URL(referer).origin === own;
  } catch {
    return false;
  }
}

/**
 * The fields of a posted form. A request that came with the session cookie must come from this origin and carry
 * the session's token (SameSite=Strict keeps other sites' forms away; the token keeps away other ports of the
 * same host, which count as the same site). A request with a bearer key carries no ambient credential.
 */
async function formOf(c: Context): Promise<Record<string, string>> {
  const body = await c.req.parseBody();
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries(body)) if (typeof v === 'string') fields[k] = v;
  const session = c.get('session');
  if (session && (!sameOrigin(c) || !sameSecret(fields._csrf ?? '', session.csrf))) throw new FormForgeryError();
  return fields;
}

function safeNext(next: string | undefined): string {
  return next !== undefined && /^\/ui(\/[A-Za-z0-9_.~%=&?/-]*)?$/.test(next) && !next.includes('//') ? next : '/ui';
}

const formLimit = bodyLimit({ maxSize: 64 * 1024 });

/** Renders the guard's refusals on the dashboard's paths as pages: the sign-in form for a 401. */
export const dashboardDeny: DenyRenderer = (c, status, code, message) => {
  const path = c.req.path;
  if (path !== DASHBOARD_PREFIX && !path.startsWith(`${DASHBOARD_PREFIX}/`)) return undefined;
  if (status === 401) {
    if (code === 'AUTH.INVALID' && getCookie(c, SESSION_COOKIE) !== undefined) deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD_PREFIX });
    const next = c.req.method === 'GET' ? path : '/ui';
    return page(c, 401, 'Sign in', loginPage({ next, ...(code === 'AUTH.INVALID' ? { error: 'Your session ended or the key is no longer valid: sign in again.' } : {}) }));
  }
  return page(c, 403, 'Not allowed', errorPage(403, code, message));
};

/**
 * The dashboard, mounted under /ui by the HTTP app: server-rendered pages, no script, every value escaped.
 * Coordinators see forms; auditors the same pages without them (and the guard refuses their posts).
 */
export function dashboard(deps: Deps): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof FormForgeryError) return page(c, 403, 'Not allowed', errorPage(403, err.code, err.message));
    if (err instanceof InvalidInputError) {
      const detail = err.issues.length ? `${err.message} (${err.issues.map((i) => `${i.where}: ${i.reason}`).join('; ')})` : err.message;
      return page(c, 400, 'Not accepted', errorPage(400, err.code, detail));
    }
    if (err instanceof NotFoundError) return page(c, 404, 'Not found', errorPage(404, err.code, err.message));
    if (err instanceof CampaignStateError || err instanceof InvalidTransitionError || err instanceof ReviewResolvedError) return page(c, 409, 'Not possible now', errorPage(409, err.code, err.message));
    deps.log.error('dashboard request failed', { method: c.req.method, path: c.req.routePath, error: err.name, ...(err instanceof TakedownError ? { code: err.code } : {}) });
    return page(c, 500, 'Error', errorPage(500, err instanceof TakedownError ? err.code : 'INTERNAL', 'the page could not be built'));
  });

  app.get('/style.css', (c) => c.body(STYLE, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=3600', 'X-Content-Type-Options': 'nosniff' }));

  app.get('/login', (c) => (c.get('principal') ? c.redirect('/ui', 303) : page(c, 200, 'Sign in', loginPage({ next: safeNext(c.req.query('next')) }))));

  app.post('/login', formLimit, async (c) => {
    if (!sameOrigin(c)) throw new FormForgeryError();
    const body = await c.req.parseBody();
    const key = typeof body.key === 'string' ? body.key.trim() : '';
    const next = safeNext(typeof body.next === 'string' ? body.next : undefined);
    const opened = await openSession(deps.store, key);
    if (!opened) return page(c, 401, 'Sign in', loginPage({ error: 'That is not a valid API key.', next }));
    setCookie(c, SESSION_COOKIE, opened.token, {
      path: DASHBOARD_PREFIX,
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: SESSION_SECONDS,
    });
    return c.redirect(next, 303);
  });

  app.post('/logout', formLimit, async (c) => {
    await formOf(c);
    const token = getCookie(c, SESSION_COOKIE);
    if (token !== undefined) await closeSession(deps.store, token);
    deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD_PREFIX });
    return c.redirect('/ui/login', 303);
  });

  app.get('/', async (c) => {
    const [campaigns, queue] = await Promise.all([deps.store.listCampaigns(), reviewQueue(deps)]);
    return page(c, 200, 'Campaigns', campaignsPage(campaigns, queue.open.length));
  });

  app.get('/campaigns/:id', async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    const campaign = await deps.store.getCampaign(id);
    if (!campaign) throw new NotFoundError('campaign', id);
    const after = c.req.query('after');
    if (after !== undefined && !CURSOR.test(after)) throw new InvalidInputError('that page of cases does not exist', [{ where: 'after', reason: 'not a cursor' }]);
    const [notices, stats, chain, cases] = await Promise.all([
      listAll((p) => deps.store.listNotices({ campaignId: id }, p)),
      campaignStats(deps, id),
      chainStatusFor(deps, id),
      deps.store.listCases({ campaignId: id }, { limit: CASES_PER_PAGE, ...(after ? { after } : {}) }).catch((e: unknown) => {
        if (after === undefined) throw e;
        throw new InvalidInputError('that page of cases does not exist', [{ where: 'after', reason: 'not a cursor' }]);
      }),
    ]);
    return page(c, 200, campaign.name, campaignPage({ campaign, notices, stats, chain, cases: cases.items, ...(cases.next ? { nextCases: cases.next } : {}) }, forms(c)));
  });

  // the download buttons: the same export as the API's, opened by the session cookie
  app.get('/campaigns/:id/export', async (c) => exportResponse(c, deps, checkId('campaign', c.req.param('id')), exportFormatOf(c)));

  app.post('/campaigns/:id/approval', formLimit, async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    await formOf(c);
    await approveCampaign(deps, id, c.get('principal')!.name);
    return c.redirect(`/ui/campaigns/${id}`, 303);
  });

  app.get('/cases/:id', async (c) => {
    const timeline = await caseTimeline(deps, checkId('case', c.req.param('id')));
    return page(c, 200, `Case ${timeline.case.id}`, casePage(timeline, await chainStatusFor(deps, timeline.case.campaignId), forms(c)));
  });

  // a coordinator's hand on the clock (lib/core/control.ts), from the campaign and case pages
  app.post('/controls/:id', formLimit, async (c) => {
    const id = checkId('record', c.req.param('id'));
    const form = await formOf(c);
    const action = ControlAction.safeParse(form.action);
    if (!action.success) throw new InvalidInputError('choose pause, resume, cancel or escalate', [{ where: 'action', reason: 'unknown' }]);
    const target = targetOf(id);
    const reason = form.reason?.trim().slice(0, 500) || 'from the dashboard';
    await control(deps, id, action.data, c.get('principal')!.name, reason);
    return c.redirect('campaignId' in target ? `/ui/campaigns/${id}` : 'caseId' in target ? `/ui/cases/${id}` : '/ui', 303);
  });

  app.get('/reviews', async (c) => {
    const done = c.req.query('done');
    const flash = done === 'applied' ? 'Applied: the answer was recorded and the cases updated.' : done === 'dismissed' ? 'Dismissed: nothing was applied.' : undefined;
    return page(c, 200, 'Review queue', reviewsPage(await reviewQueue(deps), forms(c), { showResolved: c.req.query('resolved') === '1', ...(flash ? { flash } : {}) }));
  });

  app.post('/reviews/:id/apply', formLimit, async (c) => {
    const id = checkId('review', c.req.param('id'));
    const form = await formOf(c);
    await applyReview(deps, id, { intent: form.intent ?? '', by: c.get('principal')!.name, ...(form.noticeId ? { noticeId: form.noticeId } : {}), ...(form.note ? { note: form.note } : {}) });
    return c.redirect('/ui/reviews?done=applied', 303);
  });

  app.post('/reviews/:id/dismiss', formLimit, async (c) => {
    const id = checkId('review', c.req.param('id'));
    const form = await formOf(c);
    await dismissReview(deps, id, { by: c.get('principal')!.name, ...(form.note ? { note: form.note } : {}) });
    return c.redirect('/ui/reviews?done=dismissed', 303);
  });

  return app;
}
