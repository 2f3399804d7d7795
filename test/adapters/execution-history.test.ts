import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetExecutionHistoryCommand } from '@aws-sdk/client-sfn';
import { afterEach, describe, expect, it } from 'vitest';
import { archiveAwsExecution } from '../../lib/adapters/aws/execution-history.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { Notice } from '../../lib/core/model.js';

/*
 * The EventBridge "execution ended" handler of the AWS host: it pages through GetExecutionHistory (no Step
 * Functions runs here, so the SDK client is a recording stand-in answering in the service's own shapes) and
 * writes the history into the real store's audit trail, on the notice's chain.
 */

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const NOTICE_ID = 'n0123456789abcdefg'.slice(0, 17);

describe('archiveAwsExecution', () => {
  it('reads every page of an ended notice execution and records its path on the notice', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'takedown-history-'));
    dirs.push(dir);
    const store = new SqliteStore(join(dir, 'db'));
    const deps = { store, ids: new CryptoIds(), clock: new ScaledClock() };
    const now = new Date().toISOString();
    await store.putNotices([
      Notice.parse({
        id: NOTICE_ID, campaignId: 'cmp_0123456789abcdef', party: { id: 'hosting:x', kind: 'hosting', name: 'X', email: 'abuse@x.example', contactSource: 'directory' },
        step: 0, round: 1, state: 'closed', tag: `TKD-${NOTICE_ID}`, tokenHash: '', caseCount: 1, answerDeadline: 86400, actionDeadline: 86400,
        remindersAllowed: 1, remindersSent: 0, appliedAnswers: [], updatedAt: now, version: 1,
      }),
    ]);
    const pages = [
      { events: [{ type: 'ExecutionStarted', timestamp: new Date(1000) }, { type: 'TaskStateEntered', timestamp: new Date(2000), stateEnteredEventDetails: { name: 'SendNotice' } }], nextToken: 'p2' },
      { events: [{ type: 'ChoiceStateEntered', timestamp: new Date(3000), stateEnteredEventDetails: { name: 'NextStep' } }, { type: 'SucceedStateEntered', timestamp: new Date(4000), stateEnteredEventDetails: { name: 'Closed' } }, { type: 'ExecutionSucceeded', timestamp: new Date(5000) }] },
    ];
    const asked: (string | undefined)[] = [];
    const client = {
      send: async (command: unknown) => {
        expect(command).toBeInstanceOf(GetExecutionHistoryCommand);
        const input = (command as GetExecutionHistoryCommand).input;
        expect(input.executionArn).toBe(`arn:aws:states:eu-west-1:123456789012:execution:td-notice:notice-${NOTICE_ID}-r1`);
        asked.push(input.nextToken);
        return pages[asked.length - 1]!;
      },
    };
    const event = {
      'detail-type': 'Step Functions Execution Status Change',
      source: 'aws.states',
      detail: {
        executionArn: `arn:aws:states:eu-west-1:123456789012:execution:td-notice:notice-${NOTICE_ID}-r1`,
        stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:td-notice',
        name: `notice-${NOTICE_ID}-r1`,
        status: 'SUCCEEDED',
        startDate: 1000,
        stopDate: 5000,
      },
    };
    expect(await archiveAwsExecution(deps, event, client as never)).toBe(true);
    expect(asked).toEqual([undefined, 'p2']);
    const [archived] = (await store.listEvents({ noticeId: NOTICE_ID })).filter((e) => e.type === 'workflow.history');
    expect(archived!.data).toMatchObject({ workflow: 'notice', status: 'succeeded', path: ['SendNotice', 'NextStep', 'Closed'], transitions: 3 });
    expect((archived!.data['events'] as unknown[]).length).toBe(5);
    store.close();
  });

  it('refuses an event that is not an execution status change', async () => {
    await expect(archiveAwsExecution({} as never, { 'detail-type': 'Something else', detail: {} }, { send: async () => ({}) } as never)).rejects.toThrow();
  });
});
