import '../../../lib/adapters/local-sfn/polyfill.js';
import { randomBytes, randomUUID } from 'node:crypto';
import { StateMachine } from 'aws-local-stepfunctions';
import type { LambdaService } from './functions.js';
import type { IamPolicies } from './iam.js';
import type { DeployedTemplate } from './template.js';
import { AwsError } from './errors.js';

const WAIT_FOR_TOKEN = /^arn:aws[a-z-]*:states:::lambda:invoke\.waitForTaskToken$/;
const LAMBDA_INVOKE = /^arn:aws[a-z-]*:states:::lambda:invoke$/;
const LAMBDA_ARN = /^arn:aws[a-z-]*:lambda:[^:]+:\d{12}:function:[^:]+(:[^:]+)?$/;
// the engine is handed this as $$.Task.Token; each wait swaps it for a token of its own
const TOKEN_MARK = 'harness-task-token';

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface HistoryEvent {
  readonly id: number;
  readonly type: string;
  readonly timestamp: Date;
  readonly state?: string;
  readonly error?: string;
  readonly cause?: string;
}

export interface Execution {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  readonly input: string;
  status: ExecutionStatus;
  readonly startDate: Date;
  stopDate?: Date;
  output?: string;
  error?: string;
  cause?: string;
  readonly history: HistoryEvent[];
  /** the states entered, in order */
  readonly path: string[];
  readonly done: Promise<void>;
  abort(): void;
}

interface Machine {
  readonly logicalId: string;
  readonly arn: string;
  readonly name: string;
  readonly roleId: string;
  readonly definition: { States: Record<string, { Type: string; Resource?: string; Retry?: { IntervalSeconds?: number }[]; Seconds?: number }> };
  readonly engine: StateMachine;
}

interface PendingWait {
  readonly executionArn: string;
  readonly deadline: number;
  resolve(output: unknown): void;
  reject(error: Error): void;
}

function named(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

function replaceMark(value: unknown, token: string): unknown {
  if (value === TOKEN_MARK) return token;
  if (Array.isArray(value)) return value.map((v) => replaceMark(v, token));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceMark(v, token)]));
  return value;
}

export interface StepFunctionsOptions {
  /**
   * Real milliseconds per second of a fixed wait (`Wait` with `Seconds`) and of a retry interval: the harness
   * compresses them as the embedded host's time scale does. Waits computed from stored deadlines
   * (`SecondsPath`, `TimeoutSecondsPath`) run on the account clock instead (`advanceClock`).
   */
  readonly msPerSecond: number;
  /** the account clock: real time plus the offset the tests moved it by */
  readonly now: () => number;
  /** an execution ended: Step Functions' status change event goes to EventBridge, its metrics to CloudWatch */
  readonly onEnded: (execution: Execution) => void;
}

/**
 * Step Functions for the template's state machines: each `DefinitionString` with its `DefinitionSubstitutions`
 * run on aws-local-stepfunctions, every Task state invoking the template's function through the harness's Lambda
 * service, allowed only when the state machine's role may invoke it. `.waitForTaskToken` tasks get a token of
 * their own and wait for SendTaskSuccess or SendTaskFailure; their time-out runs on the account clock.
 */
export class StepFunctionsService {
  private readonly machines = new Map<string, Machine>();
  readonly executions = new Map<string, Execution>();
  private readonly waits = new Map<string, PendingWait>();
  /** denials of lambda:InvokeFunction to a state machine role */
  readonly denials: string[] = [];

  constructor(
    private readonly template: DeployedTemplate,
    private readonly lambda: LambdaService,
    private readonly iam: IamPolicies,
    private readonly options: StepFunctionsOptions,
  ) {
    for (const [id, r] of template.ofType('AWS::StepFunctions::StateMachine')) {
      const p = r.Properties!;
      let text = template.resolve(p.DefinitionString);
      const subs = template.resolveAny(p.DefinitionSubstitutions ?? {}) as Record<string, string>;
      text = text.replace(/\$\{([^}]+)\}/g, (whole, key: string) => (key in subs ? String(subs[key]) : whole));
      const left = /\$\{[^}]+\}/.exec(text);
      if (left) throw new Error(`${id}: ${left[0]} has no substitution in the template`);
      const definition = JSON.parse(text) as Machine['definition'];
      const arn = template.getAtt(id, 'Arn');
      const role = p.RoleArn as { 'Fn::GetAtt': [string, string] };
      this.machines.set(arn, {
        logicalId: id,
        arn,
        name: template.getAtt(id, 'Name'),
        roleId: role['Fn::GetAtt'][0],
        definition,
        engine: new StateMachine(definition as never, { validationOptions: { checkArn: true, checkPaths: true } }),
      });
    }
  }

  /** The state machine whose name ends with `-<suffix>` (campaign, notice, verify). */
  machineArn(suffix: string): string {
    const found = [...this.machines.values()].filter((m) => m.name.endsWith(`-${suffix}`));
    if (found.length !== 1) throw new Error(`${found.length} state machines end with -${suffix}`);
    return found[0]!.arn;
  }

  private overridesOf(machine: Machine, executionArn: string): { taskResourceLocalHandlers: Record<string, (input: unknown) => Promise<unknown>>; retryIntervalOverrides: Record<string, number[]>; waitTimeOverrides: Record<string, number> } {
    const handlers: Record<string, (input: unknown) => Promise<unknown>> = {};
    const retries: Record<string, number[]> = {};
    const waits: Record<string, number> = {};
    for (const [stateName, state] of Object.entries(machine.definition.States)) {
      if (state.Retry) retries[stateName] = state.Retry.map((r) => (r.IntervalSeconds ?? 1) * this.options.msPerSecond);
      if (state.Type === 'Wait' && typeof state.Seconds === 'number') waits[stateName] = state.Seconds * this.options.msPerSecond;
      if (state.Type !== 'Task') continue;
      const resource = state.Resource ?? '';
      if (WAIT_FOR_TOKEN.test(resource)) handlers[stateName] = (input) => this.waitForToken(machine, input as { FunctionName: string; Payload: unknown }, executionArn);
      else if (LAMBDA_INVOKE.test(resource)) handlers[stateName] = async (input) => ({ StatusCode: 200, Payload: await this.invoke(machine, (input as { FunctionName: string }).FunctionName, (input as { Payload: unknown }).Payload) });
      else if (LAMBDA_ARN.test(resource)) handlers[stateName] = (input) => this.invoke(machine, resource, input);
      else throw new Error(`${machine.name}.${stateName}: the harness cannot run the resource ${resource}`);
    }
    return { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retries, waitTimeOverrides: waits };
  }

  private async invoke(machine: Machine, functionArn: string, payload: unknown): Promise<unknown> {
    const qualified = functionArn.replace(/:(\$LATEST|\d+)$/, '');
    if (!this.iam.allows(machine.roleId, 'lambda:InvokeFunction', functionArn) && !this.iam.allows(machine.roleId, 'lambda:InvokeFunction', qualified)) {
      this.denials.push(`${machine.name} -> lambda:InvokeFunction ${functionArn}`);
      throw named('Lambda.AWSLambdaException', `AccessDeniedException: the role of ${machine.name} may not invoke ${functionArn}`);
    }
    const result = await this.lambda.invoke(qualified, payload);
    if ('error' in result) throw named(result.error.errorType, result.error.errorMessage);
    return result.value;
  }

  private async waitForToken(machine: Machine, input: { FunctionName: string; Payload: unknown }, executionArn: string): Promise<unknown> {
    const token = `AQ${randomBytes(48).toString('base64url')}`;
    const payload = replaceMark(input.Payload, token) as Record<string, unknown>;
    const seconds = typeof payload.seconds === 'number' ? payload.seconds : 99_999_999;
    const answered = new Promise<unknown>((resolve, reject) => {
      this.waits.set(token, { executionArn, deadline: this.options.now() + seconds * 1000, resolve, reject });
    });
    answered.catch(() => undefined);
    try {
      await this.invoke(machine, input.FunctionName, payload);
    } catch (e) {
      this.waits.delete(token);
      throw e;
    }
    return answered;
  }

  /** StartExecution: a name is used once; the same name and input while it runs answers with the same execution. */
  startExecution(stateMachineArn: string, name: string | undefined, input: string | undefined): Execution {
    const machine = this.machines.get(stateMachineArn);
    if (!machine) throw new AwsError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${stateMachineArn}'`);
    const executionName = name ?? randomUUID();
    if (!/^[A-Za-z0-9_.~-]{1,80}$/.test(executionName)) throw new AwsError('InvalidName', `Invalid Name: '${executionName}'`);
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
    const inputText = input ?? '{}';
    const known = this.executions.get(executionArn);
    if (known) {
      if (known.status === 'RUNNING' && known.input === inputText) return known;
      throw new AwsError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }
    const history: HistoryEvent[] = [];
    const stateTypes = machine.definition.States;
    const push = (type: string, extra: Partial<HistoryEvent> = {}) => history.push({ id: history.length + 1, type, timestamp: new Date(this.options.now()), ...extra });
    push('ExecutionStarted');
    const run = machine.engine.run(JSON.parse(inputText) as never, {
      overrides: this.overridesOf(machine, executionArn) as never,
      context: { Task: { Token: TOKEN_MARK }, Execution: { Id: executionArn, Name: executionName }, StateMachine: { Id: stateMachineArn, Name: machine.name } } as never,
      noThrowOnAbort: true,
    });
    const execution: Execution = {
      executionArn,
      stateMachineArn,
      name: executionName,
      input: inputText,
      status: 'RUNNING',
      startDate: new Date(this.options.now()),
      history,
      path: [],
      abort: () => run.abort(),
      done: undefined as never,
    };
    const follow = (async () => {
      for await (const e of run.eventLogs as AsyncIterable<{ type: string; state?: { name: string }; error?: string; cause?: string }>) {
        const type = stateTypes[e.state?.name ?? '']?.Type ?? '';
        if (e.type === 'StateEntered' && e.state) {
          execution.path.push(e.state.name);
          push(`${type}StateEntered`, { state: e.state.name });
        } else if (e.type === 'StateExited' && e.state) push(`${type}StateExited`, { state: e.state.name });
        else if (e.type === 'StateFailed' && e.state) push(type === 'Task' ? 'TaskFailed' : `${type}StateFailed`, { state: e.state.name, error: e.error, cause: e.cause });
        else if (e.type === 'StateRetried' && e.state) push('TaskRetried', { state: e.state.name });
      }
    })().catch(() => undefined);
    (execution as { done: Promise<void> }).done = run.result
      .then(
        (output) => {
          if (output === null) {
            execution.status = 'ABORTED';
          } else {
            execution.status = 'SUCCEEDED';
            execution.output = JSON.stringify(output);
          }
        },
        (error: Error & { cause?: Error }) => {
          const cause = error.cause ?? error;
          execution.status = 'FAILED';
          execution.error = cause.name;
          execution.cause = cause.message;
        },
      )
      .then(() => follow)
      .then(() => {
        execution.stopDate = new Date(this.options.now());
        push(execution.status === 'SUCCEEDED' ? 'ExecutionSucceeded' : execution.status === 'ABORTED' ? 'ExecutionAborted' : 'ExecutionFailed', execution.status === 'FAILED' ? { error: execution.error, cause: execution.cause } : {});
        for (const [token, w] of this.waits) if (w.executionArn === executionArn) this.waits.delete(token);
        this.options.onEnded(execution);
      });
    this.executions.set(executionArn, execution);
    return execution;
  }

  /** SendTaskSuccess and SendTaskFailure: a token nothing waits on any more is TaskTimedOut, an unknown one InvalidToken. */
  completeTask(token: string, outcome: { output: string } | { error?: string; cause?: string }): void {
    const w = this.waits.get(token);
    if (!w) {
      if (!token.startsWith('AQ')) throw new AwsError('InvalidToken', 'Invalid Token');
      throw new AwsError('TaskTimedOut', 'Task Timed Out');
    }
    this.waits.delete(token);
    if ('output' in outcome) w.resolve(JSON.parse(outcome.output));
    else w.reject(named(outcome.error ?? 'States.TaskFailed', outcome.cause ?? ''));
  }

  heartbeat(token: string): void {
    if (!this.waits.has(token)) throw new AwsError('TaskTimedOut', 'Task Timed Out');
  }

  execution(executionArn: string): Execution {
    const e = this.executions.get(executionArn);
    if (!e) throw new AwsError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return e;
  }

  stopExecution(executionArn: string): void {
    this.execution(executionArn).abort();
  }

  /** The account clock moved: every wait whose time-out has passed times out, as the service's timer would. */
  expireWaits(): void {
    const now = this.options.now();
    for (const [token, w] of this.waits) {
      if (w.deadline <= now) {
        this.waits.delete(token);
        w.reject(named('States.Timeout', 'the task timed out'));
      }
    }
  }

  /** Tokens waiting for an answer, per execution. */
  waiting(): string[] {
    return [...this.waits.values()].map((w) => w.executionArn);
  }

  async close(): Promise<void> {
    for (const [, w] of this.waits) w.reject(named('States.Runtime', 'the account is closing'));
    this.waits.clear();
    for (const e of this.executions.values()) if (e.status === 'RUNNING') e.abort();
    await Promise.allSettled([...this.executions.values()].map((e) => e.done));
  }
}
