import { afterEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../lib/core/errors.js';
import { parseIndicators } from '../../lib/core/intake/index.js';
import { FeedHttpError } from '../../lib/adapters/feeds/http-json.js';
import { stixBundle, TAXII_MEDIA_TYPE, TaxiiClient, taxiiFeed } from '../../lib/adapters/taxii/client.js';
import { standinCa } from '../support/misp-standin.js';
import { startTaxiiStandin, TAXII_COLLECTION, TAXII_UNREADABLE, type TaxiiStandin } from '../support/taxii-standin.js';

/*
 * The TAXII 2.1 client against a stand-in built from the specification's examples: discovery, the API root, its
 * collections, and a collection's objects paged with `next`, or with `added_after` when a server gives `more`
 * without `next`; Basic and bearer credentials; TLS verified by default. The objects go through the STIX intake.
 */

const BASIC = { user: 'analyst', password: 'correct horse battery staple' };
let standin: TaxiiStandin | undefined;

afterEach(async () => {
  if (standin) expect(standin.violations).toEqual([]);
  await standin?.close();
  standin = undefined;
});

describe('the TAXII 2.1 client', () => {
  it('finds the default API root from discovery, then reads every object of a collection page by page with next', async () => {
    standin = await startTaxiiStandin();
    const client = new TaxiiClient({ url: standin.url, auth: BASIC });
    const pages: number[] = [];
    const read = await client.readCollection(TAXII_COLLECTION, { pageSize: 3, onPage: (p) => pages.push(p) });
    expect(read.objects).toHaveLength(7);
    expect(new Set(read.objects.map((o) => o.id)).size).toBe(7);
    expect(read).toMatchObject({ pages: 3, addedLast: '2026-11-23T16:00:01.000Z' });
    expect(pages).toEqual([1, 2, 3]);
    const objectRequests = standin.requests.filter((r) => r.path.endsWith('/objects/'));
    expect(objectRequests.map((r) => r.query)).toEqual([{ limit: '3' }, { limit: '3', next: expect.any(String) }, { limit: '3', next: expect.any(String) }]);
    for (const r of standin.requests) expect(r.headers).toMatchObject({ accept: TAXII_MEDIA_TYPE, authorization: `Basic ${Buffer.from(`${BASIC.user}:${BASIC.password}`).toString('base64')}` });
    expect(standin.requests.map((r) => r.path).slice(0, 3)).toEqual(['/taxii2/', '/api2/', '/api2/collections/']);
  });

  it('pages with added_after from X-TAXII-Date-Added-Last when the server says more without next', async () => {
    standin = await startTaxiiStandin({ withoutNext: true });
    const read = await new TaxiiClient({ url: standin.apiRoot, auth: BASIC }).readCollection(TAXII_COLLECTION, { pageSize: 4 });
    expect(read.objects).toHaveLength(7);
    const queries = standin.requests.filter((r) => r.path.endsWith('/objects/')).map((r) => r.query);
    expect(queries).toEqual([{ limit: '4' }, { limit: '4', added_after: '2026-11-21T12:30:01.000Z' }]);
  });

  it('reads only what was added after a time, and says where the next read starts', async () => {
    standin = await startTaxiiStandin({ auth: { token: 'taxii-bearer-token-0123456789' } });
    const client = new TaxiiClient({ url: standin.url, auth: { token: 'taxii-bearer-token-0123456789' } });
    const feed = taxiiFeed(client, { name: 'vendor-taxii', url: standin.url, collection: TAXII_COLLECTION, addedAfter: '2026-11-22T00:00:00Z' });
    const first = await feed.read(undefined);
    expect(first).toMatchObject({ items: 3, format: 'stix', position: '2026-11-23T16:00:01.000Z' });
    expect(await feed.read(first.position)).toMatchObject({ items: 0, position: first.position });
    standin.addObject({ type: 'indicator', spec_version: '2.1', id: 'indicator--0d5c2e8a-2b6b-4f3e-9c6d-2a1b3c4d5e6f', created: '2026-11-24T10:00:00.000Z', modified: '2026-11-24T10:00:00.000Z', pattern: "[url:value = 'http://new-kit.test/']", pattern_type: 'stix', valid_from: '2026-11-24T10:00:00.000Z' }, '2026-11-24T10:00:00.000Z');
    expect(await feed.read(first.position)).toMatchObject({ items: 1, position: '2026-11-24T10:00:00.000Z' });
  });

  it('hands the STIX intake a bundle it reads with each indicator\'s TLP, leaving out what cannot be notified', async () => {
    standin = await startTaxiiStandin();
    const read = await new TaxiiClient({ url: standin.url, auth: BASIC }).readCollection(TAXII_COLLECTION);
    const intake = parseIndicators(stixBundle(read.objects), { format: 'stix', now: new Date('2026-12-01T00:00:00Z') });
    expect(intake.indicators.map((i) => [i.value, i.tlp])).toEqual([
      ['http://login-verify.example/account', 'GREEN'],
      ['203.0.113.45', 'GREEN'],
      ['panel.c2-relay.test', 'AMBER'],
      ['192.0.2.250', 'RED'],
    ]);
    expect(intake.excluded.map((e) => e.kind)).toEqual(['unsupported']);
  });

  it('refuses without credentials, names an unknown or unreadable collection, and checks the timestamp', async () => {
    standin = await startTaxiiStandin();
    await expect(new TaxiiClient({ url: standin.url }).readCollection(TAXII_COLLECTION)).rejects.toThrow(/answered 401: Authentication required.*check the credentials/);
    const client = new TaxiiClient({ url: standin.url, auth: BASIC });
    await expect(client.readCollection('00000000-0000-0000-0000-000000000000')).rejects.toBeInstanceOf(InvalidInputError);
    await expect(client.readCollection(TAXII_UNREADABLE)).rejects.toThrow(/cannot be read with these credentials/);
    await expect(client.readCollection(TAXII_COLLECTION, { addedAfter: 'yesterday' })).rejects.toThrow(/not a TAXII timestamp/);
  });
});

describe('TLS to TAXII', () => {
  it('is verified by default and trusts a private CA only when given', async () => {
    standin = await startTaxiiStandin({ tls: true });
    const refused = await new TaxiiClient({ url: standin.url, auth: BASIC }).apiRoot().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FeedHttpError);
    expect((refused as Error).message).toMatch(/certificate is not trusted/);
    const root = await new TaxiiClient({ url: standin.url, auth: BASIC, ca: standinCa() }).apiRoot();
    expect(root.pathname).toBe('/api2/');
  });
});
