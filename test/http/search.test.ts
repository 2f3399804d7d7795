import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Prober } from '../../lib/core/verify/index.js';
import type { Case, Notice } from '../../lib/core/model.js';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { runCli } from '../e2e/support.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * Finding anything a coordinator holds in hand (an indicator as written, defanged or not, an id, a tag, a
 * recipient, a party), and reading one case as a story: from the API, from `takedown find` and from `status`,
 * which used to answer "campaign not found" to all of it.
 */

let host: Host & { dispose(): Promise<void> };
let campaignId: string;
let notice: Notice;
let cases: Case[];

// the site is still up, whatever its party says
const liveProber: Prober = {
  async probe(request) {
    return { method: 'http', target: request.indicator.value, live: true, conclusive: true, verdict: 'live', detail: 'HTTP 200, the phishing page', at: new Date().toISOString(), attempts: 1, evidence: { status: 200 } };
  },
};

beforeAll(async () => {
  host = await testHost(1, { prober: liveProber });
  campaignId = await submit(host, ['192.0.2.77,ip,KE,C2 server', '192.0.2.78,ip,KE,C2 fallback']);
  notice = await waitFor('the notice', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
  cases = await listAll((p) => host.store.listCases({ noticeId: notice.id }, p));
});
afterAll(async () => host?.dispose());

interface Found {
  readAs: string;
  indicator?: string;
  campaigns: { id: string }[];
  notices: { id: string; tokenHash?: string }[];
  cases: { id: string; indicator: { value: string } }[];
}

describe('GET /search', () => {
  it('finds an indicator as it was written, defanged, and reads it as its canonical form', async () => {
    const res = await api<Found>(host, 'GET', `/search?q=${encodeURIComponent('192.0.2[.]77')}`);
    expect(res.status).toBe(200);
    expect([res.body.readAs, res.body.indicator]).toEqual(['indicator', '192.0.2.77']);
    expect(res.body.cases.map((c) => c.indicator.value)).toEqual(['192.0.2.77']);
    expect(res.body.campaigns.map((c) => c.id)).toEqual([campaignId]);
    expect(res.body.notices.map((n) => n.id)).toEqual([notice.id]);
    // what the API shows of a notice never includes its token's hash
    expect(res.body.notices[0]!.tokenHash).toBeUndefined();
  });

  it('finds a notice by its id or its tag, a case by its id, a campaign by its id', async () => {
    for (const q of [notice.id, notice.tag, `[${notice.tag}]`]) {
      const res = await api<Found>(host, 'GET', `/search?q=${encodeURIComponent(q)}`);
      expect([res.body.readAs, res.body.notices.map((n) => n.id), res.body.cases.length], q).toEqual(['notice', [notice.id], 2]);
    }
    expect((await api<Found>(host, 'GET', `/search?q=${cases[0]!.id}`)).body.cases.map((c) => c.id)).toEqual([cases[0]!.id]);
    expect((await api<Found>(host, 'GET', `/search?q=${campaignId}`)).body.campaigns.map((c) => c.id)).toEqual([campaignId]);
  });

  it('finds the notices of a recipient by its address, and of a party by a word of its name', async () => {
    expect((await api<Found>(host, 'GET', '/search?q=abuse%40hosting.example')).body.notices.map((n) => n.id)).toEqual([notice.id]);
    const byName = await api<Found>(host, 'GET', '/search?q=example%20hosting');
    expect([byName.body.readAs, byName.body.notices.map((n) => n.id)]).toEqual(['party', [notice.id]]);
    expect((await api<Found>(host, 'GET', '/search?q=nobody%20at%20all')).body.notices).toEqual([]);
  });

  it('refuses an empty search with 400', async () => {
    expect((await api(host, 'GET', '/search?q=')).status).toBe(400);
  });
});

describe('GET /cases/{id}', () => {
  it('tells the case as a story, and says when the party and the probe disagree', async () => {
    const target = cases[0]!;
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned', caseIds: [target.id], note: 'suspended' });
    const res = await waitFor('the probe to find it live', async () => {
      const r = await api<{ case: Case; story: { text: string; tone: string }[]; disagreement?: { values: Record<string, string> } }>(host, 'GET', `/cases/${target.id}`);
      return r.body.disagreement ? r : undefined;
    });
    expect(res.status).toBe(200);
    const texts = res.body.story.map((l) => l.text);
    expect(texts.some((t) => /^Notice sent to Example Hosting Ltd <abuse@hosting\.example>, 2 case\(s\); answer due \d{4}-\d\d-\d\d \d\d:\d\d UTC$/.test(t))).toBe(true);
    expect(texts.some((t) => t.startsWith('Taken down through the API'))).toBe(true);
    expect(texts.some((t) => t.startsWith('Probe (http): still live'))).toBe(true);
    expect(res.body.disagreement!.values).toMatchObject({ party: 'Example Hosting Ltd', detail: 'HTTP 200, the phishing page' });
    expect((await api(host, 'GET', '/cases/c0000000000000000')).status).toBe(404);
  });
});

describe('takedown find, and status with anything', () => {
  it('tells one case as its story, and lists what a tag or a party finds', async () => {
    const dir = ['--data-dir', host.files.dataDir];
    const story = await runCli(['find', '192.0.2[.]78', ...dir]);
    expect(story.code, story.stderr).toBe(0);
    expect(story.stdout).toMatch(/indicator:\s+192\.0\.2\.78 \(ipv4\)/);
    expect(story.stdout).toContain('what happened:');
    expect(story.stdout).toContain('Notice sent to Example Hosting Ltd <abuse@hosting.example>');

    for (const args of [['status', '192.0.2.77'], ['status', notice.id], ['status', cases[1]!.id]]) {
      const res = await runCli([...args, ...dir]);
      expect(res.code, `${args.join(' ')}: ${res.stderr}`).toBe(0);
      expect(res.stdout, args.join(' ')).not.toContain('not found');
    }
    const tag = await runCli(['find', notice.tag, ...dir]);
    expect(tag.stdout).toContain('read as a notice id or tag');
    expect(tag.stdout).toContain(cases[0]!.id);
    const nothing = await runCli(['find', '203.0.113.250', ...dir]);
    expect(nothing.code).toBe(1);
    expect(nothing.stdout).toContain('nothing found');
  });
});
