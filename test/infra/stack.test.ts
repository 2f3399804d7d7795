import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack, type CfnElement } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TABLE_DESIGN } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import type { WorkflowName } from '../../lib/core/ports.js';
import { TASK_NAMES, type TaskName } from '../../lib/core/tasks.js';
import { TakedownStack } from '../../lib/infra/stack.js';
import { StoreTable } from '../../lib/infra/storage/table.js';

const ROOT = join(import.meta.dirname, '../..');

type Resource = { Type: string; Properties: Record<string, any>; DeletionPolicy?: string };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown };

let app: App;
let stack: TakedownStack;
let template: Template;
let resources: Record<string, Resource>;

// the same feature flags as `cdk synth`, so the test sees the template that would be deployed
function cdkContext(): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context;
}

beforeAll(() => {
  // one synthesis for the whole file: it bundles every function with esbuild
  app = new App({ context: cdkContext() });
  stack = new TakedownStack(app, 'Test', { replyMailbox: 'replies@takedown.example', fromAddress: 'cert@takedown.example' });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

function logicalId(element: unknown): string {
  return stack.getLogicalId(element as CfnElement);
}

function fn(name: TaskName | 'Api'): NodejsFunction {
  return stack.functions[name];
}

/** Every Allow statement of the IAM policies attached to a function's role. */
function statementsOf(name: TaskName | 'Api'): Statement[] {
  const role = logicalId(fn(name).role!.node.defaultChild);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role })))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow');
}

function actions(s: Statement): string[] {
  return Array.isArray(s.Action) ? s.Action : [s.Action];
}

/** The resources an action is allowed on for a function, as JSON strings; empty when it is not allowed. */
function allowed(name: TaskName | 'Api', action: string): string[] {
  return statementsOf(name)
    .filter((s) => actions(s).includes(action))
    .flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]).map((r) => JSON.stringify(r)));
}

function stateMachine(workflow: WorkflowName): Resource {
  return resources[logicalId(stack.workflows[workflow].stateMachine.node.defaultChild)]!;
}

describe('TakedownStack', () => {
  describe('the table', () => {
    it('is on demand, with point-in-time recovery, and kept when the stack goes', () => {
      const tables = ofType('AWS::DynamoDB::Table');
      expect(tables).toHaveLength(1);
      const [, table] = tables[0]!;
      expect(table.Properties.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(table.DeletionPolicy).toBe('Retain');
    });

    it('has exactly the keys and indexes of TABLE_DESIGN', () => {
      const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
      const keySchema = (pk: { name: string }, sk: { name: string }) => [
        { AttributeName: pk.name, KeyType: 'HASH' },
        { AttributeName: sk.name, KeyType: 'RANGE' },
      ];
      expect(table.Properties.KeySchema).toEqual(keySchema(TABLE_DESIGN.partitionKey, TABLE_DESIGN.sortKey));
      const byName = (a: { IndexName: string }, b: { IndexName: string }) => a.IndexName.localeCompare(b.IndexName);
      // keys only: a save that moves no index key writes no index (a campaign's notices are counted by state from gsi1)
      const projections: Record<string, unknown> = {
        gsi1: { ProjectionType: 'INCLUDE', NonKeyAttributes: ['gsi2pk'] },
        gsi2: { ProjectionType: 'KEYS_ONLY' },
        gsi3: { ProjectionType: 'KEYS_ONLY' },
      };
      expect([...table.Properties.GlobalSecondaryIndexes].sort(byName)).toEqual(
        TABLE_DESIGN.globalSecondaryIndexes
          .map((i) => ({ IndexName: i.indexName, KeySchema: keySchema(i.partitionKey, i.sortKey), Projection: projections[i.indexName] }))
          .sort(byName),
      );
      const attributes = [TABLE_DESIGN.partitionKey, TABLE_DESIGN.sortKey, ...TABLE_DESIGN.globalSecondaryIndexes.flatMap((i) => [i.partitionKey, i.sortKey])];
      expect(table.Properties.AttributeDefinitions).toHaveLength(attributes.length);
      expect(table.Properties.AttributeDefinitions).toEqual(
        expect.arrayContaining(attributes.map((a) => ({ AttributeName: a.name, AttributeType: 'S' }))),
      );
    });

    it('projects every attribute into its indexes only when told to, for a table deployed before they held keys only', () => {
      const projections = (props: { indexesProjectAll?: boolean }) => {
        const scope = new Stack(new App(), 'Table');
        new StoreTable(scope, 'Store', props);
        const [table] = Object.values(Template.fromStack(scope).findResources('AWS::DynamoDB::Table')) as Resource[];
        return (table!.Properties.GlobalSecondaryIndexes as { IndexName: string; Projection: unknown }[]).map((i) => [i.IndexName, i.Projection]);
      };
      expect(projections({ indexesProjectAll: true })).toEqual(['gsi1', 'gsi2', 'gsi3'].map((name) => [name, { ProjectionType: 'ALL' }]));
      expect(projections({}).map(([, projection]) => projection)).not.toContainEqual({ ProjectionType: 'ALL' });
    });
  });

  describe('the functions', () => {
    it('are one per task plus the API, the SES events, the execution history, the sweeper and the audit checkpoint functions, all on Node.js 22, arm64, traced', () => {
      const functions = ofType('AWS::Lambda::Function');
      // sesEvents is on unless turned off; the inbound mail function needs an inboundDomain (test/infra/mail.test.ts)
      expect(functions).toHaveLength(TASK_NAMES.length + 5);
      for (const [id, f] of functions) {
        expect(f.Properties, id).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          TracingConfig: { Mode: 'Active' },
        });
      }
      expect(Object.keys(stack.functions).sort()).toEqual([...TASK_NAMES, 'Api'].sort());
    });

    it('are told the state machines by ARNs built from their fixed names', () => {
      const env = resources[logicalId(fn('StartNotices').node.defaultChild)]!.Properties.Environment.Variables;
      for (const [variable, workflow] of [['CAMPAIGN_STATE_MACHINE_ARN', 'campaign'], ['NOTICE_STATE_MACHINE_ARN', 'notice'], ['VERIFY_STATE_MACHINE_ARN', 'verify']] as const) {
        const name = stateMachine(workflow).Properties.StateMachineName as string;
        expect(JSON.stringify(env[variable])).toContain(`:stateMachine:${name}"`);
      }
    });

    it('ship the directory inside the route function only, where DIRECTORY_PATH points', () => {
      const route = resources[logicalId(fn('RouteCampaign').node.defaultChild)]!.Properties;
      expect(route.Environment.Variables.DIRECTORY_PATH).toBe('/var/task/directory.yaml');
      const assetDir = join(app.outdir, `asset.${String(route.Code.S3Key).replace(/\.zip$/, '')}`);
      expect(readFileSync(join(assetDir, 'directory.yaml'), 'utf8')).toBe(readFileSync(join(ROOT, 'examples/directory.yaml'), 'utf8'));
      expect(existsSync(join(assetDir, 'index.mjs'))).toBe(true);

      const send = resources[logicalId(fn('SendNotice').node.defaultChild)]!.Properties;
      expect(send.Environment.Variables.DIRECTORY_PATH).toBeUndefined();
      // the functions that render mail carry the notice templates, every language of them
      expect(send.Environment.Variables.TAKEDOWN_TEMPLATES_DIR).toBe('/var/task/templates');
      const sendDir = join(app.outdir, `asset.${String(send.Code.S3Key).replace(/\.zip$/, '')}`);
      for (const lang of ['en', 'fr', 'ar', 'pt']) expect(existsSync(join(sendDir, 'templates', 'notice', lang, 'strings.json')), lang).toBe(true);
      expect(existsSync(join(assetDir, 'templates'))).toBe(false);
    });
  });

  describe('workflow history', () => {
    it('copies every ended execution\'s history into the audit trail, reading only our executions', () => {
      const rules = ofType('AWS::Events::Rule').filter(([, r]) => JSON.stringify(r.Properties.EventPattern ?? {}).includes('Execution Status Change'));
      expect(rules).toHaveLength(1);
      const rule = rules[0]![1].Properties;
      expect(rule.EventPattern).toMatchObject({ source: ['aws.states'], detail: { status: ['SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED'] } });
      expect(JSON.stringify(rule.EventPattern.detail.stateMachineArn)).toMatch(/Test-campaign.*Test-notice.*Test-verify/);
      const target = rule.Targets[0];
      const fnId = target.Arn['Fn::GetAtt'][0] as string;
      expect(resources[fnId]!.Type).toBe('AWS::Lambda::Function');
      const history = ofType('AWS::IAM::Policy')
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
        .filter((s) => actions(s).includes('states:GetExecutionHistory'));
      // its failures wait in the failure queue, both EventBridge's deliveries and the function's own
      expect(target.DeadLetterConfig).toBeDefined();
      expect(history).toHaveLength(1);
      expect(JSON.stringify(history[0]!.Resource)).toMatch(/:execution:Test-campaign:\*.*:execution:Test-notice:\*.*:execution:Test-verify:\*/);
    });
  });

  describe('verification', () => {
    it('runs the verify workflow with the probes on by default and no egress proxy unless one is given', () => {
      const env = resources[logicalId(fn('VerifyNotice').node.defaultChild)]!.Properties.Environment.Variables;
      expect(env.TAKEDOWN_PROBES).toBe('on');
      expect(env.TAKEDOWN_PROBE_PROXY).toBeUndefined();
      // the revival watch is Wait states in the verify workflow itself: no schedule to deploy
      const { DefinitionString } = stateMachine('verify').Properties;
      expect(JSON.parse(DefinitionString as string).States.Watch).toMatchObject({ Type: 'Wait', SecondsPath: '$.Payload.seconds' });
    });
  });

  describe('the state machines', () => {
    it('are three Standard workflows that log every step without its data, and trace', () => {
      template.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
      for (const workflow of ['campaign', 'notice', 'verify'] as const) {
        expect(stateMachine(workflow).Properties).toMatchObject({
          StateMachineName: `Test-${workflow}`,
          StateMachineType: 'STANDARD',
          LoggingConfiguration: { Level: 'ALL', IncludeExecutionData: false },
          TracingConfiguration: { Enabled: true },
        });
      }
    });

    it('substitute every placeholder of their ASL file with the ARN of that task function', () => {
      for (const workflow of ['campaign', 'notice', 'verify'] as const) {
        const { DefinitionString, DefinitionSubstitutions } = stateMachine(workflow).Properties;
        const asl = readFileSync(join(ROOT, 'workflows', `${workflow}.asl.json`), 'utf8');
        expect(DefinitionString).toBe(asl);
        const inFile = [...new Set([...asl.matchAll(/\$\{([^}]*)\}/g)].map((m) => m[1]))].sort();
        expect(Object.keys(DefinitionSubstitutions).sort()).toEqual(inFile);
        let resolved = DefinitionString as string;
        // the partition of every service integration ARN: the deploying stack's own
        if ('Partition' in DefinitionSubstitutions) expect(DefinitionSubstitutions.Partition).toEqual({ Ref: 'AWS::Partition' });
        for (const [key, value] of Object.entries(DefinitionSubstitutions).filter(([k]) => k !== 'Partition')) {
          const task = key.replace(/FunctionArn$/, '') as TaskName;
          expect(value, key).toEqual({ 'Fn::GetAtt': [logicalId(fn(task).node.defaultChild), 'Arn'] });
          resolved = resolved.replaceAll(`\${${key}}`, 'arn');
        }
        expect(resolved).not.toMatch(/\$\{[^}]*FunctionArn\}/);
      }
    });

    it('may invoke only their own functions', () => {
      for (const [workflow, tasks] of [['campaign', ['ReadUpload', 'RouteCampaign', 'BuildNotices', 'AwaitApproval', 'StartNotices']], ['notice', ['SendNotice', 'AwaitAnswer', 'NoticeDeadline']]] as const) {
        const role = logicalId(stack.workflows[workflow].stateMachine.role.node.defaultChild);
        const invoked = ofType('AWS::IAM::Policy')
          .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
          .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
          .filter((s) => actions(s).includes('lambda:InvokeFunction'))
          .flatMap((s) => s.Resource as unknown[])
          .map((r) => JSON.stringify(r).match(/"([A-Za-z0-9]+Function[A-Z0-9]{8})"/)?.[1]);
        expect(new Set(invoked)).toEqual(new Set(tasks.map((t) => logicalId(fn(t).node.defaultChild))));
      }
    });
  });

  it('puts an HTTP API with a $default route in front of the API function', () => {
    template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default' });
    // open only where the route authenticates itself (test/infra/auth.test.ts has the details)
    const routes = Object.values(template.findResources('AWS::ApiGatewayV2::Route'));
    const open = routes.filter((r) => r.Properties.AuthorizationType !== 'JWT').map((r) => r.Properties.RouteKey as string);
    expect(open.sort()).toEqual(['ANY /ui', 'ANY /ui/{proxy+}', 'GET /health', 'GET /links/{token}', 'POST /links/{token}', 'POST /webhooks/answers']);
    template.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: '$default', AuthorizationType: 'JWT' });
    template.hasResourceProperties('AWS::ApiGatewayV2::Integration', {
      IntegrationType: 'AWS_PROXY',
      IntegrationUri: { 'Fn::GetAtt': [logicalId(fn('Api').node.defaultChild), 'Arn'] },
    });
  });

  describe('the grants', () => {
    it('let the API complete task tokens, start workflows and send a coordinator\'s follow-up', () => {
      expect(allowed('Api', 'states:SendTaskSuccess')).toEqual(['"*"']);
      expect(allowed('Api', 'states:StartExecution').sort()).toEqual(
        ['campaign', 'notice', 'verify'].map((w) => expect.stringContaining(`:stateMachine:Test-${w}"`)),
      );
      expect(allowed('Api', 'ses:SendEmail')).not.toEqual([]);
    });

    it('give the route function the table and nothing of Step Functions or SES', () => {
      expect(allowed('RouteCampaign', 'dynamodb:PutItem')).not.toEqual([]);
      expect(allowed('RouteCampaign', 'states:SendTaskSuccess')).toEqual([]);
      expect(statementsOf('RouteCampaign').flatMap(actions).filter((a) => a.startsWith('ses:') || a.startsWith('states:'))).toEqual([]);
    });

    it('let only the functions that send notices, reminders and follow-ups send mail, from the From identity through the configuration set', () => {
      for (const name of ['SendNotice', 'NoticeDeadline', 'VerifyNotice', 'Api'] as const) {
        expect(allowed(name, 'ses:SendEmail').sort(), name).toEqual([
          expect.stringContaining(':configuration-set/Test-notices'),
          expect.stringContaining(':identity/cert@takedown.example'),
          expect.stringContaining(':identity/takedown.example'),
        ]);
        const statement = statementsOf(name).find((s) => actions(s).includes('ses:SendEmail'))!;
        expect((statement as { Condition?: unknown }).Condition).toEqual({ StringEquals: { 'ses:FromAddress': 'cert@takedown.example' } });
        // SES v2 sends raw MIME through SendEmail: the v1 raw call stays closed
        expect(allowed(name, 'ses:SendRawEmail'), name).toEqual([]);
      }
      const senders = (Object.keys(stack.functions) as (TaskName | 'Api')[]).filter((name) => allowed(name, 'ses:SendEmail').length > 0);
      expect(senders.sort()).toEqual(['Api', 'NoticeDeadline', 'SendNotice', 'VerifyNotice']);
    });

    it('let the tasks that hand cases on start notices only, and only token holders complete tokens', () => {
      for (const name of ['StartNotices', 'NoticeDeadline', 'VerifyNotice'] as const) {
        expect(allowed(name, 'states:StartExecution'), name).toEqual([expect.stringContaining(':stateMachine:Test-notice"')]);
      }
      const starters = (Object.keys(stack.functions) as (TaskName | 'Api')[]).filter((n) => allowed(n, 'states:StartExecution').length > 0);
      expect(starters.sort()).toEqual(['Api', 'NoticeDeadline', 'StartNotices', 'VerifyNotice']);
      const completers = (Object.keys(stack.functions) as (TaskName | 'Api')[]).filter((n) => allowed(n, 'states:SendTaskSuccess').length > 0);
      // NoticeDeadline wakes the wait of a notice it rerouted to a fallback mailbox (test/aws/reminder.test.ts)
      expect(completers.sort()).toEqual(['Api', 'AwaitAnswer', 'AwaitApproval', 'NoticeDeadline', 'VerifyNotice']);
    });

    it('never allow a wildcard action', () => {
      const wild = ofType('AWS::IAM::Policy')
        .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
        .flatMap(actions)
        .filter((a) => a === '*' || a.endsWith(':*'));
      expect(wild).toEqual([]);
      expect(ofType('AWS::IAM::Role').flatMap(([, r]) => r.Properties.Policies ?? [])).toEqual([]);
    });
  });
});

describe('TakedownStack operations', () => {
  it('lets DynamoDB expire lookups and records by their ttl attribute', () => {
    const [, table] = ofType('AWS::DynamoDB::Table')[0]!;
    expect(table.Properties.TimeToLiveSpecification).toEqual({ AttributeName: TABLE_DESIGN.timeToLiveAttribute, Enabled: true });
  });

  it('seals webhook secrets under a rotated key only the API function may open, for that purpose only', () => {
    // the other key is the audit trail's (audit.test.ts in test/aws)
    const keys = ofType('AWS::KMS::Key').filter(([id]) => !id.startsWith('AuditTrail'));
    expect(keys).toHaveLength(1);
    const [keyId, key] = keys[0]!;
    expect(key.Properties.EnableKeyRotation).toBe(true);
    const env = (name: TaskName | 'Api') => resources[logicalId(fn(name).node.defaultChild)]!.Properties.Environment.Variables;
    expect(env('Api').TAKEDOWN_KMS_KEY_ID).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(env('SendNotice').TAKEDOWN_KMS_KEY_ID).toBeUndefined();
    const onKey = (st: Statement) => JSON.stringify(st.Resource).includes(keyId);
    expect(allowed('Api', 'kms:Decrypt').filter((r) => r.includes(keyId))).toEqual([JSON.stringify({ 'Fn::GetAtt': [keyId, 'Arn'] })]);
    const decrypt = statementsOf('Api').find((st) => actions(st).includes('kms:Decrypt') && onKey(st)) as Statement & { Condition?: unknown };
    expect(decrypt.Condition).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': 'takedown-recipient-secret' } });
    const users = (Object.keys(stack.functions) as (TaskName | 'Api')[]).filter((n) => statementsOf(n).some((st) => onKey(st) && actions(st).some((a) => a.startsWith('kms:'))));
    expect(users).toEqual(['Api']);
  });

  it('alarms on every state machine\'s failed and timed-out executions and every function\'s errors and throttles, to one TLS-only topic', () => {
    const alarms = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
    const topicId = logicalId(stack.operations.topic.node.defaultChild);
    for (const a of alarms) expect(a.AlarmActions).toEqual([{ Ref: topicId }]);
    for (const workflow of ['campaign', 'notice', 'verify'] as const) {
      const arn = { Ref: logicalId(stack.workflows[workflow].stateMachine.node.defaultChild) };
      const metrics = alarms.filter((a) => JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'StateMachineArn', Value: arn }])).map((a) => a.MetricName).sort();
      expect(metrics, workflow).toEqual(['ExecutionsFailed', 'ExecutionsTimedOut']);
    }
    for (const [id] of ofType('AWS::Lambda::Function')) {
      const metrics = alarms.filter((a) => JSON.stringify(a.Dimensions) === JSON.stringify([{ Name: 'FunctionName', Value: { Ref: id } }])).map((a) => a.MetricName).sort();
      expect(metrics, id).toEqual(['Errors', 'Throttles']);
    }
    const policy = ofType('AWS::SNS::TopicPolicy').find(([, p]) => JSON.stringify(p.Properties.Topics) === JSON.stringify([{ Ref: topicId }]))![1];
    const statements = policy.Properties.PolicyDocument.Statement as (Statement & { Condition?: unknown; Principal?: unknown })[];
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }));
    expect(statements).toContainEqual(expect.objectContaining({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }));
    expect(template.toJSON().Outputs.AlarmTopicArn.Value).toEqual({ Ref: topicId });
  });

  it('keeps every asynchronous invocation that failed through its retries in one encrypted queue, whose depth alarms', () => {
    const queueId = logicalId(stack.operations.failures.node.defaultChild);
    expect(resources[queueId]!.Properties.SqsManagedSseEnabled).toBe(true);
    const configs = ofType('AWS::Lambda::EventInvokeConfig').map(([, c]) => c.Properties);
    const covered = configs.filter((c) => JSON.stringify(c.DestinationConfig) === JSON.stringify({ OnFailure: { Destination: { 'Fn::GetAtt': [queueId, 'Arn'] } } })).map((c) => c.FunctionName.Ref as string);
    const asynchronous = ['SesEventsFunction', 'ExecutionHistoryFunction', 'SweeperFunction', 'AuditCheckpointFunction'].map((prefix) => ofType('AWS::Lambda::Function').find(([id]) => id.startsWith(prefix))![0]);
    expect(covered.sort()).toEqual(asynchronous.sort());
    const depth = ofType('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties).filter((a) => a.MetricName === 'ApproximateNumberOfMessagesVisible');
    expect(depth).toHaveLength(1);
    expect(depth[0]!.Dimensions).toEqual([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]);
  });

  it('runs the sweeper on a schedule, allowed to ask about and start campaign, notice and verify executions only, to send the messages left unsent and to wake a notice an answer applied', () => {
    const rule = resources[logicalId(stack.sweeper.node.defaultChild)]!.Properties;
    expect(rule.ScheduleExpression).toBe('rate(15 minutes)');
    const sweeperId = rule.Targets[0].Arn['Fn::GetAtt'][0] as string;
    const role = resources[sweeperId]!.Properties.Role['Fn::GetAtt'][0] as string;
    const statements = ofType('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[]);
    const on = (action: string) => statements.filter((st) => actions(st).includes(action)).flatMap((st) => (Array.isArray(st.Resource) ? st.Resource : [st.Resource])).map((r) => JSON.stringify(r));
    expect(on('states:DescribeExecution')).toEqual([expect.stringContaining(':execution:Test-campaign:*'), expect.stringContaining(':execution:Test-notice:*'), expect.stringContaining(':execution:Test-verify:*')]);
    expect(on('states:StartExecution')).toEqual([expect.stringContaining(':stateMachine:Test-campaign'), expect.stringContaining(':stateMachine:Test-notice'), expect.stringContaining(':stateMachine:Test-verify')]);
    // an answer a function died applying, applied by the sweep, wakes its notice's wait (task tokens name no resource)
    expect(on('states:SendTaskSuccess')).toEqual(['"*"']);
    // a reminder or follow-up SES throttled, or whose function died mid-send, is the sweeper's to send
    expect(on('ses:SendEmail').length).toBeGreaterThan(0);
    expect(on('ses:SendEmail').every((arn) => arn.includes(':identity/') || arn.includes(':configuration-set/'))).toBe(true);
    // the stored bytes it sends and masks: the messages bucket, nothing else
    expect(on('s3:DeleteObject*').length).toBeGreaterThan(0);
    expect(on('s3:DeleteObject*').every((arn) => arn.includes('MessagesBucket'))).toBe(true);
  });

  it('logs every request of the HTTP API stage, without bodies or headers', () => {
    const stage = resources[logicalId(stack.http.stage.node.defaultChild)]!.Properties;
    expect(stage.AccessLogSettings.DestinationArn).toBeDefined();
    const format = JSON.parse(stage.AccessLogSettings.Format as string) as Record<string, string>;
    expect(format).toMatchObject({ requestId: '$context.requestId', status: '$context.status', route: '$context.routeKey' });
    expect(JSON.stringify(format)).not.toMatch(/header|body/i);
  });
});

describe('TakedownStack props', () => {
  it('refuses, before any bundling, a From address the functions would refuse at run time', () => {
    const build = () => new TakedownStack(new App(), 'Bad', { replyMailbox: 'replies@takedown.example', fromAddress: 'CERT team' });
    expect(build).toThrow(/fromAddress is not valid/);
  });

  it('refuses a directory file that does not exist', () => {
    const build = () =>
      new TakedownStack(new App(), 'Bad', {
        replyMailbox: 'replies@takedown.example',
        fromAddress: 'cert@takedown.example',
        directoryFile: 'examples/no-such-directory.yaml',
      });
    expect(build).toThrow(/does not exist/);
  });
});

// keeps the helper honest: it must see a grant that exists, or every "not allowed" above would pass vacuously
describe('the IAM helpers', () => {
  it('find the table grant of every function', () => {
    for (const name of Object.keys(stack.functions) as (TaskName | 'Api')[]) {
      expect(allowed(name, 'dynamodb:GetItem'), name).toHaveLength(2);
    }
  });
});
