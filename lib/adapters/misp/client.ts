import { z } from 'zod';
import { InvalidInputError } from '../../core/errors.js';
import { FeedHttpError, HttpJsonClient } from '../feeds/http-json.js';

/**
 * The MISP REST API, the part the orchestrator uses (paths and shapes from MISP's OpenAPI document,
 * app/webroot/doc/openapi.yaml, and PyMISP): events in (`GET /events/view/{id}`, `POST /events/restSearch`, paged
 * with `page` and `limit`), outcomes back (`POST /tags/attachTagToObject`, `POST /tags/removeTagFromObject`,
 * `POST /sightings/add/{attribute}`). The API key goes in the `Authorization` header as MISP expects it (no
 * scheme), never in a URL, a log or an error.
 */

/** An event id as MISP takes it: its number or its UUID. */
export const MispEventId = z.string().regex(/^(?:\d{1,10}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i, 'an event number or UUID');

const Uuid = z.string().regex(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);

/** An event as MISP answers it; what is inside its attributes is the intake's to check. */
export const MispEvent = z.looseObject({
  uuid: Uuid,
  info: z.string(),
  id: z.string().optional(),
  timestamp: z.string().regex(/^\d+$/).optional(),
  Attribute: z.array(z.unknown()).optional(),
  Object: z.array(z.unknown()).optional(),
});
export type MispEvent = z.infer<typeof MispEvent>;

const EventAnswer = z.object({ Event: MispEvent });
const SearchAnswer = z.object({ response: z.array(EventAnswer) });
// MISP's saveSuccessResponse says `success: true`; older answers (and the OpenAPI example) put the message there
const TagAnswer = z.looseObject({ saved: z.boolean(), success: z.union([z.string(), z.boolean()]).optional(), message: z.string().optional(), errors: z.unknown().optional() });
const SightingAnswer = z.object({ Sighting: z.looseObject({ type: z.string(), source: z.string().optional() }) });

/** A restSearch filter value: text, a number, a flag or a list of texts (tags, types). */
export const MispFilterValue = z.union([z.string().max(500), z.number(), z.boolean(), z.array(z.string().max(200)).max(100)]);
/** restSearch filters as the CLI and the watch configuration give them (`page`, `limit`, `returnFormat` are the client's). */
export const MispFilters = z.record(z.string().regex(/^[A-Za-z_]{1,40}$/, 'a restSearch filter name'), MispFilterValue).refine((f) => !('page' in f || 'limit' in f || 'returnFormat' in f), 'page, limit and returnFormat are set by the client');
export type MispFilters = z.infer<typeof MispFilters>;

/** MISP's sighting types (MISP sightings documentation): 0 a sighting, 1 a false positive, 2 an expiration. */
export const SIGHTING_TYPE = { sighting: '0', falsePositive: '1', expiration: '2' } as const;

export interface MispClientOptions {
  /** the MISP base URL, `https://misp.example.org` */
  readonly url: string;
  /** the user's API key (MISP "auth key") */
  readonly key: string;
  /** PEM of the CA that signs the server's certificate, when it is a private one */
  readonly ca?: string;
  readonly timeoutMs?: number;
}

function invalid(what: string, where: string, error: z.ZodError): FeedHttpError {
  const first = error.issues[0];
  return new FeedHttpError(`${where}: MISP answered ${what} in a shape this client does not know (${first ? `${first.path.join('.') || '(top)'}: ${first.message}` : 'invalid'})`);
}

/** A client for one MISP instance. */
export class MispClient {
  private readonly http: HttpJsonClient;

  constructor(options: MispClientOptions) {
    if (!/^\S{8,200}$/.test(options.key)) throw new InvalidInputError('the MISP API key is not valid', [{ where: 'MISP key', reason: 'expected the key without spaces (MISP: My Profile > Auth keys)' }]);
    this.http = new HttpJsonClient({
      baseUrl: options.url,
      headers: { authorization: options.key, accept: 'application/json', 'user-agent': 'takedown-orchestrator' },
      ...(options.ca ? { ca: options.ca } : {}),
      ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
    });
  }

  /** The server, as messages name it. */
  get server(): string {
    return this.http.server;
  }

  /** One event, by number or UUID. */
  async getEvent(id: string): Promise<MispEvent> {
    const eventId = MispEventId.parse(id);
    const url = this.http.url(`events/view/${encodeURIComponent(eventId)}`);
    const answer = await this.http.request('GET', url);
    const parsed = EventAnswer.safeParse(answer.json);
    if (!parsed.success) throw invalid('an event', `GET ${this.server}${url.pathname}`, parsed.error);
    return parsed.data.Event;
  }

  /** One page (from 1) of the events matching `filters`. */
  async searchEvents(filters: MispFilters, page: number, limit: number): Promise<MispEvent[]> {
    const url = this.http.url('events/restSearch');
    const answer = await this.http.request('POST', url, { body: { returnFormat: 'json', ...filters, page, limit } });
    const parsed = SearchAnswer.safeParse(answer.json);
    if (!parsed.success) throw invalid('a search', `POST ${this.server}${url.pathname}`, parsed.error);
    return parsed.data.response.map((r) => r.Event);
  }

  /**
   * Every event matching `filters`, a page at a time until a short page; `onPage` hears each page's count.
   * Refuses to read more than `maxEvents` (a search that matches the whole instance is a mistake).
   */
  async searchAll(filters: MispFilters, options: { pageSize?: number; maxEvents?: number; onPage?: (page: number, events: number) => void } = {}): Promise<MispEvent[]> {
    const limit = options.pageSize ?? 50;
    const max = options.maxEvents ?? 10_000;
    const events: MispEvent[] = [];
    for (let page = 1; ; page++) {
      const found = await this.searchEvents(filters, page, limit);
      events.push(...found);
      options.onPage?.(page, events.length);
      if (found.length < limit) return events;
      if (events.length >= max) throw new FeedHttpError(`${this.server}: the search matched more than ${max} events; narrow it (tags, last, published)`);
    }
  }

  /** Attaches a tag (by name; MISP creates it when the key may edit tags) to an attribute or event. */
  async attachTag(uuid: string, tag: string): Promise<void> {
    await this.tagCall('tags/attachTagToObject', { uuid: Uuid.parse(uuid), tag, local: false });
  }

  /** Removes a tag from an attribute or event; a tag that is not attached is not an error. */
  async removeTag(uuid: string, tag: string): Promise<void> {
    await this.tagCall('tags/removeTagFromObject', { uuid: Uuid.parse(uuid), tag }, [404]);
  }

  private async tagCall(path: string, body: Record<string, unknown>, notAnError: readonly number[] = []): Promise<void> {
    const url = this.http.url(path);
    const answer = await this.http.request('POST', url, { body, accept: notAnError });
    if (notAnError.includes(answer.status)) return;
    const parsed = TagAnswer.safeParse(answer.json);
    if (!parsed.success) throw invalid('a tag change', `POST ${this.server}${url.pathname}`, parsed.error);
    if (!parsed.data.saved) throw new FeedHttpError(`POST ${this.server}${url.pathname}: MISP did not save the tag (${parsed.data.message ?? 'no reason given'})`);
  }

  /** Adds a sighting of an attribute (by UUID) of the given type, at `timestamp` (ISO), from `source`. */
  async addSighting(attributeUuid: string, sighting: { type: (typeof SIGHTING_TYPE)[keyof typeof SIGHTING_TYPE]; source: string; timestamp: string }): Promise<void> {
    const url = this.http.url(`sightings/add/${Uuid.parse(attributeUuid)}`);
    const answer = await this.http.request('POST', url, {
      body: { type: sighting.type, source: sighting.source, timestamp: String(Math.floor(Date.parse(sighting.timestamp) / 1000)) },
    });
    const parsed = SightingAnswer.safeParse(answer.json);
    if (!parsed.success) throw invalid('a sighting', `POST ${this.server}${url.pathname}`, parsed.error);
  }
}
