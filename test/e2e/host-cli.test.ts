import { afterAll, describe, expect, it } from 'vitest';
import { api, killAllHosts, makeDataDir, removeDataDirs, runCli, startServe, waitFor, type ServedHost } from './support.js';
import type { Campaign } from '../../lib/core/model.js';

/*
 * Working with a running host as a new user does: `takedown run` while `takedown serve` runs goes through the
 * host instead of refusing; the address serve prints leads to the dashboard (not a JSON 401); serve prints a
 * one-time sign-in link; the sign-in page's hint names the data directory the key must be made in.
 */

afterAll(async () => {
  await killAllHosts();
  removeDataDirs();
});

async function served(): Promise<ServedHost> {
  const host = await startServe({ dataDir: makeDataDir(), timeScale: 1 });
  // the summary is printed once the host listens, a moment after it publishes its address
  await waitFor(async () => /data:\s+\//.test(host.stdout()), 15_000, 'the start summary');
  return host;
}

describe('a running host', () => {
  it('prints a one-time sign-in link that opens the dashboard once', async () => {
    const host = await served();
    const link = /dashboard:\s+(http\S+\/ui\/login\/\S+)/.exec(host.stdout())?.[1];
    expect(link, host.stdout()).toBeDefined();
    const first = await fetch(link!, { redirect: 'manual' });
    expect([first.status, first.headers.get('location')]).toEqual([303, '/ui']);
    const cookie = first.headers.get('set-cookie')!.split(';')[0]!;
    const page = await fetch(`${host.httpUrl}/ui`, { headers: { cookie } });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('(local CLI)');
    const again = await fetch(link!, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toContain('used already or has expired');
  }, 60_000);

  it('sends a browser opening its address to the dashboard, whose sign-in page names the data directory', async () => {
    const host = await served();
    const root = await fetch(`${host.httpUrl}/`, { redirect: 'manual' });
    expect([root.status, root.headers.get('location')]).toEqual([302, '/ui']);
    const login = await fetch(`${host.httpUrl}/ui`);
    expect(login.status).toBe(401);
    expect(await login.text()).toContain(`takedown keys create --role coordinator --name &lt;you&gt; --data-dir ${host.dataDir}`);
  }, 60_000);

  it('takes a whole `takedown run` through its API instead of refusing it', async () => {
    const host = await served();
    const res = await runCli(['run', 'examples/campaign.csv', '--yes', '--submitter', 'Operation lead', '--data-dir', host.dataDir]);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stderr).toContain(`serves ${host.dataDir}: submitting through its API`);
    expect(res.stdout).toMatch(/counts:\s+28 indicators → 28 cases → 11 notices/);
    const campaigns = await api<{ campaigns: Campaign[] }>(host, '/campaigns');
    const [c] = campaigns.body.campaigns;
    expect(c).toMatchObject({ submitter: expect.stringMatching(/\(local CLI\)$/), onBehalfOf: 'Operation lead', state: 'running' });
  }, 120_000);
});
