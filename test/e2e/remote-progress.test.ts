import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { remoteProgress, waitOnHost, type CampaignProgress } from '../../lib/local/cli/campaign.js';
import { localKeyFile } from '../../lib/local/keys.js';

/*
 * `takedown run` while a host serves the data directory polls the host's progress on the campaign. A host of an
 * earlier version has no progress route: the command then counts from the whole campaign, as it did before,
 * rather than fail after the campaign was taken. Both hosts are stand-ins on loopback answering as the API does.
 */

const KEY = `tkd_${'A'.repeat(43)}`;
const CAMPAIGN = 'cmp_0123456789abcdef';
let server: Server | undefined;
let dataDir: string | undefined;

afterEach(async () => {
  await new Promise<void>((done) => (server ? server.close(() => done()) : done()));
  server = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

/** A host answering the routes given (path -> status and body); every request is recorded with its key. */
async function host(routes: Record<string, [number, unknown]>): Promise<{ base: string; asked: string[] }> {
  const asked: string[] = [];
  server = createServer((req, res) => {
    asked.push(`${req.url} ${req.headers.authorization === `Bearer ${KEY}` ? 'key' : 'no key'}`);
    const [status, body] = routes[req.url ?? ''] ?? [404, { error: { code: 'NOT_FOUND', message: 'no such route' } }];
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  });
  await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', () => listening()));
  dataDir = mkdtempSync(join(tmpdir(), 'takedown-remote-'));
  writeFileSync(localKeyFile(dataDir), KEY);
  return { base: `http://127.0.0.1:${(server!.address() as AddressInfo).port}`, asked };
}

const view = {
  campaign: { id: CAMPAIGN, state: 'sending' },
  counts: {},
  notices: [{ state: 'planned' }, { state: 'sent' }, { state: 'closed' }, { state: 'uncertain' }],
};

describe('remoteProgress', () => {
  it("reads a host's progress route, and never the whole campaign", async () => {
    const { base, asked } = await host({
      [`/campaigns/${CAMPAIGN}/progress`]: [200, { campaign: { id: CAMPAIGN, state: 'sending' }, notices: { out: 5, total: 9 } }],
      [`/campaigns/${CAMPAIGN}`]: [200, view],
    });
    const poll = remoteProgress(base, CAMPAIGN, dataDir!);
    expect(await poll()).toStrictEqual({ campaign: { id: CAMPAIGN, state: 'sending' }, notices: { out: 5, total: 9 } });
    await poll();
    expect(asked).toStrictEqual([`/campaigns/${CAMPAIGN}/progress key`, `/campaigns/${CAMPAIGN}/progress key`]);
  });

  it('counts from the whole campaign on a host without the route, and asks for the route only once', async () => {
    const { base, asked } = await host({ [`/campaigns/${CAMPAIGN}`]: [200, view] });
    const poll = remoteProgress(base, CAMPAIGN, dataDir!);
    // out: sent and closed; planned and uncertain are still to go
    expect(await poll()).toStrictEqual({ campaign: view.campaign, notices: { out: 2, total: 4 } });
    expect(await poll()).toStrictEqual({ campaign: view.campaign, notices: { out: 2, total: 4 } });
    expect(asked).toStrictEqual([`/campaigns/${CAMPAIGN}/progress key`, `/campaigns/${CAMPAIGN} key`, `/campaigns/${CAMPAIGN} key`]);
  });

  it("fails with the host's own message when it refuses for another reason", async () => {
    const { base } = await host({ [`/campaigns/${CAMPAIGN}/progress`]: [401, { error: { code: 'AUTH.INVALID', message: 'the key is not valid' } }] });
    await expect(remoteProgress(base, CAMPAIGN, dataDir!)()).rejects.toThrow('the host answered 401: the key is not valid');
  });
});

describe('waitOnHost', () => {
  it("stops waiting, with what to do, when the host says the campaign's workflow failed", async () => {
    const { base, asked } = await host({
      [`/campaigns/${CAMPAIGN}/progress`]: [200, { campaign: { id: CAMPAIGN, state: 'routing' }, notices: { out: 0, total: 0 }, workflow: 'failed' }],
    });
    const wait = waitOnHost(remoteProgress(base, CAMPAIGN, dataDir!), (p) => p.campaign.state !== 'routing', 10);
    await expect(wait).rejects.toThrow(`the host's workflow for campaign ${CAMPAIGN} failed while it was routing: the host's log says why. The campaign is kept: the host's sweep starts its workflow again (within 15 minutes; later if it keeps failing); \`takedown status ${CAMPAIGN}\` follows it`);
    expect(asked).toHaveLength(1);
  });

  it('waits on while the workflow runs, and returns the progress that ends the wait', async () => {
    let polls = 0;
    const answers = [
      { campaign: { id: CAMPAIGN, state: 'sending' }, notices: { out: 1, total: 3 }, workflow: 'running' },
      // a host from before the workflow was told says nothing of it
      { campaign: { id: CAMPAIGN, state: 'sending' }, notices: { out: 2, total: 3 } },
      { campaign: { id: CAMPAIGN, state: 'running' }, notices: { out: 3, total: 3 } },
    ];
    const seen: number[] = [];
    const done = await waitOnHost(
      async () => answers[Math.min(polls++, answers.length - 1)] as CampaignProgress,
      (p) => p.campaign.state === 'running' && p.notices.out === p.notices.total,
      1,
      (p) => seen.push(p.notices.out),
    );
    expect(done).toStrictEqual(answers[2]);
    expect(seen).toStrictEqual([1, 2, 3]);
  });
});
