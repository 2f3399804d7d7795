import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalWorkflows } from '../../lib/adapters/local-sfn/workflows.local.js';
import { silentLogger } from '../../lib/adapters/runtime/logger.js';
import type { TaskName } from '../../lib/core/tasks.js';

/*
 * The embedded engine answers Workflows.describe from the executions it holds: what the sweeper asks on AWS.
 * The campaign workflow runs on tasks scripted per campaign id.
 */
let workflows: LocalWorkflows;

const scripts: Record<string, (task: TaskName) => unknown> = {
  // routing fails with an error no Retry covers: the execution fails at once
  broken: () => {
    throw new Error('routing broke');
  },
  // routed, then the plan is cancelled: the execution succeeds
  cancelled: (task) => (task === 'RouteCampaign' ? { done: true } : { next: 'stopped' }),
  // routed, planned, then waiting for a coordinator's approval
  waiting: (task) => (task === 'RouteCampaign' ? { done: true } : task === 'BuildNotices' ? { next: 'approve', seconds: 3600 } : {}),
};

beforeAll(() => {
  workflows = new LocalWorkflows(async (task, input) => scripts[(input as { campaignId: string }).campaignId]!(task), silentLogger);
});

afterAll(async () => {
  await workflows.close();
});

describe('LocalWorkflows.describe', () => {
  it('tells running, succeeded, failed and absent executions apart', async () => {
    for (const id of ['broken', 'cancelled', 'waiting']) await workflows.start('campaign', `campaign-${id}-r1`, { campaignId: id, route: {}, start: {} });
    await Promise.all(['broken', 'cancelled'].map((id) => workflows.get(`campaign-${id}-r1`)!.done));
    expect(await workflows.describe('campaign', 'campaign-broken-r1')).toBe('failed');
    expect(await workflows.describe('campaign', 'campaign-cancelled-r1')).toBe('succeeded');
    expect(await workflows.describe('campaign', 'campaign-waiting-r1')).toBe('running');
    expect(await workflows.describe('campaign', 'campaign-never-r1')).toBe('absent');
    // a name of another workflow is not this one's execution
    expect(await workflows.describe('notice', 'campaign-waiting-r1')).toBe('absent');
  });
});
