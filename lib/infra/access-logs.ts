import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

export interface AccessLogsBucketProps {
  /** @default 365 days */
  readonly retention?: Duration;
}

/**
 * Where S3 writes the server access logs of the evidence and inbound buckets: who read or wrote an evidence pack
 * or a stored reply, and when. Private, encrypted, TLS only; kept a year by default.
 */
export class AccessLogsBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: AccessLogsBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: [{ expiration: props.retention ?? Duration.days(365) }],
    });
    acknowledge(this.bucket, 'AwsSolutions-S1', 'this is the access log bucket itself: logging its own access would log the logging');
  }
}
