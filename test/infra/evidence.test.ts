import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { EvidenceBucket } from '../../lib/infra/storage/evidence-bucket.js';
import { TakedownStack } from '../../lib/infra/stack.js';

const ROOT = join(import.meta.dirname, '../..');

let withBucket: Template;
let without: Template;
let stacks: { on: TakedownStack; off: TakedownStack };

beforeAll(() => {
  // cdk.json's feature flags, as `cdk synth` has them; the functions are not bundled: these tests read the table
  // and the bucket only, and stack.test.ts covers the bundles
  const context = { ...(JSON.parse(readFileSync(join(ROOT, 'cdk.json'), 'utf8')) as { context: object }).context, 'aws:cdk:bundling-stacks': [] };
  const app = new App({ context });
  const props = { replyMailbox: 'replies@takedown.example', fromAddress: 'cert@takedown.example' };
  stacks = {
    on: new TakedownStack(app, 'WithEvidence', { ...props, evidenceBucket: { retentionDays: 2555 } }),
    off: new TakedownStack(app, 'WithoutEvidence', props),
  };
  withBucket = Template.fromStack(stacks.on);
  without = Template.fromStack(stacks.off);
}, 120_000);

const LOCKED = { ObjectLockEnabled: true };

describe('TakedownStack and the evidence bucket', () => {
  it('has point-in-time recovery on the table that holds the audit trail, with or without the bucket', () => {
    for (const template of [withBucket, without]) {
      template.hasResourceProperties('AWS::DynamoDB::Table', { PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true } });
    }
  });

  it('has no evidence bucket unless asked for one', () => {
    expect(stacks.off.evidenceBucket).toBeUndefined();
    // the one locked bucket without it is the audit trail's (checkpoints and the audit key)
    expect(Object.keys(without.findResources('AWS::S3::Bucket', { Properties: LOCKED })).filter((id) => !id.startsWith('AuditTrail'))).toHaveLength(0);
    expect(Object.keys(without.findOutputs('EvidenceBucketName'))).toHaveLength(0);
  });

  it('with evidenceBucket, has one bucket whose objects are locked in COMPLIANCE mode for that many days', () => {
    const buckets = withBucket.findResources('AWS::S3::Bucket', { Properties: LOCKED });
    expect(Object.keys(buckets).filter((id) => !id.startsWith('AuditTrail'))).toHaveLength(1);
    withBucket.hasResource('AWS::S3::Bucket', {
      Properties: {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: { ObjectLockEnabled: 'Enabled', Rule: { DefaultRetention: { Mode: 'COMPLIANCE', Days: 2555 } } },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      },
      DeletionPolicy: 'Retain',
    });
    // plain HTTP is refused by the bucket policy
    withBucket.hasResourceProperties('AWS::S3::BucketPolicy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
    expect(Object.keys(withBucket.findOutputs('EvidenceBucketName'))).toHaveLength(1);
  });

  it('refuses a retention that is not a whole number of days from 1 to 36500', () => {
    const stack = new Stack(new App(), 'Bare');
    [0, 1.5, -3, 40_000, Number.NaN].forEach((retentionDays, i) => {
      expect(() => new EvidenceBucket(stack, `Evidence${i}`, { retentionDays })).toThrow(/retentionDays/);
    });
  });
});
