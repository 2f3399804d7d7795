import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { TakedownStack } from '../../lib/infra/stack.js';

const ROOT = join(import.meta.dirname, '../..');

let template: Template;
let noRdap: Template;
let resources: Record<string, { Type: string; Properties: Record<string, any> }>;

beforeAll(() => {
  // cdk.json's feature flags; nothing bundled: these tests read the template's resources and policies only
  const context = { ...(JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: object }).context, 'aws:cdk:bundling-stacks': [] };
  const app = new App({ context });
  const props = { replyMailbox: 'replies@takedown.example', fromAddress: 'cert@takedown.example' };
  const parity = new TakedownStack(app, 'Parity', props);
  const off = new TakedownStack(app, 'NoRdap', { ...props, rdap: { enabled: false } });
  template = Template.fromStack(parity);
  noRdap = Template.fromStack(off);
  resources = template.toJSON().Resources;
}, 120_000);

const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);
const functions = () => ofType('AWS::Lambda::Function');
const roleOf = (fn: { Properties: Record<string, any> }) => fn.Properties.Role['Fn::GetAtt'][0] as string;
const statementsOf = (roleId: string) =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles).includes(`"${roleId}"`))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, any>[]);

describe('TakedownStack: the audit trail and operations', () => {
  it('denies every function an update or a delete of an audit event, by the CHAIN# partition keys', () => {
    for (const [id, fn] of functions()) {
      const deny = statementsOf(roleOf(fn)).find((s) => s.Effect === 'Deny');
      expect(deny, id).toMatchObject({ Action: expect.arrayContaining(['dynamodb:UpdateItem', 'dynamodb:DeleteItem', 'dynamodb:BatchWriteItem']), Condition: { 'ForAnyValue:StringLike': { 'dynamodb:LeadingKeys': ['CHAIN#*'] } } });
    }
  });

  it('keeps the audit key and the checkpoints in a COMPLIANCE Object Lock bucket that takes create-only writes', () => {
    const [bucketId, bucket] = ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('AuditTrail'))!;
    expect(bucket.Properties.ObjectLockConfiguration).toEqual({ ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 400 } } });
    const policy = ofType('AWS::S3::BucketPolicy').find(([, p]) => JSON.stringify(p.Properties.Bucket).includes(bucketId))![1];
    expect(policy.Properties.PolicyDocument.Statement).toContainEqual(expect.objectContaining({ Sid: 'CreateOnly', Effect: 'Deny', Action: 's3:PutObject', Condition: { Null: { 's3:if-none-match': 'true' } } }));
    // and every function may decrypt the data key for the audit purpose only
    for (const [id, fn] of functions()) {
      const kms = statementsOf(roleOf(fn)).find((s) => JSON.stringify(s.Action).includes('kms:GenerateDataKeyWithoutPlaintext'));
      expect(kms?.Condition, id).toEqual({ StringEquals: { 'kms:EncryptionContext:purpose': 'takedown-audit-mac' } });
    }
  });

  it('checkpoints every hour through the audit checkpoint function', () => {
    const fnId = functions().find(([id]) => id.startsWith('AuditCheckpointFunction'))![0];
    const rule = ofType('AWS::Events::Rule').find(([, r]) => r.Properties.ScheduleExpression === 'rate(1 hour)')!;
    expect(JSON.stringify(rule[1].Properties.Targets)).toContain(fnId);
  });

  it('counts a "sending halted" line of every sending function into an alarm on the operators\' topic', () => {
    const filters = ofType('AWS::Logs::MetricFilter').map(([, f]) => f.Properties);
    expect(filters).toHaveLength(5);
    for (const f of filters) {
      expect(f.FilterPattern).toBe('{ $.message = "sending halted*" }');
      expect(f.MetricTransformations).toEqual([{ MetricNamespace: 'Takedown/Logs', MetricName: 'SendingHalted', MetricValue: '1' }]);
    }
    const groups = filters.map((f) => JSON.stringify(f.LogGroupName)).sort();
    const senders = functions().filter(([id]) => /^(SendNotice|NoticeDeadline|VerifyNotice|Api|Sweeper|InboundMail)Function/.test(id)).map(([, fn]) => JSON.stringify(fn.Properties.LoggingConfig.LogGroup)).sort();
    expect(groups).toEqual(senders);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Namespace: 'Takedown/Logs', MetricName: 'SendingHalted', Threshold: 1 });
  });

  it('resolves parties by RDAP unless switched off, and names the Powertools service and namespace everywhere', () => {
    const route = (t: Template) => Object.entries(t.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('RouteCampaignFunction'))![1];
    expect(route(template).Properties.Environment.Variables.RDAP_MODE).toBe('real');
    expect(route(noRdap).Properties.Environment.Variables.RDAP_MODE).toBe('off');
    for (const [id, fn] of functions()) expect(fn.Properties.Environment.Variables, id).toMatchObject({ POWERTOOLS_SERVICE_NAME: 'takedown', POWERTOOLS_METRICS_NAMESPACE: 'Takedown' });
  });
});
