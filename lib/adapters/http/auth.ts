import type { Context, Hono, MiddlewareHandler } from 'hono';
import { getCookie } from 'hono/cookie';
import { matchedRoutes } from 'hono/route';
import type { Store } from '../../core/ports.js';
import { roleAllows, type Principal, type Role } from '../../core/access/index.js';
import { principalForKey, sessionFor, type Session } from './api-keys.js';

declare module 'hono' {
  interface ContextVariableMap {
    /** who is calling, once authenticated (a recipient route sets its own after checking a signature or token) */
    principal: Principal | undefined;
    /** the dashboard session the request came with, when it came with one (its forms must carry its CSRF token) */
    session: Session | undefined;
  }
}

/** The dashboard's session cookie; it authenticates only the dashboard's own paths. */
export const SESSION_COOKIE = 'tkd_session';
/** Where the dashboard lives; the only paths a session cookie opens. */
export const DASHBOARD_PREFIX = '/ui';

const READ: readonly Role[] = ['coordinator', 'auditor'];
const WRITE: readonly Role[] = ['coordinator'];
const PUBLIC: readonly Role[] = ['public'];

/**
 * Who may call each route: `METHOD path-pattern` exactly as the route is registered with Hono. A route without a
 * rule is refused to everyone (and fails test/http/roles.test.ts). Coordinators do everything, auditors read
 * everything; `public` routes authenticate themselves (a signed webhook, a link token) or need nothing.
 */
export const ROUTE_RULES: Readonly<Record<string, readonly Role[]>> = {
  'GET /health': PUBLIC,
  // the embedded host's Prometheus metrics: counts and queue depths, read with a key (Prometheus sends it as a bearer token)
  'GET /metrics': READ,

  'POST /campaigns': WRITE,
  // a big file: a presigned URL to PUT it to, then what became of it (read by the campaign workflow)
  'POST /uploads': WRITE,
  'GET /uploads/:id': READ,
  // a dry run stores and sends nothing, but it is a coordinator's tool: it resolves parties (RDAP lookups)
  'POST /plans': WRITE,
  'GET /campaigns': READ,
  'GET /campaigns/:id': READ,
  'GET /campaigns/:id/progress': READ,
  'GET /campaigns/:id/export': READ,
  'POST /campaigns/:id/approval': WRITE,
  'POST /campaigns/:id/cancellation': WRITE,
  'GET /reviews': READ,
  'GET /reviews/:id': READ,
  'POST /reviews/:id/apply': WRITE,
  'POST /reviews/:id/dismiss': WRITE,
  'GET /notices/:id': READ,
  // find anything (an indicator, an id, a tag, a recipient, a party) and read one case's story
  'GET /search': READ,
  'GET /cases/:id': READ,
  'POST /notices/:id/answers': WRITE,
  // a coordinator's hand on the clock (control-routes.ts)
  'POST /campaigns/:id/:action{pause|resume|cancel|escalate}': WRITE,
  'POST /notices/:id/:action{pause|resume|cancel|escalate}': WRITE,
  'POST /cases/:id/:action{pause|resume|cancel|escalate}': WRITE,
  'POST /notices/:id/followups': WRITE,
  'GET /campaigns/:id/expired': READ,
  // what a coordinator changes at run time (settings-routes.ts): the directory, the routing policy, contact
  // overrides, recipients' webhook secrets (shown once to the coordinator who issues them)
  'GET /directory': READ,
  'PUT /directory': WRITE,
  'GET /routing': READ,
  'PUT /routing': WRITE,
  'GET /contacts/overrides': READ,
  'POST /contacts/overrides': WRITE,
  'GET /recipient-secrets': READ,
  'POST /recipient-secrets': WRITE,
  'POST /recipient-secrets/rotation': WRITE,

  // a recipient's own channels: each checks its signature or token and sets a recipient principal itself
  'POST /webhooks/answers': PUBLIC,
  'GET /links/:token': PUBLIC,
  'POST /links/:token': PUBLIC,

  // the dashboard: its forms post only for coordinators, with the session's CSRF token
  'GET /ui/login': PUBLIC,
  'POST /ui/login': PUBLIC,
  // the one-time sign-in link `takedown serve` prints: the token is the credential, used once
  'GET /ui/login/:token': PUBLIC,
  'GET /ui/style.css': PUBLIC,
  'POST /ui/logout': READ,
  'GET /ui': READ,
  'GET /ui/campaigns/:id': READ,
  'GET /ui/campaigns/:id/export': READ,
  'POST /ui/campaigns/:id/approval': WRITE,
  'GET /ui/cases/:id': READ,
  'GET /ui/reviews': READ,
  'POST /ui/reviews/:id/apply': WRITE,
  'POST /ui/reviews/:id/dismiss': WRITE,
  'POST /ui/controls/:id': WRITE,
  'GET /ui/search': READ,
  // a message as sent (the masked copy kept after sending) and its .eml
  'GET /ui/messages/:id': READ,
  'GET /ui/messages/:id/raw': READ,
  // a recipient's question answered from the review queue
  'POST /ui/notices/:id/followups': WRITE,
};

/**
 * The rule of the embedded host's root, a redirect to the dashboard for whoever opens the host's address in a
 * browser. Not in ROUTE_RULES: on AWS, API Gateway routes nothing open at `/` (test/infra/auth.test.ts keeps the
 * open routes of both the same), so only the embedded host registers it (AppOptions.rootRedirect).
 */
export const ROOT_REDIRECT_RULE: Readonly<Record<string, readonly Role[]>> = { 'GET /': PUBLIC };

/** Why a request carries no usable principal; the code is what the client sees. */
export type AuthProblem = 'AUTH.REQUIRED' | 'AUTH.INVALID' | 'AUTH.FORBIDDEN';

/** What a resolver found: a principal (and the session it came from), or why there is none. */
export type Resolution = { readonly principal: Principal; readonly session?: Session } | { readonly problem: AuthProblem };

/** Finds the principal of a request; each host injects its own (API keys embedded, JWT claims on AWS). */
export type PrincipalResolver = (c: Context) => Promise<Resolution>;

/** How a refusal is shown: JSON by default, the dashboard renders a page for its own paths. */
export type DenyRenderer = (c: Context, status: 401 | 403, code: AuthProblem, message: string) => Response | undefined;

const MESSAGES: Readonly<Record<AuthProblem, string>> = {
  'AUTH.REQUIRED': 'authentication required: send Authorization: Bearer <key>',
  'AUTH.INVALID': 'the credentials are not valid (unknown, revoked or expired)',
  'AUTH.FORBIDDEN': 'your role may not use this route',
};

/**
 * The embedded host's resolver: an API key in `Authorization: Bearer`, or on the dashboard's paths its session
 * cookie. The cookie opens nothing else, so the JSON API's writes never ride on a browser's ambient credentials.
 */
export function apiKeyPrincipals(store: Store): PrincipalResolver {
  return async (c) => {
    const header = c.req.header('authorization');
    if (header !== undefined) {
      const bearer = /^Bearer +(\S+) *$/i.exec(header)?.[1];
      const principal = bearer === undefined ? undefined : await principalForKey(store, bearer);
      return principal ? { principal } : { problem: 'AUTH.INVALID' };
    }
    if (isDashboardPath(c.req.path)) {
      const token = getCookie(c, SESSION_COOKIE);
      if (token !== undefined) {
        const session = await sessionFor(store, token);
        return session ? { principal: session.principal, session } : { problem: 'AUTH.INVALID' };
      }
    }
    return { problem: 'AUTH.REQUIRED' };
  };
}

/** The groups of a `cognito:groups` claim: an array, or the "[a b]" text API Gateway flattens arrays into. */
export function claimGroups(claim: unknown): string[] {
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  if (typeof claim !== 'string') return [];
  return claim.replace(/^\[|\]$/g, '').split(/[\s,]+/).filter(Boolean);
}

/**
 * The AWS host's resolver: API Gateway's JWT authorizer has verified the token before the Lambda runs and hands
 * its claims in the request context (hono/aws-lambda puts the event in `c.env.event`); a client cannot set them.
 * The user pool groups `coordinator` and `auditor` are the roles; coordinator wins when a user is in both.
 */
export function jwtClaimsPrincipals(): PrincipalResolver {
  return async (c) => {
    const env = c.env as { event?: { requestContext?: { authorizer?: { jwt?: { claims?: Record<string, unknown> } } } } } | undefined;
    const claims = env?.event?.requestContext?.authorizer?.jwt?.claims;
    if (!claims || typeof claims !== 'object') return { problem: 'AUTH.REQUIRED' };
    const groups = claimGroups(claims['cognito:groups']);
    const role = groups.includes('coordinator') ? 'coordinator' : groups.includes('auditor') ? 'auditor' : undefined;
    if (!role) return { problem: 'AUTH.FORBIDDEN' };
    const text = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v.slice(0, 200) : undefined);
    const sub = text(claims.sub);
    const name = text(claims.email) ?? text(claims['cognito:username']) ?? text(claims.username) ?? sub ?? 'user';
    return { principal: { role, name, ...(sub ? { keyId: sub } : {}) } };
  };
}

/** Tries resolvers in turn: the first that finds a principal, or a credential it refuses, decides. */
export function firstPrincipal(...resolvers: PrincipalResolver[]): PrincipalResolver {
  return async (c) => {
    for (const resolve of resolvers) {
      const found = await resolve(c);
      if (!('problem' in found) || found.problem !== 'AUTH.REQUIRED') return found;
    }
    return { problem: 'AUTH.REQUIRED' };
  };
}

function isDashboardPath(path: string): boolean {
  return path === DASHBOARD_PREFIX || path.startsWith(`${DASHBOARD_PREFIX}/`);
}

// `app.use` registers middleware under ALL with a wildcard path; anything else under ALL is a handler
function isHandler(route: { method: string; path: string }): boolean {
  return route.method !== 'ALL' || !route.path.endsWith('*');
}

/** Every route an app registered, as the `METHOD path` keys of ROUTE_RULES, in registration order. */
export function routeKeys(app: Hono): string[] {
  return [...new Set(app.routes.filter(isHandler).map((r) => `${r.method} ${r.path}`))];
}

/** The routes of an app that have no rule: must be empty. */
export function routesWithoutRule(app: Hono, rules: Readonly<Record<string, readonly Role[]>> = ROUTE_RULES): string[] {
  return routeKeys(app).filter((key) => !rules[key]);
}

function jsonDeny(c: Context, status: 401 | 403, code: AuthProblem, message: string): Response {
  return c.json({ error: { code, message } }, status);
}

export interface GuardOptions {
  readonly principals: PrincipalResolver;
  /** @default ROUTE_RULES */
  readonly rules?: Readonly<Record<string, readonly Role[]>>;
  /** renders refusals for some requests (the dashboard's pages); JSON otherwise */
  readonly deny?: DenyRenderer;
}

/**
 * The guard in front of every route: authenticate, then check the rule of every route the request matched (two
 * patterns can match one path; each must allow the caller, so a looser rule never opens a stricter route). No
 * credentials: 401 AUTH.REQUIRED; bad ones: 401 AUTH.INVALID; a role a rule does not list, or a matched route
 * without a rule: 403 AUTH.FORBIDDEN. A public route goes through with whatever principal was proved, or none.
 */
export function guard(options: GuardOptions): MiddlewareHandler {
  const rules = options.rules ?? ROUTE_RULES;
  const refuse = (c: Context, status: 401 | 403, code: AuthProblem): Response => {
    if (status === 401) c.header('WWW-Authenticate', 'Bearer realm="takedown"');
    return options.deny?.(c, status, code, MESSAGES[code]) ?? jsonDeny(c, status, code, MESSAGES[code]);
  };
  return async (c, next) => {
    const matched = [...new Set(matchedRoutes(c).filter(isHandler).map((r) => `${r.method} ${r.path}`))].map((key) => rules[key]);
    const found = await options.principals(c);
    const principal = 'principal' in found ? found.principal : undefined;
    c.set('principal', principal);
    c.set('session', 'principal' in found ? found.session : undefined);
    if (matched.length > 0 && matched.every((allowed) => allowed?.includes('public'))) return next();
    if ('problem' in found) return refuse(c, found.problem === 'AUTH.FORBIDDEN' ? 403 : 401, found.problem);
    // no route matched: a known caller learns it is a 404, an unknown one learned nothing above
    if (matched.length === 0) return next();
    if (!matched.every((allowed) => allowed !== undefined && roleAllows(allowed, principal))) return refuse(c, 403, 'AUTH.FORBIDDEN');
    return next();
  };
}
