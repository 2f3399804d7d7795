import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCampaignOrigin, syncOutcomes } from '../../lib/core/feeds/index.js';
import { submitCampaign } from '../../lib/core/campaign/index.js';
import { listAll } from '../../lib/core/paging.js';
import { createProber } from '../../lib/adapters/probe/prober.js';
import { MispClient } from '../../lib/adapters/misp/client.js';
import { mispOutcomeTarget } from '../../lib/adapters/misp/source.js';
import { readRemoteSource } from '../../lib/local/cli/shared/sources.js';
import type { Host } from '../../lib/local/host.js';
import { startDnsStub, type DnsStub } from '../support/dns-stub.js';
import { startMispStandin, type MispStandin } from '../support/misp-standin.js';
import { api, testHost, waitFor } from './support.js';

/*
 * The MISP round trip on the shipped workflows: an event is read from the MISP stand-in as `takedown run
 * --from-misp` reads it, its indicators go through the MISP intake (TLP, to_ids) and out as notices; the
 * registrar answers "taken down", the probe finds the name gone (the DNS stub says NXDOMAIN), the case is
 * verified down; and the host, configured to sync with that MISP, writes the outcome back as it happens: state and
 * "notified" tags on each source attribute and an expiration sighting, all checked on the stand-in.
 */

const ATTR = {
  domain: 'a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4101',
  ip: 'a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4102',
  link: 'a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4103',
  red: 'a1f4c2e0-6d3b-4b8e-9f21-7c5d3e2a4104',
};

let standin: MispStandin;
let dns: DnsStub;
let host: Host & { dispose(): Promise<void> };

beforeAll(async () => {
  standin = await startMispStandin();
  // knows no name: every name probed is NXDOMAIN, i.e. taken down
  dns = await startDnsStub({});
  const prober = createProber({ dnsServers: [dns.server], timeoutMs: 2000, retries: 0, perHostIntervalMs: 0 });
  host = await testHost(60, { prober, config: { misp: { url: standin.url, key: standin.key, sync: 'auto' } } });
});

afterAll(async () => {
  await host?.dispose();
  await dns?.close();
  await standin?.close();
});

describe('a MISP event, taken down and reported back to MISP', () => {
  it('goes in through the MISP intake, out as notices, and back as tags and an expiration sighting', async () => {
    const remote = await readRemoteSource({ fromMisp: standin.url, event: ['1337'] }, { TAKEDOWN_MISP_KEY: standin.key });
    const submitted = await submitCampaign(host.deps, { name: remote.name, submitter: 'tester', content: remote.content, format: remote.format, sourceName: remote.sourceName, requireApproval: false });
    const campaignId = submitted.campaign.id;
    await recordCampaignOrigin(host.deps, campaignId, remote.origin);
    // the reference link is not for detection; the RED attribute is kept back by the TLP gate
    expect(submitted.excluded.map((e) => e.where)).toEqual([`attribute ${ATTR.link}`]);

    const notices = await waitFor('the notices out', async () => {
      const items = await listAll((p) => host.store.listNotices({ campaignId }, p));
      return items.length === 2 && items.every((n) => n.state === 'sent' && n.taskToken) && items;
    });
    expect(notices.map((n) => n.party.kind).sort()).toEqual(['hosting', 'registrar']);

    // notified: each attribute says so, and who was told
    await waitFor('the notified tags', () => standin.tagsOf(ATTR.domain).includes('takedown:notified="registrar"') || undefined);
    await waitFor('the withheld tag', () => standin.tagsOf(ATTR.red).includes('takedown:state="withheld"') || undefined);
    expect(standin.tagsOf(ATTR.ip).sort()).toEqual(['takedown:notified="hosting"', 'takedown:state="notified"']);

    const registrar = notices.find((n) => n.party.kind === 'registrar')!;
    await api(host, 'POST', `/notices/${registrar.id}/answers`, { intent: 'actioned', note: 'domain suspended' });
    const down = await waitFor('verified down', async () => {
      const cases = await listAll((p) => host.store.listCases({ campaignId }, p));
      const c = cases.find((k) => k.indicator.value === 'phish-login.example');
      return c?.state === 'verified-down' && c;
    });
    expect(down.probe).toMatchObject({ verdict: 'nxdomain', live: false });

    await waitFor('the expiration sighting', () => (standin.sightings.length === 1 ? true : undefined));
    await waitFor('the verified-down tag', () => standin.tagsOf(ATTR.domain).includes('takedown:state="verified-down"') || undefined);
    expect(standin.tagsOf(ATTR.domain).sort()).toEqual(['takedown:notified="registrar"', 'takedown:state="verified-down"']);
    expect(standin.sightings[0]).toMatchObject({ type: '2', source: 'takedown', attribute_uuid: ATTR.domain, date_sighting: String(Math.floor(Date.parse(down.verifiedDownAt!) / 1000)) });
    expect(standin.tagsOf(ATTR.ip)).not.toContain('takedown:state="verified-down"');
    expect(standin.tagsOf(ATTR.link)).toEqual([]);
    expect(standin.tagsOf(ATTR.red)).toEqual(['tlp:red', 'takedown:state="withheld"']);

    // every request carried the key, and nothing MISP would refuse was sent
    expect(standin.violations).toEqual([]);
    expect(standin.requests.every((r) => r.headers.authorization === standin.key)).toBe(true);
    // the audit trail says what was shared, with whom
    const shared = await waitFor('the sighting in the audit trail', async () => {
      const events = (await host.store.listEvents({ campaignId })).filter((e) => e.type === 'outcome.shared');
      return events.some((e) => e.data.sightings === 1) && events;
    });
    expect(shared.every((e) => e.actor === 'misp-sync' && e.data.target === new URL(standin.url).host)).toBe(true);

    // a sync with nothing new sends nothing
    const before = standin.requests.length;
    const again = await syncOutcomes(host.deps, campaignId, mispOutcomeTarget(new MispClient({ url: standin.url, key: standin.key })), { actor: 'tester' });
    expect(again).toMatchObject({ attributes: 3, changed: 0, failed: [] });
    expect(standin.requests.length).toBe(before);

    // two syncs at once (the host's and a coordinator's `misp sync`) send one sighting, not two
    const other = await startMispStandin({ key: standin.key });
    try {
      const target = () => mispOutcomeTarget(new MispClient({ url: other.url, key: other.key }));
      const [a, b] = await Promise.all([syncOutcomes(host.deps, campaignId, target(), { actor: 'a' }), syncOutcomes(host.deps, campaignId, target(), { actor: 'b' })]);
      expect(a.sightings + b.sightings).toBe(1);
      expect(other.sightings).toHaveLength(1);
      expect(other.violations).toEqual([]);
    } finally {
      await other.close();
    }
  });
});
