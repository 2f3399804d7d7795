import { GetExecutionHistoryCommand, SFNClient, type HistoryEvent } from '@aws-sdk/client-sfn';
import { z } from 'zod';
import type { Deps } from '../../core/ports.js';
import { archiveExecution, MAX_HISTORY_EVENTS } from '../../core/audit/index.js';

/** The EventBridge event Step Functions sends when an execution ends (the fields used here). */
export const ExecutionStatusChange = z.object({
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().startsWith('arn:'),
    stateMachineArn: z.string().startsWith('arn:'),
    name: z.string().min(1).max(80),
    status: z.enum(['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED']),
    startDate: z.number(),
    stopDate: z.number().nullable().optional(),
  }),
});

type Client = Pick<SFNClient, 'send'>;

/** The state an event concerns, from whichever details block it carries. */
function stateOf(e: HistoryEvent): string | undefined {
  return e.stateEnteredEventDetails?.name ?? e.stateExitedEventDetails?.name;
}

/**
 * Copy an ended execution's history into the audit trail: AWS keeps it 90 days after the execution closed,
 * auditors read it months later. Reads every page of GetExecutionHistory (up to MAX_HISTORY_EVENTS events).
 */
export async function archiveAwsExecution(deps: Pick<Deps, 'store' | 'ids' | 'clock'>, raw: unknown, client: Client = new SFNClient({})): Promise<boolean> {
  const { detail } = ExecutionStatusChange.parse(raw);
  const events: { type: string; state?: string; at: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await client.send(new GetExecutionHistoryCommand({ executionArn: detail.executionArn, maxResults: 1000, nextToken }));
    for (const e of page.events ?? []) {
      const state = stateOf(e);
      events.push({ type: e.type ?? 'Unknown', ...(state ? { state } : {}), at: (e.timestamp ?? new Date(0)).toISOString() });
    }
    nextToken = page.nextToken;
  } while (nextToken && events.length < MAX_HISTORY_EVENTS);
  const workflow = /:stateMachine:[^:]*-(campaign|notice|verify)$/.exec(detail.stateMachineArn)?.[1] ?? 'unknown';
  return archiveExecution(deps, {
    workflow,
    name: detail.name,
    status: detail.status.toLowerCase(),
    startedAt: new Date(detail.startDate).toISOString(),
    endedAt: new Date(detail.stopDate ?? Date.now()).toISOString(),
    events,
  });
}
