import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { campaignOrigin } from '../../lib/core/feeds/index.js';
import { InvalidInputError } from '../../lib/core/errors.js';
import { feedPollHandler, FeedPollError } from '../../lib/adapters/feeds/scheduler-handler.js';
import { startHost, type Host } from '../../lib/local/host.js';
import { loadFeeds } from '../../lib/local/watch.js';
import { startMispStandin, type MispStandin } from '../support/misp-standin.js';
import { startTaxiiStandin, TAXII_COLLECTION, type TaxiiStandin } from '../support/taxii-standin.js';
import { waitFor } from './support.js';

/*
 * Watching feeds on the shipped workflows: a MISP search (not trusted: its campaigns wait for approval) and a TAXII
 * collection (trusted: sent at once), polled through the handler an EventBridge Scheduler invokes on AWS, over a
 * host that is stopped and started again on the same data directory in between.
 */

const ENV = { TAKEDOWN_MISP_KEY: '', TAKEDOWN_TAXII_PASSWORD: 'correct horse battery staple' };
let misp: MispStandin;
let taxii: TaxiiStandin;
let dir: string;
let feedsFile: string;

beforeAll(async () => {
  misp = await startMispStandin({ events: ['event-1337.json', 'event-1338.json'] });
  taxii = await startTaxiiStandin();
  ENV.TAKEDOWN_MISP_KEY = misp.key;
  dir = mkdtempSync(join(tmpdir(), 'takedown-watch-'));
  feedsFile = join(dir, 'feeds.yaml');
  writeFileSync(
    feedsFile,
    [
      'interval: 60',
      'submitter: feed-watch',
      'feeds:',
      '  - name: vendor-misp',
      '    misp:',
      `      url: ${misp.url}`,
      '      search: tags=operation:africa-cyber-surge published=true',
      '  - name: partner-taxii',
      '    trusted: true',
      '    allowAmber: partner MoU 2026-03',
      '    taxii:',
      `      url: ${taxii.url}`,
      `      collection: ${TAXII_COLLECTION}`,
      '      addedAfter: 2026-11-23T00:00:00Z',
      '      user: analyst',
      '',
    ].join('\n'),
  );
});

afterAll(async () => {
  await misp?.close();
  await taxii?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function host(): Promise<Host> {
  return startHost({ dataDir: join(dir, 'data'), httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off' }, { listen: false });
}

describe('the watch', () => {
  it('makes a campaign of what is new, waits for approval unless the feed is trusted, and goes on after a restart', async () => {
    const { feeds } = loadFeeds(feedsFile, ENV);
    let h = await host();
    const poll = feedPollHandler({ deps: () => h.deps, feeds: () => feeds });

    const first = await poll({});
    const [vendor, partner] = first.results;
    expect(vendor).toMatchObject({ feed: 'vendor-misp', items: 2, campaign: { requireApproval: true } });
    expect(partner).toMatchObject({ feed: 'partner-taxii', items: 2, campaign: { requireApproval: false } });
    await waitFor('the MISP campaign waiting for approval', async () => (await h.store.getCampaign(vendor!.campaign!.id))?.state === 'awaiting-approval' || undefined);
    await waitFor('the trusted feed\'s notices sent', async () => (await h.store.getCampaign(partner!.campaign!.id))?.state === 'running' || undefined);
    expect(await campaignOrigin(h.deps, vendor!.campaign!.id)).toEqual({ kind: 'misp', url: misp.url, what: expect.stringContaining('operation:africa-cyber-surge') });

    // nothing new: no campaign, and each feed asked only for what came after its position
    const second = await poll({});
    expect(second.results.map((r) => [r.feed, r.items, r.campaign])).toEqual([
      ['vendor-misp', 0, undefined],
      ['partner-taxii', 0, undefined],
    ]);
    expect(taxii.requests.at(-1)!.query).toEqual({ added_after: '2026-11-23T16:00:01.000Z' });

    await h.close();
    misp.addEvent('event-1339.json');
    // a new object whose indicator a campaign of the trusted feed already handles
    taxii.addObject({ type: 'indicator', spec_version: '2.1', id: 'indicator--5e0c1f6a-7b2d-4c3e-8f9a-0b1c2d3e4f50', created: '2026-11-25T08:00:00.000Z', modified: '2026-11-25T08:00:00.000Z', pattern: "[domain-name:value = 'panel.c2-relay.test']", pattern_type: 'stix', valid_from: '2026-11-25T08:00:00.000Z' }, '2026-11-25T08:00:00.000Z');
    h = await host();
    try {
      const third = await poll({ feed: 'vendor-misp' });
      expect(third.results).toEqual([expect.objectContaining({ feed: 'vendor-misp', items: 1, campaign: expect.objectContaining({ indicators: 1 }) })]);
      const mispSearch = misp.requests.filter((r) => r.path === '/events/restSearch').at(-1)!;
      expect(mispSearch.body).toMatchObject({ timestamp: String(1795257000 + 1) });

      const fourth = await poll({ feed: 'partner-taxii' });
      expect(fourth.results[0]).toMatchObject({ items: 1, alreadyOpen: 1, reason: expect.stringContaining('already handled') });
      expect(fourth.results[0]!.campaign).toBeUndefined();
      expect((await poll({ feed: 'partner-taxii' })).results[0]!.items).toBe(0);
    } finally {
      await h.close();
    }
    expect(misp.violations).toEqual([]);
    expect(taxii.violations).toEqual([]);
  });

  it('refuses an unknown feed and a schedule input it does not know, and fails the invocation when a feed fails', async () => {
    const { feeds } = loadFeeds(feedsFile, ENV);
    const h = await host();
    try {
      const poll = feedPollHandler({ deps: () => h.deps, feeds: () => feeds });
      await expect(poll({ feed: 'nope' })).rejects.toBeInstanceOf(InvalidInputError);
      await expect(poll({ feed: 42 })).rejects.toBeInstanceOf(InvalidInputError);
      const broken = loadFeeds(feedsFile, { ...ENV, TAKEDOWN_TAXII_PASSWORD: 'wrong' }).feeds;
      const failing = feedPollHandler({ deps: () => h.deps, feeds: () => broken });
      const error: unknown = await failing({ feed: 'partner-taxii' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(FeedPollError);
      expect((error as FeedPollError).outcome.failed[0]!.error).toMatch(/answered 401/);
    } finally {
      await h.close();
    }
  });

  it('refuses a feeds file that names no credentials it can find, before polling anything', () => {
    expect(() => loadFeeds(feedsFile, { TAKEDOWN_MISP_KEY: misp.key })).toThrow(/credentials are missing/);
  });
});
