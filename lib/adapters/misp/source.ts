import type { FeedBatch, FeedOrigin, FeedReader, OutcomeTarget } from '../../core/feeds/index.js';
import { SIGHTING_TYPE, type MispClient, type MispEvent, type MispFilters } from './client.js';

/**
 * MISP as a source of campaigns and the place their outcome goes back to: fetched events become one MISP search
 * answer (`{"response": [{"Event": ...}]}`), which the existing MISP intake reads with its TLP and `to_ids` rules;
 * a watched search remembers the newest event timestamp it saw; outcomes go back as tags and sightings.
 */

/** Events as the document the MISP intake reads. */
export function mispDocument(events: readonly MispEvent[]): string {
  return JSON.stringify({ response: events.map((Event) => ({ Event })) });
}

/** What was read, for the campaign's source record (the base URL, never the key). */
export function mispOrigin(url: string, what: string): FeedOrigin {
  return { kind: 'misp', url: url.replace(/\/+$/, ''), what: what.slice(0, 500) };
}

/** The filters of a search as people write them: `tags=tlp:green,acs type=url last=7d`, or a JSON object. */
export function parseMispSearch(text: string): Record<string, unknown> {
  const trimmed = text.trim();
  if (trimmed.startsWith('{')) return JSON.parse(trimmed) as Record<string, unknown>;
  const filters: Record<string, unknown> = {};
  for (const part of trimmed.split(/\s+/).filter(Boolean)) {
    const eq = part.indexOf('=');
    const key = eq > 0 ? part.slice(0, eq) : 'tags';
    const value = eq > 0 ? part.slice(eq + 1) : part;
    // lists: tags and types are matched as any of them
    filters[key] = ['tags', 'type', 'category', 'org', 'eventid', 'uuid'].includes(key) ? value.split(',').filter(Boolean) : /^(true|false)$/.test(value) ? value === 'true' : value;
  }
  return filters;
}

/** A watched MISP search: each read asks for the events changed since the newest one seen before. */
export function mispFeed(client: MispClient, options: { name: string; url: string; filters: MispFilters; pageSize?: number }): FeedReader {
  return {
    name: options.name,
    origin: mispOrigin(options.url, `search ${JSON.stringify(options.filters)}`),
    async read(position): Promise<FeedBatch> {
      const since = position ? Number(position) : undefined;
      // MISP's timestamp filter matches events edited at or after it
      const events = await client.searchAll({ ...options.filters, ...(since !== undefined ? { timestamp: String(since + 1) } : {}) }, { pageSize: options.pageSize ?? 50 });
      const newest = events.reduce((max, e) => Math.max(max, Number(e.timestamp ?? 0)), since ?? 0);
      return {
        content: mispDocument(events),
        format: 'misp',
        items: events.length,
        ...(newest > 0 ? { position: String(newest) } : {}),
        sourceName: `misp:${client.server} ${options.name}`,
      };
    },
  };
}

/** A MISP instance as the place a campaign's outcome is written back to. */
export function mispOutcomeTarget(client: MispClient): OutcomeTarget {
  return {
    name: client.server,
    attachTag: (uuid, tag) => client.attachTag(uuid, tag),
    removeTag: (uuid, tag) => client.removeTag(uuid, tag),
    // MISP's sighting type 2, "expiration": the indicator stopped being live, from this orchestrator's probes
    addExpirationSighting: (uuid, at) => client.addSighting(uuid, { type: SIGHTING_TYPE.expiration, source: 'takedown', timestamp: at }),
  };
}
