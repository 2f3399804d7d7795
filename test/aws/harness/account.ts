import { CreateTableCommand, DynamoDBClient, type CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import { startDynalite } from '../../support/dynalite.js';
import { HttpApi, type ApiRequest, type ApiResponse, type Operator } from './api-gateway.js';
import { AccountEndpoint, OPERATOR_KEY } from './endpoint.js';
import { LambdaService, type FunctionSpec } from './functions.js';
import { IamPolicies } from './iam.js';
import { AccountServices } from './services.js';
import { StepFunctionsService, type Execution } from './stepfunctions.js';
import { ACCOUNT, REGION, STACK_NAME, synthesize } from './synth.js';
import { DeployedTemplate } from './template.js';

export interface AccountOptions {
  /**
   * Test-only additions to a function's environment (a DNS stub for the probes, an egress proxy the test
   * started): what an operator would set on the deployed function. Everything else is the template's.
   */
  readonly extraEnvironment?: (spec: FunctionSpec) => Readonly<Record<string, string>>;
  /** real milliseconds per second of a fixed Wait or a retry interval; @default 10 */
  readonly msPerSecond?: number;
  /**
   * Count DynamoDB's capacity units as on-demand bills them (AccountEndpoint.capacity, what the bench reports). Each
   * write then costs the harness a read of the stored item, ~12 % of a 2,000-indicator scenario's time.
   * @default false: nothing is counted
   */
  readonly billing?: boolean;
}

/** A coordinator of the user pool, signed in. */
export const COORDINATOR: Operator = { email: 'coordinator@cert.example', groups: ['coordinator'] };
/** An auditor of the user pool, signed in. */
export const AUDITOR: Operator = { email: 'auditor@cert.example', groups: ['auditor'] };

/**
 * An AWS account on this machine holding the stack `cdk synth` produced for the test deployment
 * (test/aws/harness/synth.ts): its table on dynalite, its functions' bundles each in a process of its own, its
 * state machines on the local engine, its HTTP API, SES, S3, KMS, SNS, SQS, EventBridge and CloudWatch, every
 * call a function makes checked against its role's policies in the template.
 */
export class AwsAccount {
  private offsetMs = 0;

  private constructor(
    readonly template: DeployedTemplate,
    readonly iam: IamPolicies,
    readonly lambda: LambdaService,
    readonly sfn: StepFunctionsService,
    readonly services: AccountServices,
    readonly endpoint: AccountEndpoint,
    readonly api: HttpApi,
    readonly tableName: string,
    /** the attribute the template's table expires items by (TimeToLiveSpecification); dynalite itself never expires */
    readonly ttlAttribute: string | undefined,
    private readonly dynalite: { endpoint: string; close(): Promise<void> },
  ) {}

  /** Synthesise (or reuse) the stack and bring the account up. */
  static async start(options: AccountOptions = {}): Promise<AwsAccount> {
    const dir = await synthesize();
    const template = new DeployedTemplate(dir, STACK_NAME, ACCOUNT, REGION);
    const iam = new IamPolicies(template);
    const dynalite = await startDynalite();
    const tableName = await createTables(template, dynalite.endpoint);
    const endpoint = new AccountEndpoint(template, iam, dynalite.endpoint, options.billing ?? false);
    const url = await endpoint.listen();
    let account: AwsAccount | undefined;
    const now = () => Date.now() + (account?.offsetMs ?? 0);
    const msPerSecond = options.msPerSecond ?? 10;
    let services: AccountServices | undefined;
    const lambda = new LambdaService(template, {
      endpoint: url,
      region: REGION,
      ...(options.extraEnvironment ? { extraEnvironment: options.extraEnvironment } : {}),
      onOutcome: (spec, outcome) =>
        services?.putMetric('AWS/Lambda', outcome === 'invoked' ? 'Invocations' : outcome === 'error' ? 'Errors' : 'Throttles', { FunctionName: spec.name }),
      onLog: (spec, line) => {
        if (spec.logGroupName) services?.logged(spec.logGroupName, line);
      },
    });
    services = new AccountServices(template, lambda, iam, { now, msPerSecond });
    const sfn = new StepFunctionsService(template, lambda, iam, {
      msPerSecond,
      now,
      onEnded: (e) => executionEnded(template, services!, e),
    });
    endpoint.attach({ lambda, services, sfn });
    const ttl = template.ofType('AWS::DynamoDB::Table')[0]![1].Properties?.TimeToLiveSpecification as { AttributeName?: string; Enabled?: boolean } | undefined;
    account = new AwsAccount(template, iam, lambda, sfn, services, endpoint, new HttpApi(template, lambda, services), tableName, ttl?.Enabled ? ttl.AttributeName : undefined, dynalite);
    return account;
  }

  /** What the SDK needs to act as the operator (tests' own setup and reads): the account endpoint, no IAM limits. */
  operatorClientConfig(): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string } } {
    return { region: REGION, endpoint: this.endpoint.url, credentials: { accessKeyId: OPERATOR_KEY, secretAccessKey: 'operator' } };
  }

  /** A request to the HTTP API. */
  request(req: ApiRequest): Promise<ApiResponse> {
    return this.api.request(req);
  }

  /** The ARN of the state machine `<prefix>-<workflow>`. */
  stateMachineArn(workflow: 'campaign' | 'notice' | 'verify'): string {
    return this.sfn.machineArn(workflow);
  }

  /** Executions of a workflow, oldest first. */
  executions(workflow: 'campaign' | 'notice' | 'verify'): Execution[] {
    const arn = this.stateMachineArn(workflow);
    return [...this.sfn.executions.values()].filter((e) => e.stateMachineArn === arn);
  }

  /** The account clock moves ahead: the functions see the later time, and task waits past their time-out end. */
  async advanceClock(ms: number): Promise<void> {
    this.offsetMs += ms;
    await this.lambda.setClock(this.offsetMs);
    this.sfn.expireWaits();
  }

  /** Every IAM or resource-policy refusal so far, as `who -> action resource`. */
  denials(): string[] {
    return [...this.endpoint.denials.map((d) => `${d.function} -> ${d.action} ${d.resource}`), ...this.sfn.denials, ...this.services.denials];
  }

  /** Requests each function made to the account's services, by operation. */
  requestCounts(): ReturnType<AccountEndpoint['counts']> {
    return this.endpoint.counts();
  }

  /** Resolves when no execution step, asynchronous invocation or delivery is in flight and `check` holds. */
  async waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 20_000): Promise<T> {
    const until = Date.now() + ms;
    for (;;) {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${this.diagnosis()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** What the account did, for a failing test's message: executions, refusals, function errors. */
  diagnosis(): string {
    const executions = [...this.sfn.executions.values()].map((e) => `${e.name} ${e.status}${e.error ? ` ${e.error}: ${e.cause}` : ''} [${e.path.join(' > ')}]`);
    const failing = this.lambda.specs.filter((s) => this.lambda.errors.has(s.logicalId)).map((s) => `${s.logicalId}: ${this.lambda.logs(s.logicalId).filter((l) => l.includes('"error"') || l.includes('ERROR')).slice(-3).join(' | ')}`);
    return [`executions:\n  ${executions.join('\n  ')}`, `denials: ${JSON.stringify(this.denials())}`, `function errors:\n  ${failing.join('\n  ')}`].join('\n');
  }

  async close(): Promise<void> {
    await this.sfn.close();
    await this.services.settled();
    await this.lambda.close();
    await this.endpoint.close();
    await this.dynalite.close();
  }
}

/** Step Functions' part when an execution ends: its metrics, and the status change event on the default bus. */
function executionEnded(template: DeployedTemplate, services: AccountServices, e: Execution): void {
  const metric = { SUCCEEDED: 'ExecutionsSucceeded', FAILED: 'ExecutionsFailed', TIMED_OUT: 'ExecutionsTimedOut', ABORTED: 'ExecutionsAborted', RUNNING: '' }[e.status];
  if (metric) services.putMetric('AWS/States', metric, { StateMachineArn: e.stateMachineArn });
  services.putEvent({
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: template.account,
    time: new Date().toISOString(),
    region: template.region,
    resources: [e.executionArn],
    detail: {
      executionArn: e.executionArn,
      stateMachineArn: e.stateMachineArn,
      name: e.name,
      status: e.status,
      startDate: e.startDate.getTime(),
      stopDate: e.stopDate?.getTime() ?? null,
      input: e.input,
      output: e.output ?? null,
      ...(e.error ? { error: e.error, cause: e.cause } : {}),
    },
  });
}

/** The template's tables on dynalite, as CloudFormation would create them; returns the (one) table's name. */
async function createTables(template: DeployedTemplate, endpoint: string): Promise<string> {
  const client = new DynamoDBClient({ region: REGION, endpoint, credentials: { accessKeyId: OPERATOR_KEY, secretAccessKey: 'operator' } });
  const names: string[] = [];
  try {
    for (const [id, r] of template.ofType('AWS::DynamoDB::Table')) {
      const p = template.resolveAny(r.Properties) as Record<string, any>;
      const name = template.ref(id);
      const input: CreateTableCommandInput = {
        TableName: name,
        BillingMode: p.BillingMode ?? 'PROVISIONED',
        KeySchema: p.KeySchema,
        AttributeDefinitions: p.AttributeDefinitions,
        ...(p.GlobalSecondaryIndexes ? { GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((g: Record<string, unknown>) => ({ IndexName: g.IndexName, KeySchema: g.KeySchema, Projection: g.Projection })) } : {}),
      };
      await client.send(new CreateTableCommand(input));
      names.push(name);
    }
  } finally {
    client.destroy();
  }
  if (names.length !== 1) throw new Error(`the harness expects one table, the template has ${names.length}`);
  return names[0]!;
}

export type { ApiRequest, ApiResponse, Operator };
