import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { CampaignStateError, InvalidInputError, InvalidTransitionError, NeedsForceError, NotFoundError, TakedownError } from '../../../core/errors.js';
import type { Deps } from '../../../core/ports.js';
import { canWrite } from '../../../core/access/index.js';
import { approveCampaign, controlPreview } from '../../../core/campaign/index.js';
import { campaignCounts, CaseFilter, caseMatches, countryOf, partyOf, search } from '../../../core/reports/index.js';
import { listAll } from '../../../core/paging.js';
import { control, ControlAction, targetOf } from '../../../core/campaign/index.js';
import { campaignStats } from '../../../core/reports/index.js';
import { campaignHistory, caseStory } from '../../../core/audit/index.js';
import { maskTokens } from '../../../core/notices/index.js';
import { answerQuestion, applyReview, dismissReview, reviewQueue, ReviewResolvedError } from '../../../core/answers/index.js';
import { closeSession, openSession, sameSecret, SESSION_SECONDS, useSignInToken } from '../api-keys.js';
import { DASHBOARD_PREFIX, SESSION_COOKIE, type DenyRenderer } from '../auth.js';
import { requestActor } from '../actor.js';
import { chainStatusFor } from './chain.js';
import { exportFormatOf, exportResponse } from '../export-routes.js';
import { PAGE_HEADERS, STYLE, layout, type Html } from './html.js';
import { languageOf, translator, type DashboardLanguage } from './i18n.js';
import { campaignPage, campaignsPage, errorPage, loginPage, searchPage, type PageContext } from './pages.js';
import { casePage, confirmPage, controlDone, messagePage, reviewsPage } from './case-pages.js';

const ID = /^[a-z0-9_]{1,64}$/;
const OUTBOUND_ID = /^n[a-z0-9]{16}\.(notice|reminder|followup)\.\d{1,4}$/;
const CASES_PER_PAGE = 200;

/** What the dashboard is told by its host. */
export interface DashboardOptions {
  /** the command that makes a key on this host, shown on the sign-in page (the embedded host names its data dir) */
  readonly keyHint?: string;
}

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

function langOf(c: Context): DashboardLanguage {
  return languageOf(c.req.header('accept-language'));
}

function page(c: Context, status: 200 | 400 | 401 | 403 | 404 | 409 | 500, title: string, body: Html, query?: string): Response {
  for (const [name, value] of Object.entries(PAGE_HEADERS)) c.header(name, value);
  c.header('Content-Language', langOf(c));
  c.header('Vary', 'Accept-Language, Cookie');
  const session = c.get('session');
  return c.html(layout(title, body, { principal: c.get('principal'), session: session !== undefined, csrf: session?.csrf ?? '', lang: langOf(c), ...(query !== undefined ? { query } : {}) }), status);
}

function ctx(c: Context): PageContext {
  return { writable: canWrite(c.get('principal')), csrf: c.get('session')?.csrf ?? '', t: translator(langOf(c)) };
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
export function dashboardDenier(options: DashboardOptions = {}): DenyRenderer {
  return (c, status, code, message) => {
    const path = c.req.path;
    if (path !== DASHBOARD_PREFIX && !path.startsWith(`${DASHBOARD_PREFIX}/`)) return undefined;
    const f = { t: translator(langOf(c)) };
    if (status === 401) {
      if (code === 'AUTH.INVALID' && getCookie(c, SESSION_COOKIE) !== undefined) deleteCookie(c, SESSION_COOKIE, { path: DASHBOARD_PREFIX });
      const next = c.req.method === 'GET' ? path : '/ui';
      return page(c, 401, f.t('Sign in'), loginPage(f, { next, ...(options.keyHint ? { keyHint: options.keyHint } : {}), ...(code === 'AUTH.INVALID' ? { error: f.t('Your session ended or the key is no longer valid: sign in again.') } : {}) }));
    }
    return page(c, 403, f.t('Not allowed'), errorPage(f, 403, code, message));
  };
}

/** The refusals of the dashboard's paths without a host's hint. */
export const dashboardDeny: DenyRenderer = dashboardDenier();

/** The flash line of a control, from the query the redirect after it carries: counts and ids only, never free text. */
function controlFlash(c: Context, f: PageContext): string | undefined {
  const did = ControlAction.safeParse(c.req.query('did'));
  if (!did.success) return undefined;
  const num = (v: string | undefined) => (v && /^\d{1,7}$/.test(v) ? Number(v) : 0);
  const to = (c.req.query('to') ?? '').split(',').filter((x) => /^n[a-z0-9]{16}$/.test(x)).slice(0, 20);
  return controlDone({ action: did.data, cases: num(c.req.query('cases')), notices: num(c.req.query('notices')), escalatedTo: to, skipped: num(c.req.query('skipped')) }, f.t);
}

/**
 * The dashboard, mounted under /ui by the HTTP app: server-rendered pages, no script, every value escaped, in the
 * reader's language. Coordinators see forms; auditors the same pages without them (and the guard refuses their posts).
 */
export function dashboard(deps: Deps, options: DashboardOptions = {}): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    const f = ctx(c);
    const t = f.t;
    if (err instanceof FormForgeryError) return page(c, 403, t('Not allowed'), errorPage(f, 403, err.code, err.message));
    if (err instanceof InvalidInputError) {
      const detail = err.issues.length ? `${err.message} (${err.issues.map((i) => `${i.where}: ${i.reason}`).join('; ')})` : err.message;
      return page(c, 400, t('Not accepted'), errorPage(f, 400, err.code, detail));
    }
    if (err instanceof NotFoundError) return page(c, 404, t('Not found'), errorPage(f, 404, err.code, err.message));
    if (err instanceof CampaignStateError || err instanceof InvalidTransitionError || err instanceof ReviewResolvedError || err instanceof NeedsForceError) return page(c, 409, t('Not possible now'), errorPage(f, 409, err.code, err.message));
    deps.log.error('dashboard request failed', { method: c.req.method, path: c.req.routePath, error: err.name, ...(err instanceof TakedownError ? { code: err.code } : {}) });
    return page(c, 500, t('Error'), errorPage(f, 500, err instanceof TakedownError ? err.code : 'INTERNAL', t('the page could not be built')));
  });

  app.get('/style.css', (c) => c.body(STYLE, 200, { 'Content-Type': 'text/css; charset=utf-8', 'Cache-Control': 'max-age=3600', 'X-Content-Type-Options': 'nosniff' }));

  app.get('/login', (c) => (c.get('principal') ? c.redirect('/ui', 303) : page(c, 200, ctx(c).t('Sign in'), loginPage(ctx(c), { next: safeNext(c.req.query('next')), ...(options.keyHint ? { keyHint: options.keyHint } : {}) }))));

  app.post('/login', formLimit, async (c) => {
    if (!sameOrigin(c)) throw new FormForgeryError();
    const body = await c.req.parseBody();
    const key = typeof body.key === 'string' ? body.key.trim() : '';
    const next = safeNext(typeof body.next === 'string' ? body.next : undefined);
    const opened = await openSession(deps.store, key);
    const f = ctx(c);
    if (!opened) return page(c, 401, f.t('Sign in'), loginPage(f, { error: f.t('That is not a valid API key.'), next, ...(options.keyHint ? { keyHint: options.keyHint } : {}) }));
    setCookie(c, SESSION_COOKIE, opened.token, {
      path: DASHBOARD_PREFIX,
      httpOnly: true,
      sameSite: 'Strict',
      secure: new URL(c.req.url).protocol === 'https:',
      maxAge: SESSION_SECONDS,
    });
    return c.redirect(next, 303);
  });

  // the one-time link `takedown serve` prints: signs this browser in as the host's own key, once
  app.get('/login/:token', async (c) => {
    const opened = await useSignInToken(deps.store, c.req.param('token'));
    const f = ctx(c);
    if (!opened) return page(c, 401, f.t('Sign in'), loginPage(f, { error: f.t('That sign-in link was used already or has expired: sign in with a key.'), ...(options.keyHint ? { keyHint: options.keyHint } : {}) }));
    setCookie(c, SESSION_COOKIE, opened.token, { path: DASHBOARD_PREFIX, httpOnly: true, sameSite: 'Strict', secure: new URL(c.req.url).protocol === 'https:', maxAge: SESSION_SECONDS });
    // the token must not stay in the address bar or the history
    c.header('Referrer-Policy', 'no-referrer');
    return c.redirect('/ui', 303);
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
    const rows = await Promise.all(campaigns.map(async (campaign) => ({ campaign, counts: await campaignCounts(deps, campaign) })));
    return page(c, 200, ctx(c).t('Campaigns'), campaignsPage(ctx(c), rows, queue.open.length));
  });

  app.get('/search', async (c) => {
    const q = (c.req.query('q') ?? '').trim();
    const f = ctx(c);
    const result = q ? await search(deps, { q, limit: 200 }) : undefined;
    return page(c, 200, f.t('Search'), searchPage(f, result, q), q);
  });

  app.get('/campaigns/:id', async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    const campaign = await deps.store.getCampaign(id);
    if (!campaign) throw new NotFoundError('campaign', id);
    const raw = Object.fromEntries(['state', 'country', 'provider', 'kind'].map((k) => [k, c.req.query(k) || undefined]).filter(([, v]) => v !== undefined));
    const filter = CaseFilter.safeParse(raw);
    if (!filter.success) throw new InvalidInputError('that filter is not one the list offers', filter.error.issues.map((i) => ({ where: i.path.join('.'), reason: i.message })));
    const offsetText = c.req.query('offset') ?? '0';
    if (!/^\d{1,7}$/.test(offsetText)) throw new InvalidInputError('that page of cases does not exist', [{ where: 'offset', reason: 'not a whole number' }]);
    const offset = Number(offsetText);
    const [notices, stats, chain, all, told] = await Promise.all([
      listAll((p) => deps.store.listNotices({ campaignId: id }, p)),
      campaignStats(deps, id),
      chainStatusFor(deps, id),
      listAll((p) => deps.store.listCases({ campaignId: id }, p)),
      campaignHistory(deps, id),
    ]);
    const matched = all.filter((k) => caseMatches(k, filter.data));
    const providers = new Map(all.map((k) => [partyOf(k).id, partyOf(k).name]));
    const f = ctx(c);
    return page(
      c,
      200,
      campaign.name,
      campaignPage(
        {
          campaign,
          notices,
          stats,
          chain,
          cases: matched.slice(offset, offset + CASES_PER_PAGE),
          matched: matched.length,
          filter: filter.data,
          options: { countries: [...new Set(all.map(countryOf))].sort(), providers: [...providers.entries()].map(([pid, name]) => ({ id: pid, name })).sort((a, b) => a.name.localeCompare(b.name)) },
          ...(offset + CASES_PER_PAGE < matched.length ? { nextOffset: offset + CASES_PER_PAGE } : {}),
          now: deps.clock.now(),
          history: told,
          ...(controlFlash(c, f) ? { flash: controlFlash(c, f)! } : {}),
        },
        f,
      ),
    );
  });

  // the download buttons: the same export as the API's, opened by the session cookie
  app.get('/campaigns/:id/export', async (c) => exportResponse(c, deps, checkId('campaign', c.req.param('id')), exportFormatOf(c)));

  app.post('/campaigns/:id/approval', formLimit, async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    await formOf(c);
    await approveCampaign(deps, id, requestActor(c));
    return c.redirect(`/ui/campaigns/${id}`, 303);
  });

  app.get('/cases/:id', async (c) => {
    const story = await caseStory(deps, checkId('case', c.req.param('id')));
    const k = story.timeline.case;
    const messages = k.noticeId ? await deps.store.listOutbound(k.noticeId) : [];
    const f = ctx(c);
    const flash = controlFlash(c, f);
    return page(c, 200, `${f.t('Case')} ${k.id}`, casePage({ story, chain: await chainStatusFor(deps, k.campaignId), messages, ...(flash ? { flash } : {}) }, f));
  });

  // a message as it was sent: its text, and its .eml; only the masked copy kept after sending is ever shown
  const sentCopy = async (c: Context): Promise<{ raw: string; outbound: NonNullable<Awaited<ReturnType<Deps['store']['getOutbound']>>>; part: number }> => {
    const id = c.req.param('id') ?? '';
    if (!OUTBOUND_ID.test(id)) throw new NotFoundError('message', id.slice(0, 64));
    const outbound = await deps.store.getOutbound(id);
    if (!outbound) throw new NotFoundError('message', id);
    const part = Number(c.req.query('part') ?? '1');
    const p = outbound.parts?.[part - 1];
    if (!Number.isInteger(part) || part < 1 || (outbound.parts && !p)) throw new NotFoundError('message part', `${id}#${String(part).slice(0, 6)}`);
    // a part not yet sent still holds its working tokens in the store: it is not shown
    if ((p ? p.state : outbound.state) !== 'sent') throw new InvalidTransitionError('message', id, p?.state ?? outbound.state, 'shown (only what was sent is)');
    const stored = p ? await deps.messages?.get(p.rawKey) : outbound.raw;
    if (stored === undefined) throw new NotFoundError('message copy', id);
    // masked again on the way out: a copy written before masking existed still shows no working token
    return { raw: maskTokens(stored).masked, outbound, part };
  };

  app.get('/messages/:id', async (c) => {
    const { raw, outbound, part } = await sentCopy(c);
    // the MIME parser is loaded only to show a message
    const { parseMail } = await import('../../mail/parse.js');
    const mail = await parseMail(raw);
    const header = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(raw.slice(0, raw.search(/\r?\n\r?\n/)).replace(/\r?\n[ \t]+/g, ' '))?.[1]?.trim() ?? '';
    return page(c, 200, mail.subject, messagePage(ctx(c), outbound, part, { subject: mail.subject, from: mail.from ?? header('From'), to: header('To'), date: header('Date'), text: mail.text ?? '' }));
  });

  app.get('/messages/:id/raw', async (c) => {
    const { raw, outbound, part } = await sentCopy(c);
    return c.body(raw, 200, {
      'Content-Type': 'message/rfc822',
      'Content-Disposition': `attachment; filename="${outbound.id}${(outbound.parts?.length ?? 1) > 1 ? `.part${part}` : ''}.eml"`,
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
  });

  /**
   * A coordinator's hand on the clock, from the campaign and case pages, in two steps: the button asks for the
   * confirmation page (what it will do, why), and only the confirmed form changes anything, then says what it did.
   */
  app.post('/controls/:id', formLimit, async (c) => {
    const id = checkId('record', c.req.param('id'));
    const form = await formOf(c);
    const action = ControlAction.safeParse(form.action);
    if (!action.success) throw new InvalidInputError('choose pause, resume, cancel or escalate', [{ where: 'action', reason: 'unknown' }]);
    const target = targetOf(id);
    const back = 'campaignId' in target ? `/ui/campaigns/${id}` : 'caseId' in target ? `/ui/cases/${id}` : '/ui';
    const f = ctx(c);
    const reason = form.reason?.trim().slice(0, 500) ?? '';
    if (form.confirm !== 'yes' || !reason) {
      const preview = await controlPreview(deps, id, action.data);
      return page(c, form.confirm === 'yes' ? 400 : 200, f.t('Confirm'), confirmPage(f, preview, id, { back, ...(form.confirm === 'yes' ? { error: f.t('Say why: the reason goes into the audit trail.') } : {}) }));
    }
    let result;
    try {
      result = await control(deps, id, action.data, requestActor(c), reason, { force: form.force === 'yes' });
    } catch (e) {
      if (!(e instanceof NeedsForceError)) throw e;
      const preview = await controlPreview(deps, id, action.data);
      return page(c, 409, f.t('Confirm'), confirmPage(f, { ...preview, needsForce: preview.needsForce ?? e.message }, id, { back, reason, error: e.message }));
    }
    const query = new URLSearchParams({ did: result.action, cases: String(result.cases), notices: String(result.notices) });
    if (result.escalatedTo.length) query.set('to', result.escalatedTo.slice(0, 20).join(','));
    if (result.skipped?.length) query.set('skipped', String(result.skipped.length));
    return c.redirect(`${back === '/ui' ? '/ui' : back}?${query.toString()}`, 303);
  });

  app.get('/reviews', async (c) => {
    const done = c.req.query('done');
    const f = ctx(c);
    const flash =
      done === 'applied' ? f.t('Applied: the answer was recorded and the cases updated.') : done === 'dismissed' ? f.t('Dismissed: nothing was applied.') : done === 'answered' ? f.t('Answered: the follow-up went out in the thread and the question is settled.') : undefined;
    return page(c, 200, f.t('Review queue'), reviewsPage(f, await reviewQueue(deps), { showResolved: c.req.query('resolved') === '1', ...(flash ? { flash } : {}) }));
  });

  app.post('/reviews/:id/apply', formLimit, async (c) => {
    const id = checkId('review', c.req.param('id'));
    const form = await formOf(c);
    await applyReview(deps, id, { intent: form.intent ?? '', by: requestActor(c), ...(form.noticeId ? { noticeId: form.noticeId } : {}), ...(form.note ? { note: form.note } : {}) });
    return c.redirect('/ui/reviews?done=applied', 303);
  });

  app.post('/reviews/:id/dismiss', formLimit, async (c) => {
    const id = checkId('review', c.req.param('id'));
    const form = await formOf(c);
    await dismissReview(deps, id, { by: requestActor(c), ...(form.note ? { note: form.note } : {}) });
    return c.redirect('/ui/reviews?done=dismissed', 303);
  });

  // a recipient's question answered from the queue: the follow-up goes out in the thread and settles the item
  app.post('/notices/:id/followups', formLimit, async (c) => {
    const id = checkId('notice', c.req.param('id'));
    const form = await formOf(c);
    const message = form.message?.trim() ?? '';
    if (!message) throw new InvalidInputError('write the answer to send', [{ where: 'message', reason: 'empty' }]);
    await answerQuestion(deps, id, message.slice(0, 20_000), requestActor(c));
    return c.redirect('/ui/reviews?done=answered', 303);
  });

  return app;
}
