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
