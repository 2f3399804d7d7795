import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { TakedownStack } from '../../lib/infra/stack.js';

const ROOT = join(import.meta.dirname, '../..');

type Resource = { Type: string; Properties: Record<string, any>; DependsOn?: string[] };
type Statement = { Effect: string; Action: string | string[]; Resource: unknown; Principal?: unknown; Condition?: unknown };

let stack: TakedownStack;
let template: Template;
let resources: Record<string, Resource>;
let bare: Template;

beforeAll(() => {
  // the feature flags of `cdk synth`; no stack bundled (stack.test.ts checks the bundles): the templates only
  const context = { ...JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')).context, 'aws:cdk:bundling-stacks': [] };
  stack = new TakedownStack(new App({ context }), 'Mail', {
    replyMailbox: 'takedown@reply.example',
    fromAddress: 'cert@takedown.example',
    inboundDomain: 'reply.example',
  });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
  bare = Template.fromStack(
    new TakedownStack(new App({ context }), 'Bare', { replyMailbox: 'takedown@reply.example', fromAddress: 'cert@takedown.example', sesEvents: false }),
  );
}, 120_000);

function id(construct: IConstruct): string {
  return stack.getLogicalId(construct.node.defaultChild as CfnElement);
}

function ofType(type: string): [string, Resource][] {
  return Object.entries(resources).filter(([, r]) => r.Type === type);
}

/** Every Allow statement of the IAM policies attached to a function's role. */
function roleStatements(fn: { role?: IConstruct }): Statement[] {
  const role = stack.getLogicalId(fn.role!.node.defaultChild as CfnElement);
  return ofType('AWS::IAM::Policy')
    .filter(([, p]) => (p.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: role })))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
    .filter((s) => s.Effect === 'Allow');
}

const actionsOf = (s: Statement): string[] => (Array.isArray(s.Action) ? s.Action : [s.Action]);

function functionOf(resource: Resource): string {
  return JSON.stringify(resource.Properties.FunctionName ?? resource.Properties.Endpoint);
}

describe('SES receiving for the reply domain', () => {
  it('has a rule set with one rule for the domain: store in the inbound bucket, then invoke the inbound function', () => {
    template.hasResourceProperties('AWS::SES::ReceiptRuleSet', { RuleSetName: 'Mail-inbound' });
    const fn = stack.inboundMail!;
    template.hasResourceProperties('AWS::SES::ReceiptRule', {
      RuleSetName: { Ref: stack.getLogicalId(fn.ruleSet) },
      Rule: {
        Name: 'Mail-inbound-replies',
        Enabled: true,
        Recipients: ['reply.example'],
        ScanEnabled: true,
        Actions: [
          { S3Action: { BucketName: { Ref: id(fn.bucket) }, ObjectKeyPrefix: 'inbound/' } },
          { LambdaAction: { FunctionArn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^InboundMailFunction'), 'Arn'] }, InvocationType: 'Event' } },
        ],
      },
    });
  });

  it('lets only that rule of this account put objects into the bucket, and is created after that grant', () => {
    const receipt = stack.inboundMail!;
    const [, policy] = ofType('AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties.Bucket) === JSON.stringify({ Ref: id(receipt.bucket) }))!;
    const statements = policy.Properties.PolicyDocument.Statement as Statement[];
    const ses = statements.filter((s) => JSON.stringify(s.Principal) === JSON.stringify({ Service: 'ses.amazonaws.com' }));
    expect(ses).toHaveLength(1);
    expect(ses[0]).toMatchObject({ Effect: 'Allow', Action: 's3:PutObject' });
    expect(JSON.stringify(ses[0]!.Resource)).toContain('/inbound/*');
    const condition = (ses[0]!.Condition as { StringEquals: Record<string, unknown> }).StringEquals;
    expect(condition['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
    expect(JSON.stringify(condition['aws:SourceArn'])).toContain(':receipt-rule-set/Mail-inbound:receipt-rule/Mail-inbound-replies');
    // and no one may use it over plain HTTP
    expect(statements.some((s) => s.Effect === 'Deny' && JSON.stringify(s.Condition).includes('aws:SecureTransport'))).toBe(true);

    const [ruleId, rule] = ofType('AWS::SES::ReceiptRule')[0]!;
    expect(rule.DependsOn, ruleId).toEqual(expect.arrayContaining([stack.getLogicalId(receipt.bucket.policy!.node.defaultChild as CfnElement)]));
  });

  it('lets SES invoke the inbound function for that rule only', () => {
    const inbound = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'ses.amazonaws.com');
    expect(inbound).toHaveLength(1);
    const [permissionId, permission] = inbound[0]!;
    expect(functionOf(permission)).toMatch(/InboundMailFunction/);
    expect(permission.Properties.SourceAccount).toEqual({ Ref: 'AWS::AccountId' });
    expect(JSON.stringify(permission.Properties.SourceArn)).toContain(':receipt-rule-set/Mail-inbound:receipt-rule/Mail-inbound-replies');
    expect(ofType('AWS::SES::ReceiptRule')[0]![1].DependsOn).toContain(permissionId);
  });

  it('gives the inbound function its bucket, read access to the stored replies only, and the senders\' mail powers', () => {
    const handler = stack.inboundMail!.handler;
    expect(resources[id(handler)]!.Properties).toMatchObject({
      Runtime: 'nodejs22.x',
      Handler: 'index.handler',
      Environment: { Variables: { INBOUND_BUCKET: { Ref: id(stack.inboundMail!.bucket) }, INBOUND_PREFIX: 'inbound/' } },
    });
    const statements = roleStatements(handler);
    // the audit trail's bucket is every function's (stack.test.ts); what is the inbound function's own here
    const s3 = statements.filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')) && JSON.stringify(s.Resource).includes(id(stack.inboundMail!.bucket)));
    expect(s3.flatMap(actionsOf)).toEqual(['s3:GetObject']);
    expect(JSON.stringify(s3[0]!.Resource)).toContain('/inbound/*');
    // a late "taken down" tells the party the cases had gone on to that nothing more is needed
    expect(statements.flatMap(actionsOf).filter((a) => a.startsWith('ses:'))).toEqual(['ses:SendEmail']);
    const starts = statements.filter((s) => actionsOf(s).includes('states:StartExecution')).flatMap((s) => s.Resource as unknown[]).map((r) => JSON.stringify(r));
    expect(starts.sort()).toEqual([expect.stringContaining(':stateMachine:Mail-notice"'), expect.stringContaining(':stateMachine:Mail-verify"')]);
  });
});

describe('SES bounce and complaint events', () => {
  it('publish bounces and complaints of the configuration set to a topic only SES may publish to', () => {
    const events = stack.sesEvents!;
    template.hasResourceProperties('AWS::SES::ConfigurationSet', { Name: 'Mail-notices' });
    template.hasResourceProperties('AWS::SES::ConfigurationSetEventDestination', {
      ConfigurationSetName: { Ref: id(events.configurationSet) },
      EventDestination: { Enabled: true, MatchingEventTypes: ['bounce', 'complaint'], SnsDestination: { TopicARN: { Ref: id(events.topic) } } },
    });
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Action: 'sns:Publish',
            Principal: { Service: 'ses.amazonaws.com' },
            Condition: { StringEquals: { 'AWS:SourceAccount': { Ref: 'AWS::AccountId' }, 'AWS:SourceArn': Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it('deliver them to the SES events function, which the topic alone may invoke', () => {
    const events = stack.sesEvents!;
    const [, subscription] = ofType('AWS::SNS::Subscription')[0]!;
    expect(subscription.Properties).toMatchObject({ Protocol: 'lambda', TopicArn: { Ref: id(events.topic) } });
    expect(functionOf(subscription)).toMatch(/SesEventsFunction/);
    const fromSns = ofType('AWS::Lambda::Permission').filter(([, p]) => p.Properties.Principal === 'sns.amazonaws.com');
    expect(fromSns).toHaveLength(1);
    expect(fromSns[0]![1].Properties.SourceArn).toEqual({ Ref: id(events.topic) });
    expect(functionOf(fromSns[0]![1])).toMatch(/SesEventsFunction/);
    const statements = roleStatements(events.handler);
    expect(statements.filter((s) => !JSON.stringify(s.Resource).includes('AuditTrail')).flatMap(actionsOf).filter((a) => a.startsWith('ses:') || a.startsWith('s3:'))).toEqual([]);
    expect(statements.filter((s) => actionsOf(s).includes('states:StartExecution')).flatMap((s) => s.Resource as unknown[]).map((r) => JSON.stringify(r))).toEqual([
      expect.stringContaining(':stateMachine:Mail-notice"'),
    ]);
  });

  it('name the configuration set to every function, so the mailer sends through it', () => {
    for (const [key, fn] of ofType('AWS::Lambda::Function')) {
      expect(fn.Properties.Environment.Variables.SES_CONFIGURATION_SET, key).toBe('Mail-notices');
    }
  });

  it('never allow a wildcard action to the new functions', () => {
    const wild = ofType('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Statement[])
      .flatMap(actionsOf)
      .filter((a) => a === '*' || a.endsWith(':*'));
    expect(wild).toEqual([]);
  });
});

describe('TakedownStack mail props', () => {
  it('has no SES receiving without inboundDomain and no configuration set when sesEvents is false', () => {
    for (const type of ['AWS::SES::ReceiptRuleSet', 'AWS::SES::ReceiptRule', 'AWS::SES::ConfigurationSet', 'AWS::SNS::Subscription']) {
      bare.resourceCountIs(type, 0);
    }
    // the one topic left is the operators' alarm topic
    bare.resourceCountIs('AWS::SNS::Topic', 1);
    for (const fn of Object.values(bare.findResources('AWS::Lambda::Function'))) {
      expect(fn.Properties.Environment.Variables.SES_CONFIGURATION_SET).toBeUndefined();
    }
  });

  it('refuses an inbound domain the reply mailbox is not at, before any bundling', () => {
    const build = () => new TakedownStack(new App(), 'Bad', { replyMailbox: 'takedown@reply.example', fromAddress: 'cert@takedown.example', inboundDomain: 'other.example' });
    expect(build).toThrow(/replyMailbox must be an address at inboundDomain/);
  });
});
