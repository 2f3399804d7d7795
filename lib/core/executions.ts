import type { SweeperRestart } from './model.js';
import type { Deps } from './ports.js';

/**
 * What every workflow execution shares: derived names, waits the engines can hold, completing a task token.
 */

/** Execution names derive from the id and a round: starting the same thing twice starts it once. */
export function executionName(kind: 'campaign' | 'notice', id: string, round: number): string {
  return `${kind}-${id}-r${round}`;
}

/** The name of the execution that moves a campaign on: its workflow's current round. */
export function campaignExecution(campaign: { readonly id: string; readonly round?: number }): string {
  return executionName('campaign', campaign.id, campaign.round ?? 1);
}

/** A slice of a long wait: engine timers cannot reach further than ~24.8 days. */
export const MAX_WAIT_SLICE_SECONDS = 20 * 86400;

export function engineWait(deps: Deps, domainSeconds: number): number {
  return Math.min(MAX_WAIT_SLICE_SECONDS, deps.clock.engineSeconds(Math.max(1, domainSeconds)));
}

/** Complete a task token; a token nobody waits on any more is fine (the workflow re-reads the store). */
export async function completeQuietly(deps: Deps, token: string, output: Record<string, unknown>): Promise<void> {
  try {
    await deps.workflows.succeed(token, output);
  } catch (e) {
    if ((e as Error).name === 'TaskTokenExpiredError') return;
    throw e;
  }
}

/**
 * How long the sweeper waits before it starts again an execution it started itself and that failed again: one sweep
 * (15 minutes) after its first start, twice as long at each failure after, up to a day. A failure that lasts (a
 * registry down for hours, a fault in a step) so costs 7 rounds on its first day and one a day after, where a
 * restart at every sweep cost 96 a day, each with an audit event and an archived history. A round started by
 * anything else (an answer, an escalation, a coordinator's resume) starts the count again. A sweep a tenth of the
 * wait early counts as on time: schedules and timers are not exact (the embedded host's sweep may wait behind its
 * pass over the unsent messages).
 */
export const RESTART_BACKOFF = { firstMs: 15 * 60_000, maxMs: 86_400_000, slack: 0.1 } as const;

/** Whether the wait after `count` starts in a row, the last one `at`, is over `now`. */
export function backoffOver(count: number, at: string, now: Date): boolean {
  const wait = Math.min(RESTART_BACKOFF.maxMs, RESTART_BACKOFF.firstMs * 2 ** (count - 1));
  return now.getTime() - Date.parse(at) >= wait * (1 - RESTART_BACKOFF.slack);
}

/** Whether the sweeper may start again now the failed execution of `round`: at once, unless it started that round itself. */
export function restartDue(last: SweeperRestart | undefined, round: number, now: Date): boolean {
  return !last || last.round !== round || backoffOver(last.count, last.at, now);
}

/** What the sweeper records as it starts `round + 1` after `round` failed. */
export function sweeperRestart(last: SweeperRestart | undefined, round: number, now: Date): SweeperRestart {
  return { round: round + 1, count: last?.round === round ? last.count + 1 : 1, at: now.toISOString() };
}
