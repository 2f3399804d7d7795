import { Hono, type Context } from 'hono';
import { z } from 'zod';
import { InvalidInputError, NotFoundError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { control, ControlAction, expiredCases } from '../../core/campaign/index.js';
import { sendFollowup } from '../../core/notices/index.js';

const ID = /^[a-z0-9_]{1,64}$/;

/** Why, and on whose behalf (the key's holder is always recorded: a body cannot claim to be someone else). */
const ControlBody = z
  .object({
    by: z.string().trim().min(1).max(200).optional(),
    reason: z.string().trim().min(1).max(500).default('by hand'),
  })
  .strict();

const FollowupBody = z
  .object({
    message: z.string().trim().min(1).max(20_000),
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

/** The audit actor: the authenticated principal, and the person it acts for when the body names another. */
function actorOf(c: Context, by: string | undefined): string {
  const name = c.get('principal')?.name;
  if (!name) return by ?? 'api';
  return by && by !== name ? `${name} (for ${by})` : name;
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
      const { by, reason } = await body(c, ControlBody);
      return c.json({ result: await control(deps, id, action, actorOf(c, by), reason) });
    });
  }
  app.post('/notices/:id/followups', async (c) => {
    const id = idOf(c, 'notice');
    const { message, by } = await body(c, FollowupBody);
    const actor = actorOf(c, by);
    const notice = await sendFollowup(deps, id, { kind: 'answer', message, by: actor }, actor);
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
