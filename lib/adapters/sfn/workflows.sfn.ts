import { DescribeExecutionCommand, ListExecutionsCommand, SendTaskSuccessCommand, SFNClient, StartExecutionCommand, type ExecutionStatus as SfnStatus } from '@aws-sdk/client-sfn';
import { TaskTokenExpiredError } from '../../core/errors.js';
import type { ExecutionCensus, ExecutionStatus, WorkflowName, Workflows } from '../../core/ports.js';

/** The SFN errors that mean nothing waits on a task token any more. */
const EXPIRED_TOKEN_ERRORS: ReadonlySet<string> = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

export interface SfnWorkflowsOptions {
  /** an SDK client to share (one per Lambda container); @default a new client with the environment's region and credentials */
  readonly client?: SFNClient;
  readonly stateMachineArns: Readonly<Record<WorkflowName, string>>;
}

/** The Workflows port on AWS Step Functions (Standard workflows). */
export class SfnWorkflows implements Workflows {
  private readonly client: SFNClient;
  private readonly arns: Readonly<Record<WorkflowName, string>>;

  constructor(options: SfnWorkflowsOptions) {
    this.client = options.client ?? new SFNClient({});
    this.arns = options.stateMachineArns;
  }

  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(
        new StartExecutionCommand({ stateMachineArn: this.arns[workflow], name, input: JSON.stringify(input) }),
      );
    } catch (error) {
      // A Standard workflow keeps an execution name for 90 days, and execution names derive from ids and a
      // round: a name already taken means this very start happened before, so there is nothing to do.
      if (errorName(error) === 'ExecutionAlreadyExists') return;
      throw error;
    }
  }

  async succeed(taskToken: string, output: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
    } catch (error) {
      if (EXPIRED_TOKEN_ERRORS.has(errorName(error))) throw new TaskTokenExpiredError({ cause: error });
      throw error;
    }
  }

  async describe(workflow: WorkflowName, name: string): Promise<ExecutionStatus> {
    try {
      const out = await this.client.send(new DescribeExecutionCommand({ executionArn: executionArnOf(this.arns[workflow], name) }));
      if (out.status === 'RUNNING' || out.status === 'PENDING_REDRIVE') return 'running';
      return out.status === 'SUCCEEDED' ? 'succeeded' : 'failed';
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return 'absent';
      throw error;
    }
  }

  /** ListExecutions by status, a thousand a page: running, then failed, timed out and aborted (kept 90 days). */
  async census(workflow: WorkflowName): Promise<ExecutionCensus> {
    const [running, ...ended] = await Promise.all((['RUNNING', 'FAILED', 'TIMED_OUT', 'ABORTED'] as const).map((status) => this.names(workflow, status)));
    return { running: new Set(running), failed: new Set(ended.flat()) };
  }

  private async names(workflow: WorkflowName, statusFilter: SfnStatus): Promise<string[]> {
    const names: string[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.client.send(new ListExecutionsCommand({ stateMachineArn: this.arns[workflow], statusFilter, maxResults: 1000, nextToken }));
      for (const e of page.executions ?? []) if (e.name) names.push(e.name);
      nextToken = page.nextToken;
    } while (nextToken);
    return names;
  }
}

/** The ARN of execution `name` of a state machine: Step Functions derives it, no call needed. */
export function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function errorName(error: unknown): string {
  return error instanceof Error ? error.name : '';
}
