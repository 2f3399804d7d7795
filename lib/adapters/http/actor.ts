import type { Context } from 'hono';
import { TakedownError } from '../../core/errors.js';
import { actorOf, type Actor } from '../../core/model.js';

/**
 * Who a request acts as: always the authenticated principal (an API key's name on the embedded host, the JWT's
 * user on AWS). A name the body gives (`onBehalfOf`, or the older `by`, `approver`, `submitter`) is only whom the
 * principal says it acts for: recorded beside it, never in its place.
 */
export function requestActor(c: Context, onBehalfOf?: string): Actor {
  const principal = c.get('principal');
  // the guard lets no write through without one: reaching this without a principal is a wiring fault
  if (!principal) throw new TakedownError('AUTH.REQUIRED', 'a change needs an authenticated caller');
  return actorOf({ name: principal.name, ...(onBehalfOf?.trim() ? { onBehalfOf: onBehalfOf.trim() } : {}) });
}

/** The on-behalf-of text of a body: `onBehalfOf`, else one of the older field names that carried a name. */
export function onBehalfOfIn(body: unknown, ...legacy: string[]): string | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const record = body as Record<string, unknown>;
  for (const key of ['onBehalfOf', ...legacy]) {
    const value = record[key];
    if (typeof value === 'string' && value.trim()) return value.trim().slice(0, 200);
  }
  return undefined;
}
