import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { TakedownError, InvalidInputError, InvalidTransitionError, NotFoundError, CampaignStateError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { approveCampaign, cancelCampaign } from '../../core/campaign/index.js';
import { listAll } from '../../core/paging.js';
import { submitCampaign, SubmitCampaignInput } from '../../core/campaign/index.js';
import { createUpload, submitUpload, uploadStatus, type SubmitUploadInput } from '../../core/campaign/index.js';
import { planSubmission } from '../../core/campaign/index.js';
import { recordAnswer } from '../../core/answers/index.js';
import { listReviews } from '../../core/answers/index.js';
import { campaignStatus } from '../../core/campaign/index.js';
import { answerRoutes } from './answer-routes.js';
import { controlRoutes } from './control-routes.js';
import { apiKeyPrincipals, guard, type PrincipalResolver } from './auth.js';
import { dashboard, dashboardDeny } from './dashboard/index.js';
import { exportFormatOf, exportResponse } from './export-routes.js';
import { settingsRoutes } from './settings-routes.js';

const ApprovalBody = z.object({ approver: z.string().trim().min(1).max(200).default('api') }).strict();
const ID = /^[a-z0-9_]{1,64}$/;

function errorBody(code: string, message: string, issues?: readonly { where: string; reason: string }[]) {
  return { error: { code, message, ...(issues?.length ? { issues } : {}) } };
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
    if (err instanceof InvalidInputError) return c.json(errorBody(err.code, err.message, err.issues), 400);
    if (err instanceof NotFoundError) return c.json(errorBody(err.code, err.message), 404);
    if (err instanceof CampaignStateError || err instanceof InvalidTransitionError) return c.json(errorBody(err.code, err.message), 409);
    if (err instanceof TakedownError) return c.json(errorBody(err.code, err.message), 500);
    deps.log.error('request failed', { method: c.req.method, path: c.req.routePath, error: err.name });
    return c.json(errorBody('INTERNAL', 'internal error'), 500);
  });
  app.notFound((c) => c.json(errorBody('ROUTE.NOT_FOUND', 'no such route'), 404));
  // first of all: every route registered after this, sub-apps included, has its role rule checked (auth.ts)
  app.use('*', guard({ principals: options.principals ?? apiKeyPrincipals(deps.store), deny: dashboardDeny }));

  app.get('/health', (c) => c.json({ ok: true }));

  const metrics = options.metrics;
  if (metrics) {
    // queue depths and counters only: no id, no indicator, nothing a key holder could not read from the API anyway
    app.get('/metrics', async (c) => c.body(await metrics.text(), 200, { 'Content-Type': metrics.contentType, 'Cache-Control': 'no-store' }));
  }

  app.post(
    '/campaigns',
    bodyLimit({ maxSize: 100 * 1024 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the campaign is larger than 100 MB'), 413) }),
    async (c) => {
      const json = await jsonBody(c);
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
      const result = await submitCampaign(deps, body.data);
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
    return c.json(await createUpload(deps, { size, by: c.get('principal')?.name ?? 'api' }), 201);
  });
  app.get('/uploads/:id', async (c) => c.json({ upload: await uploadStatus(deps, c.req.param('id').slice(0, 64)) }));

  // a dry run: the same body as POST /campaigns, the routing plan it would get; nothing is stored or sent
  app.post(
    '/plans',
    bodyLimit({ maxSize: 100 * 1024 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the campaign is larger than 100 MB'), 413) }),
    async (c) => c.json(await planSubmission(deps, (await jsonBody(c)) as SubmitCampaignInput)),
  );

  app.get('/campaigns', async (c) => c.json({ campaigns: (await deps.store.listCampaigns()).map(withoutToken) }));

  app.get('/campaigns/:id', async (c) => {
    const status = await campaignStatus(deps, checkId('campaign', c.req.param('id')));
    return c.json({
      campaign: withoutToken(status.campaign),
      cases: status.cases,
      notices: status.notices.map(({ taskToken: _t, tokenHash: _h, ...n }) => n),
      // our own account or relay refuses every message: nothing moves until it is fixed, say so with the campaign
      ...(status.halt ? { sendingHalt: status.halt } : {}),
    });
  });

  // one row per case (CSV, XLSX), or the indicators with their outcome (STIX 2.1, MISP); format=csv by default
  app.get('/campaigns/:id/export', async (c) => exportResponse(c, deps, checkId('campaign', c.req.param('id')), exportFormatOf(c)));

  app.post('/campaigns/:id/approval', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const id = checkId('campaign', c.req.param('id'));
    // an empty body approves as "api"; a body that is not JSON is refused, never read as empty
    const raw = c.req.header('content-length') === '0' || !c.req.header('content-type') ? {} : await jsonBody(c);
    const body = ApprovalBody.safeParse(raw ?? {});
    if (!body.success) throw new InvalidInputError('the approval is not valid', body.error.issues.map((i) => ({ where: i.path.join('.'), reason: i.message })));
    const campaign = await approveCampaign(deps, id, body.data.approver);
    return c.json({ campaign: { id: campaign.id, state: campaign.state, approvedAt: campaign.approvedAt, approvedBy: campaign.approvedBy } });
  });

  app.post('/campaigns/:id/cancellation', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const campaign = await cancelCampaign(deps, checkId('campaign', c.req.param('id')), 'api');
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
    // the channel is a fact of the request, not something the caller may claim
    const result = await recordAnswer(deps, id, { ...(body as Record<string, unknown>), source: 'api' } as never);
    return c.json({ answer: result.answer, applied: result.applied, notice: { id, state: result.notice.state, deadline: result.notice.deadline } });
  });

  // recipients' own channels: signed webhooks and one-click links
  app.route('/', answerRoutes(deps));
  app.route('/', controlRoutes(deps));
  app.route('/', settingsRoutes(deps, { mode: options.settings ?? 'files' }));
  app.route('/ui', dashboard(deps));

  return app;
}
