import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { TakedownError, InvalidInputError, InvalidTransitionError, NeedsForceError, NotFoundError, CampaignStateError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { approveCampaign, campaignWorkflow, cancelCampaign } from '../../core/campaign/index.js';
import { listAll } from '../../core/paging.js';
import { submitCampaign, SubmitCampaignInput } from '../../core/campaign/index.js';
import { createUpload, submitUpload, uploadStatus, type SubmitUploadInput } from '../../core/campaign/index.js';
import { planSubmission } from '../../core/campaign/index.js';
import { recordAnswer } from '../../core/answers/index.js';
import { applyReview, dismissReview, listReviews, reviewItem, ReviewResolvedError } from '../../core/answers/index.js';
import { onBehalfOfIn, requestActor } from './actor.js';
import { campaignCounts, campaignStatus, search, sendingProgress } from '../../core/reports/index.js';
import { FeedOrigin, recordCampaignOrigin } from '../../core/feeds/index.js';
import { campaignHistory, caseStory } from '../../core/audit/index.js';
import { answerRoutes } from './answer-routes.js';
import { controlRoutes } from './control-routes.js';
import { apiKeyPrincipals, guard, ROOT_REDIRECT_RULE, ROUTE_RULES, type PrincipalResolver } from './auth.js';
import { dashboard, dashboardDenier } from './dashboard/index.js';
import { exportFormatOf, exportResponse } from './export-routes.js';
import { settingsRoutes } from './settings-routes.js';

/** An approval: the principal approves; `onBehalfOf` (or the older `approver`) says whom it acts for. */
const ApprovalBody = z.object({ onBehalfOf: z.string().trim().min(1).max(200).optional(), approver: z.string().trim().min(1).max(200).optional() }).strict();
const CancellationBody = z.object({ reason: z.string().trim().min(1).max(500).optional(), onBehalfOf: z.string().trim().min(1).max(200).optional(), by: z.string().trim().min(1).max(200).optional() }).strict();
const ReviewApplyBody = z
  .object({
    intent: z.string().min(1).max(40),
    noticeId: z.string().trim().min(1).max(80).optional(),
    note: z.string().max(1500).optional(),
    onBehalfOf: z.string().trim().min(1).max(200).optional(),
    by: z.string().trim().min(1).max(200).optional(),
  })
  .strict();
const ReviewDismissBody = z.object({ note: z.string().max(2000).optional(), onBehalfOf: z.string().trim().min(1).max(200).optional(), by: z.string().trim().min(1).max(200).optional() }).strict();
const REVIEW_ID = /^r_[A-Za-z0-9_-]{1,64}$/;

/** A JSON body that may be empty (no body, or no content type): `{}`; one that is not JSON is refused. */
async function optionalJson(c: Context): Promise<unknown> {
  const text = await c.req.text();
  if (!text.trim()) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidInputError('the body is not JSON', [{ where: '(body)', reason: 'send Content-Type: application/json and a JSON object' }]);
  }
}

function parsed<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidInputError(`${what} is not valid`, result.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
  return result.data;
}

/**
 * A submission with its submitter set to the caller: the body's `submitter` (free text before keys existed) is
 * kept as whom the caller acts for, never as who submitted.
 */
function asCaller(c: Context, json: unknown): unknown {
  if (!json || typeof json !== 'object' || Array.isArray(json)) return json;
  const actor = requestActor(c, onBehalfOfIn(json, 'submitter'));
  const { submitter: _claimed, onBehalfOf: _on, ...rest } = json as Record<string, unknown>;
  return { ...rest, submitter: actor.name, ...(actor.onBehalfOf ? { onBehalfOf: actor.onBehalfOf } : {}) };
}
const ID = /^[a-z0-9_]{1,64}$/;

function errorBody(code: string, message: string, issues?: readonly { where: string; reason: string }[], hint?: string) {
  return { error: { code, message, ...(issues?.length ? { issues } : {}), ...(hint ? { hint } : {}) } };
}

async function jsonBody(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new InvalidInputError('the body is not JSON', [{ where: '(body)', reason: 'send Content-Type: application/json and a JSON object' }]);
  }
}

function checkId(kind: string, id: string): string {
  if (!ID.test(id)) throw new NotFoundError(kind, id.slice(0, 64));
  return id;
}

/** The approval task token completes the campaign workflow: it never leaves the host. */
function withoutToken<T extends { approvalToken?: string }>({ approvalToken: _t, ...rest }: T): Omit<T, 'approvalToken'> {
  return rest;
}

export interface AppOptions {
  /** who a request comes from: API keys in the store (the embedded host), JWT claims on AWS @default apiKeyPrincipals */
  readonly principals?: PrincipalResolver;
  /** the host's metrics in the Prometheus text format, served at GET /metrics; absent: no such route (AWS: EMF) */
  readonly metrics?: { readonly contentType: string; text(): Promise<string> };
  /** the command that makes an API key on this host, for the dashboard's sign-in page (the embedded host names its data dir) */
  readonly keyHint?: string;
  /** send a browser opening `/` to the dashboard (the embedded host; on AWS nothing is routed open at `/`) */
  readonly rootRedirect?: boolean;
  /**
   * Where the directory and the routing policy come from: `stored` (the AWS host reads what PUT /directory and
   * PUT /routing store), or `files` (the embedded host's files, read at start) @default 'files'
   */
  readonly settings?: 'stored' | 'files';
}

/**
 * The HTTP API, one app for both hosts (@hono/node-server on the embedded host, hono/aws-lambda behind API
 * Gateway). Errors are JSON with a stable code, never a stack trace. Every route passes the role guard.
 */
export function createApp(deps: Deps, options: AppOptions = {}): Hono {
  const app = new Hono();

  app.onError((err, c) => {
    if (err instanceof InvalidInputError) return c.json(errorBody(err.code, err.message, err.issues, err.hint), 400);
    if (err instanceof NotFoundError) return c.json(errorBody(err.code, err.message), 404);
    if (err instanceof CampaignStateError || err instanceof InvalidTransitionError || err instanceof NeedsForceError || err instanceof ReviewResolvedError) return c.json(errorBody(err.code, err.message), 409);
    if (err instanceof TakedownError) return c.json(errorBody(err.code, err.message), 500);
    deps.log.error('request failed', { method: c.req.method, path: c.req.routePath, error: err.name });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  });
  app.notFound((c) => c.json(errorBody('ROUTE.NOT_FOUND', 'no such route'), 404));
  // first of all: every route registered after this, sub-apps included, has its role rule checked (auth.ts)
  const rules = options.rootRedirect ? { ...ROUTE_RULES, ...ROOT_REDIRECT_RULE } : ROUTE_RULES;
  app.use('*', guard({ principals: options.principals ?? apiKeyPrincipals(deps.store), rules, deny: dashboardDenier(options.keyHint ? { keyHint: options.keyHint } : {}) }));

  app.get('/health', (c) => c.json({ ok: true }));

  // a person who opens the host's address in a browser wants the dashboard, not a JSON 401
  if (options.rootRedirect) app.get('/', (c) => c.redirect('/ui', 302));

  const metrics = options.metrics;
  if (metrics) {
    // queue depths and counters only: no id, no indicator, nothing a key holder could not read from the API anyway
    app.get('/metrics', async (c) => c.body(await metrics.text(), 200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }));
  }

  app.post(
    '/campaigns',
    bodyLimit({ maxSize: 100 * 1024 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the campaign is larger than 100 MB'), 413) }),
    async (c) => {
      const json = asCaller(c, await jsonBody(c));
      // a file uploaded before (POST /uploads): the campaign workflow reads it; the campaign exists once it is accepted
      if (json && typeof json === 'object' && 'upload' in json) {
        const started = await submitUpload(deps, json as SubmitUploadInput);
        c.header('Location', `/uploads/${started.upload}`);
        return c.json({ upload: started.upload, campaign: { id: started.campaignId, state: 'reading' }, ...(started.repeated ? { repeated: true } : {}) }, started.repeated ? 200 : 202);
      }
      const key = c.req.header('idempotency-key');
      const body = SubmitCampaignInput.safeParse(key !== undefined && json && typeof json === 'object' ? { ...json, idempotencyKey: key } : json);
      if (!body.success) {
        throw new InvalidInputError('the campaign submission is not valid', body.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
      }
      // where the indicators came from (a MISP instance, a TAXII collection), when a client read them there
      const origin = json && typeof json === 'object' && 'origin' in json ? FeedOrigin.safeParse((json as { origin: unknown }).origin) : undefined;
      if (origin && !origin.success) throw new InvalidInputError('the origin is not valid', origin.error.issues.map((i) => ({ where: `origin.${i.path.join('.')}`, reason: i.message })));
      const result = await submitCampaign(deps, body.data);
      if (origin?.success && !result.repeated) await recordCampaignOrigin(deps, result.campaign.id, origin.data);
      if (result.repeated) return c.json({ campaign: withoutToken(result.campaign), repeated: true }, 200);
      return c.json(
        {
          campaign: withoutToken(result.campaign),
          duplicatesInFile: result.duplicatesInFile,
          alreadyOpen: result.alreadyOpen.length,
          excluded: result.excluded,
          skipped: result.skipped,
        },
        201,
      );
    },
  );

  // a file too big for a request body: where to PUT it (a presigned URL), then POST /campaigns { upload, ... }
  app.post('/uploads', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const body = (await jsonBody(c)) as { size?: unknown } | null;
    const size = typeof body?.size === 'number' ? body.size : NaN;
    return c.json(await createUpload(deps, { size, by: requestActor(c).name }), 201);
  });
  app.get('/uploads/:id', async (c) => c.json({ upload: await uploadStatus(deps, c.req.param('id').slice(0, 64)) }));

  // a dry run: the same body as POST /campaigns, the routing plan it would get; nothing is stored or sent
  app.post(
    '/plans',
    bodyLimit({ maxSize: 100 * 1024 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the campaign is larger than 100 MB'), 413) }),
    async (c) => c.json(await planSubmission(deps, asCaller(c, await jsonBody(c)) as SubmitCampaignInput)),
  );

  app.get('/campaigns', async (c) => c.json({ campaigns: (await deps.store.listCampaigns()).map(withoutToken) }));

  app.get('/campaigns/:id', async (c) => {
    const status = await campaignStatus(deps, checkId('campaign', c.req.param('id')));
    return c.json({
      campaign: withoutToken(status.campaign),
      // indicators → cases (escalations) → notices, counted from the records: the line the CLI and dashboard show
      counts: await campaignCounts(deps, status.campaign),
      cases: status.cases,
      notices: status.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n),
      // our own account or relay refuses every message: nothing moves until it is fixed, say so with the campaign
      ...(status.halt ? { sendingHalt: status.halt } : {}),
      // the campaign's own events told (submitted, planned, approved, paused, restarted by the sweeper ...)
      history: (await campaignHistory(deps, status.campaign.id)).map((l) => ({ at: l.at, type: l.type, actor: l.actor, text: l.text, tone: l.tone, ...(l.bookkeeping ? { bookkeeping: true } : {}) })),
    });
  });

  // what a client polls while a campaign routes and sends: its state and how many notices are out, counted, not
  // read (the campaign above reads every case and notice: ~135 ms for 20,000 cases on the host's event loop); while
  // routing or starting its notices, what became of the campaign's workflow, so a client stops waiting on a failed one
  app.get('/campaigns/:id/progress', async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    const campaign = await deps.store.getCampaign(id);
    if (!campaign) throw new NotFoundError('campaign', id);
    const workflow = await campaignWorkflow(deps, campaign);
    return c.json({ campaign: { id: campaign.id, state: campaign.state }, notices: await sendingProgress(deps, id), ...(workflow ? { workflow } : {}) });
  });

  // one row per case (CSV, XLSX), or the indicators with their outcome (STIX 2.1, MISP); format=csv by default
  app.get('/campaigns/:id/export', async (c) => exportResponse(c, deps, checkId('campaign', c.req.param('id')), exportFormatOf(c)));

  app.post('/campaigns/:id/approval', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    // an empty body approves as the caller; a body that is not JSON is refused, never read as empty
    const body = parsed(ApprovalBody, (await optionalJson(c)) ?? {}, 'the approval');
    const campaign = await approveCampaign(deps, id, requestActor(c, body.onBehalfOf ?? body.approver));
    return c.json({ campaign: { id: campaign.id, state: campaign.state, approvedAt: campaign.approvedAt, approvedBy: campaign.approvedBy, ...(campaign.approvedOnBehalfOf ? { approvedOnBehalfOf: campaign.approvedOnBehalfOf } : {}) } });
  });

  app.post('/campaigns/:id/cancellation', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    const body = parsed(CancellationBody, (await optionalJson(c)) ?? {}, 'the cancellation');
    const campaign = await cancelCampaign(deps, id, requestActor(c, body.onBehalfOf ?? body.by), body.reason);
    return c.json({ campaign: { id: campaign.id, state: campaign.state } });
  });

  // the inbound messages waiting for a person, in the order received; `after` is the cursor of the previous page
  app.get('/reviews', async (c) => {
    const limit = Number(c.req.query('limit') ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 500) {
      throw new InvalidInputError('limit must be a whole number from 1 to 500', [{ where: 'limit', reason: 'out of range' }]);
    }
    const after = c.req.query('after');
    const page = await listReviews(deps, { limit, ...(after ? { after } : {}) });
    return c.json({ reviews: page.items, ...(page.next ? { next: page.next } : {}) });
  });

  const reviewId = (c: Context): string => {
    const id = c.req.param('id') ?? '';
    if (!REVIEW_ID.test(id)) throw new NotFoundError('review', id.slice(0, 64));
    return id;
  };

  // one item and what became of it (applied, dismissed, settled), if anything did
  app.get('/reviews/:id', async (c) => c.json(await reviewItem(deps, reviewId(c))));

  // a person's reading of an item: the answer it is (on its notice, or the one they name for unmatched mail)
  app.post('/reviews/:id/apply', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const id = reviewId(c);
    const body = parsed(ReviewApplyBody, await optionalJson(c), 'the decision');
    const resolution = await applyReview(deps, id, {
      intent: body.intent,
      by: requestActor(c, body.onBehalfOf ?? body.by),
      ...(body.noticeId ? { noticeId: body.noticeId } : {}),
      ...(body.note ? { note: body.note } : {}),
    });
    return c.json({ resolution });
  });

  // set an item aside: nothing is applied
  app.post('/reviews/:id/dismiss', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const id = reviewId(c);
    const body = parsed(ReviewDismissBody, await optionalJson(c), 'the decision');
    const resolution = await dismissReview(deps, id, { by: requestActor(c, body.onBehalfOf ?? body.by), ...(body.note ? { note: body.note } : {}) });
    return c.json({ resolution });
  });

  // anything a coordinator holds: an indicator (normalised), a campaign, notice or case id, a TKD- tag, a recipient, a party
  app.get('/search', async (c) => {
    const limit = Number(c.req.query('limit') ?? 100);
    const result = await search(deps, { q: c.req.query('q') ?? '', limit: Number.isInteger(limit) ? limit : NaN });
    return c.json({ ...result, notices: result.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n) });
  });

  // one case: its record, its notice, and its history told in sentences (each with the raw entry it tells)
  app.get('/cases/:id', async (c) => {
    const story = await caseStory(deps, checkId('case', c.req.param('id')));
    const t = story.timeline;
    const notice = t.notice ? (({ taskToken: _t, tokenHash: _h, ...n }) => n)(t.notice) : undefined;
    return c.json({
      case: t.case,
      ...(notice ? { notice } : {}),
      ...(t.previous ? { previous: { id: t.previous.id, party: t.previous.ladder[t.previous.step]?.party.name } } : {}),
      ...(story.disagreement ? { disagreement: story.disagreement } : {}),
      story: story.lines.map((l) => ({ at: l.at, text: l.text, tone: l.tone, kind: l.entry.kind, ...(l.bookkeeping ? { bookkeeping: true } : {}), entry: l.entry.kind === 'event' ? l.entry.event : l.entry.kind === 'message' ? l.entry.message : l.entry.answer })),
    });
  });

  app.get('/notices/:id', async (c) => {
    const id = checkId('notice', c.req.param('id'));
    const notice = await deps.store.getNotice(id);
    if (!notice) throw new NotFoundError('notice', id);
    const cases = await listAll((p) => deps.store.listCases({ noticeId: id }, p));
    const { taskToken: _t, tokenHash: _h, ...visible } = notice;
    return c.json({ notice: visible, cases });
  });

  app.post('/notices/:id/answers', bodyLimit({ maxSize: 256 * 1024 }), async (c) => {
    const id = checkId('notice', c.req.param('id'));
    const body = await jsonBody(c);
    // an unknown notice is a 404 even when the body is also wrong: the caller learns the more useful fact first
    if (!(await deps.store.getNotice(id))) throw new NotFoundError('notice', id);
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new InvalidInputError('the answer is not valid', [{ where: '(body)', reason: 'expected a JSON object' }]);
    }
    // the channel is a fact of the request, not something the caller may claim; nor is who recorded it
    const { onBehalfOf: _on, by: _by, ...answer } = body as Record<string, unknown>;
    const result = await recordAnswer(deps, id, { ...answer, source: 'api' } as never, requestActor(c, onBehalfOfIn(body, 'by')));
    return c.json({ answer: result.answer, applied: result.applied, notice: { id, state: result.notice.state, deadline: result.notice.deadline } });
  });

  // recipients' own channels: signed webhooks and one-click links
  app.route('/', answerRoutes(deps));
  app.route('/', controlRoutes(deps));
  app.route('/', settingsRoutes(deps, { mode: options.settings ?? 'files' }));
  app.route('/ui', dashboard(deps, options.keyHint ? { keyHint: options.keyHint } : {}));

  return app;
}
