import { TaskTokenExpiredError } from '../../core/errors.js';
import type { ExecutionStatus, WorkflowName, Workflows } from '../../core/ports.js';
import type { ExecutionRecord } from './workflows.local.js';

/**
 * The Workflows port of a command run while no host serves the data directory: nothing runs here. A change the
 * command records (an answer, a pause, an escalation) leaves its notices in their stored state, and the next
 * `takedown serve` starts every execution that state calls for (resumeAll): a command never sends on its own.
 */
export class OfflineWorkflows implements Workflows {
  /** the executions the command would have started, for its own report */
  readonly deferred: { workflow: WorkflowName; name: string }[] = [];

  async start(workflow: WorkflowName, name: string): Promise<void> {
    this.deferred.push({ workflow, name });
  }

  /** nothing waits on a token here: the execution that parked it belongs to a host that is gone */
  async succeed(): Promise<void> {
    throw new TaskTokenExpiredError();
  }

  /** nothing runs here: every execution is absent */
  async describe(): Promise<ExecutionStatus> {
    return 'absent';
  }

  list(): ExecutionRecord[] {
    return [];
  }

  get(): ExecutionRecord | undefined {
    return undefined;
  }

  running(): number {
    return 0;
  }

  async close(): Promise<void> {}
}
