import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { z } from 'zod';
import { appendEvent } from '../../core/audit/index.js';
import { AlreadyExistsError, InvalidInputError } from '../../core/errors.js';
import type { Deps } from '../../core/ports.js';
import { createRecipientSecret, listRecipientSecrets, rotateRecipientSecret } from '../../core/answers/index.js';
import { DIRECTORY_AUDIT_ID, overrideContact } from '../../core/routing/index.js';
import { storedSetting, storeSetting, type SettingName } from '../directory/stored-settings.js';
import { requestActor } from './actor.js';

/**
 * What a coordinator changes at run time, over HTTP: the party directory and the routing policy (`PUT /directory`,
 * `PUT /routing`, stored where the AWS host's route function reads them), contact overrides, and recipients' webhook
 * secrets. Reads are for every reader; writes for coordinators (ROUTE_RULES), each recorded with who made it.
 */

export interface SettingsRoutesOptions {
  /**
   * `stored`: the directory and the routing policy are read from the store at run time (the AWS host);
   * `files`: the host reads them from its files at start (the embedded host), so PUT answers 409 and says so.
   */
  readonly mode: 'stored' | 'files';
}

const OverrideBody = z
  .object({
    target: z.string().trim().min(1).max(300),
    email: z.email(),
    name: z.string().trim().min(1).max(200).optional(),
    note: z.string().trim().max(500).optional(),
  })
  .strict();

const SecretBody = z
  .object({
    recipient: z.string().trim().min(1).max(300),
    /** rotation only: hours the replaced secret keeps verifying @default 24 */
    graceHours: z.number().min(0).max(720).optional(),
  })
  .strict();

async function json(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    throw new InvalidInputError('the body is not JSON', [{ where: '(body)', reason: 'send Content-Type: application/json and a JSON object' }]);
  }
}

function parse<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new InvalidInputError(`the ${what} is not valid`, parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })));
  return parsed.data;
}

/** The caller: the authenticated principal, never a name a body gives (actor.ts). */
function actorOf(c: Context): string {
  return requestActor(c).name;
}

function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** The routes of settings-routes.ts, mounted at `/`. */
export function settingsRoutes(deps: Deps, options: SettingsRoutesOptions): Hono {
  const app = new Hono();
  const limit = bodyLimit({ maxSize: 512 * 1024, onError: (c) => c.json(errorBody('INPUT.TOO_LARGE', 'the body is larger than 512 KB'), 413) });

  for (const name of ['directory', 'routing'] as const satisfies readonly SettingName[]) {
    app.get(`/${name}`, async (c) => {
      const stored = options.mode === 'stored' ? await storedSetting(deps.store, name) : undefined;
      // nothing stored: the host's own (the bundled directory, the built-in or configured policy) is in force
      if (!stored) return c.json({ [name]: null, source: options.mode === 'stored' ? 'deployment' : 'files' });
      return c.json({ [name]: stored.document, source: 'stored', version: stored.version, by: stored.by, at: stored.at });
    });
    app.put(`/${name}`, limit, async (c) => {
      if (options.mode !== 'stored') {
        return c.json(errorBody('SETTINGS.FROM_FILES', `this host reads its ${name} from a file at start (--${name === 'directory' ? 'directory' : 'routing'}): edit the file and restart it`), 409);
      }
      const saved = await storeSetting(deps, name, await json(c), actorOf(c));
      return c.json({ [name]: saved.document, source: 'stored', version: saved.version, by: saved.by, at: saved.at });
    });
  }

  app.get('/contacts/overrides', async (c) => c.json({ overrides: await deps.store.listContactOverrides() }));
  app.post('/contacts/overrides', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
    const body = parse(OverrideBody, await json(c), 'contact override');
    return c.json({ override: await overrideContact(deps, { ...body, by: actorOf(c) }) }, 201);
  });

  app.get('/recipient-secrets', async (c) => c.json({ secrets: await listRecipientSecrets(deps) }));
  for (const rotate of [false, true]) {
    app.post(rotate ? '/recipient-secrets/rotation' : '/recipient-secrets', bodyLimit({ maxSize: 16 * 1024 }), async (c) => {
      const secrets = deps.secrets;
      if (!secrets) return c.json(errorBody('SECRETS.UNAVAILABLE', 'this host has no key to seal webhook secrets with'), 503);
      const body = parse(SecretBody, await json(c), 'request');
      const secretDeps = { store: deps.store, clock: deps.clock, secrets };
      let issued;
      try {
        issued = rotate
          ? await rotateRecipientSecret(secretDeps, body.recipient, body.graceHours === undefined ? {} : { graceSeconds: Math.round(body.graceHours * 3600) })
          : await createRecipientSecret(secretDeps, body.recipient);
      } catch (e) {
        if (e instanceof AlreadyExistsError) return c.json(errorBody('SECRET.EXISTS', 'the recipient has a webhook secret: rotate it (POST /recipient-secrets/rotation)'), 409);
        throw e;
      }
      // who issued which recipient's secret, never the secret
      await appendEvent(deps, { campaignId: DIRECTORY_AUDIT_ID, type: rotate ? 'recipient-secret.rotated' : 'recipient-secret.created', actor: actorOf(c), data: { recipient: issued.recipient, ...(issued.previousValidUntil ? { previousValidUntil: issued.previousValidUntil } : {}) } });
      // shown this once: only its sealed form is kept
      c.header('Cache-Control', 'no-store');
      return c.json(issued, rotate ? 200 : 201);
    });
  }
  return app;
}
