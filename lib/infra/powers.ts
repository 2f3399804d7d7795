import { Duration, Stack } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { WorkflowName } from '../core/ports.js';
import type { TaskName } from '../core/tasks.js';
import { CHAIN_PREFIX } from '../adapters/dynamodb/keys.js';

/**
 * What each function of the stack may do, and the IAM statements that say so: one table of powers per function
 * (its entry, its limits, the workflows it starts or asks about, whether it completes task tokens or sends mail),
 * turned into least-privilege statements by grant(). The AWS harness (test/aws) holds every function to exactly
 * these statements, as the synthesised template carries them.
 */

/** What a function may do beyond reading and writing the table. */
export interface Powers {
  readonly entry: string;
  readonly timeout: Duration;
  readonly memorySize?: number;
  /** the workflows it starts executions of */
  readonly starts?: readonly WorkflowName[];
  /** it completes task tokens (SendTaskSuccess) */
  readonly completesTokens?: true;
  /**
   * it sends mail through SES, and so reads, masks and deletes the stored parts of messages: those it sends, and
   * one an answer proves delivered (provenDelivered)
   */
  readonly sendsMail?: true;
  /** it resolves parties, so it carries the directory */
  readonly resolvesParties?: true;
  /** the workflows whose executions it asks about (DescribeExecution) */
  readonly describes?: readonly WorkflowName[];
  /** the workflows whose executions it lists by status (ListExecutions: the sweeper's census) */
  readonly lists?: readonly WorkflowName[];
  /** it reads uploaded files (the campaign workflow's reading loop) */
  readonly readsUploads?: true;
}

// Lambda timeouts stay below the TimeoutSeconds of the Task states in workflows/*.asl.json (900 s and 300 s).
// Every task and the API save state (versions, tokens, cases): none of them is a read-only table user.
export const TASK_POWERS: Readonly<Record<TaskName, Powers>> = {
  // an uploaded file (up to 100 MB) is read twice per step, a page of its indicators stored: memory for the
  // reading's index of unique values, time for a page of writes
  ReadUpload: { entry: 'lambdas/read-upload.ts', timeout: Duration.minutes(14), memorySize: 2048, readsUploads: true },
  RouteCampaign: { entry: 'lambdas/route-campaign.ts', timeout: Duration.minutes(14), memorySize: 1024, resolvesParties: true },
  BuildNotices: { entry: 'lambdas/build-notices.ts', timeout: Duration.minutes(14), memorySize: 1024 },
  AwaitApproval: { entry: 'lambdas/await-approval.ts', timeout: Duration.seconds(30), completesTokens: true },
  StartNotices: { entry: 'lambdas/start-notices.ts', timeout: Duration.minutes(14), starts: ['notice'] },
  SendNotice: { entry: 'lambdas/send-notice.ts', timeout: Duration.minutes(4), sendsMail: true },
  AwaitAnswer: { entry: 'lambdas/await-answer.ts', timeout: Duration.seconds(30), completesTokens: true },
  // reminders are mail; escalation starts the next party's notice execution; a refused notice rerouted to a
  // fallback mailbox wakes the notice's own wait (SendTaskSuccess), which the harness found denied
  NoticeDeadline: { entry: 'lambdas/notice-deadline.ts', timeout: Duration.minutes(4), starts: ['notice'], sendsMail: true, completesTokens: true },
  // probes; a "still reachable" follow-up is mail; a revival starts the first party's notice again
  VerifyNotice: { entry: 'lambdas/verify-notice.ts', timeout: Duration.minutes(9), starts: ['notice'], sendsMail: true, completesTokens: true },
};

// reads an ended execution's history (granted separately: the executions of the three state machines only)
export const HISTORY_POWERS: Powers = { entry: 'lambdas/execution-history.ts', timeout: Duration.minutes(2) };

// API Gateway gives an integration 30 s at most
// answers start verification and (not ours) the next party's notice; resuming a notice starts its next round;
// a coordinator's follow-up is mail; a campaign's progress says whether its workflow failed while routing
export const API_POWERS: Powers = {
  entry: 'lambdas/api.ts',
  timeout: Duration.seconds(29),
  memorySize: 1024,
  starts: ['campaign', 'notice', 'verify'],
  describes: ['campaign'],
  completesTokens: true,
  sendsMail: true,
};

// an answer by mail may escalate (a bounce, "not ours") and start verification (taken down); SES invokes it
// asynchronously, so it has more time than the API
// a reply or report carrying a token only one message held proves that message delivered (its copy masked); a
// late "taken down" tells the party the cases had gone on to that nothing more is needed (mail)
export const INBOUND_MAIL_POWERS: Powers = { entry: 'lambdas/inbound-mail.ts', timeout: Duration.minutes(2), memorySize: 1024, starts: ['notice', 'verify'], completesTokens: true, sendsMail: true };
// a permanent bounce escalates to the next party at once
export const SES_EVENTS_POWERS: Powers = { entry: 'lambdas/ses-events.ts', timeout: Duration.minutes(1), starts: ['notice'], completesTokens: true };

// starts again what failed: a campaign or a notice as a new round, a verification under a new name; sends the
// reminders and follow-ups left unsent (SES throttled them, a function died mid-send): their stored bytes, then
// masked; applies an answer a function died applying, which wakes its notice's wait
export const SWEEPER_POWERS: Powers = {
  entry: 'lambdas/sweeper.ts',
  timeout: Duration.minutes(10),
  starts: ['campaign', 'notice', 'verify'],
  describes: ['campaign', 'notice', 'verify'],
  lists: ['notice', 'verify'],
  sendsMail: true,
  completesTokens: true,
};

/** How often the sweeper looks for campaigns, live notices and verifications whose execution failed. */
export const SWEEP_EVERY = Duration.minutes(15);

// writes a checkpoint of every chain head that moved, so the newest events are covered within the hour at most
export const CHECKPOINT_POWERS: Powers = { entry: 'lambdas/audit-checkpoint.ts', timeout: Duration.minutes(10), memorySize: 1024 };
/** How often the chain heads are checkpointed even when no campaign changed state. */
export const CHECKPOINT_EVERY = Duration.hours(1);

export const WORKFLOW_TASKS: Readonly<Record<WorkflowName, readonly TaskName[]>> = {
  campaign: ['ReadUpload', 'RouteCampaign', 'BuildNotices', 'AwaitApproval', 'StartNotices'],
  notice: ['SendNotice', 'AwaitAnswer', 'NoticeDeadline'],
  verify: ['VerifyNotice'],
};

/** The AWS host: one table, one function per task plus the API, the two workflows and the HTTP API. */
/** Least privilege, one statement per power. */
export function grant(fn: IFunction, powers: Powers, table: Table, arns: Record<WorkflowName, string>, mail: { fromAddress: string; configurationSet?: string }): void {
  table.grantReadWriteData(fn);
  // the audit trail is append-only: an event's slot is put once (a conditional put, keys.ts), never updated or
  // deleted. IAM has no condition on a put's ConditionExpression, so an unconditional put over a slot is the one
  // write left; the events' MACs and the checkpoints catch it
  fn.addToRolePolicy(
    new PolicyStatement({
      effect: Effect.DENY,
      actions: ['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem', 'dynamodb:PartiQLUpdate', 'dynamodb:PartiQLDelete'],
      resources: [table.tableArn],
      conditions: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': [`${CHAIN_PREFIX}*`] } },
    }),
  );
  if (powers.starts && powers.starts.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:StartExecution'], resources: powers.starts.map((w) => arns[w]) }),
    );
  }
  if (powers.describes && powers.describes.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:DescribeExecution'],
        resources: powers.describes.map((w) => `${arns[w].replace(':stateMachine:', ':execution:')}:*`),
      }),
    );
  }
  if (powers.lists && powers.lists.length > 0) {
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['states:ListExecutions'], resources: powers.lists.map((w) => arns[w]) }),
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
    const fromDomain = mail.fromAddress.split('@')[1]!;
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        // SES v2 SendEmail is authorised as ses:SendEmail, against the identity that covers the From address (the
        // address or its domain, whichever is verified) and the configuration set the send names
        actions: ['ses:SendEmail'],
        resources: [
          stack.formatArn({ service: 'ses', resource: 'identity', resourceName: fromDomain }),
          stack.formatArn({ service: 'ses', resource: 'identity', resourceName: mail.fromAddress }),
          ...(mail.configurationSet ? [stack.formatArn({ service: 'ses', resource: 'configuration-set', resourceName: mail.configurationSet })] : []),
        ],
        // a function that could send from the identity could otherwise send as any address of its domain
        conditions: { StringEquals: { 'ses:FromAddress': mail.fromAddress } },
      }),
    );
  }
}
