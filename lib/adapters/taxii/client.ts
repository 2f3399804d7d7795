import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { InvalidInputError } from '../../core/errors.js';
import type { FeedBatch, FeedOrigin, FeedReader } from '../../core/feeds/index.js';
import { FeedHttpError, HttpJsonClient, type JsonAnswer } from '../feeds/http-json.js';

/**
 * A TAXII 2.1 client (OASIS TAXII Version 2.1, sections 4-5): server discovery or an API root, its collections,
 * and a collection's objects, paged as the specification says (the `more` and `next` of the envelope; when a
 * server gives `more` without `next`, `added_after` from the `X-TAXII-Date-Added-Last` header). Every request
 * carries `Accept: application/taxii+json;version=2.1`; HTTP Basic or a bearer token authenticates it. The objects
 * become one STIX 2.1 bundle for the existing STIX intake.
 */

/** The TAXII 2.1 media type, asked for and expected back. */
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';

const Discovery = z.looseObject({ title: z.string(), default: z.string().optional(), api_roots: z.array(z.string()).optional() });
const ApiRoot = z.looseObject({ title: z.string(), versions: z.array(z.string()), max_content_length: z.number().optional() });
const Collection = z.looseObject({ id: z.string().min(1), title: z.string(), can_read: z.boolean(), can_write: z.boolean(), media_types: z.array(z.string()).optional() });
const Collections = z.looseObject({ collections: z.array(Collection).optional() });
const Envelope = z.looseObject({
  more: z.boolean().optional(),
  next: z.string().max(2000).optional(),
  objects: z.array(z.looseObject({ type: z.string(), id: z.string() })).optional(),
});
export type TaxiiCollection = z.infer<typeof Collection>;

export type TaxiiAuth = { readonly user: string; readonly password: string } | { readonly token: string };

export interface TaxiiClientOptions {
  /** a discovery URL (`https://taxii.example/taxii2/`) or an API root (`https://taxii.example/api1/`) */
  readonly url: string;
  readonly auth?: TaxiiAuth;
  /** PEM of the CA that signs the server's certificate, when it is a private one */
  readonly ca?: string;
  readonly timeoutMs?: number;
}

export interface CollectionRead {
  readonly objects: Record<string, unknown>[];
  /** X-TAXII-Date-Added-Last of the last page that had objects: where the next read starts */
  readonly addedLast?: string;
  readonly pages: number;
}

const TIMESTAMP = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

function authHeader(auth: TaxiiAuth | undefined): Record<string, string> {
  if (!auth) return {};
  if ('token' in auth) return { authorization: `Bearer ${auth.token}` };
  return { authorization: `Basic ${Buffer.from(`${auth.user}:${auth.password}`, 'utf8').toString('base64')}` };
}

/** A client for one TAXII 2.1 server. */
export class TaxiiClient {
  private readonly http: HttpJsonClient;
  private readonly start: string;

  constructor(options: TaxiiClientOptions) {
    this.start = options.url.endsWith('/') ? options.url : `${options.url}/`;
    this.http = new HttpJsonClient({
      baseUrl: this.start,
      headers: { accept: TAXII_MEDIA_TYPE, 'user-agent': 'takedown-orchestrator', ...authHeader(options.auth) },
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  get server(): string {
    return this.http.server;
  }

  private async get(url: URL, what: string): Promise<JsonAnswer> {
    const answer = await this.http.request('GET', url);
    const type = String(answer.headers['content-type'] ?? '');
    if (!type.replace(/\s/g, '').toLowerCase().startsWith('application/taxii+json')) {
      throw new FeedHttpError(`GET ${this.server}${url.pathname}: ${what} came as ${type || 'no content type'}, not ${TAXII_MEDIA_TYPE} (is this a TAXII 2.1 server?)`);
    }
    return answer;
  }

  /**
   * The API root to read: the URL itself when it is one, else the discovery's default (or its only) root. A root
   * on another server is refused: the credentials would go there too.
   */
  async apiRoot(): Promise<URL> {
    const url = this.http.url(this.start);
    const answer = await this.get(url, 'the discovery or API root');
    if (ApiRoot.safeParse(answer.json).success) return url;
    const discovery = Discovery.safeParse(answer.json);
    if (!discovery.success) throw new FeedHttpError(`${this.server}${url.pathname} is neither a TAXII discovery nor an API root`);
    const roots = discovery.data.api_roots ?? [];
    const chosen = discovery.data.default ?? (roots.length === 1 ? roots[0] : undefined);
    if (!chosen) throw new InvalidInputError('the TAXII server has several API roots and no default', roots.slice(0, 20).map((r) => ({ where: 'api root', reason: r })));
    const root = this.http.url(new URL(chosen, url).href);
    const info = ApiRoot.safeParse((await this.get(root, 'the API root')).json);
    if (!info.success) throw new FeedHttpError(`${this.server}${root.pathname} is not a TAXII API root`);
    if (!info.data.versions.some((v) => v.replace(/\s/g, '').toLowerCase() === TAXII_MEDIA_TYPE)) throw new FeedHttpError(`${this.server}${root.pathname} does not speak TAXII 2.1 (versions: ${info.data.versions.join(', ').slice(0, 200)})`);
    return root;
  }

  /** The collections of an API root. */
  async collections(root: URL): Promise<TaxiiCollection[]> {
    const parsed = Collections.safeParse((await this.get(this.http.url(new URL('collections/', root).href), 'the collections')).json);
    if (!parsed.success) throw new FeedHttpError(`${this.server}${root.pathname}collections/: not a TAXII collections resource`);
    return parsed.data.collections ?? [];
  }

  /**
   * Every object of a collection added after `addedAfter` (ISO; all when absent), a page (`pageSize`) at a time;
   * `onPage` hears each page. Refuses a collection it may not read, by name.
   */
  async readCollection(collectionId: string, options: { addedAfter?: string; pageSize?: number; maxPages?: number; onPage?: (page: number, objects: number) => void } = {}): Promise<CollectionRead> {
    if (options.addedAfter !== undefined && !TIMESTAMP.test(options.addedAfter)) {
      throw new InvalidInputError('added-after is not a TAXII timestamp', [{ where: 'added-after', reason: 'expected an RFC 3339 UTC time, 2026-11-20T00:00:00Z' }]);
    }
    const root = await this.apiRoot();
    const collection = (await this.collections(root)).find((c) => c.id === collectionId);
    if (!collection) throw new InvalidInputError(`no collection ${collectionId} at ${this.server}${root.pathname}`, [{ where: 'collection', reason: 'not listed by the API root (takedown lists them with --collection ?)' }]);
    if (!collection.can_read) throw new InvalidInputError(`the collection ${collection.title} cannot be read with these credentials`, [{ where: 'collection', reason: 'can_read is false' }]);
    const objects: Record<string, unknown>[] = [];
    let addedAfter = options.addedAfter;
    let next: string | undefined;
    let addedLast: string | undefined;
    const maxPages = options.maxPages ?? 10_000;
    for (let page = 1; page <= maxPages; page++) {
      const url = this.http.url(new URL(`collections/${encodeURIComponent(collectionId)}/objects/`, root).href, {
        ...(addedAfter ? { added_after: addedAfter } : {}),
        ...(options.pageSize ? { limit: options.pageSize } : {}),
        ...(next ? { next } : {}),
      });
      const answer = await this.get(url, 'the objects');
      const envelope = Envelope.safeParse(answer.json ?? {});
      if (!envelope.success) throw new FeedHttpError(`GET ${this.server}${url.pathname}: not a TAXII envelope (${envelope.error.issues[0]?.message ?? 'invalid'})`);
      const got = envelope.data.objects ?? [];
      objects.push(...(got as Record<string, unknown>[]));
      const last = answer.headers['x-taxii-date-added-last'];
      if (typeof last === 'string' && got.length) addedLast = last;
      options.onPage?.(page, objects.length);
      if (!envelope.data.more) return { objects, ...(addedLast ? { addedLast } : {}), pages: page };
      if (envelope.data.next) {
        if (envelope.data.next === next) throw new FeedHttpError(`${this.server}: the collection gave the same next page twice`);
        next = envelope.data.next;
      } else {
        // more without next: go on from the last object's date (TAXII 2.1, 3.4)
        if (!addedLast || addedLast === addedAfter) throw new FeedHttpError(`${this.server}: more objects, but no next and no new X-TAXII-Date-Added-Last to page with`);
        addedAfter = addedLast;
        next = undefined;
      }
    }
    throw new FeedHttpError(`${this.server}: more than ${maxPages} pages in the collection; read it with --added-after`);
  }
}

/** TAXII objects as the STIX 2.1 bundle the intake reads. */
export function stixBundle(objects: readonly Record<string, unknown>[]): string {
  return JSON.stringify({ type: 'bundle', id: `bundle--${randomUUID()}`, objects });
}

/** What was read, for the campaign's source record. */
export function taxiiOrigin(url: string, collectionId: string): FeedOrigin {
  return { kind: 'taxii', url: url.replace(/\/+$/, ''), what: `collection ${collectionId}`.slice(0, 500) };
}

/** A watched TAXII collection: each read asks for the objects added after the last one seen. */
export function taxiiFeed(client: TaxiiClient, options: { name: string; url: string; collection: string; addedAfter?: string; pageSize?: number }): FeedReader {
  return {
    name: options.name,
    origin: taxiiOrigin(options.url, options.collection),
    async read(position): Promise<FeedBatch> {
      const after = position ?? options.addedAfter;
      const read = await client.readCollection(options.collection, { ...(after ? { addedAfter: after } : {}), ...(options.pageSize ? { pageSize: options.pageSize } : {}) });
      return {
        content: stixBundle(read.objects),
        format: 'stix',
        items: read.objects.length,
        ...(read.addedLast ? { position: read.addedLast } : after ? { position: after } : {}),
        sourceName: `taxii:${client.server} ${options.collection}`,
      };
    },
  };
}
