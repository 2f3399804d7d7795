import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { z } from 'zod';

/*
 * A MISP stand-in on loopback, answering with the recorded answers of test/fixtures/misp (see its README). It
 * keeps what clients write (tags on attributes, sightings), and checks every request as MISP would, plus what a
 * well-behaved client must send: the method, the path, the Authorization header carrying the key (no scheme),
 * Accept: application/json, a JSON body of the route's shape. Anything else is answered as MISP answers it and
 * listed in `violations`, which a test expects to be empty.
 */

const FIXTURES = new URL('../fixtures/misp/', import.meta.url);
export const MISP_EVENTS = ['event-1337.json', 'event-1338.json', 'event-1339.json'];
const ERRORS = JSON.parse(readFileSync(new URL('errors.json', FIXTURES), 'utf8')) as Record<string, { status: number; body: Record<string, unknown> }>;

type Json = Record<string, unknown>;
interface StandinTag {
  id: string;
  name: string;
}
interface StandinAttribute extends Json {
  id: string;
  uuid: string;
  event_id: string;
  Tag: StandinTag[];
}
interface StandinEvent extends Json {
  id: string;
  uuid: string;
  timestamp: string;
  Tag: StandinTag[];
  Attribute: StandinAttribute[];
  Object: { Attribute: StandinAttribute[] }[];
}

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body?: unknown;
}

export interface MispStandin {
  /** the base URL clients are given */
  readonly url: string;
  readonly key: string;
  readonly requests: RecordedRequest[];
  /** what was wrong with a request, one line each; must stay empty */
  readonly violations: string[];
  /** the attribute's tag names now */
  tagsOf(attributeUuid: string): string[];
  /** the sightings added, in order */
  readonly sightings: Json[];
  /** events added to the stand-in after it started (the watch's "something new") */
  addEvent(fileName: string): void;
  close(): Promise<void>;
}

const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
const Filter = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);
const RestSearchBody = z.object({ returnFormat: z.literal('json'), page: z.number().int().min(1), limit: z.number().int().min(1).max(1000) }).catchall(Filter);
const AttachBody = z.strictObject({ uuid: Uuid, tag: z.string().min(1).max(255), local: z.boolean() });
const RemoveBody = z.strictObject({ uuid: Uuid, tag: z.string().min(1).max(255) });
const SightingBody = z.strictObject({ type: z.enum(['0', '1', '2']), source: z.string().max(255), timestamp: z.string().regex(/^\d{10}$/) });

/** Starts the stand-in; `tls` serves HTTPS with the throwaway loopback certificate of test/fixtures/tls. */
export async function startMispStandin(options: { key?: string; events?: readonly string[]; tls?: boolean; tagEditor?: boolean; port?: number } = {}): Promise<MispStandin> {
  const key = options.key ?? 'Xq7vN2kP9sL4mR8tW1yB6cD3fG5hJ0aZ2eU7iO9p';
  const events: StandinEvent[] = [];
  const load = (file: string) => events.push((JSON.parse(readFileSync(new URL(file, FIXTURES), 'utf8')) as { Event: StandinEvent }).Event);
  for (const file of options.events ?? MISP_EVENTS.slice(0, 2)) load(file);
  const tagIds = new Map<string, string>();
  const requests: RecordedRequest[] = [];
  const violations: string[] = [];
  const sightings: Json[] = [];

  const attributes = () => events.flatMap((e) => [...e.Attribute, ...e.Object.flatMap((o) => o.Attribute)]);
  const attribute = (uuid: string) => attributes().find((a) => a.uuid === uuid);
  const eventOf = (a: StandinAttribute) => events.find((e) => e.id === a.event_id)!;

  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, path: string, error: string, why?: string) => {
    if (why) violations.push(why);
    const e = ERRORS[error]!;
    send(res, e.status, JSON.parse(JSON.stringify(e.body).replaceAll('{path}', path)));
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = new URL(req.url ?? '/', 'http://standin').pathname;
    let body: unknown;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        violations.push(`${req.method} ${path}: the body is not JSON`);
      }
    }
    requests.push({ method: req.method ?? '', path, headers: req.headers, ...(body !== undefined ? { body } : {}) });
    const where = `${req.method} ${path}`;
    // MISP takes the key as the whole Authorization header; a "Bearer" prefix or none is refused
    if (req.headers.authorization !== key) return fail(res, path, 'authentication', req.headers.authorization === undefined ? `${where}: no Authorization header` : undefined);
    if (req.headers.accept !== 'application/json') violations.push(`${where}: Accept is ${String(req.headers.accept)}, not application/json`);
    if (req.method === 'POST' && !String(req.headers['content-type']).startsWith('application/json')) violations.push(`${where}: Content-Type is ${String(req.headers['content-type'])}`);

    const view = /^\/events\/view\/([^/]+)$/.exec(path);
    if (view) {
      if (req.method !== 'GET') return fail(res, path, 'method', `${where}: an event is read with GET`);
      const id = decodeURIComponent(view[1]!);
      const event = events.find((e) => e.id === id || e.uuid === id);
      return event ? send(res, 200, { Event: event }) : fail(res, path, 'invalid-event');
    }
    if (path === '/events/restSearch') {
      if (req.method !== 'POST') return fail(res, path, 'method', `${where}: restSearch is a POST`);
      const parsed = RestSearchBody.safeParse(body);
      if (!parsed.success) {
        violations.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        return send(res, 200, { response: [] });
      }
      const { page, limit, tags, timestamp } = parsed.data as { page: number; limit: number; tags?: string[] | string; timestamp?: string | number };
      const wanted = tags === undefined ? [] : Array.isArray(tags) ? tags : [tags];
      const matching = events.filter(
        (e) =>
          (wanted.length === 0 || wanted.some((t) => e.Tag.some((et) => et.name === t))) &&
          (timestamp === undefined || Number(e.timestamp) >= Number(timestamp)),
      );
      return send(res, 200, { response: matching.slice((page - 1) * limit, page * limit).map((Event) => ({ Event })) });
    }
    if (path === '/tags/attachTagToObject' || path === '/tags/removeTagFromObject') {
      if (req.method !== 'POST') return fail(res, path, 'method', `${where}: tags are changed with POST`);
      const attach = path === '/tags/attachTagToObject';
      const parsed = (attach ? AttachBody : RemoveBody).safeParse(body);
      if (!parsed.success) {
        violations.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        return fail(res, path, 'invalid-target');
      }
      const { uuid, tag } = parsed.data;
      const a = attribute(uuid);
      if (!a) return fail(res, path, 'invalid-target');
      if (!attach) {
        const at = a.Tag.findIndex((t) => t.name === tag);
        if (at < 0) return fail(res, path, 'tag-not-attached');
        a.Tag.splice(at, 1);
        const message = `Global tag ${tag} (${tagIds.get(tag) ?? '0'}) successfully removed from Attribute(${a.id}).`;
        return send(res, 200, { saved: true, success: true, name: message, message, url: '/tags/removeTagFromObject' });
      }
      if (!tagIds.has(tag)) {
        if (options.tagEditor === false) return fail(res, path, 'tag-privileges');
        tagIds.set(tag, String(100 + tagIds.size));
      }
      const id = tagIds.get(tag)!;
      const already = a.Tag.some((t) => t.name === tag);
      if (!already) {
        a.Tag.push({ id, name: tag });
        eventOf(a).timestamp = String(Math.floor(Date.now() / 1000));
      }
      const message = already
        ? `Attribute already has the requested tag attached, no changes had to be made for tag ${tag}.`
        : `Global tag ${tag}(${id}) successfully attached to Attribute(${a.id}).`;
      return send(res, 200, { saved: true, success: true, name: message, message, url: '/tags/attachTagToObject' });
    }
    const sighting = /^\/sightings\/add\/([^/]+)$/.exec(path);
    if (sighting) {
      if (req.method !== 'POST') return fail(res, path, 'method', `${where}: a sighting is added with POST`);
      const parsed = SightingBody.safeParse(body);
      if (!parsed.success) {
        violations.push(`${where}: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
        return fail(res, path, 'invalid-target');
      }
      const a = attribute(decodeURIComponent(sighting[1]!));
      if (!a) return fail(res, path, 'invalid-target');
      const saved = {
        id: String(5000 + sightings.length),
        attribute_id: a.id,
        event_id: a.event_id,
        org_id: '1',
        date_sighting: parsed.data.timestamp,
        uuid: `9f0e8d7c-6b5a-4c3d-8e2f-${String(100000000000 + sightings.length)}`,
        source: parsed.data.source,
        type: parsed.data.type,
        attribute_uuid: a.uuid,
        Organisation: { id: '1', uuid: '5d1b7a52-5c74-4f0a-8c2b-0a1b2c3d4e01', name: 'CERT-Example (coordinator)' },
      };
      sightings.push(saved);
      return send(res, 200, { Sighting: saved });
    }
    violations.push(`${where}: no such MISP route`);
    res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ name: 'Not Found', message: 'Not Found', url: path }));
  }

  const listener = (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      violations.push(`stand-in failure: ${(e as Error).message}`);
      res.writeHead(500).end();
    });
  };
  const tlsDir = new URL('../fixtures/tls/', import.meta.url);
  const server: Server = options.tls
    ? createHttpsServer({ key: readFileSync(new URL('loopback.key', tlsDir)), cert: readFileSync(new URL('loopback.crt', tlsDir)) }, listener)
    : createHttpServer(listener);
  await new Promise<void>((ok) => server.listen(options.port ?? 0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
    key,
    requests,
    violations,
    sightings,
    tagsOf: (uuid) => attribute(uuid)?.Tag.map((t) => t.name) ?? [],
    addEvent: (file) => load(file),
    close: () => new Promise<void>((ok) => server.close(() => ok())),
  };
}

/** The CA the HTTPS stand-ins' certificate verifies against (it is its own). */
export function standinCa(): string {
  return readFileSync(new URL('../fixtures/tls/loopback.crt', import.meta.url), 'utf8');
}
