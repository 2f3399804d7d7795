import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { DeployedTemplate } from './template.js';

/** How a function invocation ended, in the Lambda service's terms. */
export type InvokeResult = { readonly value: unknown } | { readonly error: { readonly errorType: string; readonly errorMessage: string } };

/** One `AWS::Lambda::Function` of the template as the harness runs it. */
export interface FunctionSpec {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** the logical id of its execution role: the identity its AWS calls are checked against */
  readonly roleId: string;
  /** the bundle folder `cdk synth` wrote (the resource's aws:asset:path) */
  readonly assetDir: string;
  readonly handler: string;
  readonly timeoutSeconds: number;
  readonly memorySize: number;
  /** the template's environment, intrinsics resolved */
  readonly environment: Readonly<Record<string, string>>;
  /** the log group it writes to (LoggingConfig), when the template names one */
  readonly logGroupName?: string;
}

const RUNTIME = join(import.meta.dirname, 'lambda-runtime.mjs');
// where Lambda unpacks a function's code: the template's paths under it point into the bundle folder here
const TASK_ROOT = '/var/task';

/** Reads every function of the template. */
export function functionSpecs(template: DeployedTemplate): FunctionSpec[] {
  return template.ofType('AWS::Lambda::Function').map(([id, r]) => {
    const p = r.Properties!;
    const assetPath = r.Metadata?.['aws:asset:path'] as string | undefined;
    if (!assetPath) throw new Error(`${id} has no aws:asset:path metadata: synthesise with asset metadata on`);
    const assetDir = join(template.dir, assetPath);
    const env = template.resolveAny(p.Environment?.Variables ?? {}) as Record<string, string>;
    const environment = Object.fromEntries(
      Object.entries(env).map(([k, v]) => [k, typeof v === 'string' && (v === TASK_ROOT || v.startsWith(`${TASK_ROOT}/`)) ? assetDir + v.slice(TASK_ROOT.length) : String(v)]),
    );
    const role = p.Role as { 'Fn::GetAtt': [string, string] };
    return {
      logicalId: id,
      name: template.ref(id),
      arn: template.getAtt(id, 'Arn'),
      roleId: role['Fn::GetAtt'][0],
      assetDir,
      handler: p.Handler as string,
      timeoutSeconds: Number(p.Timeout ?? 3),
      memorySize: Number(p.MemorySize ?? 128),
      environment,
      ...(p.LoggingConfig?.LogGroup ? { logGroupName: template.resolve(p.LoggingConfig.LogGroup) } : {}),
    };
  });
}

interface Waiting {
  resolve(result: InvokeResult): void;
  timer: NodeJS.Timeout;
}

/** A function's container: a child process started at its first invocation and kept warm, one invocation at a time. */
class Container {
  private child?: ChildProcess;
  private ready?: Promise<void>;
  private readonly waiting = new Map<string, Waiting>();
  readonly log: string[] = [];

  constructor(
    private readonly spec: FunctionSpec,
    private readonly baseEnv: Record<string, string>,
    private readonly onLog?: (line: string) => void,
  ) {}

  private offsetMs = 0;

  private start(): Promise<void> {
    this.ready ??= new Promise<void>((resolve, reject) => {
      const child = fork(RUNTIME, [], {
        cwd: this.spec.assetDir,
        // the function gets its environment and the runtime's, never the test process's
        env: this.baseEnv,
        execArgv: [],
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        serialization: 'advanced',
      });
      this.child = child;
      const keep = (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) {
          if (line.trim() === '') continue;
          this.log.push(line);
          this.onLog?.(line);
        }
        if (this.log.length > 5000) this.log.splice(0, this.log.length - 5000);
      };
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      child.on('message', (m: { type: string; id?: string; value?: unknown; error?: { errorType: string; errorMessage: string } }) => {
        if (m.type === 'ready') {
          // a container started after the account's clock moved runs on the moved clock from its first invocation
          if (this.offsetMs !== 0) child.send({ type: 'clock', id: randomUUID(), offsetMs: this.offsetMs });
          resolve();
        }
        if ((m.type === 'result' || m.type === 'clock') && m.id) {
          const w = this.waiting.get(m.id);
          if (!w) return;
          clearTimeout(w.timer);
          this.waiting.delete(m.id);
          w.resolve(m.error ? { error: m.error } : { value: m.value });
        }
      });
      child.on('exit', (code) => {
        reject(new Error(`${this.spec.logicalId} exited (${code}) before it was ready`));
        this.child = undefined;
        this.ready = undefined;
        for (const [id, w] of this.waiting) {
          clearTimeout(w.timer);
          w.resolve({ error: { errorType: 'Runtime.ExitError', errorMessage: `the function's process exited with ${code}` } });
          this.waiting.delete(id);
        }
      });
    });
    return this.ready;
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    await this.start();
    const id = randomUUID();
    const timeoutMs = this.spec.timeoutSeconds * 1000;
    return new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        // Lambda stops a function at its timeout and starts a fresh container for the next invocation
        this.child?.kill('SIGKILL');
        resolve({ error: { errorType: 'Sandbox.Timedout', errorMessage: `Task timed out after ${this.spec.timeoutSeconds} seconds` } });
      }, timeoutMs);
      timer.unref();
      this.waiting.set(id, { resolve, timer });
      this.child!.send({ type: 'invoke', id, event, deadline: Date.now() + timeoutMs, requestId: id, functionArn: this.spec.arn });
    });
  }

  async setClock(offsetMs: number): Promise<void> {
    this.offsetMs = offsetMs;
    if (!this.child) return;
    await this.ready;
    const id = randomUUID();
    await new Promise<InvokeResult>((resolve) => {
      const timer = setTimeout(() => resolve({ value: null }), 5000);
      this.waiting.set(id, { resolve, timer });
      this.child!.send({ type: 'clock', id, offsetMs });
    });
  }

  /** The process dies where it stands (out of memory, the sandbox gone): the invocation under way fails. */
  crash(): void {
    this.child?.kill('SIGKILL');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

export interface LambdaServiceOptions {
  /** the account's endpoint every SDK call of a function goes to (AWS_ENDPOINT_URL) */
  readonly endpoint: string;
  readonly region: string;
  /** test-only additions to a function's environment, by logical id prefix (a probe allow-list, a DNS stub) */
  readonly extraEnvironment?: (spec: FunctionSpec) => Readonly<Record<string, string>>;
  /** each invocation's outcome, for the Lambda metrics (Invocations, Errors, Throttles) */
  readonly onOutcome?: (spec: FunctionSpec, outcome: 'invoked' | 'error' | 'throttled') => void;
  /** each line a function writes (CloudWatch Logs: its log group's metric filters) */
  readonly onLog?: (spec: FunctionSpec, line: string) => void;
  /**
   * Containers one function may run at once, each taking one invocation at a time as Lambda's do; more
   * invocations wait for one to be free. @default 4
   */
  readonly maxContainers?: number;
}

/**
 * The Lambda service of the harness: every function of the template, each in its own process with its template
 * environment plus what the Lambda runtime sets (AWS_REGION, the function's name and memory, credentials naming
 * its role, AWS_ENDPOINT_URL at the harness). Counts invocations, and can throttle a function as Lambda does
 * when its concurrency runs out.
 */
export class LambdaService {
  readonly specs: readonly FunctionSpec[];
  private readonly pools = new Map<string, { all: Container[]; idle: Container[]; waiting: (() => void)[] }>();
  private readonly throttled = new Map<string, number>();
  readonly invocations = new Map<string, number>();
  readonly errors = new Map<string, number>();
  readonly throttles = new Map<string, number>();
  /** milliseconds each function ran, over every invocation (what Lambda bills, with the memory size) */
  readonly durationMs = new Map<string, number>();
  private offsetMs = 0;

  constructor(
    template: DeployedTemplate,
    private readonly options: LambdaServiceOptions,
  ) {
    this.specs = functionSpecs(template);
  }

  /** The function whose logical id starts with `prefix` (`SendNoticeFunction`), or whose ARN is `prefix`. */
  spec(prefixOrArn: string): FunctionSpec {
    const found = this.specs.filter((s) => s.arn === prefixOrArn || s.logicalId.startsWith(prefixOrArn));
    if (found.length !== 1) throw new Error(`${found.length} functions match ${prefixOrArn}`);
    return found[0]!;
  }

  /** The function that has this execution role. */
  byRole(roleId: string): FunctionSpec | undefined {
    return this.specs.find((s) => s.roleId === roleId);
  }

  /**
   * A free container of the function, as Lambda gives each invocation a container of its own: an idle one, else a
   * new one up to the function's share of this machine (`maxContainers`), else the next to be released (Lambda
   * would start yet another; two cores would not).
   */
  private async acquire(spec: FunctionSpec): Promise<Container> {
    let pool = this.pools.get(spec.logicalId);
    if (!pool) {
      pool = { all: [], idle: [], waiting: [] };
      this.pools.set(spec.logicalId, pool);
    }
    for (;;) {
      const idle = pool.idle.pop();
      if (idle) return idle;
      if (pool.all.length < (this.options.maxContainers ?? 4)) {
        const c = this.newContainer(spec);
        pool.all.push(c);
        return c;
      }
      await new Promise<void>((resolve) => pool.waiting.push(resolve));
    }
  }

  private release(spec: FunctionSpec, c: Container): void {
    const pool = this.pools.get(spec.logicalId)!;
    pool.idle.push(c);
    pool.waiting.shift()?.();
  }

  private newContainer(spec: FunctionSpec): Container {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      TZ: ':UTC',
      LANG: 'en_US.UTF-8',
      LAMBDA_TASK_ROOT: spec.assetDir,
      _HANDLER: spec.handler,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: spec.name,
      AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(spec.memorySize),
      AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
      AWS_REGION: this.options.region,
      AWS_DEFAULT_REGION: this.options.region,
      // the access key names the role, the session token the function: the endpoint checks the role's
      // policies and counts the function's calls
      AWS_ACCESS_KEY_ID: spec.roleId,
      AWS_SECRET_ACCESS_KEY: 'harness-secret',
      AWS_SESSION_TOKEN: spec.logicalId,
      AWS_ENDPOINT_URL: this.options.endpoint,
      AWS_EC2_METADATA_DISABLED: 'true',
      ...spec.environment,
      ...(this.options.extraEnvironment?.(spec) ?? {}),
    };
    const c = new Container(spec, env, this.options.onLog ? (line) => this.options.onLog!(spec, line) : undefined);
    if (this.offsetMs !== 0) void c.setClock(this.offsetMs);
    return c;
  }

  /** Kill the containers of a function that are running an invocation: each fails as Runtime.ExitError. */
  crash(prefix: string): void {
    const pool = this.pools.get(this.spec(prefix).logicalId);
    for (const c of pool?.all ?? []) if (!pool!.idle.includes(c)) c.crash();
  }

  /** Make the next `count` invocations of a function fail as a throttled Lambda does. */
  throttle(prefix: string, count: number): void {
    this.throttled.set(this.spec(prefix).logicalId, count);
  }

  /** Invoke a function synchronously (RequestResponse) and get its result or its error. */
  async invoke(arnOrPrefix: string, event: unknown): Promise<InvokeResult> {
    const spec = this.spec(arnOrPrefix);
    const left = this.throttled.get(spec.logicalId) ?? 0;
    if (left > 0) {
      this.throttled.set(spec.logicalId, left - 1);
      this.throttles.set(spec.logicalId, (this.throttles.get(spec.logicalId) ?? 0) + 1);
      this.options.onOutcome?.(spec, 'throttled');
      return { error: { errorType: 'Lambda.TooManyRequestsException', errorMessage: 'Rate Exceeded.' } };
    }
    this.invocations.set(spec.logicalId, (this.invocations.get(spec.logicalId) ?? 0) + 1);
    this.options.onOutcome?.(spec, 'invoked');
    const container = await this.acquire(spec);
    const started = performance.now();
    let result: InvokeResult;
    try {
      result = await container.invoke(structuredClone(event));
    } finally {
      this.release(spec, container);
    }
    this.durationMs.set(spec.logicalId, (this.durationMs.get(spec.logicalId) ?? 0) + Math.ceil(performance.now() - started));
    if ('error' in result) {
      this.errors.set(spec.logicalId, (this.errors.get(spec.logicalId) ?? 0) + 1);
      this.options.onOutcome?.(spec, 'error');
    }
    return result;
  }

  /** What a function wrote to its log (stdout and stderr). */
  logs(prefix: string): readonly string[] {
    return (this.pools.get(this.spec(prefix).logicalId)?.all ?? []).flatMap((c) => c.log);
  }

  /** Every function's clock moves `offsetMs` ahead of real time (a deadline passes without waiting for it). */
  async setClock(offsetMs: number): Promise<void> {
    this.offsetMs = offsetMs;
    await Promise.all([...this.pools.values()].flatMap((p) => p.all).map((c) => c.setClock(offsetMs)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].flatMap((p) => p.all).map((c) => c.stop()));
    this.pools.clear();
  }
}
