import { afterEach, describe, expect, it } from 'vitest';
import { MispClient } from '../../lib/adapters/misp/client.js';
import { mispFeed, parseMispSearch } from '../../lib/adapters/misp/source.js';
import { FeedHttpError } from '../../lib/adapters/feeds/http-json.js';
import { parseIndicators } from '../../lib/core/intake/index.js';
import { standinCa, startMispStandin, type MispStandin } from '../support/misp-standin.js';

/*
 * The MISP client against the MISP stand-in (recorded MISP answers, every request checked): events by number and
 * UUID, a paged restSearch, tags and sightings, the refusals MISP gives, and TLS verified by default.
 */

const EVENT = 'c0a8e2d4-7b1f-4e55-9a63-2f4e8d1b1337';
const DOMAIN_ATTRIBUTE = 'a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4101';
let standin: MispStandin | undefined;

afterEach(async () => {
  if (standin) expect(standin.violations).toEqual([]);
  await standin?.close();
  standin = undefined;
});

describe('the MISP client', () => {
  it('reads an event by number or UUID with the key as the whole Authorization header', async () => {
    standin = await startMispStandin();
    const client = new MispClient({ url: standin.url, key: standin.key });
    const byId = await client.getEvent('1337');
    const byUuid = await client.getEvent(EVENT);
    expect(byId.uuid).toBe(EVENT);
    expect(byUuid.info).toBe(byId.info);
    expect(standin.requests.map((r) => `${r.method} ${r.path}`)).toEqual([`GET /events/view/1337`, `GET /events/view/${EVENT}`]);
    for (const r of standin.requests) expect(r.headers).toMatchObject({ authorization: standin.key, accept: 'application/json' });
  });

  it('feeds a fetched event to the MISP intake with its TLP and to_ids rules', async () => {
    standin = await startMispStandin();
    const event = await new MispClient({ url: standin.url, key: standin.key }).getEvent('1337');
    const read = parseIndicators(JSON.stringify({ Event: event }), { format: 'misp' });
    expect(read.indicators.map((i) => [i.value, i.tlp])).toEqual([
      ['phish-login.example', 'GREEN'],
      ['198.51.100.23', 'GREEN'],
      ['203.0.113.9', 'RED'],
    ]);
    expect(read.indicators[1]!.firstSeen).toBe('2026-11-18T06:12:00.000Z');
    expect(read.excluded).toEqual([expect.objectContaining({ where: 'attribute a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4103', kind: 'not-for-detection' })]);
  });

  it('pages a restSearch until a short page, sending the filters with returnFormat, page and limit', async () => {
    standin = await startMispStandin({ events: ['event-1337.json', 'event-1338.json', 'event-1339.json'] });
    const client = new MispClient({ url: standin.url, key: standin.key });
    const pages: number[] = [];
    const events = await client.searchAll({ tags: ['operation:africa-cyber-surge'], published: true }, { pageSize: 2, onPage: (page) => pages.push(page) });
    expect(events.map((e) => e.id)).toEqual(['1337', '1338', '1339']);
    expect(pages).toEqual([1, 2]);
    expect(standin.requests.map((r) => r.body)).toEqual([
      { returnFormat: 'json', tags: ['operation:africa-cyber-surge'], published: true, page: 1, limit: 2 },
      { returnFormat: 'json', tags: ['operation:africa-cyber-surge'], published: true, page: 2, limit: 2 },
    ]);
  });

  it('reads the search filters people write', () => {
    expect(parseMispSearch('tags=tlp:green,operation:acs type=url last=7d published=true')).toEqual({ tags: ['tlp:green', 'operation:acs'], type: ['url'], last: '7d', published: true });
    expect(parseMispSearch('{"eventid": ["1337"]}')).toEqual({ eventid: ['1337'] });
  });

  it('names MISP\'s refusal of an unknown event, and of a wrong key without repeating the key', async () => {
    standin = await startMispStandin();
    await expect(new MispClient({ url: standin.url, key: standin.key }).getEvent('9999')).rejects.toThrow(/GET 127\.0\.0\.1:\d+\/events\/view\/9999 answered 404: Invalid event/);
    const wrong = 'Wr0ngKeyWr0ngKeyWr0ngKeyWr0ngKeyWr0ngKey';
    const refused = await new MispClient({ url: standin.url, key: wrong }).getEvent('1337').catch((e: unknown) => e as FeedHttpError);
    expect(refused).toBeInstanceOf(FeedHttpError);
    expect(refused.status).toBe(403);
    expect(refused.message).toMatch(/Authentication failed.*check the credentials/);
    expect(refused.message).not.toContain(wrong);
  });

  it('attaches and removes tags and adds an expiration sighting, and reports a tag MISP would not create', async () => {
    standin = await startMispStandin();
    const client = new MispClient({ url: standin.url, key: standin.key });
    await client.attachTag(DOMAIN_ATTRIBUTE, 'takedown:state="notified"');
    await client.attachTag(DOMAIN_ATTRIBUTE, 'takedown:state="notified"');
    expect(standin.tagsOf(DOMAIN_ATTRIBUTE)).toEqual(['takedown:state="notified"']);
    await client.removeTag(DOMAIN_ATTRIBUTE, 'takedown:state="notified"');
    // removing what is not there is what a retried sync does: not an error
    await client.removeTag(DOMAIN_ATTRIBUTE, 'takedown:state="notified"');
    expect(standin.tagsOf(DOMAIN_ATTRIBUTE)).toEqual([]);
    await client.addSighting(DOMAIN_ATTRIBUTE, { type: '2', source: 'takedown', timestamp: '2026-11-22T10:00:00.000Z' });
    expect(standin.sightings).toEqual([expect.objectContaining({ type: '2', source: 'takedown', attribute_uuid: DOMAIN_ATTRIBUTE, date_sighting: '1795341600' })]);
    await standin.close();

    standin = await startMispStandin({ tagEditor: false });
    const limited = new MispClient({ url: standin.url, key: standin.key });
    await expect(limited.attachTag(DOMAIN_ATTRIBUTE, 'takedown:state="new"')).rejects.toThrow(/answered 403: Could not attachTagToObject Tag.*insufficient privileges/);
  });

  it('remembers the newest event it saw and asks only for what changed after it', async () => {
    standin = await startMispStandin({ events: ['event-1337.json', 'event-1338.json'] });
    const feed = mispFeed(new MispClient({ url: standin.url, key: standin.key }), { name: 'vendor', url: standin.url, filters: { tags: ['operation:africa-cyber-surge'] } });
    const first = await feed.read(undefined);
    expect(first.items).toBe(2);
    const second = await feed.read(first.position);
    expect(second).toMatchObject({ items: 0, position: first.position });
    standin.addEvent('event-1339.json');
    const third = await feed.read(second.position);
    expect(third.items).toBe(1);
    expect(standin.requests.at(-1)!.body).toMatchObject({ timestamp: String(Number(first.position) + 1) });
  });
});

describe('TLS to MISP', () => {
  it('is verified by default: a certificate nobody vouches for is refused, and accepted once its CA is given', async () => {
    standin = await startMispStandin({ tls: true });
    const refused = new MispClient({ url: standin.url, key: standin.key }).getEvent('1337');
    await expect(refused).rejects.toThrow(/certificate is not trusted/);
    const event = await new MispClient({ url: standin.url, key: standin.key, ca: standinCa() }).getEvent('1337');
    expect(event.uuid).toBe(EVENT);
    expect(standin.url).toMatch(/^https:/);
  });
});
