import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { control, ControlAction, expiredCases } from '../../core/campaign/index.js';
import { answerQuestion } from '../../core/answers/index.js';
import { requestActor } from './actor.js';

const ID = /^[a-z0-9_]{1,64}$/;

/**
 * Why, and on whose behalf (the key's holder is always recorded: a body cannot claim to be someone else); `force`
 * escalates even what a recipient acknowledged or asked about.
 */
const ControlBody = z
  .object({
    onBehalfOf: z.string().trim().min(1).max(200).optional(),
    by: z.string().trim().min(1).max(200).optional(),
    reason: z.string().trim().min(1).max(500).default('by hand'),
    force: z.boolean().optional(),
  })
  .strict();

const FollowupBody = z
  .object({
    message: z.string().trim().min(1).max(20_000),
    onBehalfOf: z.string().trim().min(1).max(200).optional(),
    by: z.string().trim().min(1).max(200).optional(),
  })
  .strict();

async function body<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let json: unknown = {};
  const text = await c.req.text();
  if (text.trim()) {
    try {
      json = JSON.parse(text);
    } catch {
      throw new InvalidInputError('the body is not JSON', [{ where: '(body)', reason: 'send Content-Type: application/json and a JSON object' }]);
    }
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new InvalidInputError('the request is not valid', parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
  return parsed.data;
}

function idOf(c: Context, kind: string): string {
  const id = c.req.param('id') ?? '';
  if (!ID.test(id)) throw new NotFoundError(kind, id.slice(0, 64));
  return id;
}

function actionOf(c: Context): ControlAction {
  const action = ControlAction.safeParse(c.req.param('action'));
  if (!action.success) throw new NotFoundError('action', String(c.req.param('action')).slice(0, 20));
  return action.data;
}

/**
 * A coordinator's hand on the clock, over HTTP: `POST /{campaigns|notices|cases}/{id}/{pause|resume|cancel|escalate}`,
 * the answer to a recipient's question (`POST /notices/{id}/followups`), and the cases whose ladder ran out.
 */
export function controlRoutes(deps: Deps): Hono {
  const app = new Hono();
  for (const kind of ['campaigns', 'notices', 'cases'] as const) {
    app.post(`/${kind}/:id/:action{pause|resume|cancel|escalate}`, async (c) => {
      const id = idOf(c, kind.slice(0, -1));
      const action = actionOf(c);
      const { onBehalfOf, by, reason, force } = await body(c, ControlBody);
      return c.json({ result: await control(deps, id, action, requestActor(c, onBehalfOf ?? by), reason, { force: force === true }) });
    });
  }
  app.post('/notices/:id/followups', async (c) => {
    const id = idOf(c, 'notice');
    const { message, onBehalfOf, by } = await body(c, FollowupBody);
    const notice = await answerQuestion(deps, id, message, requestActor(c, onBehalfOf ?? by));
    return c.json({ notice: { id: notice.id, state: notice.state, deadline: notice.deadline, followupsSent: notice.followupsSent } }, 201);
  });
  app.get('/campaigns/:id/expired', async (c) => {
    const id = idOf(c, 'campaign');
    if (!(await deps.store.getCampaign(id))) throw new NotFoundError('campaign', id);
    const list = await expiredCases(deps, id);
    return c.json({ cases: list.map(({ case: k, history }) => ({ case: k, history })) });
  });
  return app;
}
