import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { BlockPublicAccess, Bucket, BucketEncryption, ObjectLockRetention, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface EvidenceBucketProps {
  /**
   * Days every object version stays locked in COMPLIANCE mode: nobody, the account's root user included, can
   * overwrite or delete an exported evidence pack before then, and the period cannot be shortened.
   */
  readonly retentionDays: number;
  /**
   * Where S3 writes the bucket's server access logs (who read or wrote a pack).
   * @default no access logs
   */
  readonly accessLogs?: IBucket;
}

/**
 * Where evidence packs are kept on AWS: versioned, S3 Object Lock in COMPLIANCE mode by default on every object,
 * private, encrypted, TLS only, and kept when the stack goes (a locked bucket cannot be emptied anyway).
 */
export class EvidenceBucket extends Construct {
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: EvidenceBucketProps) {
    super(scope, id);
    // COMPLIANCE cannot be undone for the objects it covers: refuse a typo here rather than lock packs for a decade
    if (!Number.isInteger(props.retentionDays) || props.retentionDays < 1 || props.retentionDays > 36_500) {
      throw new Error(`EvidenceBucket: retentionDays must be a whole number of days from 1 to 36500, not ${props.retentionDays}`);
    }
    this.bucket = new Bucket(this, 'Bucket', {
      objectLockEnabled: true,
      objectLockDefaultRetention: ObjectLockRetention.compliance(Duration.days(props.retentionDays)),
      versioned: true,
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      removalPolicy: RemovalPolicy.RETAIN,
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'evidence/' } : {}),
    });
  }
}
