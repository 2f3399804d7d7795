import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';

/*
 * A TAXII 2.1 server stand-in on loopback, built from the specification's examples (test/fixtures/taxii, see its
 * README): discovery at /taxii2/, the API root /api2/ with its collections, and the objects of one collection in
 * the envelope `{more, next, objects}` with X-TAXII-Date-Added-First/Last. It checks every request: GET only,
 * `Accept: application/taxii+json;version=2.1` (else 406, as the specification says), the credentials (else 401),
 * and only the query parameters TAXII defines. What it refused or did not expect is listed in `violations`.
 */

const FIXTURES = new URL('../fixtures/taxii/', import.meta.url);
const read = (name: string): unknown => JSON.parse(readFileSync(new URL(name, FIXTURES), 'utf8'));
export const TAXII_COLLECTION = '91a7b528-80eb-42ed-a74d-c6fbd5a26116';
export const TAXII_UNREADABLE = '52892447-4d7e-4f70-b94d-d7f22742ff63';
const MEDIA = 'application/taxii+json;version=2.1';
const QUERY = new Set(['added_after', 'limit', 'next', 'match[id]', 'match[type]', 'match[version]', 'match[spec_version]']);
const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export interface TaxiiStandin {
  /** the discovery URL */
  readonly url: string;
  /** the API root the discovery names as default */
  readonly apiRoot: string;
  readonly requests: { method: string; path: string; query: Record<string, string>; headers: IncomingMessage['headers'] }[];
  readonly violations: string[];
  /** adds an object to the collection, added now (for the watch) */
  addObject(object: Record<string, unknown>, dateAdded: string): void;
  close(): Promise<void>;
}

export interface TaxiiStandinOptions {
  /** Basic credentials the server takes (default), or a bearer token */
  readonly auth?: { user: string; password: string } | { token: string };
  /** answer `more` without `next` (the client must page with added_after) */
  readonly withoutNext?: boolean;
  /** the page size when the client asks for none */
  readonly defaultLimit?: number;
  readonly tls?: boolean;
  /** @default any free port */
  readonly port?: number;
}

/** Starts the stand-in. */
export async function startTaxiiStandin(options: TaxiiStandinOptions = {}): Promise<TaxiiStandin> {
  const auth = options.auth ?? { user: 'analyst', password: 'correct horse battery staple' };
  const expected = 'token' in auth ? `Bearer ${auth.token}` : `Basic ${Buffer.from(`${auth.user}:${auth.password}`).toString('base64')}`;
  const objects = (read('objects.json') as { date_added: string; object: Record<string, unknown> }[]).map((o) => ({ ...o }));
  const requests: TaxiiStandin['requests'] = [];
  const violations: string[] = [];
  let base = '';

  const send = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': MEDIA, ...headers }).end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, title: string, headers: Record<string, string> = {}) =>
    send(res, status, { ...(read('error.json') as object), title, http_status: String(status) }, headers);

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', base);
    const query = Object.fromEntries(url.searchParams);
    requests.push({ method: req.method ?? '', path: url.pathname, query, headers: req.headers });
    const where = `${req.method} ${url.pathname}`;
    if (req.method !== 'GET') {
      violations.push(`${where}: only GET is used to read`);
      return error(res, 405, 'Method not allowed');
    }
    if (req.headers.authorization === undefined) return error(res, 401, 'Authentication required', { 'www-authenticate': 'token' in auth ? 'Bearer' : 'Basic realm="taxii"' });
    if (req.headers.authorization !== expected) return error(res, 401, 'The credentials are not valid');
    if (req.headers.accept !== MEDIA) {
      violations.push(`${where}: Accept is ${String(req.headers.accept)}`);
      return error(res, 406, 'The media type is not supported');
    }
    for (const k of Object.keys(query)) if (!QUERY.has(k)) violations.push(`${where}: unknown parameter ${k}`);
    if (url.pathname === '/taxii2/') return send(res, 200, JSON.parse(JSON.stringify(read('discovery.json')).replaceAll('{base}', base.replace(/\/$/, ''))));
    if (url.pathname === '/api1/' || url.pathname === '/api2/') return send(res, 200, read('api-root.json'));
    if (url.pathname === '/api2/collections/') return send(res, 200, read('collections.json'));
    const m = /^\/api2\/collections\/([^/]+)\/objects\/$/.exec(url.pathname);
    if (m) {
      const id = decodeURIComponent(m[1]!);
      if (id === TAXII_UNREADABLE) return error(res, 403, 'The client does not have access to this collection');
      if (id !== TAXII_COLLECTION) return error(res, 404, 'The collection does not exist');
      if (query.added_after !== undefined && !TIMESTAMP.test(query.added_after)) violations.push(`${where}: added_after ${query.added_after} is not a TAXII timestamp`);
      const limit = query.limit === undefined ? (options.defaultLimit ?? 100) : Number(query.limit);
      if (!Number.isInteger(limit) || limit < 1) violations.push(`${where}: limit ${query.limit}`);
      const after = query.added_after;
      const matching = objects.filter((o) => after === undefined || o.date_added > after).sort((a, b) => a.date_added.localeCompare(b.date_added));
      const offset = query.next === undefined ? 0 : Number(Buffer.from(query.next, 'base64url').toString('utf8').replace(/^page-/, ''));
      if (!Number.isInteger(offset) || offset < 0) violations.push(`${where}: next ${query.next} is not one this server gave`);
      const page = matching.slice(offset, offset + limit);
      const more = offset + limit < matching.length;
      if (!page.length) return res.writeHead(200, { 'content-type': MEDIA }).end(JSON.stringify({ more: false }));
      return send(
        res,
        200,
        { more, ...(more && !options.withoutNext ? { next: Buffer.from(`page-${offset + limit}`).toString('base64url') } : {}), objects: page.map((o) => o.object) },
        { 'x-taxii-date-added-first': page[0]!.date_added, 'x-taxii-date-added-last': page[page.length - 1]!.date_added },
      );
    }
    violations.push(`${where}: no such TAXII resource`);
    return error(res, 404, 'Not found');
  };

  const tlsDir = new URL('../fixtures/tls/', import.meta.url);
  const server: Server = options.tls ? createHttpsServer({ key: readFileSync(new URL('loopback.key', tlsDir)), cert: readFileSync(new URL('loopback.crt', tlsDir)) }, handle) : createHttpServer(handle);
  await new Promise<void>((ok) => server.listen(options.port ?? 0, '127.0.0.1', ok));
  base = `${options.tls ? 'https' : 'http'}://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  return {
    url: `${base}taxii2/`,
    apiRoot: `${base}api2/`,
    requests,
    violations,
    addObject: (object, dateAdded) => void objects.push({ date_added: dateAdded, object }),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}
