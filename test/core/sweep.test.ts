import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sweep } from '../../lib/core/campaign/index.js';
import { campaignHistory } from '../../lib/core/audit/index.js';
import type { ExecutionStatus, WorkflowName, Workflows } from '../../lib/core/ports.js';
import { VERIFYING } from '../../lib/core/verify/index.js';
import { UPLOAD_KIND } from '../../lib/core/campaign/upload.js';
import { RESTART_BACKOFF } from '../../lib/core/executions.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * The sweeper on a notice as the notice workflow leaves it (sent, waiting for an answer), its campaign still
 * starting its notices, with the engine's answers about executions set by each test.
 */
let sent: SentNotice;
let statuses: Map<string, ExecutionStatus>;
let before = 0;
/** how far the domain clock has been moved on (a sweeper's waits are minutes to a day) */
let later = 0;
const MINUTE = 60_000;

/** The executions started since the notice was sent (the campaign's own start came before). */
function started(): string[] {
  return sent.workflows.started.slice(before);
}

beforeEach(async () => {
  later = 0;
  sent = await sentNotice({ clock: new ScaledClock({ realNow: () => Date.now() + later }) });
  statuses = new Map();
  before = sent.workflows.started.length;
  // what was started runs (the campaign's own execution among them), unless the test says otherwise
  sent.workflows.describe = async (_workflow: WorkflowName, name: string) => statuses.get(name) ?? (sent.workflows.started.includes(name) ? 'running' : 'absent');
});

afterEach(async () => {
  await sent.close();
});

describe('sweep', () => {
  it('starts a notice whose execution failed as its next round, once', async () => {
    statuses.set(`notice-${sent.notice.id}-r1`, 'failed');
    const report = await sweep(sent.deps);
    expect(report).toMatchObject({ notices: 1, verifications: 0 });
    expect(started()).toEqual([`notice-${sent.notice.id}-r2`]);
    const after = (await sent.store.getNotice(sent.notice.id))!;
    expect(after.round).toBe(2);
    expect(after.state).toBe(sent.notice.state);
    // the new round runs: a second sweep starts nothing
    expect(await sweep(sent.deps)).toMatchObject({ notices: 0 });
    expect(started()).toHaveLength(1);
  });

  it('leaves a running or finished execution alone', async () => {
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    // the notice and its campaign, still starting its notices
    expect(await sweep(sent.deps)).toMatchObject({ checked: 2, campaigns: 0, notices: 0 });
    statuses.set(`notice-${sent.notice.id}-r1`, 'succeeded');
    expect(await sweep(sent.deps)).toMatchObject({ notices: 0 });
    expect(started()).toEqual([]);
  });

  it('starts a notice never started under the round it has', async () => {
    expect(await sweep(sent.deps)).toMatchObject({ notices: 1 });
    expect(started()).toEqual([`notice-${sent.notice.id}-r1`]);
    expect((await sent.store.getNotice(sent.notice.id))!.round).toBe(1);
  });

  it('starts a verification whose execution failed under a new name, and the next sweep under the next', async () => {
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    await sent.store.putRecord({ kind: VERIFYING, key: sent.notice.id, value: JSON.stringify({ execution: `verify-${sent.notice.id}-abc` }), version: 1 });
    statuses.set(`verify-${sent.notice.id}-abc`, 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ verifications: 1 });
    expect(started()).toEqual([`verify-${sent.notice.id}-abc-s1`]);
    statuses.set(`verify-${sent.notice.id}-abc-s1`, 'failed');
    // the one it started failed too: it waits a sweep (15 minutes) before the next
    expect(await sweep(sent.deps)).toMatchObject({ verifications: 0, waiting: 1 });
    later += RESTART_BACKOFF.firstMs;
    expect(await sweep(sent.deps)).toMatchObject({ verifications: 1 });
    expect(started()).toEqual([`verify-${sent.notice.id}-abc-s1`, `verify-${sent.notice.id}-abc-s2`]);
    expect(await sweep(sent.deps)).toMatchObject({ verifications: 0 });
    // one whose start was lost (marked, never started) does not wait
    statuses.set(`verify-${sent.notice.id}-abc-s2`, 'absent');
    expect(await sweep(sent.deps)).toMatchObject({ verifications: 1 });
    expect(started().at(-1)).toBe(`verify-${sent.notice.id}-abc-s3`);
  });

  it("starts a campaign whose execution failed as its next round, once, and says so in the trail", async () => {
    const campaignId = sent.notice.campaignId;
    // waiting for approval when its execution failed: that execution's callback is dead
    const held = (await sent.store.getCampaign(campaignId))!;
    await sent.store.saveCampaign({ ...held, state: 'awaiting-approval', approvalToken: 'dead-token', version: held.version + 1 });
    statuses.set(`campaign-${campaignId}-r1`, 'failed');
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 1, notices: 0 });
    expect(started()).toEqual([`campaign-${campaignId}-r2`]);
    const after = (await sent.store.getCampaign(campaignId))!;
    expect([after.state, after.round, after.approvalToken]).toEqual(['awaiting-approval', 2, undefined]);
    const resumed = (await sent.store.listEvents({ campaignId })).filter((e) => e.type === 'campaign.restarted');
    expect(resumed.map((e) => [e.actor, e.data])).toEqual([['sweeper', { why: 'its workflow execution had failed', state: 'awaiting-approval', round: 2, inARow: 1 }]]);
    // and the campaign's own history tells it
    expect((await campaignHistory(sent.deps, campaignId)).at(-1)).toMatchObject({ type: 'campaign.restarted', actor: 'sweeper', tone: 'warn', text: 'Its workflow had failed; the sweeper started it again as round 2' });
    // the new round runs: a second sweep starts nothing
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 0 });
    expect(started()).toHaveLength(1);
  });

  it('leaves a campaign starting its notices for a week to a person, and starts a week-old plan waiting for approval', async () => {
    const campaignId = sent.notice.campaignId;
    statuses.set(`campaign-${campaignId}-r1`, 'failed');
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    const now = sent.deps.clock.now().getTime();
    const old = (await sent.store.getCampaign(campaignId))!;
    const eightDaysAgo = new Date(now - 8 * 86_400_000).toISOString();
    await sent.store.saveCampaign({ ...old, createdAt: eightDaysAgo, approvedAt: eightDaysAgo, version: old.version + 1 });
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 0, staleCampaigns: 1 });
    expect(started()).toEqual([]);
    // approved a day ago: its own clock starts at the approval
    const approved = (await sent.store.getCampaign(campaignId))!;
    await sent.store.saveCampaign({ ...approved, approvedAt: new Date(now - 86_400_000).toISOString(), version: approved.version + 1 });
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 1 });
    expect(started()).toEqual([`campaign-${campaignId}-r2`]);
    // a plan waiting for approval sends nothing by itself: started again whatever its age
    const planned = (await sent.store.getCampaign(campaignId))!;
    await sent.store.saveCampaign({ ...planned, state: 'awaiting-approval', approvedAt: undefined, version: planned.version + 1 });
    statuses.set(`campaign-${campaignId}-r2`, 'failed');
    later += RESTART_BACKOFF.firstMs;
    const report = await sweep(sent.deps);
    expect([report.campaigns, report.staleCampaigns]).toEqual([1, undefined]);
    expect(started()).toEqual([`campaign-${campaignId}-r2`, `campaign-${campaignId}-r3`]);
  });

  it('starts the next round of a failed campaign once when two sweeps meet', async () => {
    const campaignId = sent.notice.campaignId;
    statuses.set(`campaign-${campaignId}-r1`, 'failed');
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    // each answer takes a moment: both sweeps have seen the failed round before either starts the next
    const answer = sent.workflows.describe;
    sent.workflows.describe = async (workflow, name) => (await new Promise((r) => setTimeout(r, 20)), answer(workflow, name));
    const reports = await Promise.all([sweep(sent.deps), sweep(sent.deps)]);
    expect(reports.map((r) => r.campaigns).sort()).toEqual([0, 1]);
    expect(started()).toEqual([`campaign-${campaignId}-r2`]);
    expect((await sent.store.getCampaign(campaignId))!.round).toBe(2);
    expect((await sent.store.listEvents({ campaignId })).filter((e) => e.type === 'campaign.restarted')).toHaveLength(1);
  });

  it('reads an upload again whose reading failed before its campaign existed, once when two sweeps meet, and leaves a week-old one', async () => {
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    const now = sent.deps.clock.now().getTime();
    const reading = (id: string, createdAt: number) => ({
      id,
      state: 'reading',
      size: 10,
      createdBy: 't',
      createdAt: new Date(createdAt).toISOString(),
      expiresAt: new Date(now + 3_600_000).toISOString(),
      campaignId: `cmp_of_${id}`,
      submission: { name: 'Uploaded', submitter: 't' },
    });
    await sent.store.putRecord({ kind: UPLOAD_KIND, key: 'upl_fresh', value: JSON.stringify(reading('upl_fresh', now)), version: 1 });
    await sent.store.putRecord({ kind: UPLOAD_KIND, key: 'upl_old', value: JSON.stringify(reading('upl_old', now - 8 * 86_400_000)), version: 1 });
    statuses.set('campaign-cmp_of_upl_fresh-r1', 'failed');
    statuses.set('campaign-cmp_of_upl_old-r1', 'failed');
    // each answer takes a moment: both sweeps have seen the failed round before either starts the next
    const answer = sent.workflows.describe;
    sent.workflows.describe = async (workflow, name) => (await new Promise((r) => setTimeout(r, 20)), answer(workflow, name));
    const reports = await Promise.all([sweep(sent.deps), sweep(sent.deps)]);
    expect(reports.map((r) => r.uploads ?? 0).sort()).toEqual([0, 1]);
    expect(started()).toEqual(['campaign-cmp_of_upl_fresh-r2']);
    expect(JSON.parse((await sent.store.getRecord(UPLOAD_KIND, 'upl_fresh'))!.value)).toMatchObject({ state: 'reading', round: 2 });
    expect(JSON.parse((await sent.store.getRecord(UPLOAD_KIND, 'upl_old'))!.value).round).toBeUndefined();
  });

  it('starts a campaign whose start was lost under the round it has, and leaves a running campaign or one its workflow let go alone', async () => {
    const campaignId = sent.notice.campaignId;
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    statuses.set(`campaign-${campaignId}-r1`, 'absent');
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 1 });
    expect(started()).toEqual([`campaign-${campaignId}-r1`]);
    expect((await sent.store.getCampaign(campaignId))!.round).toBeUndefined();
    statuses.set(`campaign-${campaignId}-r1`, 'running');
    expect(await sweep(sent.deps)).toMatchObject({ checked: 2, campaigns: 0 });
    // its notices started, the campaign is its notices' to move on: its workflow is not asked about
    const held = (await sent.store.getCampaign(campaignId))!;
    await sent.store.saveCampaign({ ...held, state: 'running', version: held.version + 1 });
    statuses.set(`campaign-${campaignId}-r1`, 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ checked: 1, campaigns: 0 });
    expect(started()).toHaveLength(1);
  });
  it('waits longer each time a round it started fails again, up to a day, and starts at once a round someone else started', async () => {
    const name = (round: number) => `notice-${sent.notice.id}-r${round}`;
    const fail = (round: number) => statuses.set(name(round), 'failed');
    fail(1);
    expect(await sweep(sent.deps)).toMatchObject({ notices: 1 });
    // each round it starts fails too: the waits double from one sweep, and a sweep before one is over starts nothing
    const waits = [15, 30, 60, 120, 240, 480, 960, 1440, 1440];
    for (const [i, wait] of waits.entries()) {
      const round = i + 2;
      fail(round);
      // a sweep up to a tenth of the wait early is on time; one earlier than that is not
      later += wait * 0.85 * MINUTE;
      expect(await sweep(sent.deps)).toMatchObject({ notices: 0, waiting: 1 });
      later += wait * 0.07 * MINUTE;
      expect(await sweep(sent.deps)).toMatchObject({ notices: 1 });
      expect(started().at(-1)).toBe(name(round + 1));
    }
    const restarts = (await sent.store.listEvents({ noticeId: sent.notice.id })).filter((e) => e.type === 'notice.resumed' && e.actor === 'sweeper');
    expect(restarts.map((e) => e.data.inARow)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    // a new round that something else started (a coordinator's resume, an escalation): its failure starts at once
    const cur = (await sent.store.getNotice(sent.notice.id))!;
    expect(cur.restarted).toMatchObject({ round: 11, count: 10 });
    await sent.store.saveNotice({ ...cur, round: 12, version: cur.version + 1 });
    fail(12);
    expect(await sweep(sent.deps)).toMatchObject({ notices: 1 });
    expect(started().at(-1)).toBe(name(13));
    expect((await sent.store.getNotice(sent.notice.id))!.restarted).toMatchObject({ round: 13, count: 1 });
  });

  it('waits before it starts again a campaign or an upload reading whose round it started failed too', async () => {
    const campaignId = sent.notice.campaignId;
    statuses.set(`notice-${sent.notice.id}-r1`, 'running');
    statuses.set(`campaign-${campaignId}-r1`, 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 1 });
    statuses.set(`campaign-${campaignId}-r2`, 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 0, waiting: 1 });
    later += RESTART_BACKOFF.firstMs;
    expect(await sweep(sent.deps)).toMatchObject({ campaigns: 1 });
    expect(started()).toEqual([`campaign-${campaignId}-r2`, `campaign-${campaignId}-r3`]);
    expect((await sent.store.getCampaign(campaignId))!.restarted).toMatchObject({ round: 3, count: 2 });

    const now = sent.deps.clock.now().getTime();
    const upload = { id: 'upl_again', state: 'reading', size: 10, createdBy: 't', createdAt: new Date(now).toISOString(), expiresAt: new Date(now + 3_600_000).toISOString(), campaignId: 'cmp_of_upl_again', submission: { name: 'Uploaded', submitter: 't' } };
    await sent.store.putRecord({ kind: UPLOAD_KIND, key: 'upl_again', value: JSON.stringify(upload), version: 1 });
    statuses.set(`campaign-${campaignId}-r3`, 'running');
    statuses.set('campaign-cmp_of_upl_again-r1', 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ uploads: 1 });
    statuses.set('campaign-cmp_of_upl_again-r2', 'failed');
    expect(await sweep(sent.deps)).toMatchObject({ waiting: 1 });
    expect(await sweep(sent.deps)).not.toHaveProperty('uploads');
    later += RESTART_BACKOFF.firstMs;
    expect(await sweep(sent.deps)).toMatchObject({ uploads: 1 });
    expect(started().slice(-2)).toEqual(['campaign-cmp_of_upl_again-r2', 'campaign-cmp_of_upl_again-r3']);
  });
  it("takes what became of the notices' and verifications' executions from the engine's census, and describes only a name it does not know", async () => {
    const id = sent.notice.id;
    const described: string[] = [];
    const answer = sent.workflows.describe;
    sent.workflows.describe = async (workflow, name) => (described.push(name), answer(workflow, name));
    const census = { notice: { running: new Set<string>(), failed: new Set([`notice-${id}-r1`]) }, verify: { running: new Set<string>(), failed: new Set<string>() } };
    (sent.workflows as Workflows).census = async (workflow) => (workflow === 'notice' || workflow === 'verify' ? census[workflow] : { running: new Set(), failed: new Set() });
    await sent.store.putRecord({ kind: VERIFYING, key: id, value: JSON.stringify({ execution: `verify-${id}-abc` }), version: 1 });
    census.verify.failed.add(`verify-${id}-abc`);
    expect(await sweep(sent.deps)).toMatchObject({ notices: 1, verifications: 1 });
    expect(started()).toEqual([`notice-${id}-r2`, `verify-${id}-abc-s1`]);
    // the census named both: neither was described (the campaign, which it does not cover, was)
    expect(described.filter((name) => !name.startsWith('campaign-'))).toEqual([]);
    // the next sweep: the new round runs as the census says; the new verification, started since, it does not know
    census.notice.running.add(`notice-${id}-r2`);
    expect(await sweep(sent.deps)).toMatchObject({ notices: 0, verifications: 0 });
    expect(described.filter((name) => !name.startsWith('campaign-'))).toEqual([`verify-${id}-abc-s1`]);
  });
});
