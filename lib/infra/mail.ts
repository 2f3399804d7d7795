import { ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { CfnPermission, type Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket, type IBucket } from 'aws-cdk-lib/aws-s3';
import { acknowledge } from './nag.js';
import { CfnReceiptRule, CfnReceiptRuleSet, ConfigurationSet, EmailSendingEvent, EventDestination } from 'aws-cdk-lib/aws-ses';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { LambdaSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';

export interface InboundMailReceiptProps {
  /** the domain replies are addressed to (the reply mailbox's); SES must be verified for it and be its MX */
  readonly domain: string;
  /** unique in the account and region; the rule set must be made the active one (one per region) by hand */
  readonly ruleSetName: string;
  /** reads each stored message (lambdas/inbound-mail.ts); it is told the bucket and may read only the prefix */
  readonly handler: LambdaFunction;
  /** @default 'inbound/' */
  readonly objectKeyPrefix?: string;
  /**
   * Days a stored message is kept. Replies are the evidence behind answers and review items (their `rawRef`).
   * @default kept
   */
  readonly retentionDays?: number;
  /**
   * Where S3 writes the bucket's server access logs (who read a stored reply).
   * @default no access logs
   */
  readonly accessLogs?: IBucket;
}

/**
 * SES receiving for the reply domain: a receipt rule set with one rule that stores each message in a private
 * bucket (S3 action), then invokes the inbound function (Lambda action, asynchronous) with SES's verdicts. Only
 * this rule may write to the bucket and invoke the function (aws:SourceAccount and aws:SourceArn conditions).
 * CloudFormation cannot activate a rule set: `aws ses set-active-receipt-rule-set --rule-set-name <name>` once.
 */
export class InboundMailReceipt extends Construct {
  readonly bucket: Bucket;
  readonly handler: LambdaFunction;
  readonly ruleSet: CfnReceiptRuleSet;
  readonly rule: CfnReceiptRule;
  /** `arn:…:receipt-rule-set/<set>:receipt-rule/<rule>`: what SES presents as aws:SourceArn */
  readonly ruleArn: string;

  constructor(scope: Construct, id: string, props: InboundMailReceiptProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const prefix = props.objectKeyPrefix ?? 'inbound/';
    this.handler = props.handler;
    const ruleName = `${props.ruleSetName}-replies`;
    this.ruleArn = stack.formatArn({
      service: 'ses',
      resource: 'receipt-rule-set',
      resourceName: `${props.ruleSetName}:receipt-rule/${ruleName}`,
      arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
    });
    const fromOurRule = { StringEquals: { 'aws:SourceAccount': stack.account, 'aws:SourceArn': this.ruleArn } };

    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      enforceSSL: true,
      // replies are personal data and evidence: they outlive a torn-down stack unless someone deletes them
      removalPolicy: RemovalPolicy.RETAIN,
      lifecycleRules: props.retentionDays ? [{ prefix, expiration: Duration.days(props.retentionDays) }] : undefined,
      ...(props.accessLogs ? { serverAccessLogsBucket: props.accessLogs, serverAccessLogsPrefix: 'inbound-mail/' } : {}),
    });
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        sid: 'SesStoresReplies',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('ses.amazonaws.com')],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}*`)],
        conditions: fromOurRule,
      }),
    );
    const invoke = new CfnPermission(this, 'SesInvokes', {
      action: 'lambda:InvokeFunction',
      functionName: props.handler.functionArn,
      principal: 'ses.amazonaws.com',
      sourceAccount: stack.account,
      sourceArn: this.ruleArn,
    });
    props.handler.addToRolePolicy(new PolicyStatement({ effect: Effect.ALLOW, actions: ['s3:GetObject'], resources: [this.bucket.arnForObjects(`${prefix}*`)] }));
    acknowledge(props.handler, `AwsSolutions-IAM5[Resource::<${stack.getLogicalId(this.bucket.node.defaultChild as CfnBucket)}.Arn>/${prefix}*]`, 'it reads the messages SES stores under the prefix, each named by SES\'s message id, unknown in advance');
    props.handler.addEnvironment('INBOUND_BUCKET', this.bucket.bucketName);
    props.handler.addEnvironment('INBOUND_PREFIX', prefix);

    this.ruleSet = new CfnReceiptRuleSet(this, 'RuleSet', { ruleSetName: props.ruleSetName });
    this.rule = new CfnReceiptRule(this, 'Rule', {
      ruleSetName: this.ruleSet.ref,
      rule: {
        name: ruleName,
        enabled: true,
        recipients: [props.domain],
        // SES's spam and virus verdicts reach the function; a desk's MTA without TLS must still get through
        scanEnabled: true,
        tlsPolicy: 'Optional',
        actions: [
          { s3Action: { bucketName: this.bucket.bucketName, objectKeyPrefix: prefix } },
          { lambdaAction: { functionArn: props.handler.functionArn, invocationType: 'Event' } },
        ],
      },
    });
    // SES checks both grants when the rule is created
    this.rule.node.addDependency(this.bucket.policy!, invoke);
  }
}

export interface SesEventDestinationProps {
  /** the configuration set the mailer names in every send (SES_CONFIGURATION_SET) */
  readonly configurationSetName: string;
  /** applies each event (lambdas/ses-events.ts) */
  readonly handler: LambdaFunction;
}

/**
 * Bounce and complaint events of every notice sent through the configuration set: SES publishes them to a topic
 * (only SES, for this configuration set, may publish: the event destination adds that topic policy), and the topic
 * invokes the SES events function.
 */
export class SesEventDestination extends Construct {
  readonly configurationSet: ConfigurationSet;
  readonly topic: Topic;
  readonly handler: LambdaFunction;

  constructor(scope: Construct, id: string, props: SesEventDestinationProps) {
    super(scope, id);
    this.handler = props.handler;
    this.configurationSet = new ConfigurationSet(this, 'ConfigurationSet', { configurationSetName: props.configurationSetName });
    this.topic = new Topic(this, 'Topic', { displayName: 'SES bounce and complaint events of sent notices', enforceSSL: true });
    this.configurationSet.addEventDestination('Events', {
      destination: EventDestination.snsTopic(this.topic),
      events: [EmailSendingEvent.BOUNCE, EmailSendingEvent.COMPLAINT],
    });
    this.topic.addSubscription(new LambdaSubscription(props.handler));
  }
}
