import type { AddressInfo } from 'node:net';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { handle } from 'hono/aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../lib/adapters/http/app.js';
import { createApiKey, revokeApiKey } from '../../lib/adapters/http/api-keys.js';
import { apiKeyPrincipals, claimGroups, firstPrincipal, jwtClaimsPrincipals, ROUTE_RULES, routeKeys, routesWithoutRule, type PrincipalResolver } from '../../lib/adapters/http/auth.js';
import type { Role } from '../../lib/core/access/roles.js';
import type { Host } from '../../lib/local/host.js';
import { readLocalKey } from '../../lib/local/keys.js';
import { testHost } from '../workflows/support.js';

/*
 * Every route of the HTTP app against every kind of caller, over real HTTP on loopback. Coordinator and auditor
 * keys are made as `takedown keys create` makes them; a recipient principal only ever comes from the recipients'
 * own routes, so the app here is given one more resolver (the per-host injection point) that knows a test token.
 */

let host: Host & { dispose(): Promise<void> };
let app: Hono;
let server: ServerType;
let base: string;
const keys: Record<'coordinator' | 'auditor', string> = { coordinator: '', auditor: '' };
const RECIPIENT_TOKEN = 'recipient-test-token';
// looks like a key, is none
const UNKNOWN_KEY = `tkd_${'A'.repeat(43)}`;

const recipient: PrincipalResolver = async (c) =>
  c.req.header('authorization') === `Bearer ${RECIPIENT_TOKEN}` ? { principal: { role: 'recipient', name: 'Example Hosting abuse desk', partyId: 'hosting:192.0.2.0/24' } } : { problem: 'AUTH.REQUIRED' };

beforeAll(async () => {
  host = await testHost(1);
  keys.coordinator = (await createApiKey(host.store, { role: 'coordinator', name: 'duty coordinator' })).key;
  keys.auditor = (await createApiKey(host.store, { role: 'auditor', name: 'court auditor' })).key;
  app = createApp(host.deps, { principals: firstPrincipal(recipient, apiKeyPrincipals(host.store)), metrics: host.metrics });
  server = await new Promise<ServerType>((ok) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => ok(s));
  });
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  await host?.dispose();
});

type Caller = 'none' | 'unknown' | 'coordinator' | 'auditor' | 'recipient';

async function call(method: string, path: string, who: Caller, extra: Record<string, string> = {}): Promise<{ status: number; code?: string; realm: string | null }> {
  const token = who === 'none' ? undefined : who === 'unknown' ? UNKNOWN_KEY : who === 'recipient' ? RECIPIENT_TOKEN : keys[who];
  const res = await fetch(base + path, {
    method,
    redirect: 'manual',
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(method === 'GET' ? {} : { 'content-type': 'application/json' }), ...extra },
    ...(method === 'GET' ? {} : { body: '{}' }),
  });
  const text = await res.text();
  let code: string | undefined;
  try {
    code = (JSON.parse(text) as { error?: { code?: string } }).error?.code;
  } catch {
    // a dashboard page, not JSON
  }
  return { status: res.status, code, realm: res.headers.get('www-authenticate') };
}

/** A concrete path for a route pattern: ids that are well formed and belong to nothing. */
function concrete(pattern: string): string {
  return pattern
    .replace(/:[A-Za-z]+\{([A-Za-z-]+)[^}]*\}/g, '$1')
    .replace(/:id\b/g, 'none_0000000000000000')
    .replace(/:token\b/g, 'no-such-token')
    .replace(/:[A-Za-z]+/g, 'none');
}

function split(key: string): [string, string] {
  const space = key.indexOf(' ');
  return [key.slice(0, space), key.slice(space + 1)];
}

const isJsonRoute = (path: string) => !path.startsWith('/ui');

describe('the route rules', () => {
  it('give every registered route of the app a rule', () => {
    expect(routeKeys(app).length).toBeGreaterThan(10);
    expect(routesWithoutRule(app)).toEqual([]);
  });

  it('find a route added without a rule, and the guard refuses it to everyone', async () => {
    const extra = createApp(host.deps);
    extra.get('/campaigns/:id/secret-export', (c) => c.json({ leaked: true }));
    expect(routesWithoutRule(extra)).toEqual(['GET /campaigns/:id/secret-export']);
    const res = await extra.request('/campaigns/x/secret-export', { headers: { authorization: `Bearer ${keys.coordinator}` } });
    expect(res.status).toBe(403);
  });

  it('leave public only the routes that authenticate themselves or need nothing', () => {
    const open = Object.entries(ROUTE_RULES).filter(([, roles]) => roles.includes('public')).map(([k]) => k);
    expect(open.sort()).toEqual(['GET /health', 'GET /links/:token', 'GET /ui/login', 'GET /ui/login/:token', 'GET /ui/style.css', 'POST /links/:token', 'POST /ui/login', 'POST /webhooks/answers'].sort());
  });

  it('let auditors write nothing', () => {
    const writes = Object.entries(ROUTE_RULES).filter(([k, roles]) => !k.startsWith('GET ') && roles.includes('auditor')).map(([k]) => k);
    // signing out changes only the auditor's own session
    expect(writes).toEqual(['POST /ui/logout']);
  });
});

describe('every route', () => {
  it('answers 401 without a key, 401 with an unknown key, 403 to a role its rule does not list, and lets its roles through', async () => {
    const seen: string[] = [];
    for (const key of routeKeys(app)) {
      const [method, pattern] = split(key);
      const path = concrete(pattern);
      const rule: readonly Role[] = ROUTE_RULES[key]!;
      if (rule.includes('public')) {
        // the guard lets anyone through: whatever the route itself answers, it is not the guard's refusal
        const res = await call(method, path, 'none');
        expect([res.realm, res.code], key).not.toEqual(['Bearer realm="takedown"', 'AUTH.REQUIRED']);
        expect(res.code, key).not.toBe('AUTH.FORBIDDEN');
        seen.push(key);
        continue;
      }
      const none = await call(method, path, 'none');
      expect(none.status, `${key} without a key`).toBe(401);
      if (isJsonRoute(pattern)) expect(none.code, key).toBe('AUTH.REQUIRED');
      const unknown = await call(method, path, 'unknown');
      expect(unknown.status, `${key} with an unknown key`).toBe(401);
      if (isJsonRoute(pattern)) expect(unknown.code, key).toBe('AUTH.INVALID');

      const wrong: Caller[] = rule.includes('auditor') ? ['recipient'] : ['auditor', 'recipient'];
      for (const who of wrong) {
        const res = await call(method, path, who);
        expect(res.status, `${key} as ${who}`).toBe(403);
        if (isJsonRoute(pattern)) expect(res.code, key).toBe('AUTH.FORBIDDEN');
      }
      for (const who of rule as Caller[]) {
        const res = await call(method, path, who);
        expect([401, 403], `${key} as ${who} answered ${res.status} ${res.code ?? ''}`).not.toContain(res.status);
      }
      seen.push(key);
    }
    expect(seen).toEqual(routeKeys(app));
  });

  it('answers 401 for an unknown path without a key, and 404 with one', async () => {
    expect((await call('GET', '/no/such/route', 'none')).status).toBe(401);
    expect((await call('GET', '/no/such/route', 'auditor')).status).toBe(404);
  });

  it('refuses a revoked key with 401', async () => {
    const { key, info } = await createApiKey(host.store, { role: 'auditor', name: 'temporary auditor' });
    const get = () => fetch(`${base}/campaigns`, { headers: { authorization: `Bearer ${key}` } });
    expect((await get()).status).toBe(200);
    await revokeApiKey(host.store, info.id);
    const res = await get();
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('AUTH.INVALID');
  });
});

describe('the embedded host', () => {
  it('serves its API only to callers with a key, and the CLI\'s local key is a coordinator\'s', async () => {
    const open = await fetch(`${host.httpUrl}/campaigns`);
    expect(open.status).toBe(401);
    expect(((await open.json()) as { error: { code: string } }).error.code).toBe('AUTH.REQUIRED');
    expect((await fetch(`${host.httpUrl}/health`)).status).toBe(200);
    const local = readLocalKey(host.files.dataDir);
    expect(local).toMatch(/^tkd_[A-Za-z0-9_-]{43}$/);
    const approve = await fetch(`${host.httpUrl}/campaigns/cmp_none/approval`, { method: 'POST', headers: { authorization: `Bearer ${local}` } });
    expect(approve.status).toBe(404);
  });

  it('stores no key itself, only its hash', async () => {
    const all = JSON.stringify((await host.store.listRecords('apikey', { limit: 100 })).items);
    expect(all).not.toContain(keys.coordinator.slice(4));
    expect(all).not.toContain(readLocalKey(host.files.dataDir)!.slice(4));
  });
});

describe('dashboard sessions', () => {
  async function login(key: string): Promise<string> {
    const res = await fetch(`${base}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: new URLSearchParams({ key, next: '/ui/reviews' }) });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/ui/reviews');
    const cookie = res.headers.get('set-cookie')!;
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    expect(cookie).not.toContain(key);
    return cookie.split(';')[0]!;
  }

  async function csrfOf(cookie: string): Promise<string> {
    const page = await (await fetch(`${base}/ui/reviews`, { headers: { cookie } })).text();
    return /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  }

  it('opens the dashboard with a session cookie, but no route of the JSON API', async () => {
    const cookie = await login(keys.auditor);
    expect((await fetch(`${base}/ui`, { headers: { cookie } })).status).toBe(200);
    expect((await fetch(`${base}/campaigns`, { headers: { cookie } })).status).toBe(401);
  });

  it('refuses a form posted with the session cookie but without its token, or from another origin', async () => {
    const cookie = await login(keys.coordinator);
    const csrf = await csrfOf(cookie);
    const post = (body: Record<string, string>, origin = base) =>
      fetch(`${base}/ui/reviews/none_0000/dismiss`, { method: 'POST', redirect: 'manual', headers: { cookie, origin, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    expect((await post({})).status).toBe(403);
    expect((await post({ _csrf: 'x'.repeat(43) })).status).toBe(403);
    expect((await post({ _csrf: csrf }, 'http://127.0.0.1:1')).status).toBe(403);
    // the right token from the right origin gets as far as the item, which does not exist
    expect((await post({ _csrf: csrf })).status).toBe(404);
  });

  it('ends a session at sign-out and when its key is revoked', async () => {
    const { key, info } = await createApiKey(host.store, { role: 'auditor', name: 'short-lived' });
    const cookie = await login(key);
    const csrf = await csrfOf(cookie);
    const out = await fetch(`${base}/ui/logout`, { method: 'POST', redirect: 'manual', headers: { cookie, origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ _csrf: csrf }) });
    expect(out.status).toBe(303);
    expect((await fetch(`${base}/ui`, { headers: { cookie } })).status).toBe(401);

    const again = await login(key);
    expect((await fetch(`${base}/ui`, { headers: { cookie: again } })).status).toBe(200);
    await revokeApiKey(host.store, info.id);
    expect((await fetch(`${base}/ui`, { headers: { cookie: again } })).status).toBe(401);
  });

  it('answers a wrong key at sign-in with 401 and no cookie', async () => {
    const res = await fetch(`${base}/ui/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: base }, body: new URLSearchParams({ key: UNKNOWN_KEY }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('set-cookie')).toBeNull();
  });
});

describe('on AWS, behind the JWT authorizer', () => {
  function event(method: string, path: string, claims?: Record<string, unknown>) {
    return {
      version: '2.0',
      routeKey: '$default',
      rawPath: path,
      rawQueryString: '',
      headers: { host: 'api.example', ...(method === 'GET' ? {} : { 'content-type': 'application/json' }) },
      requestContext: {
        accountId: '123456789012',
        apiId: 'api',
        domainName: 'api.example',
        domainPrefix: 'api',
        http: { method, path, protocol: 'HTTP/1.1', sourceIp: '192.0.2.1', userAgent: 'test' },
        requestId: 'r',
        routeKey: '$default',
        stage: '$default',
        time: '01/Jan/2026:00:00:00 +0000',
        timeEpoch: 0,
        ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
      },
      isBase64Encoded: false,
      ...(method === 'GET' ? {} : { body: '{}' }),
    };
  }

  async function lambda(method: string, path: string, claims?: Record<string, unknown>): Promise<{ statusCode: number; code?: string }> {
    const handler = handle(createApp(host.deps, { principals: jwtClaimsPrincipals() }));
    const res = (await handler(event(method, path, claims) as never, {} as never)) as { statusCode: number; body: string };
    return { statusCode: res.statusCode, code: (JSON.parse(res.body) as { error?: { code?: string } }).error?.code };
  }

  it('maps the user pool groups to roles', async () => {
    // API Gateway flattens an array claim into "[a b]"
    const auditor = { sub: 'u-1', email: 'auditor@cert.example', 'cognito:groups': '[auditor]' };
    expect((await lambda('GET', '/campaigns', auditor)).statusCode).toBe(200);
    expect(await lambda('POST', '/campaigns', auditor)).toEqual({ statusCode: 403, code: 'AUTH.FORBIDDEN' });
    const coordinator = { sub: 'u-2', 'cognito:groups': ['auditor', 'coordinator'] };
    expect((await lambda('POST', '/campaigns/cmp_none/approval', coordinator)).statusCode).toBe(404);
  });

  it('answers 401 without claims and 403 to a user in no group', async () => {
    expect(await lambda('GET', '/campaigns')).toEqual({ statusCode: 401, code: 'AUTH.REQUIRED' });
    expect(await lambda('GET', '/campaigns', { sub: 'u-3' })).toEqual({ statusCode: 403, code: 'AUTH.FORBIDDEN' });
    expect((await lambda('GET', '/health')).statusCode).toBe(200);
  });

  it('reads a groups claim as an array or as API Gateway\'s flattened text', () => {
    expect(claimGroups(['coordinator'])).toEqual(['coordinator']);
    expect(claimGroups('[auditor coordinator]')).toEqual(['auditor', 'coordinator']);
    expect(claimGroups(undefined)).toEqual([]);
  });
});
