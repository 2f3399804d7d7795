import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AnyPrincipal, Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** The encryption context lib/adapters/secrets/audit-key.kms.ts binds into the audit data key. */
export const AUDIT_KEY_CONTEXT = { purpose: 'takedown-audit-mac' } as const;

/** Where the encrypted audit data key lives in the bucket (lib/adapters/aws/audit.ts). */
export const AUDIT_DATA_KEY_PREFIX = 'audit-key/';
/** Where the checkpoint records live in the bucket (lib/adapters/checkpoints/checkpoints.s3.ts). */
export const AUDIT_CHECKPOINTS_PREFIX = 'audit-checkpoints/';

export interface AuditTrailProps {
  /**
   * Days each checkpoint record stays locked in COMPLIANCE mode: nobody, the account's root user included, can
   * delete or overwrite it before then. The encrypted data key is also under a legal hold, which has no end.
   * @default 400
   */
  readonly retentionDays?: number;
  /** where S3 writes the bucket's server access logs @default none */
  readonly accessLogs?: IBucket;
  /**
   * What happens to the KMS key when the stack goes: without it no MAC of the trail verifies again.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * What keeps the audit trail honest on AWS beyond the table: a KMS key the audit data key is encrypted under (the
 * HMAC key of every event and checkpoint: a writer of the table alone cannot forge a MAC), and an Object Lock
 * bucket (COMPLIANCE) that holds that encrypted data key and the checkpoint log of the chains' heads. Every write
 * there is create-only: the functions' grants and the bucket policy both require If-None-Match, so a record can
 * be added but never replaced by a newer version.
 */
export class AuditTrail extends Construct {
  readonly key: Key;
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: AuditTrailProps = {}) {
    super(scope, id);
    const days = props.retentionDays ?? 400;
    // COMPLIANCE cannot be undone for the objects it covers: refuse a typo before it locks records for a decade
    if (!Number.isInteger(days) || days < 1 || days > 36_500) throw new Error(`AuditTrail: retentionDays must be a whole number of days from 1 to 36500, not ${days}`);
    this.key = new Key(this, 'Key', {
      description: 'Takedown orchestrator: encrypts the audit trail\'s MAC key',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(days)),
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'audit-trail/' } : {}),
    });
    // a versioned bucket takes a new version over a locked one: only a create-only write keeps the first version
    // the current one, for everyone (an administrator's console upload included)
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'CreateOnly',
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${AUDIT_DATA_KEY_PREFIX}*`), this.bucket.arnForObjects(`${AUDIT_CHECKPOINTS_PREFIX}*`)],
        conditions: { Null: { 's3:if-none-match': 'true' } },
      }),
    );
  }

  /**
   * Lets a function MAC audit events and write checkpoints: decrypt (or, the first time, create) the data key for
   * the audit purpose only, read it, read the checkpoint log and add records to it, never replace one.
   */
  grantAppend(fn: IFunction): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['kms:Decrypt', 'kms:GenerateDataKeyWithoutPlaintext'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': AUDIT_KEY_CONTEXT.purpose } },
      }),
    );
    const objects = [this.bucket.arnForObjects(`${AUDIT_DATA_KEY_PREFIX}*`), this.bucket.arnForObjects(`${AUDIT_CHECKPOINTS_PREFIX}*`)];
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: objects }));
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject'], resources: objects, conditions: { StringEquals: { 's3:if-none-match': '*' } } }),
    );
    // the data key is held for good: its lock must not end with the retention, or a new key could replace it
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObjectLegalHold'], resources: [this.bucket.arnForObjects(`${AUDIT_DATA_KEY_PREFIX}*`)] }));
    // listing lets a missing record answer 404 rather than 403: the log's end is found by asking for numbers
    fn.addToRolePolicy(
      new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${AUDIT_CHECKPOINTS_PREFIX}*`, `${AUDIT_DATA_KEY_PREFIX}*`] } } }),
    );
  }
}
