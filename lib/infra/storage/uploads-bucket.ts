import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/** Where uploaded files are put (lib/core/campaign/upload.ts): `uploads/<upload id>`. */
export const UPLOADS_PREFIX = 'uploads/';

export interface UploadsBucketProps {
  /**
   * Days an uploaded file is kept: long enough to read it (minutes) and to look at a refused one again.
   * @default 7
   */
  readonly retentionDays?: number;
  /** where S3 server access logs go (who uploaded or read a file) @default none */
  readonly accessLogs?: IBucket;
}

/**
 * The files coordinators upload for a campaign (up to 100 MB, 200,000 indicators): PUT by a presigned URL the API
 * function signs, read by the campaign workflow's reading step. Private, encrypted, TLS only; each file expires.
 */
export class UploadsBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: UploadsBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      // a submitted file is the submitter's, read once into the table: nothing of it needs to outlive the stack
      removalPolicy: RemovalPolicy.DESTROY,
      lifecycleRules: [{ prefix: UPLOADS_PREFIX, expiration: Duration.days(props.retentionDays ?? 7), abortIncompleteMultipartUploadAfter: Duration.days(1) }],
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'uploads/' } : {}),
    });
  }

  /**
   * Lets a function presign uploads (a presigned URL acts with its signer's rights: PutObject) and see whether one
   * arrived (HeadObject is GetObject's; listing makes a missing file 404, not 403).
   */
  grantPresign(fn: IFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:PutObject', 's3:GetObject'], resources: [this.bucket.arnForObjects(`${UPLOADS_PREFIX}*`)] }));
    this.grantList(fn);
  }

  /** Lets a function read uploaded files. */
  grantRead(fn: IFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`${UPLOADS_PREFIX}*`)] }));
    this.grantList(fn);
  }

  private grantList(fn: IFunction): void {
    fn.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:ListBucket'], resources: [this.bucket.bucketArn], conditions: { StringLike: { 's3:prefix': [`${UPLOADS_PREFIX}*`] } } }));
  }
}
