import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Token } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { z } from 'zod';
import type { WorkflowName } from '../core/ports.js';
import type { TaskName } from '../core/tasks.js';
import { HttpFront } from './api.js';
import { PROJECT_ROOT } from './paths.js';
import { StoreTable } from './table.js';
import { TaskFunction } from './task-function.js';
import { Workflow } from './workflow.js';

export interface TakedownStackProps extends StackProps {
  /** the mailbox replies come to; the reply token goes in its plus part (local+token@domain) */
  readonly replyMailbox: string;
  /** the From of every notice: an SES-verified identity */
  readonly fromAddress: string;
  /** @default 'Takedown coordination' */
  readonly senderName?: string;
  /**
   * The party directory (YAML) the route function resolves indicators with; shipped inside its bundle.
   * @default 'examples/directory.yaml'
   */
  readonly directoryFile?: string;
  /**
   * Base URL shown to recipients (links, webhooks).
   * @default the HTTP API's own URL
   */
  readonly publicUrl?: string;
  /** @default 500 */
  readonly pageSize?: number;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Prefix of the state machines' names (`<prefix>-campaign`, `<prefix>-notice`); unique per account and region.
   * @default the stack name
   */
  readonly namePrefix?: string;
}

/** What a function may do beyond reading and writing the table. */
interface Powers {
  readonly entry: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  /** the workflows it starts executions of */
  readonly starts?: readonly WorkflowName[];
  /** it completes task tokens (SendTaskSuccess) */
  readonly completesTokens?: true;
  /** it sends mail through SES */
  readonly sendsMail?: true;
  /** it resolves parties, so it carries the directory */
  readonly resolvesParties?: true;
}

// Lambda timeouts stay below the TimeoutSeconds of the Task states in workflows/*.asl.json (900 s and 300 s).
// Every task and the API save state (versions, tokens, cases): none of them is a read-only table user.
const TASK_POWERS: Readonly<Record<TaskName, Powers>> = {
  RouteCampaign: { entry: 'lambdas/route-campaign.ts', timeout: Duration.minutes(14), memorySize: 1024, resolvesParties: true },
  BuildNotices: { entry: 'lambdas/build-notices.ts', timeout: Duration.minutes(14), memorySize: 1024 },
  AwaitApproval: { entry: 'lambdas/await-approval.ts', timeout: Duration.seconds(30), completesTokens: true },
  StartNotices: { entry: 'lambdas/start-notices.ts', timeout: Duration.minutes(14), starts: ['notice'] },
  SendNotice: { entry: 'lambdas/send-notice.ts', timeout: Duration.minutes(4), sendsMail: true },
  AwaitAnswer: { entry: 'lambdas/await-answer.ts', timeout: Duration.seconds(30), completesTokens: true },
  // reminders are mail; escalation starts the next party's notice execution
  NoticeDeadline: { entry: 'lambdas/notice-deadline.ts', timeout: Duration.minutes(4), starts: ['notice'], sendsMail: true },
};

// API Gateway gives an integration 30 s at most
const API_POWERS: Powers = { entry: 'lambdas/api.ts', timeout: Duration.seconds(29), memorySize: 1024, starts: ['campaign'], completesTokens: true };

const WORKFLOW_TASKS: Readonly<Record<WorkflowName, readonly TaskName[]>> = {
  campaign: ['RouteCampaign', 'BuildNotices', 'AwaitApproval', 'StartNotices'],
  notice: ['SendNotice', 'AwaitAnswer', 'NoticeDeadline'],
};

/** The AWS host: one table, one function per task plus the API, the two workflows and the HTTP API. */
export class TakedownStack extends Stack {
  readonly table: Table;
  /** one function per task, and `Api` */
  readonly functions: Readonly<Record<TaskName | 'Api', NodejsFunction>>;
  readonly workflows: Readonly<Record<WorkflowName, Workflow>>;
  readonly http: HttpFront;

  constructor(scope: Construct, id: string, props: TakedownStackProps) {
    super(scope, id, props);
    // the functions refuse a bad environment at their first invocation: refuse it here, before a deploy
    for (const [prop, schema] of [['replyMailbox', z.email()], ['fromAddress', z.email()], ['publicUrl', z.url().optional()]] as const) {
      const value = props[prop];
      if (!Token.isUnresolved(value) && !schema.safeParse(value).success) throw new Error(`TakedownStack: ${prop} is not valid`);
    }
    const directoryFile = resolve(PROJECT_ROOT, props.directoryFile ?? 'examples/directory.yaml');
    if (!existsSync(directoryFile)) throw new Error(`the directory file ${directoryFile} does not exist`);

    const { table } = new StoreTable(this, 'Store');
    this.table = table;

    // Functions need the state machines' ARNs and the state machines need the functions' ARNs: a CloudFormation
    // cycle. Fixed names give ARNs known before either exists.
    const prefix = props.namePrefix ?? this.stackName;
    const names: Record<WorkflowName, string> = { campaign: `${prefix}-campaign`, notice: `${prefix}-notice` };
    const arns: Record<WorkflowName, string> = {
      campaign: Workflow.arnOf(this, names.campaign),
      notice: Workflow.arnOf(this, names.notice),
    };

    const environment: Record<string, string> = {
      TABLE_NAME: table.tableName,
      CAMPAIGN_STATE_MACHINE_ARN: arns.campaign,
      NOTICE_STATE_MACHINE_ARN: arns.notice,
      REPLY_MAILBOX: props.replyMailbox,
      FROM_ADDRESS: props.fromAddress,
      ...(props.senderName ? { SENDER_NAME: props.senderName } : {}),
      ...(props.pageSize ? { PAGE_SIZE: String(props.pageSize) } : {}),
      LOG_LEVEL: props.logLevel ?? 'info',
    };
    const build = (id: string, powers: Powers, extra: Record<string, string> = {}): NodejsFunction => {
      const fn = new TaskFunction(this, id, {
        entry: powers.entry,
        timeout: powers.timeout,
        memorySize: powers.memorySize,
        files: powers.resolvesParties ? [directoryFile] : [],
        environment: {
          ...environment,
          ...extra,
          ...(powers.resolvesParties ? { DIRECTORY_PATH: TaskFunction.deployedPath(directoryFile) } : {}),
        },
      }).function;
      grant(fn, powers, table, arns);
      return fn;
    };

    const apiFunction = build('ApiFunction', API_POWERS);
    const front = new HttpFront(this, 'Http', { handler: apiFunction });
    const publicUrl = props.publicUrl ?? front.url;
    apiFunction.addEnvironment('PUBLIC_URL', publicUrl);

    const tasks = {} as Record<TaskName, NodejsFunction>;
    for (const [task, powers] of Object.entries(TASK_POWERS) as [TaskName, Powers][]) {
      tasks[task] = build(`${task}Function`, powers, { PUBLIC_URL: publicUrl });
    }
    this.functions = { ...tasks, Api: apiFunction };
    this.http = front;

    const workflows = {} as Record<WorkflowName, Workflow>;
    for (const workflow of Object.keys(WORKFLOW_TASKS) as WorkflowName[]) {
      workflows[workflow] = new Workflow(this, `${workflow[0]!.toUpperCase()}${workflow.slice(1)}Workflow`, {
        workflow,
        stateMachineName: names[workflow],
        tasks: Object.fromEntries(WORKFLOW_TASKS[workflow].map((t) => [t, tasks[t]])),
      });
    }

    this.workflows = workflows;

    new CfnOutput(this, 'ApiUrl', { value: front.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    new CfnOutput(this, 'CampaignStateMachineArn', { value: workflows.campaign.stateMachine.stateMachineArn });
    new CfnOutput(this, 'NoticeStateMachineArn', { value: workflows.notice.stateMachine.stateMachineArn });
  }
}

/** Least privilege, one statement per power. */
function grant(fn: IFunction, powers: Powers, table: Table, arns: Record<WorkflowName, string>): void {
  table.grantReadWriteData(fn);
  if (powers.starts && powers.starts.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: powers.starts.map((w) => arns[w]) }),
    );
  }
  if (powers.completesTokens) {
    // IAM cannot scope these to a state machine: the task token itself is the boundary (unguessable, and only
    // ever handed to the function that parks it and the API that answers it)
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'],
        resources: ['*'],
      }),
    );
  }
  if (powers.sendsMail) {
    const stack = Stack.of(fn);
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        // SES v2 SendEmail is authorised as ses:SendEmail; SendRawEmail keeps the v1 raw call open to the mailer
        actions: ['ses:SendEmail', 'ses:SendRawEmail'],
        resources: [
          stack.formatArn({ service: 'ses', resource: 'identity', resourceName: '*' }),
          stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: '*' }),
        ],
      }),
    );
  }
}
