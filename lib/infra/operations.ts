import { ArnFormat, Duration, Stack } from 'aws-cdk-lib';
import { Effect, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Alarm, ComparisonOperator, Metric, TreatMissingData, type IMetric } from 'aws-cdk-lib/aws-cloudwatch';
import { FilterPattern, MetricFilter, type ILogGroup } from 'aws-cdk-lib/aws-logs';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { Function as LambdaFunction } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { StateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { acknowledge } from './nag.js';

/** The namespace of the metrics the stack counts from log lines (metric filters). */
export const LOG_METRICS_NAMESPACE = 'Takedown/Logs';

export interface OperationsProps {
  /**
   * Retries of an asynchronous invocation (SES, SNS, EventBridge) before its event goes to the failure queue.
   * @default 2
   */
  readonly asyncRetries?: number;
}

/**
 * How an operator learns that something failed, and where what failed waits: one SNS topic every alarm notifies
 * (the operator subscribes to it; TLS only), and one encrypted queue that holds every asynchronous invocation
 * whose retries ran out (a reply SES received, a bounce, an execution's history, a sweep), with an alarm on its
 * depth. The events in the queue are whole: an operator can invoke the function with one again.
 */
export class Operations extends Construct {
  readonly topic: Topic;
  readonly failures: Queue;
  readonly alarms: Alarm[] = [];
  private readonly action: SnsAction;
  private readonly asyncRetries: number;

  constructor(scope: Construct, id: string, props: OperationsProps = {}) {
    super(scope, id);
    this.asyncRetries = props.asyncRetries ?? 2;
    this.topic = new Topic(this, 'AlarmTopic', { displayName: 'Takedown orchestrator: alarms', enforceSSL: true });
    // a topic policy replaces the default one, which let the account's alarms publish: say so again, for this
    // account's alarms only
    const stack = Stack.of(this);
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        sid: 'AlarmsPublish',
        effect: Effect.ALLOW,
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': stack.account },
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'cloudwatch', resource: 'alarm', resourceName: '*', arnFormat: ArnFormat.COLON_RESOURCE_NAME }) },
        },
      }),
    );
    this.failures = new Queue(this, 'FailedInvocations', {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // the longest SQS keeps a message: an operator back from a fortnight away still finds it
      retentionPeriod: Duration.days(14),
    });
    acknowledge(this.failures, 'AwsSolutions-SQS3', 'it is the dead-letter queue: of the asynchronous invocations (Lambda destinations) and of the EventBridge targets');
    this.action = new SnsAction(this.topic);
    this.alarmOn('FailedInvocationsWaiting', this.failures.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }), 'asynchronous invocations failed through their retries and wait in the failure queue');
  }

  /** A function invoked asynchronously: its failed events go to the failure queue after the retries. */
  catchFailures(fn: LambdaFunction): void {
    fn.configureAsyncInvoke({ onFailure: new SqsDestination(this.failures), retryAttempts: this.asyncRetries });
  }

  /** Alarms on a state machine's failed and timed-out executions. */
  watchStateMachine(id: string, stateMachine: StateMachine): void {
    this.alarmOn(`${id}Failed`, stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }), 'executions failed (their retries ran out): the sweeper starts them again; find the cause');
    this.alarmOn(`${id}TimedOut`, stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }), 'executions timed out');
  }

  /** Alarms on a function's errors and throttles. */
  watchFunction(id: string, fn: LambdaFunction): void {
    this.alarmOn(`${id}Errors`, fn.metricErrors({ period: Duration.minutes(5), statistic: 'Sum' }), 'the function failed');
    this.alarmOn(`${id}Throttles`, fn.metricThrottles({ period: Duration.minutes(5), statistic: 'Sum' }), 'the function was throttled (its concurrency or the account\'s ran out)');
  }

  /**
   * Alarms when a log line whose JSON `field` starts with `prefix` appears in any of the log groups: one metric
   * filter per group feeding one metric (`Takedown/<id>`), one alarm on its sum.
   */
  alarmOnLogLine(id: string, logGroups: readonly ILogGroup[], line: { readonly field: string; readonly prefix: string }, description: string): void {
    const metric = new Metric({ namespace: LOG_METRICS_NAMESPACE, metricName: id, period: Duration.minutes(5), statistic: 'Sum' });
    logGroups.forEach((logGroup, i) => {
      new MetricFilter(this, `${id}Filter${i}`, {
        logGroup,
        filterPattern: FilterPattern.stringValue(line.field, '=', `${line.prefix}*`),
        metricNamespace: LOG_METRICS_NAMESPACE,
        metricName: id,
        metricValue: '1',
      });
    });
    this.alarmOn(id, metric, description);
  }

  private alarmOn(id: string, metric: IMetric, description: string): void {
    const alarm = new Alarm(this, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // no datapoint is nothing failing, not a reason to page anyone
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    alarm.addAlarmAction(this.action);
    this.alarms.push(alarm);
  }
}
