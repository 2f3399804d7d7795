import { DeleteItemCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { KMSClient } from '@aws-sdk/client-kms';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { S3CheckpointLog } from '../../lib/adapters/checkpoints/checkpoints.s3.js';
import { storedAuditKey } from '../../lib/adapters/aws/audit.js';
import { readCheckpoints, verifyCampaign } from '../../lib/core/audit/index.js';
import { sentTo, submitCampaign, useAccount } from './support.js';

/*
 * The audit trail on the AWS host: every event MACed with a data key only KMS can decrypt (kept, encrypted,
 * create-only in the Object Lock bucket), the chains' heads checkpointed into that bucket on each campaign change
 * and by the hourly schedule, and no function allowed to change or delete an event, or to replace a checkpoint.
 */
const { account } = useAccount();

/** The SDK as one of the stack's functions: its role's credentials, checked against the template's IAM. */
function asFunction(aws: ReturnType<typeof account>, prefix: string): { region: string; endpoint: string; credentials: { accessKeyId: string; secretAccessKey: string; sessionToken: string } } {
  const spec = aws.lambda.spec(prefix);
  return { region: 'eu-west-1', endpoint: aws.endpoint.url, credentials: { accessKeyId: spec.roleId, secretAccessKey: 'x', sessionToken: spec.logicalId } };
}

function auditBucket(aws: ReturnType<typeof account>): string {
  return aws.template.ref(aws.template.ofType('AWS::S3::Bucket').find(([id]) => id.startsWith('AuditTrail'))![0]);
}

describe('the audit trail on the AWS host', () => {
  it('MACs every event with the KMS-kept key and checkpoints every chain head into the Object Lock bucket, hourly too', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.61,ip,KE,c2 server'], { name: 'Audit' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@hosting.example')[0]);
    await aws.waitFor('the answer wait', () => aws.sfn.waiting().length === 1 || undefined);
    // the schedule's hour passes: the heads that moved since the campaign's last change are recorded
    aws.services.tick('Checkpoint');
    await aws.services.settled();

    const config = aws.operatorClientConfig();
    const dynamo = new DynamoDBClient(config);
    const kms = new KMSClient(config);
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    try {
      const bucket = auditBucket(aws);
      expect(aws.services.objects.has(`${bucket}/audit-key/data-key`)).toBe(true);
      const store = new DynamoDbStore({ tableName: aws.tableName, client: DynamoDBDocumentClient.from(dynamo) });
      // the auditor's key: the same stored data key, decrypted by KMS for the audit purpose
      const key = storedAuditKey({ kmsKeyId: aws.template.getAtt(aws.template.ofType('AWS::KMS::Key').find(([k]) => k.startsWith('AuditTrail'))![0], 'Arn'), bucket, s3, kms });
      const log = await readCheckpoints(await new S3CheckpointLog({ bucket, client: s3 }).readAll(), key);
      expect(log).toMatchObject({ ok: true, macsChecked: true });
      expect(log.records).toBeGreaterThanOrEqual(2);
      const report = await verifyCampaign({ store }, id, { key, heads: log.heads[id] ?? {}, legacy: log.baseline[id] ?? {} });
      expect(report).toMatchObject({ ok: true, brokenChains: 0 });
      expect(report.macs?.checked).toBe(report.events);
      // every chain of the campaign as it stands now is in the checkpoints
      expect(Object.keys(log.heads[id] ?? {}).sort()).toEqual(Object.keys(report.heads).sort());
      for (const [chain, head] of Object.entries(report.heads)) expect(log.heads[id]![chain]).toEqual(head);
    } finally {
      dynamo.destroy();
      kms.destroy();
      s3.destroy();
    }
    expect(aws.denials()).toEqual([]);
  });

  it('lets a function append an event but never change or delete one', async () => {
    const aws = account();
    const dynamo = new DynamoDBClient(asFunction(aws, 'SendNoticeFunction'));
    const slot = { pk: { S: 'CHAIN#case:c_forged' }, sk: { S: '0000000000' } };
    try {
      await dynamo.send(new PutItemCommand({ TableName: aws.tableName, Item: { ...slot, data: { S: '{}' } }, ConditionExpression: 'attribute_not_exists(pk)' }));
      await expect(dynamo.send(new UpdateItemCommand({ TableName: aws.tableName, Key: slot, UpdateExpression: 'SET #d = :d', ExpressionAttributeNames: { '#d': 'data' }, ExpressionAttributeValues: { ':d': { S: '{"rewritten":true}' } } }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
      await expect(dynamo.send(new DeleteItemCommand({ TableName: aws.tableName, Key: slot }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
      // the rest of the table is the function's to change
      await dynamo.send(new DeleteItemCommand({ TableName: aws.tableName, Key: { pk: { S: 'REC#scratch#1' }, sk: { S: 'REC' } } }));
    } finally {
      dynamo.destroy();
    }
    expect(aws.denials().map((d) => d.replace(/^\S+ -> /, ''))).toEqual([`dynamodb:UpdateItem ${aws.template.getAtt(aws.template.ofType('AWS::DynamoDB::Table')[0]![0], 'Arn')}`, `dynamodb:DeleteItem ${aws.template.getAtt(aws.template.ofType('AWS::DynamoDB::Table')[0]![0], 'Arn')}`]);
    aws.endpoint.denials.length = 0;
  });

  it('lets a function add a checkpoint record but never replace one', async () => {
    const aws = account();
    const bucket = auditBucket(aws);
    const s3 = new S3Client({ ...asFunction(aws, 'SweeperFunction'), forcePathStyle: true });
    try {
      const taken = [...aws.services.objects.keys()].find((k) => k.startsWith(`${bucket}/audit-checkpoints/`))!.slice(bucket.length + 1);
      await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: taken, Body: '{}' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 403 } });
      await expect(s3.send(new PutObjectCommand({ Bucket: bucket, Key: taken, Body: '{}', IfNoneMatch: '*' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 412 } });
    } finally {
      s3.destroy();
    }
    expect(aws.denials()).toHaveLength(1);
    aws.endpoint.denials.length = 0;
  });
});
