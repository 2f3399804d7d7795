import { randomUUID } from 'node:crypto';
import type { LambdaService } from './functions.js';
import type { AccountServices } from './services.js';
import type { DeployedTemplate } from './template.js';

interface Route {
  readonly method: string;
  readonly path: string;
  readonly routeKey: string;
  readonly jwt?: { readonly issuer: string; readonly audience: readonly string[] };
  readonly functionArn: string;
}

/** A signed-in operator of the user pool, as a verified token of the app client presents them. */
export interface Operator {
  readonly email: string;
  readonly groups: readonly string[];
}

export interface ApiRequest {
  readonly method: string;
  /** path and query, e.g. `/campaigns?limit=5` */
  readonly path: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** a user of the pool, signed in: the JWT authorizer accepts their token */
  readonly as?: Operator;
}

export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly cookies: readonly string[];
  readonly body: string;
  json<T = any>(): T;
}

/**
 * The template's HTTP API: each request is matched to a route as API Gateway does (an exact `METHOD /path`,
 * then path parameters, then `$default`), its JWT authorizer answers 401 without a valid token, and the
 * integration's function gets the payload format 2.0 event, with the token's claims in
 * `requestContext.authorizer.jwt.claims` (a list claim as API Gateway flattens it: `[a b]`).
 */
export class HttpApi {
  private readonly routes: Route[] = [];
  readonly apiId: string;
  readonly url: string;

  constructor(
    private readonly template: DeployedTemplate,
    private readonly lambda: LambdaService,
    private readonly services: AccountServices,
  ) {
    const apis = template.ofType('AWS::ApiGatewayV2::Api');
    if (apis.length !== 1) throw new Error(`the harness serves one HTTP API, the template has ${apis.length}`);
    const apiLogicalId = apis[0]![0];
    this.apiId = template.ref(apiLogicalId);
    this.url = template.getAtt(apiLogicalId, 'ApiEndpoint');
    const integrations = new Map(template.ofType('AWS::ApiGatewayV2::Integration').map(([id, r]) => [template.ref(id), template.resolve(r.Properties!.IntegrationUri)]));
    const authorizers = new Map(
      template.ofType('AWS::ApiGatewayV2::Authorizer').map(([id, r]) => {
        const p = template.resolveAny(r.Properties) as { JwtConfiguration: { Issuer: string; Audience: string[] } };
        return [id, { issuer: p.JwtConfiguration.Issuer, audience: p.JwtConfiguration.Audience }];
      }),
    );
    for (const [, r] of template.ofType('AWS::ApiGatewayV2::Route')) {
      const p = r.Properties!;
      const routeKey = p.RouteKey as string;
      const integration = template.resolve(p.Target).replace(/^integrations\//, '');
      const [method, path] = routeKey === '$default' ? ['ANY', '$default'] : routeKey.split(' ');
      this.routes.push({
        method: method!,
        path: path!,
        routeKey,
        ...(p.AuthorizationType === 'JWT' ? { jwt: authorizers.get((p.AuthorizerId as { Ref: string }).Ref)! } : {}),
        functionArn: integrations.get(integration)!,
      });
    }
  }

  /** The route API Gateway picks: the most specific matching path, then ANY, then $default. */
  private match(method: string, path: string): { route: Route; params: Record<string, string> } | undefined {
    const candidates: { route: Route; params: Record<string, string>; score: number }[] = [];
    for (const route of this.routes) {
      if (route.path === '$default') continue;
      if (route.method !== 'ANY' && route.method !== method) continue;
      const want = route.path.split('/');
      const got = path.split('/');
      const params: Record<string, string> = {};
      let score = 0;
      let ok = true;
      for (let i = 0; i < want.length; i++) {
        const w = want[i]!;
        if (/^\{[^}]+\+\}$/.test(w)) {
          if (i >= got.length || got.slice(i).join('/') === '') ok = false;
          else params[w.slice(1, -2)] = got.slice(i).join('/');
          score += 1;
          break;
        }
        if (i >= got.length) {
          ok = false;
          break;
        }
        if (/^\{[^}]+\}$/.test(w)) {
          params[w.slice(1, -1)] = decodeURIComponent(got[i]!);
          score += 10;
        } else if (w === got[i]) score += 100;
        else ok = false;
      }
      if (ok && !/\+\}$/.test(route.path) && want.length !== got.length) ok = false;
      if (ok) candidates.push({ route, params, score: score * 2 + (route.method === 'ANY' ? 0 : 1) });
    }
    candidates.sort((a, b) => b.score - a.score);
    if (candidates[0]) return candidates[0];
    const fallback = this.routes.find((r) => r.path === '$default');
    return fallback ? { route: fallback, params: {} } : undefined;
  }

  /** A request to the stage `$default`, answered as API Gateway would answer it. */
  async request(req: ApiRequest): Promise<ApiResponse> {
    const url = new URL(req.path, this.url);
    const found = this.match(req.method, url.pathname);
    if (!found) return response(404, { 'content-type': 'application/json' }, [], '{"message":"Not Found"}');
    const { route, params } = found;
    const now = Date.now();
    let claims: Record<string, string> | undefined;
    if (route.jwt) {
      // no token, or one the authorizer does not accept: API Gateway answers before the function runs
      if (!req.as) return response(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer' }, [], '{"message":"Unauthorized"}');
      claims = {
        sub: randomUUID(),
        iss: route.jwt.issuer,
        aud: route.jwt.audience[0]!,
        token_use: 'id',
        email: req.as.email,
        'cognito:username': req.as.email,
        'cognito:groups': `[${req.as.groups.join(' ')}]`,
        exp: String(Math.floor(now / 1000) + 3600),
        iat: String(Math.floor(now / 1000)),
      };
    }
    const sourceArn = `arn:aws:execute-api:${this.template.region}:${this.template.account}:${this.apiId}/$default/${req.method}${url.pathname}`;
    if (!this.services.permits(route.functionArn, 'apigateway.amazonaws.com', sourceArn)) {
      return response(500, { 'content-type': 'application/json' }, [], '{"message":"Internal Server Error"}');
    }
    const headers: Record<string, string> = { host: new URL(this.url).host, 'user-agent': 'harness', 'x-forwarded-proto': 'https', 'x-forwarded-for': '198.51.100.7' };
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const cookies = headers.cookie ? headers.cookie.split(/;\s*/) : undefined;
    delete headers.cookie;
    const query = Object.fromEntries(url.searchParams);
    const event = {
      version: '2.0',
      routeKey: route.routeKey,
      rawPath: url.pathname,
      rawQueryString: url.search.replace(/^\?/, ''),
      ...(cookies ? { cookies } : {}),
      headers,
      ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
      requestContext: {
        accountId: this.template.account,
        apiId: this.apiId,
        domainName: new URL(this.url).host,
        domainPrefix: this.apiId,
        http: { method: req.method, path: url.pathname, protocol: 'HTTP/1.1', sourceIp: '198.51.100.7', userAgent: 'harness' },
        requestId: randomUUID(),
        routeKey: route.routeKey,
        stage: '$default',
        time: new Date(now).toISOString(),
        timeEpoch: now,
        ...(claims ? { authorizer: { jwt: { claims, scopes: null } } } : {}),
      },
      ...(Object.keys(params).length > 0 ? { pathParameters: params } : {}),
      ...(req.body !== undefined ? { body: req.body } : {}),
      isBase64Encoded: false,
    };
    const result = await this.lambda.invoke(route.functionArn, event);
    if ('error' in result) return response(500, { 'content-type': 'application/json' }, [], '{"message":"Internal Server Error"}');
    const out = result.value as { statusCode?: number; headers?: Record<string, string>; multiValueHeaders?: Record<string, string[]>; cookies?: string[]; body?: string; isBase64Encoded?: boolean } | null;
    if (!out || typeof out !== 'object' || out.statusCode === undefined) return response(200, { 'content-type': 'application/json' }, [], JSON.stringify(out));
    const outHeaders = Object.fromEntries(Object.entries(out.headers ?? {}).map(([k, v]) => [k.toLowerCase(), String(v)]));
    const body = out.isBase64Encoded ? Buffer.from(out.body ?? '', 'base64').toString('utf8') : (out.body ?? '');
    return response(out.statusCode, outHeaders, out.cookies ?? [], body);
  }
}

function response(status: number, headers: Record<string, string>, cookies: readonly string[], body: string): ApiResponse {
  return { status, headers, cookies, body, json: () => JSON.parse(body) };
}
