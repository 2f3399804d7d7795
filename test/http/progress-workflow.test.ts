import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/core/campaign/index.js';
import type { PartyResolver } from '../../lib/core/ports.js';
import { startHost, type Host } from '../../lib/local/host.js';
import { stubResolver } from '../support/mail-dns.js';
import { api, submit, waitFor } from '../workflows/support.js';

/*
 * A campaign's progress tells a waiting client when the workflow that should move it on has failed: `takedown run`
 * through a running host polled a campaign stuck in routing for ever. A real failure: the host's party resolver
 * throws an error no retry covers, so the routing step fails and its execution with it. The answer's advice, that
 * a restart of the host runs the workflow again, is checked too, and so is the sweeper's (AWS's) recovery of it.
 */

let dataDir: string | undefined;
let host: Host | undefined;

afterEach(async () => {
  await host?.close();
  host = undefined;
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  dataDir = undefined;
});

type Parties = (real: PartyResolver) => PartyResolver;

/** A host on the test's data directory, its party resolver wrapped by `parties` when given. */
async function start(parties?: Parties, sweepEveryMs?: number): Promise<Host> {
  host = await startHost(
    { dataDir: dataDir!, timeScale: 1000, httpPort: 0, smtpPort: 0, logLevel: 'silent', probes: 'off' },
    { listen: true, mailAuthResolver: stubResolver({}), ...(parties ? { decorate: { parties } } : {}), ...(sweepEveryMs ? { sweepEveryMs } : {}) },
  );
  return host;
}

/** An error no Retry of the workflow covers: the routing step fails, and its execution with it. */
const failing: Parties = () => ({ resolve: async () => Promise.reject(new Error('the directory could not be read')) });

type Progress = { campaign: { id: string; state: string }; notices: { out: number; total: number }; workflow?: string };

describe('GET /campaigns/:id/progress', () => {
  it("says the campaign's workflow failed while routing, and a restart of the host runs it again", async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'takedown-progress-'));
    const broken = await start(failing);
    const campaignId = await submit(broken, ['203.0.113.7,ip,ZA,C2'], true);
    const failed = await waitFor('the failed workflow', async () => {
      const p = await api<Progress>(broken, 'GET', `/campaigns/${campaignId}/progress`);
      return p.body.workflow === 'failed' ? p.body : undefined;
    });
    expect(failed).toStrictEqual({ campaign: { id: campaignId, state: 'routing' }, notices: { out: 0, total: 0 }, workflow: 'failed' });

    await broken.close();
    const restarted = await start();
    const planned = await waitFor('the plan after the restart', async () => {
      const p = await api<Progress>(restarted, 'GET', `/campaigns/${campaignId}/progress`);
      return p.body.campaign.state === 'awaiting-approval' ? p.body : undefined;
    });
    // a plan waiting for approval is a person's move, not the workflow's: nothing is said of it
    expect(planned).toStrictEqual({ campaign: { id: campaignId, state: 'awaiting-approval' }, notices: { out: 0, total: 1 } });
  }, 30_000);

  it('says the workflow runs while a campaign routes', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'takedown-progress-'));
    // a resolver that holds the routing step until the test has looked
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const routing = await start((real) => ({ resolve: async (i) => (await held, real.resolve(i)) }));
    const campaignId = await submit(routing, ['203.0.113.7,ip,ZA,C2'], true);
    try {
      const progress = await api<Progress>(routing, 'GET', `/campaigns/${campaignId}/progress`);
      expect(progress.body).toMatchObject({ campaign: { state: 'routing' }, workflow: 'running' });
    } finally {
      // a held step would hold the host's close too
      release();
    }
    await waitFor('the plan', async () => (await api<Progress>(routing, 'GET', `/campaigns/${campaignId}/progress`)).body.campaign.state === 'awaiting-approval');
  }, 30_000);

  it('the sweep starts a failed campaign workflow again as its next round, and the progress follows that round', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'takedown-progress-'));
    // the directory unreadable until the outage is over: longer than the routing step's retries
    let outage = true;
    // then held, until the test has looked at the next round routing
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const host = await start((real) => ({ resolve: async (i) => (outage ? Promise.reject(new Error('the directory could not be read')) : (await held, real.resolve(i))) }));
    const campaignId = await submit(host, ['203.0.113.7,ip,ZA,C2'], true);
    await waitFor('the failed workflow', async () => (await api<Progress>(host, 'GET', `/campaigns/${campaignId}/progress`)).body.workflow === 'failed');

    outage = false;
    try {
      expect(await sweep(host.deps)).toMatchObject({ campaigns: 1 });
      // the progress asks about the round that runs, not the one that failed
      const routing = await waitFor('the next round routing', async () => (await host.deps.store.getCampaign(campaignId))?.round === 2);
      expect(routing).toBe(true);
      expect((await api<Progress>(host, 'GET', `/campaigns/${campaignId}/progress`)).body).toMatchObject({ campaign: { state: 'routing' }, workflow: 'running' });
    } finally {
      release();
    }
    const planned = await waitFor('the plan of the next round', async () => {
      const p = await api<Progress>(host, 'GET', `/campaigns/${campaignId}/progress`);
      return p.body.campaign.state === 'awaiting-approval' ? p.body : undefined;
    });
    expect(planned).toStrictEqual({ campaign: { id: campaignId, state: 'awaiting-approval' }, notices: { out: 0, total: 1 } });
    expect((await host.deps.store.getCampaign(campaignId))!.round).toBe(2);
    expect(host.workflows.list().filter((e) => e.name.startsWith(`campaign-${campaignId}-`)).map((e) => [e.name, e.status])).toEqual([
      [`campaign-${campaignId}-r1`, 'failed'],
      [`campaign-${campaignId}-r2`, 'running'],
    ]);
    // the next round runs, waiting for approval: nothing more to start
    expect(await sweep(host.deps)).toMatchObject({ campaigns: 0 });

    // a restart starts the round the campaign is at
    await host.close();
    const restarted = await start();
    expect(restarted.workflows.list().filter((e) => e.name.startsWith(`campaign-${campaignId}-`)).map((e) => e.name)).toEqual([`campaign-${campaignId}-r2`]);
  }, 30_000);

  it('a running host sweeps on its own: a campaign whose workflow failed through an outage is planned once the outage ends', async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'takedown-progress-'));
    let outage = true;
    const host = await start((real) => ({ resolve: async (i) => (outage ? Promise.reject(new Error('the directory could not be read')) : real.resolve(i)) }), 100);
    const campaignId = await submit(host, ['203.0.113.7,ip,ZA,C2'], true);
    const executions = () => host.workflows.list().filter((e) => e.name.startsWith(`campaign-${campaignId}-`));
    // every sweep during the outage starts the next round, which fails too
    await waitFor('a second failed round', () => executions().filter((e) => e.status === 'failed').length >= 2);

    outage = false;
    await waitFor('the plan', async () => (await api<Progress>(host, 'GET', `/campaigns/${campaignId}/progress`)).body.campaign.state === 'awaiting-approval');
    const rounds = executions().map((e) => e.status);
    expect(rounds.slice(0, -1).every((status) => status === 'failed')).toBe(true);
    expect(rounds.at(-1)).toBe('running');
    const campaign = (await host.deps.store.getCampaign(campaignId))!;
    expect(campaign.round).toBe(rounds.length);
    const restarted = (await host.deps.store.listEvents({ campaignId })).filter((e) => e.type === 'campaign.restarted');
    expect(restarted.map((e) => [e.actor, e.data.round])).toEqual(rounds.slice(1).map((_, k) => ['sweeper', k + 2]));
  }, 30_000);
});
