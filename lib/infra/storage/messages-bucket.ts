import { RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket, ObjectOwnership } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface MessagesBucketProps {
  /**
   * What happens to the bucket (the copies of every message sent: evidence) when the stack goes.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /** where S3 server access logs go (who read or wrote a message) @default none */
  readonly accessLogs?: IBucket;
}

/**
 * The messages the notices send, one object per part, out of the table (a DynamoDB item holds 400 KB, a notice
 * to a big hoster is megabytes): the exact bytes until a part is sent, then a copy with its tokens masked.
 */
export class MessagesBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: MessagesBucketProps = {}) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      enforceSSL: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'messages/' } : {}),
    });
  }
}
