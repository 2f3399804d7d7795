import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CfnOutput, Stack, type StackProps, Token } from 'aws-cdk-lib';
import type { Table } from 'aws-cdk-lib/aws-dynamodb';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { Bucket } from 'aws-cdk-lib/aws-s3';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Construct } from 'constructs';
import { z } from 'zod';
import type { WorkflowName } from '../core/ports.js';
import type { TaskName } from '../core/tasks.js';
import { HttpFront } from './api.js';
import { OperatorPool } from './user-pool.js';
import { PROJECT_ROOT } from './paths.js';
import { StoreTable } from './storage/table.js';
import { EvidenceBucket } from './storage/evidence-bucket.js';
import { MessagesBucket } from './storage/messages-bucket.js';
import { TaskFunction } from './task-function.js';
import { InboundMailReceipt, SesEventDestination } from './mail.js';
import { Workflow } from './workflow.js';
import { WebhookSecretsKey } from './secrets-key.js';
import { Operations } from './operations.js';
import { AccessLogsBucket } from './access-logs.js';
import { API_POWERS, CHECKPOINT_EVERY, CHECKPOINT_POWERS, HISTORY_POWERS, INBOUND_MAIL_POWERS, SES_EVENTS_POWERS, SWEEP_EVERY, SWEEPER_POWERS, TASK_POWERS, WORKFLOW_TASKS, grant, type Powers } from './powers.js';
import { acknowledge, nagArn } from './nag.js';
import type { CfnElement } from 'aws-cdk-lib';
import { Schedule } from 'aws-cdk-lib/aws-events';
import type { Key } from 'aws-cdk-lib/aws-kms';
import { Rule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { ILogGroup } from 'aws-cdk-lib/aws-logs';
import { AuditTrail } from './storage/audit-trail.js';
import { UploadsBucket } from './storage/uploads-bucket.js';

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
  /**
   * Escalations to one party within this many seconds of the first go in one notice, sent when the window ends.
   * @default 600
   */
  readonly escalationWindowSeconds?: number;
  /**
   * The largest message sent; a bigger notice goes in numbered parts. SES v2 takes 40 MB, recipients' servers often
   * 10. @default 10240000
   */
  readonly maxMessageBytes?: number;
  /** @default 'info' */
  readonly logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Verification probes of what parties say they took down. `enabled: false` leaves actioned cases unverified;
   * `proxy` (`http://host:port`) is the egress they leave through, so the probed operator does not see the
   * account's own addresses. @default { enabled: true }
   */
  readonly probes?: { readonly enabled?: boolean; readonly proxy?: string };
  /**
   * The table's indexes project every attribute, as they did before they held keys only. Only for a stack deployed
   * before that: CloudFormation cannot change an index's projection in place, and the store reads either.
   * @default false (keys only, StoreTable)
   */
  readonly indexesProjectAll?: boolean;
  /**
   * Prefix of the state machines' names (`<prefix>-campaign`, `<prefix>-notice`); unique per account and region.
   * @default the stack name
   */
  readonly namePrefix?: string;
  /**
   * A bucket for exported evidence packs with S3 Object Lock in COMPLIANCE mode: each object locked for
   * `retentionDays`, for everyone, the root user included.
   * @default no evidence bucket
   */
  readonly evidenceBucket?: { readonly retentionDays: number };
  /**
   * The domain replies come to (the reply mailbox's): SES receives its mail, receipt rule -> S3 -> the inbound mail
   * function. SES must be verified for the domain and be its MX, and the rule set made active once by hand.
   * @default no SES receiving
   */
  readonly inboundDomain?: string;
  /**
   * Send through an SES configuration set whose bounce and complaint events reach the SES events function.
   * @default true
   */
  readonly sesEvents?: boolean;
  /**
   * Finding parties by RDAP (the registries' abuse contacts) beside the directory and the coordinators' overrides:
   * `enabled: false` routes by the directory alone; `bootstrap` is where the IANA bootstrap registries are read
   * (a URL or a folder), for an RDAP service of your own. @default { enabled: true, bootstrap: IANA's }
   */
  readonly rdap?: { readonly enabled?: boolean; readonly bootstrap?: string };
  /**
   * Days each checkpoint of the audit trail stays locked (S3 Object Lock, COMPLIANCE mode: it cannot be shortened).
   * @default 400
   */
  readonly auditRetentionDays?: number;
}

export class TakedownStack extends Stack {
  readonly table: Table;
  /** the messages sent, one object per part */
  readonly messagesBucket: Bucket;
  /** the evidence bucket, when the `evidenceBucket` prop asked for one */
  readonly evidenceBucket?: Bucket;
  /** one function per task, and `Api` */
  readonly functions: Readonly<Record<TaskName | 'Api', NodejsFunction>>;
  readonly workflows: Readonly<Record<WorkflowName, Workflow>>;
  /** SES receiving for the reply domain, when `inboundDomain` is set */
  readonly inboundMail?: InboundMailReceipt;
  /** the configuration set and its bounce and complaint events, unless `sesEvents` is false */
  readonly sesEvents?: SesEventDestination;
  readonly http: HttpFront;
  /** copies each ended execution's history into the audit trail */
  readonly executionHistory: Rule;
  /** seals recipients' webhook secrets (TAKEDOWN_KMS_KEY_ID of the API function) */
  readonly secretsKey: Key;
  /** the alarm topic and the failure queue of asynchronous invocations */
  readonly operations: Operations;
  /** the schedule that starts failed executions again */
  readonly sweeper: Rule;
  /** the audit data key's KMS key and the Object Lock bucket of the checkpoints */
  readonly auditTrail: AuditTrail;
  /** where coordinators upload files too big for a request body */
  readonly uploadsBucket: Bucket;
  /** the schedule that checkpoints the audit trail's chain heads */
  readonly checkpoints: Rule;

  constructor(scope: Construct, id: string, props: TakedownStackProps) {
    super(scope, id, props);
    // the functions refuse a bad environment at their first invocation: refuse it here, before a deploy
    for (const [prop, schema] of [['replyMailbox', z.email()], ['fromAddress', z.email()], ['publicUrl', z.url().optional()]] as const) {
      const value = props[prop];
      if (!Token.isUnresolved(value) && !schema.safeParse(value).success) throw new Error(`TakedownStack: ${prop} is not valid`);
    }
    // the rule receives the domain's mail: replies to a mailbox elsewhere would never reach it
    const inbound = props.inboundDomain?.toLowerCase();
    if (inbound && !Token.isUnresolved(props.replyMailbox) && !props.replyMailbox.toLowerCase().endsWith(`@${inbound}`)) {
      throw new Error('TakedownStack: replyMailbox must be an address at inboundDomain');
    }
    const directoryFile = resolve(PROJECT_ROOT, props.directoryFile ?? 'examples/directory.yaml');
    if (!existsSync(directoryFile)) throw new Error(`the directory file ${directoryFile} does not exist`);

    const operations = new Operations(this, 'Operations');
    this.operations = operations;
    const { table } = new StoreTable(this, 'Store', { indexesProjectAll: props.indexesProjectAll });
    this.table = table;
    // who read or wrote a message we sent, an evidence pack or a stored reply
    const accessLogs = new AccessLogsBucket(this, 'AccessLogs').bucket;
    const messages = new MessagesBucket(this, 'Messages', { accessLogs }).bucket;
    this.messagesBucket = messages;
    this.evidenceBucket = props.evidenceBucket ? new EvidenceBucket(this, 'Evidence', { ...props.evidenceBucket, accessLogs }).bucket : undefined;
    const audit = new AuditTrail(this, 'AuditTrail', { accessLogs, ...(props.auditRetentionDays ? { retentionDays: props.auditRetentionDays } : {}) });
    this.auditTrail = audit;
    const uploads = new UploadsBucket(this, 'Uploads', { accessLogs });
    this.uploadsBucket = uploads.bucket;
    const uploadsArn = `<${this.getLogicalId(uploads.bucket.node.defaultChild as CfnElement)}.Arn>/uploads/*`;

    // Functions need the state machines' ARNs and the state machines need the functions' ARNs: a CloudFormation
    // cycle. Fixed names give ARNs known before either exists.
    const prefix = props.namePrefix ?? this.stackName;
    const names: Record<WorkflowName, string> = { campaign: `${prefix}-campaign`, notice: `${prefix}-notice`, verify: `${prefix}-verify` };
    const arns: Record<WorkflowName, string> = {
      campaign: Workflow.arnOf(this, names.campaign),
      notice: Workflow.arnOf(this, names.notice),
      verify: Workflow.arnOf(this, names.verify),
    };

    const environment: Record<string, string> = {
      TABLE_NAME: table.tableName,
      MESSAGES_BUCKET: messages.bucketName,
      CAMPAIGN_STATE_MACHINE_ARN: arns.campaign,
      NOTICE_STATE_MACHINE_ARN: arns.notice,
      VERIFY_STATE_MACHINE_ARN: arns.verify,
      REPLY_MAILBOX: props.replyMailbox,
      FROM_ADDRESS: props.fromAddress,
      ...(props.senderName ? { SENDER_NAME: props.senderName } : {}),
      ...(props.pageSize ? { PAGE_SIZE: String(props.pageSize) } : {}),
      ...(props.escalationWindowSeconds ? { ESCALATION_WINDOW_SECONDS: String(props.escalationWindowSeconds) } : {}),
      ...(props.maxMessageBytes ? { MAX_MESSAGE_BYTES: String(props.maxMessageBytes) } : {}),
      LOG_LEVEL: props.logLevel ?? 'info',
      TAKEDOWN_PROBES: props.probes?.enabled === false ? 'off' : 'on',
      ...(props.probes?.proxy ? { TAKEDOWN_PROBE_PROXY: props.probes.proxy } : {}),
      ...(props.sesEvents === false ? {} : { SES_CONFIGURATION_SET: `${prefix}-notices` }),
      RDAP_MODE: props.rdap?.enabled === false ? 'off' : 'real',
      ...(props.rdap?.bootstrap ? { RDAP_BOOTSTRAP: props.rdap.bootstrap } : {}),
      AUDIT_KEY_ID: audit.key.keyArn,
      AUDIT_BUCKET: audit.bucket.bucketName,
    };
    // the log groups of the functions that send: a "sending halted" line in any of them pages the operator
    const sendingLogs: ILogGroup[] = [];
    const build = (id: string, powers: Powers, extra: Record<string, string> = {}): NodejsFunction => {
      const fn = new TaskFunction(this, id, {
        entry: powers.entry,
        timeout: powers.timeout,
        memorySize: powers.memorySize,
        files: powers.resolvesParties ? [directoryFile] : [],
        // the notice templates, for every function that renders mail
        directories: powers.sendsMail ? ['templates'] : [],
        environment: {
          ...environment,
          ...extra,
          ...(powers.sendsMail ? { TAKEDOWN_TEMPLATES_DIR: '/var/task/templates' } : {}),
          ...(powers.resolvesParties ? { DIRECTORY_PATH: TaskFunction.deployedPath(directoryFile) } : {}),
        },
      }).function;
      grant(fn, powers, table, arns, { fromAddress: props.fromAddress, configurationSet: environment.SES_CONFIGURATION_SET });
      // every function appends audit events: each is MACed with the data key, and a state change checkpoints
      audit.grantAppend(fn);
      acknowledge(fn, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(audit.bucket.node.defaultChild as CfnElement)}.Arn>/audit-key/*]`, 'the audit data key\'s object, created once (create-only, legal hold) and read at each cold start');
      acknowledge(fn, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(audit.bucket.node.defaultChild as CfnElement)}.Arn>/audit-checkpoints/*]`, 'the checkpoint records, numbered in order: added create-only, never replaced');
      if (powers.sendsMail) sendingLogs.push(fn.logGroup);
      if (powers.readsUploads) {
        uploads.grantRead(fn);
        fn.addEnvironment('UPLOADS_BUCKET', uploads.bucket.bucketName);
        acknowledge(fn, `AwsSolutions-IAM5[Resource::${uploadsArn}]`, 'the uploaded files, named by upload ids unknown in advance');
      }
      acknowledge(fn, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(table.node.defaultChild as CfnElement)}.Arn>/index/*]`, 'the store queries the table\'s own indexes (TABLE_DESIGN), nothing else');
      for (const w of powers.describes ?? []) acknowledge(fn, `AwsSolutions-IAM5[Resource::${nagArn(this, 'states', `execution:${names[w]}:*`)}]`, 'the executions of its own state machine, whose names derive from ids and rounds');
      // the senders keep each part's bytes until it is sent, then a masked copy: read, write, delete
      if (powers.sendsMail) {
        messages.grantReadWrite(fn);
        messages.grantDelete(fn);
        acknowledge(fn, `AwsSolutions-IAM5[Resource::<${this.getLogicalId(messages.node.defaultChild as CfnElement)}.Arn>/*]`, 'the message parts the function composes and sends, under keys the core derives from outbound ids');
        acknowledge(fn, 'AwsSolutions-IAM5[Action::s3:GetObject*]', 'reads the stored bytes of a part (GetObject and its variants, as grantRead writes them)');
        acknowledge(fn, 'AwsSolutions-IAM5[Action::s3:GetBucket*]', 'grantRead\'s bucket-level reads');
        acknowledge(fn, 'AwsSolutions-IAM5[Action::s3:List*]', 'grantRead\'s listing, which a missing key needs to answer NoSuchKey rather than AccessDenied');
        acknowledge(fn, 'AwsSolutions-IAM5[Action::s3:DeleteObject*]', 'the exact bytes are deleted once the masked copy is kept');
        acknowledge(fn, 'AwsSolutions-IAM5[Action::s3:Abort*]', 'grantWrite\'s multipart aborts');
      }
      operations.watchFunction(id, fn);
      return fn;
    };

    const apiFunction = build('ApiFunction', API_POWERS);
    // webhook answers are checked against each recipient's secret, sealed under this key; only the API opens them
    const secrets = new WebhookSecretsKey(this, 'WebhookSecrets');
    this.secretsKey = secrets.key;
    apiFunction.addEnvironment('TAKEDOWN_KMS_KEY_ID', secrets.key.keyArn);
    secrets.grantOpen(apiFunction);
    // a coordinator issues and rotates recipients' secrets through the API (POST /recipient-secrets)
    secrets.grantSeal(apiFunction);
    // POST /uploads presigns a PUT of the file (the URL acts with the API function's rights), POST /campaigns
    // checks it arrived
    uploads.grantPresign(apiFunction);
    apiFunction.addEnvironment('UPLOADS_BUCKET', uploads.bucket.bucketName);
    acknowledge(apiFunction, `AwsSolutions-IAM5[Resource::${uploadsArn}]`, 'the uploaded files, named by upload ids unknown in advance');
    const operators = new OperatorPool(this, 'Operators');
    const front = new HttpFront(this, 'Http', { handler: apiFunction, operators });
    const publicUrl = props.publicUrl ?? front.url;
    apiFunction.addEnvironment('PUBLIC_URL', publicUrl);

    const tasks = {} as Record<TaskName, NodejsFunction>;
    for (const [task, powers] of Object.entries(TASK_POWERS) as [TaskName, Powers][]) {
      tasks[task] = build(`${task}Function`, powers, { PUBLIC_URL: publicUrl });
    }
    this.functions = { ...tasks, Api: apiFunction };
    this.http = front;

    // SES: what became of the notices we sent, and (with a reply domain) the replies themselves
    if (environment.SES_CONFIGURATION_SET) {
      const handler = build('SesEventsFunction', SES_EVENTS_POWERS);
      operations.catchFailures(handler);
      this.sesEvents = new SesEventDestination(this, 'SesEvents', { configurationSetName: environment.SES_CONFIGURATION_SET, handler });
    }
    if (props.inboundDomain) {
      const handler = build('InboundMailFunction', INBOUND_MAIL_POWERS);
      operations.catchFailures(handler);
      this.inboundMail = new InboundMailReceipt(this, 'InboundMail', { domain: props.inboundDomain, ruleSetName: `${prefix}-inbound`, handler, accessLogs });
    }

    const workflows = {} as Record<WorkflowName, Workflow>;
    for (const workflow of Object.keys(WORKFLOW_TASKS) as WorkflowName[]) {
      workflows[workflow] = new Workflow(this, `${workflow[0]!.toUpperCase()}${workflow.slice(1)}Workflow`, {
        workflow,
        stateMachineName: names[workflow],
        tasks: Object.fromEntries(WORKFLOW_TASKS[workflow].map((t) => [t, tasks[t]])),
      });
    }

    this.workflows = workflows;
    for (const [workflow, w] of Object.entries(workflows)) operations.watchStateMachine(`${workflow[0]!.toUpperCase()}${workflow.slice(1)}Workflow`, w.stateMachine);

    // AWS keeps a closed execution's history 90 days; auditors read it months later: each execution's history is
    // copied into the audit trail when it ends
    const historyFunction = build('ExecutionHistoryFunction', HISTORY_POWERS);
    operations.catchFailures(historyFunction);
    for (const w of Object.keys(names) as WorkflowName[]) {
      acknowledge(historyFunction, `AwsSolutions-IAM5[Resource::${nagArn(this, 'states', `execution:${names[w]}:*`)}]`, 'it reads the history of any execution of the stack\'s own state machines that ended');
    }
    historyFunction.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['states:GetExecutionHistory'],
        resources: (Object.keys(names) as WorkflowName[]).map((w) => `arn:${this.partition}:states:${this.region}:${this.account}:execution:${names[w]}:*`),
      }),
    );
    this.executionHistory = new Rule(this, 'ExecutionEnded', {
      description: 'a workflow execution ended: copy its history into the audit trail',
      eventPattern: {
        source: ['aws.states'],
        detailType: ['Step Functions Execution Status Change'],
        detail: {
          status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'],
          stateMachineArn: (Object.keys(arns) as WorkflowName[]).map((w) => arns[w]),
        },
      },
      // a delivery EventBridge could not make lands in the failure queue too
      targets: [new LambdaFunction(historyFunction, { retryAttempts: 8, deadLetterQueue: operations.failures })],
    });

    const sweeperFunction = build('SweeperFunction', SWEEPER_POWERS);
    operations.catchFailures(sweeperFunction);
    this.sweeper = new Rule(this, 'Sweep', {
      description: 'start again the notices and verifications whose workflow execution failed',
      schedule: Schedule.rate(SWEEP_EVERY),
      targets: [new LambdaFunction(sweeperFunction, { retryAttempts: 2, deadLetterQueue: operations.failures })],
    });

    const checkpointFunction = build('AuditCheckpointFunction', CHECKPOINT_POWERS);
    operations.catchFailures(checkpointFunction);
    this.checkpoints = new Rule(this, 'Checkpoint', {
      description: 'checkpoint the heads of the audit trail\'s chains that moved into the Object Lock bucket',
      schedule: Schedule.rate(CHECKPOINT_EVERY),
      targets: [new LambdaFunction(checkpointFunction, { retryAttempts: 2, deadLetterQueue: operations.failures })],
    });
    // our SES account refuses every message (the sandbox, an unverified identity, a paused account): nothing a
    // recipient did, nothing that escalates, so nothing else would tell anyone
    operations.alarmOnLogLine('SendingHalted', sendingLogs, { field: '$.message', prefix: 'sending halted' }, 'sending is halted: our SES account or identity refuses every message (sandbox, unverified identity, paused account, quota); see the sending-halt record (takedown status)');

    new CfnOutput(this, 'ApiUrl', { value: front.url });
    new CfnOutput(this, 'TableName', { value: table.tableName });
    if (this.evidenceBucket) new CfnOutput(this, 'EvidenceBucketName', { value: this.evidenceBucket.bucketName });
    if (this.inboundMail) {
      new CfnOutput(this, 'InboundRuleSetName', {
        value: this.inboundMail.ruleSet.ref,
        description: 'activate it once: aws ses set-active-receipt-rule-set --rule-set-name <this name>',
      });
      new CfnOutput(this, 'InboundBucketName', { value: this.inboundMail.bucket.bucketName });
    }
    new CfnOutput(this, 'AlarmTopicArn', { value: operations.topic.topicArn, description: 'subscribe the operators to this topic: every alarm of the stack notifies it' });
    new CfnOutput(this, 'FailedInvocationsQueueUrl', { value: operations.failures.queueUrl, description: 'asynchronous invocations whose retries ran out, whole events' });
    new CfnOutput(this, 'WebhookSecretsKeyArn', { value: secrets.key.keyArn, description: 'seal recipients\' webhook secrets with this key (encryption context purpose=takedown-recipient-secret)' });
    new CfnOutput(this, 'UploadsBucketName', { value: uploads.bucket.bucketName, description: 'files uploaded by POST /uploads, read by the campaign workflow, kept 7 days' });
    new CfnOutput(this, 'AuditBucketName', { value: audit.bucket.bucketName, description: 'the Object Lock bucket of the audit checkpoints (audit-checkpoints/) and the encrypted audit key (audit-key/)' });
    new CfnOutput(this, 'UserPoolId', { value: operators.userPool.userPoolId });
    new CfnOutput(this, 'UserPoolClientId', { value: operators.client.userPoolClientId });
    new CfnOutput(this, 'CampaignStateMachineArn', { value: workflows.campaign.stateMachine.stateMachineArn });
    new CfnOutput(this, 'NoticeStateMachineArn', { value: workflows.notice.stateMachine.stateMachineArn });
  }
}
