import './polyfill.js';
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import { TaskTokenExpiredError } from '../../core/errors.js';
import { WORKFLOW_NAMES, type ExecutionCensus, type ExecutionStatus, type Logger, type WorkflowName, type Workflows } from '../../core/ports.js';
import { TASK_NAMES, type TaskName, placeholderOf } from '../../core/tasks.js';

/** Runs one task's work; the host binds it to `runTask(name, deps, input)`. */
export type TaskRunner = (task: TaskName, input: unknown) => Promise<unknown>;

const WORKFLOWS_DIR = new URL('../../../workflows/', import.meta.url);
const WAIT_FOR_TOKEN = 'arn:aws:states:::lambda:invoke.waitForTaskToken';

/** The ARN a placeholder stands for on the embedded host: valid in form (the engine checks ARNs), never called. */
export function localFunctionArn(task: TaskName): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:takedown-${task}`;
}

/** The ASL file as shipped, with every `${XFunctionArn}` placeholder replaced; throws on one we cannot fill. */
export function loadDefinition(name: WorkflowName): Record<string, unknown> {
  const text = readFileSync(new URL(`${name}.asl.json`, WORKFLOWS_DIR), 'utf8');
  // the embedded host stands in the commercial partition, as its function ARNs do
  const byPlaceholder = new Map([...TASK_NAMES.map((t) => [placeholderOf(t), localFunctionArn(t)] as const), ['Partition', 'aws'] as const]);
  const filled = text.replace(/\$\{([A-Za-z0-9]+)\}/g, (_, key: string) => {
    const arn = byPlaceholder.get(key);
    if (!arn) throw new Error(`workflows/${name}.asl.json has a placeholder the embedded host cannot fill: \${${key}}`);
    return arn;
  });
  return JSON.parse(filled) as Record<string, unknown>;
}

interface TaskState {
  Type: string;
  Resource?: string;
  Parameters?: { FunctionName?: string };
}

/** Which task each Task state runs, and whether it waits for a token. Throws on a resource we cannot serve. */
function taskStates(definition: Record<string, unknown>): Map<string, { task: TaskName; waits: boolean }> {
  const byArn = new Map(TASK_NAMES.map((t) => [localFunctionArn(t), t]));
  const out = new Map<string, { task: TaskName; waits: boolean }>();
  for (const [name, state] of Object.entries(definition.States as Record<string, TaskState>)) {
    if (state.Type !== 'Task') continue;
    const waits = state.Resource === WAIT_FOR_TOKEN;
    const arn = waits ? state.Parameters?.FunctionName : state.Resource;
    const task = arn ? byArn.get(arn) : undefined;
    if (!task) throw new Error(`state ${name} calls a resource the embedded host does not serve: ${arn ?? state.Resource}`);
    out.set(name, { task, waits });
  }
  return out;
}

/**
 * A task refused or a wait ended because the host is stopping: no fault of the work. An execution that ends on it
 * is recorded as interrupted (not failed) and the next host starts it again from the stored state.
 */
export class EngineStoppingError extends Error {
  constructor() {
    super('the workflow engine is stopping');
    this.name = 'EngineStoppingError';
  }
}

interface Pending {
  resolve(output: unknown): void;
  reject(reason: Error): void;
  timer: NodeJS.Timeout;
}

/** Executions kept in memory, running or finished; the oldest finished ones go first. */
const MAX_KEPT_EXECUTIONS = 20_000;

export interface ExecutionRecord {
  readonly workflow: WorkflowName;
  readonly name: string;
  /** interrupted: cut short by the host stopping (resumed by the next host); failed: a real error */
  status: 'running' | 'succeeded' | 'failed' | 'aborted' | 'interrupted';
  error?: string;
  output?: unknown;
  readonly startedAt: Date;
  endedAt?: Date;
  /** the states entered, in order: the path the execution took (retries show in `events` as StateRetried) */
  readonly path: string[];
  /** the engine's event log, kept because executions live in memory only */
  readonly events: { type: string; state?: string; at: number }[];
  readonly done: Promise<void>;
}

/**
 * The Workflows port on the embedded host: the shipped ASL run by aws-local-stepfunctions, each Task state
 * overridden by the same task code the Lambdas run. The engine passes no task token, so this adapter makes
 * one per wait and completes it itself. Executions live in memory: a restarted host starts them again
 * (their work is re-entrant) through `resumeAll`.
 */
export class LocalWorkflows implements Workflows {
  private readonly machines: Record<WorkflowName, StateMachine>;
  private readonly overrides: Record<WorkflowName, Record<string, (input: unknown) => Promise<unknown>>>;
  private readonly pending = new Map<string, Pending>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private closed = false;
  private active = 0;
  private readonly queue: { go(): void; stop(reason: Error): void }[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  /** histories being copied into the audit trail: close() waits for them before the host closes the store */
  private readonly archiving = new Set<Promise<unknown>>();

  /**
   * @param maxConcurrentTasks task runs at once across all executions. A campaign starts thousands of notice
   * executions together; unbounded, their task runs interleave and the garbage of all of them piles up
   * (measured: 640-830 MB peak for 2,000 notices, under 400 MB with 16) for no gain in throughput.
   */
  constructor(
    private readonly run: TaskRunner,
    private readonly log: Logger,
    private readonly maxConcurrentTasks = 16,
    /** called once per execution that ended on its own (not stopped by close), with its whole record */
    private readonly onEnd?: (record: ExecutionRecord) => Promise<void>,
  ) {
    const names = WORKFLOW_NAMES;
    const machines = {} as Record<WorkflowName, StateMachine>;
    const overrides = {} as Record<WorkflowName, Record<string, (input: unknown) => Promise<unknown>>>;
    for (const name of names) {
      const definition = loadDefinition(name);
      // not validated here: asl-validator compiled its schema at every host start, ~220 ms of each `run`, `serve`
      // and test host (a host started in 230 ms, now 15 ms); the shipped definitions are the ones
      // test/infra/asl-valid.test.ts validates, and the AWS harness validates the template's
      machines[name] = new StateMachine(definition as never, { validationOptions: { noValidate: true } });
      overrides[name] = {};
      for (const [state, { task, waits }] of taskStates(definition)) {
        overrides[name][state] = waits ? (input) => this.waitForToken(task, input) : (input) => this.runLimited(task, input);
      }
    }
    this.machines = machines;
    this.overrides = overrides;
  }

  private async runLimited(task: TaskName, input: unknown): Promise<unknown> {
    if (this.closed) throw new EngineStoppingError();
    // a finishing run hands its slot straight to the next in line, so the count never overshoots
    if (this.active >= this.maxConcurrentTasks) await new Promise<void>((go, stop) => this.queue.push({ go, stop }));
    else this.active++;
    const running = this.run(task, input);
    this.inFlight.add(running);
    try {
      return await running;
    } finally {
      this.inFlight.delete(running);
      const next = this.queue.shift();
      if (next) next.go();
      else this.active--;
    }
  }

  private async waitForToken(task: TaskName, input: unknown): Promise<unknown> {
    const payload = (input as { Payload?: Record<string, unknown> }).Payload ?? {};
    const token = `local.${randomBytes(18).toString('base64url')}`;
    const seconds = typeof payload.seconds === 'number' ? payload.seconds : 60;
    const answered = new Promise<unknown>((resolve, reject) => {
      // the engine times the task out after `seconds`; from then on the token is dead, as on AWS
      const timer = setTimeout(() => this.pending.delete(token), seconds * 1000 + 50);
      timer.unref();
      this.pending.set(token, { resolve, reject, timer });
    });
    try {
      // only parking the token takes a slot; the wait itself holds none
      await this.runLimited(task, { ...payload, taskToken: token });
    } catch (e) {
      const p = this.pending.get(token);
      if (p) clearTimeout(p.timer);
      this.pending.delete(token);
      throw e;
    }
    return answered;
  }

  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void> {
    if (this.closed) throw new Error('the workflow engine is stopped');
    const known = this.executions.get(name);
    // as on AWS, a name is used once: a running or finished execution of that name is not started again
    if (known) return;
    const execution = this.machines[workflow].run(input as never, {
      overrides: { taskResourceLocalHandlers: this.overrides[workflow] as never },
      context: { Task: { Token: 'replaced-per-wait' } },
      noThrowOnAbort: true,
    });
    let record!: ExecutionRecord;
    const done = execution.result.then(
      (output) => {
        record.status = output === null ? (this.closed ? 'interrupted' : 'aborted') : 'succeeded';
        record.output = output;
      },
      (error: Error & { cause?: Error }) => {
        const cause = error.cause ?? error;
        record.error = `${cause.name}: ${cause.message}`;
        // the stop, not the work, ended it: the next host resumes it from the stored state
        if (this.closed && (cause instanceof EngineStoppingError || cause.name === 'EngineStoppingError')) {
          record.status = 'interrupted';
          return;
        }
        record.status = 'failed';
        this.log.error('workflow execution failed', { workflow, execution: name, error: cause.name, message: cause.message });
      },
    ).finally(() => {
      record.endedAt = new Date();
      this.aborts.delete(name);
    });
    record = { workflow, name, status: 'running', startedAt: new Date(), path: [], events: [], done };
    this.executions.set(name, record);
    const following = this.follow(record, execution.eventLogs);
    this.aborts.set(name, execution.abort);
    if (this.onEnd) {
      const onEnd = this.onEnd;
      const archived = Promise.all([done, following])
        .then(() => onEnd(record))
        .catch((e: unknown) => this.log.warn('could not archive an execution history', { execution: name, error: (e as Error).name }))
        .finally(() => this.archiving.delete(archived));
      this.archiving.add(archived);
    }
    this.forgetFinished();
  }

  /**
   * Finished executions are kept for status and tests, but not for ever: a long-running host would otherwise
   * hold every execution it ever ran (their histories are in the audit trail once archived).
   */
  private forgetFinished(): void {
    if (this.executions.size <= MAX_KEPT_EXECUTIONS) return;
    for (const [name, record] of this.executions) {
      if (this.executions.size <= MAX_KEPT_EXECUTIONS * 0.9) break;
      if (record.status !== 'running') this.executions.delete(name);
    }
  }

  private async follow(record: ExecutionRecord, logs: AsyncGenerator<{ type: string; timestamp: number; state?: { name: string } }>): Promise<void> {
    try {
      for await (const event of logs) {
        record.events.push({ type: event.type, state: event.state?.name, at: event.timestamp });
        if (event.type === 'StateEntered' && event.state) record.path.push(event.state.name);
      }
    } catch (e) {
      this.log.warn('lost the event log of an execution', { execution: record.name, error: (e as Error).name });
    }
  }

  async succeed(taskToken: string, output: Record<string, unknown>): Promise<void> {
    const p = this.pending.get(taskToken);
    if (!p) throw new TaskTokenExpiredError();
    clearTimeout(p.timer);
    this.pending.delete(taskToken);
    p.resolve(output);
  }

  async census(workflow: WorkflowName): Promise<ExecutionCensus> {
    const running = new Set<string>();
    const failed = new Set<string>();
    for (const record of this.executions.values()) {
      if (record.workflow !== workflow) continue;
      if (record.status === 'running') running.add(record.name);
      else if (record.status !== 'succeeded') failed.add(record.name);
    }
    return { running, failed };
  }

  async describe(workflow: WorkflowName, name: string): Promise<ExecutionStatus> {
    const record = this.executions.get(name);
    if (!record || record.workflow !== workflow) return 'absent';
    return record.status === 'running' ? 'running' : record.status === 'succeeded' ? 'succeeded' : 'failed';
  }

  /** Executions started by this host, for status and tests. */
  list(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  get(name: string): ExecutionRecord | undefined {
    return this.executions.get(name);
  }

  running(): number {
    return this.aborts.size;
  }

  /** Stop every running execution (their stored state stays; a restart resumes them). */
  async close(): Promise<void> {
    this.closed = true;
    // queued tasks never start; running ones finish their store writes before the host closes the store
    for (const waiting of this.queue.splice(0)) waiting.stop(new EngineStoppingError());
    await Promise.allSettled([...this.inFlight]);
    for (const abort of this.aborts.values()) abort();
    // the engine clears its own task time-out only when the task settles: settle every wait, or its timers
    // (up to the whole SLA) keep the process alive after the host closed
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(new EngineStoppingError());
    }
    this.pending.clear();
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
    await Promise.allSettled([...this.archiving]);
  }
}
