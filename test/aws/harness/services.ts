import { createCipheriv, createDecipheriv, createHash, randomBytes, randomUUID } from 'node:crypto';
import { AwsError } from './errors.js';
import type { LambdaService } from './functions.js';
import { globMatch, resourcePolicyAllows, type IamPolicies, type Statement } from './iam.js';
import type { DeployedTemplate } from './template.js';

/** A datapoint of a CloudWatch metric. */
interface Datapoint {
  readonly namespace: string;
  readonly name: string;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly value: number;
  readonly at: number;
}

/** What an alarm is and the state the harness last evaluated it in. */
export interface AlarmState {
  readonly logicalId: string;
  readonly name: string;
  readonly metric: string;
  readonly dimensions: Readonly<Record<string, string>>;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  readonly actions: readonly string[];
}

/** A message a topic delivered somewhere the harness does not run (an operator's email subscription). */
export interface Published {
  readonly topicArn: string;
  readonly subject?: string;
  readonly message: string;
}

/** A message SES accepted for sending. */
export interface SentEmail {
  readonly messageId: string;
  readonly from: string;
  readonly to: readonly string[];
  readonly raw: string;
  readonly configurationSet?: string;
  /** the function whose call sent it */
  readonly sender: string;
}

/**
 * The services of the account around the functions: Lambda's asynchronous invocation (retries, then the
 * failure destination), SNS, SQS, EventBridge, CloudWatch metrics and alarms, SES (sending, events, receiving),
 * S3 and KMS. Each delivery a service makes to a function is checked against the function's resource policy
 * (AWS::Lambda::Permission), as the service would be.
 */
export class AccountServices {
  readonly metrics: Datapoint[] = [];
  readonly alarms: AlarmState[] = [];
  readonly published: Published[] = [];
  readonly queues = new Map<string, unknown[]>();
  readonly outbox: SentEmail[] = [];
  /** called with each message SES took, before its answer leaves: a test may kill the sender there */
  onAccepted?: (mail: SentEmail) => void;
  readonly objects = new Map<string, { body: Buffer; contentType?: string }>();
  readonly denials: string[] = [];
  private readonly inFlight = new Set<Promise<unknown>>();
  private readonly refused = new Map<string, string>();
  private readonly bouncing = new Set<string>();
  private readonly keys = new Map<string, Buffer>();
  private inSandbox = false;
  /** messages SES refused because the account is in the sandbox */
  sandboxRefusals = 0;

  constructor(
    private readonly template: DeployedTemplate,
    private readonly lambda: LambdaService,
    private readonly iam: IamPolicies,
    private readonly options: { readonly now: () => number; readonly msPerSecond: number },
  ) {
    for (const [id] of template.ofType('AWS::SQS::Queue')) this.queues.set(template.getAtt(id, 'Arn'), []);
    for (const [id, r] of template.ofType('AWS::CloudWatch::Alarm')) {
      const p = template.resolveAny(r.Properties) as Record<string, any>;
      this.alarms.push({
        logicalId: id,
        name: template.ref(id),
        metric: `${p.Namespace}/${p.MetricName}`,
        dimensions: Object.fromEntries((p.Dimensions ?? []).map((d: { Name: string; Value: string }) => [d.Name, d.Value])),
        state: 'INSUFFICIENT_DATA',
        actions: p.AlarmActions ?? [],
      });
    }
    for (const [id] of template.ofType('AWS::KMS::Key')) this.keys.set(template.getAtt(id, 'Arn'), randomBytes(32));
  }

  /** Resolves when nothing the services started (asynchronous invocations, deliveries) is still running. */
  async settled(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p)).catch(() => undefined);
    return p;
  }

  // ---- Lambda: resource policies and asynchronous invocation

  /** Whether the function's resource policy lets a service principal invoke it for a source ARN. */
  permits(functionArn: string, principal: string, sourceArn: string): boolean {
    return this.template.ofType('AWS::Lambda::Permission').some(([, r]) => {
      const p = this.template.resolveAny(r.Properties) as { FunctionName: string; Principal: string; SourceArn?: string; Action: string; SourceAccount?: string };
      return p.FunctionName === functionArn && p.Principal === principal && p.Action === 'lambda:InvokeFunction' && (p.SourceArn === undefined || globMatch(p.SourceArn, sourceArn)) && (p.SourceAccount === undefined || p.SourceAccount === this.template.account);
    });
  }

  /**
   * An asynchronous invocation (InvocationType Event) by a service: Lambda retries a function error twice (or as
   * the function's EventInvokeConfig says), then hands the event to its on-failure destination or dead-letter
   * queue, with the function's own role.
   */
  invokeAsync(principal: string, sourceArn: string, functionArn: string, event: unknown): void {
    if (!this.permits(functionArn, principal, sourceArn)) {
      this.denials.push(`${principal} (${sourceArn}) -> lambda:InvokeFunction ${functionArn}`);
      return;
    }
    const spec = this.lambda.spec(functionArn);
    const config = this.template.ofType('AWS::Lambda::EventInvokeConfig').map(([, r]) => this.template.resolveAny(r.Properties) as Record<string, any>).find((c) => c.FunctionName === spec.name || c.FunctionName === spec.arn);
    const retries = Number(config?.MaximumRetryAttempts ?? 2);
    const run = async () => {
      let last: { errorType: string; errorMessage: string } | undefined;
      for (let attempt = 0; attempt <= retries; attempt++) {
        // Lambda waits a minute, then two, between tries: compressed like the workflows' retry intervals
        if (attempt > 0) await new Promise((r) => setTimeout(r, 60 * attempt * this.options.msPerSecond));
        const result = await this.lambda.invoke(functionArn, event);
        if (!('error' in result)) return;
        last = result.error;
      }
      const fnProps = this.template.resolveAny(this.template.resource(spec.logicalId).Properties) as Record<string, any>;
      const target: string | undefined = config?.DestinationConfig?.OnFailure?.Destination ?? fnProps.DeadLetterConfig?.TargetArn;
      if (!target) return;
      if (!target.includes(':sqs:')) throw new Error(`the harness delivers failures to SQS only, not ${target}`);
      if (!this.iam.allows(spec.roleId, 'sqs:SendMessage', target)) {
        this.denials.push(`${spec.logicalId} -> sqs:SendMessage ${target}`);
        return;
      }
      this.queues.get(target)?.push({ requestContext: { functionArn, condition: 'RetriesExhausted' }, requestPayload: event, responsePayload: last });
    };
    this.track(run());
  }

  // ---- SNS

  /** Publish to a topic: a Lambda subscription gets the SNS event (asynchronously); anything else is recorded. */
  publish(topicArn: string, message: string, subject?: string): string {
    const messageId = randomUUID();
    this.published.push({ topicArn, message, ...(subject ? { subject } : {}) });
    for (const [, r] of this.template.ofType('AWS::SNS::Subscription')) {
      const p = this.template.resolveAny(r.Properties) as { TopicArn: string; Protocol: string; Endpoint: string };
      if (p.TopicArn !== topicArn || p.Protocol !== 'lambda') continue;
      this.invokeAsync('sns.amazonaws.com', topicArn, p.Endpoint, {
        Records: [
          {
            EventSource: 'aws:sns',
            EventVersion: '1.0',
            EventSubscriptionArn: `${topicArn}:${randomUUID()}`,
            Sns: { Type: 'Notification', MessageId: messageId, TopicArn: topicArn, Subject: subject ?? null, Message: message, Timestamp: new Date(this.options.now()).toISOString(), MessageAttributes: {} },
          },
        ],
      });
    }
    return messageId;
  }

  /** Whether the topic's policy lets a service publish for a source. */
  topicAllows(topicArn: string, service: string, sourceArn: string): boolean {
    return this.template.ofType('AWS::SNS::TopicPolicy').some(([, r]) => {
      const p = this.template.resolveAny(r.Properties) as { Topics: string[]; PolicyDocument: { Statement: Statement[] } };
      // IAM condition keys are case-insensitive: CDK writes AWS:SourceArn
      const lowered = { Statement: p.PolicyDocument.Statement.map((s) => ({ ...s, Condition: lowerKeys(s.Condition) })) };
      return p.Topics.includes(topicArn) && resourcePolicyAllows(lowered, { Service: service }, 'sns:Publish', topicArn, { 'aws:sourcearn': sourceArn, 'aws:sourceaccount': this.template.account, 'aws:securetransport': 'true' });
    });
  }

  // ---- EventBridge

  /** An event on the default bus: every enabled rule whose pattern matches delivers it to its targets. */
  putEvent(event: Record<string, unknown>): void {
    for (const [id, r] of this.template.ofType('AWS::Events::Rule')) {
      const p = this.template.resolveAny(r.Properties) as { EventPattern?: unknown; State?: string; Targets?: { Arn: string; Input?: string }[] };
      if (p.State === 'DISABLED' || !p.EventPattern || !patternMatches(p.EventPattern, event)) continue;
      this.deliver(id, p.Targets ?? [], event);
    }
  }

  /** A scheduled rule fires now (the test stands for the clock). */
  tick(ruleLogicalIdPrefix: string): void {
    const rules = this.template.ofType('AWS::Events::Rule').filter(([id, r]) => id.startsWith(ruleLogicalIdPrefix) && r.Properties?.ScheduleExpression);
    if (rules.length !== 1) throw new Error(`${rules.length} scheduled rules start with ${ruleLogicalIdPrefix}`);
    const [id, r] = rules[0]!;
    const p = this.template.resolveAny(r.Properties) as { Targets?: { Arn: string; Input?: string }[] };
    const arn = this.template.getAtt(id, 'Arn');
    this.deliver(id, p.Targets ?? [], { version: '0', id: randomUUID(), 'detail-type': 'Scheduled Event', source: 'aws.events', account: this.template.account, time: new Date(this.options.now()).toISOString(), region: this.template.region, resources: [arn], detail: {} });
  }

  private deliver(ruleId: string, targets: { Arn: string; Input?: string }[], event: Record<string, unknown>): void {
    const ruleArn = this.template.getAtt(ruleId, 'Arn');
    for (const target of targets) {
      if (!target.Arn.includes(':lambda:')) throw new Error(`the harness delivers events to functions only, not ${target.Arn}`);
      this.invokeAsync('events.amazonaws.com', ruleArn, target.Arn, target.Input ? JSON.parse(target.Input) : event);
    }
  }

  // ---- CloudWatch

  /**
   * A line a function wrote to its log group: every metric filter of the group whose pattern matches it adds its
   * value to its metric, as CloudWatch Logs does. Patterns: JSON terms `{ $.field = "text*" }` joined by `&&`.
   */
  logged(logGroupName: string, line: string): void {
    const filters = this.template.ofType('AWS::Logs::MetricFilter').map(([, r]) => this.template.resolveAny(r.Properties) as { LogGroupName: string; FilterPattern: string; MetricTransformations: { MetricNamespace: string; MetricName: string; MetricValue: string }[] });
    const mine = filters.filter((f) => f.LogGroupName === logGroupName);
    if (mine.length === 0) return;
    let record: Record<string, unknown> | undefined;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return;
    }
    for (const f of mine) {
      if (!jsonPatternMatches(f.FilterPattern, record)) continue;
      for (const t of f.MetricTransformations) this.putMetric(t.MetricNamespace, t.MetricName, {}, Number(t.MetricValue));
    }
  }

  putMetric(namespace: string, name: string, dimensions: Record<string, string>, value = 1): void {
    this.metrics.push({ namespace, name, dimensions, value, at: this.options.now() });
  }

  /**
   * Evaluate every alarm of the template over the metrics seen so far (the Sum over its evaluation window, or the
   * queue's depth now): an alarm that goes into ALARM notifies its actions' topics, as CloudWatch does.
   */
  evaluateAlarms(): AlarmState[] {
    for (const alarm of this.alarms) {
      const r = this.template.resolveAny(this.template.resource(alarm.logicalId).Properties) as Record<string, any>;
      const window = Number(r.Period ?? 60) * Number(r.EvaluationPeriods ?? 1) * 1000;
      const since = this.options.now() - window;
      let value: number;
      if (alarm.metric === 'AWS/SQS/ApproximateNumberOfMessagesVisible') {
        const queue = [...this.queues.keys()].find((arn) => arn.endsWith(`:${alarm.dimensions.QueueName}`));
        value = queue ? this.queues.get(queue)!.length : 0;
      } else {
        value = this.metrics
          .filter((m) => `${m.namespace}/${m.name}` === alarm.metric && m.at >= since && Object.entries(alarm.dimensions).every(([k, v]) => m.dimensions[k] === v))
          .reduce((sum, m) => sum + m.value, 0);
      }
      const threshold = Number(r.Threshold);
      const breached = { GreaterThanOrEqualToThreshold: value >= threshold, GreaterThanThreshold: value > threshold, LessThanThreshold: value < threshold, LessThanOrEqualToThreshold: value <= threshold }[r.ComparisonOperator as string];
      const next = breached ? 'ALARM' : 'OK';
      if (next === 'ALARM' && alarm.state !== 'ALARM') {
        for (const action of alarm.actions) {
          if (!this.topicAllows(action, 'cloudwatch.amazonaws.com', this.template.getAtt(alarm.logicalId, 'Arn')) && this.hasTopicPolicy(action)) {
            this.denials.push(`cloudwatch.amazonaws.com -> sns:Publish ${action}`);
            continue;
          }
          this.publish(action, JSON.stringify({ AlarmName: alarm.name, NewStateValue: 'ALARM', NewStateReason: `${alarm.metric} ${value} ${r.ComparisonOperator} ${threshold}` }), `ALARM: "${alarm.name}"`);
        }
      }
      alarm.state = next;
    }
    return this.alarms;
  }

  private hasTopicPolicy(topicArn: string): boolean {
    return this.template.ofType('AWS::SNS::TopicPolicy').some(([, r]) => (this.template.resolveAny(r.Properties) as { Topics: string[] }).Topics.includes(topicArn));
  }

  // ---- SES

  /** Make SES refuse every message to an address (MessageRejected), as for an address on the suppression list. */
  refuse(address: string, code = 'MessageRejected'): void {
    this.refused.set(address.toLowerCase(), code);
  }

  /** SES takes messages to an address again (after refuse). */
  accept(address: string): void {
    this.refused.delete(address.toLowerCase());
  }

  /** Make every message to an address bounce for good after SES accepted it (a Bounce event follows). */
  bounce(address: string): void {
    this.bouncing.add(address.toLowerCase());
  }

  /**
   * The account is in the SES sandbox (or its identity lost its verification): every message to an address that
   * is not verified is refused, as SES refuses it, whoever the recipient is. `false` leaves the sandbox.
   */
  sandbox(on = true): void {
    this.inSandbox = on;
  }

  /** SendEmail (v2, raw content): checked, captured, and followed by the configuration set's events. */
  sendEmail(sender: string, request: { FromEmailAddress?: string; Destination?: { ToAddresses?: string[] }; Content?: { Raw?: { Data?: string } }; ConfigurationSetName?: string }): string {
    const raw = Buffer.from(request.Content?.Raw?.Data ?? '', 'base64').toString('utf8');
    const to = request.Destination?.ToAddresses ?? [];
    const from = request.FromEmailAddress ?? /^From:.*<([^>]+)>/im.exec(raw)?.[1] ?? '';
    if (this.inSandbox) {
      this.sandboxRefusals += 1;
      throw new AwsError('MessageRejected', `Email address is not verified. The following identities failed the check in region ${this.template.region.toUpperCase()}: ${to.join(', ')}`, 400);
    }
    const refusal = to.map((a) => this.refused.get(a.toLowerCase())).find(Boolean);
    if (refusal) throw new AwsError(refusal, 'Email address is on the suppression list for your account.', 400);
    if (request.ConfigurationSetName && !this.template.ofType('AWS::SES::ConfigurationSet').some(([id]) => this.template.ref(id) === request.ConfigurationSetName)) {
      throw new AwsError('NotFoundException', `Configuration set <${request.ConfigurationSetName}> does not exist.`, 404);
    }
    const messageId = `0102${randomBytes(16).toString('hex')}-${randomUUID()}-000000`;
    const mail: SentEmail = { messageId, from, to, raw, sender, ...(request.ConfigurationSetName ? { configurationSet: request.ConfigurationSetName } : {}) };
    this.outbox.push(mail);
    this.onAccepted?.(mail);
    const bounced = to.filter((a) => this.bouncing.has(a.toLowerCase()));
    if (bounced.length > 0 && request.ConfigurationSetName) this.sesEvent(request.ConfigurationSetName, 'bounce', { messageId, from, to }, bounced);
    return messageId;
  }

  private sesEvent(configurationSet: string, type: 'bounce' | 'complaint', mail: { messageId: string; from: string; to: readonly string[] }, recipients: string[]): void {
    for (const [, r] of this.template.ofType('AWS::SES::ConfigurationSetEventDestination')) {
      const p = this.template.resolveAny(r.Properties) as { ConfigurationSetName: string; EventDestination: { Enabled?: boolean; MatchingEventTypes: string[]; SnsDestination?: { TopicARN: string } } };
      if (p.ConfigurationSetName !== configurationSet || p.EventDestination.Enabled === false || !p.EventDestination.MatchingEventTypes.includes(type)) continue;
      const topic = p.EventDestination.SnsDestination?.TopicARN;
      if (!topic) continue;
      const source = `arn:aws:ses:${this.template.region}:${this.template.account}:configuration-set/${configurationSet}`;
      if (!this.topicAllows(topic, 'ses.amazonaws.com', source)) {
        this.denials.push(`ses.amazonaws.com -> sns:Publish ${topic}`);
        continue;
      }
      const timestamp = new Date(this.options.now()).toISOString();
      const event = {
        eventType: 'Bounce',
        bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: recipients.map((emailAddress) => ({ emailAddress, action: 'failed', status: '5.1.1', diagnosticCode: 'smtp; 550 5.1.1 user unknown' })), timestamp, feedbackId: randomUUID() },
        mail: { timestamp, messageId: mail.messageId, source: mail.from, destination: mail.to, sendingAccountId: this.template.account, tags: { 'ses:configuration-set': [configurationSet] } },
      };
      this.publish(topic, JSON.stringify(event));
    }
  }

  /**
   * SES receives a message for the reply domain: every enabled receipt rule whose recipients match runs its
   * actions in order (store in S3, with the bucket policy's consent; invoke the function asynchronously, with its
   * resource policy's consent). Returns the SES message id.
   */
  receive(raw: string, envelope: { from: string; recipients: string[] }, verdicts: Partial<Record<'spf' | 'dkim' | 'dmarc' | 'spam' | 'virus', string>> = {}): string {
    const messageId = randomBytes(20).toString('hex');
    const timestamp = new Date(this.options.now()).toISOString();
    for (const [, r] of this.template.ofType('AWS::SES::ReceiptRule')) {
      const p = this.template.resolveAny(r.Properties) as { RuleSetName: string; Rule: { Name: string; Enabled?: boolean; Recipients?: string[]; Actions: Record<string, any>[] } };
      const rule = p.Rule;
      const matches = (address: string) => !rule.Recipients || rule.Recipients.some((want) => (want.includes('@') ? address.toLowerCase() === want.toLowerCase() : address.toLowerCase().endsWith(`@${want.toLowerCase()}`) || address.toLowerCase().endsWith(`.${want.toLowerCase()}`)));
      const recipients = envelope.recipients.filter(matches);
      if (rule.Enabled === false || recipients.length === 0) continue;
      const ruleArn = `arn:aws:ses:${this.template.region}:${this.template.account}:receipt-rule-set/${p.RuleSetName}:receipt-rule/${rule.Name}`;
      const verdict = (v: string | undefined) => ({ status: v ?? 'PASS' });
      const receipt = { timestamp, processingTimeMillis: 300, recipients, spamVerdict: verdict(verdicts.spam), virusVerdict: verdict(verdicts.virus), spfVerdict: verdict(verdicts.spf), dkimVerdict: verdict(verdicts.dkim), dmarcVerdict: verdict(verdicts.dmarc) };
      for (const action of rule.Actions) {
        if (action.S3Action) {
          const { BucketName, ObjectKeyPrefix = '' } = action.S3Action as { BucketName: string; ObjectKeyPrefix?: string };
          const key = `${ObjectKeyPrefix}${messageId}`;
          if (!this.bucketPolicyAllows(BucketName, { Service: 'ses.amazonaws.com' }, 's3:PutObject', `arn:aws:s3:::${BucketName}/${key}`, { 'aws:sourcearn': ruleArn, 'aws:sourceaccount': this.template.account })) {
            this.denials.push(`ses.amazonaws.com -> s3:PutObject ${BucketName}/${key}`);
            break;
          }
          this.objects.set(`${BucketName}/${key}`, { body: Buffer.from(raw, 'utf8') });
        } else if (action.LambdaAction) {
          const event = { Records: [{ eventSource: 'aws:ses', eventVersion: '1.0', ses: { mail: { timestamp, source: envelope.from, messageId, destination: recipients, headersTruncated: false, headers: [], commonHeaders: {} }, receipt: { ...receipt, action: { type: 'Lambda', functionArn: action.LambdaAction.FunctionArn, invocationType: action.LambdaAction.InvocationType ?? 'Event' } } } }] };
          this.invokeAsync('ses.amazonaws.com', ruleArn, action.LambdaAction.FunctionArn, event);
        }
      }
    }
    return messageId;
  }

  // ---- S3

  /** The bucket's policy decision for a principal (an explicit Deny, an Allow, or nothing said). */
  bucketPolicyAllows(bucket: string, principal: { Service?: string; AWS?: string }, action: string, resource: string, context: Record<string, string>): boolean {
    const policy = this.template.ofType('AWS::S3::BucketPolicy').map(([, r]) => this.template.resolveAny(r.Properties) as { Bucket: string; PolicyDocument: { Statement: Statement[] } }).find((p) => p.Bucket === bucket);
    if (!policy) return false;
    const doc = { Statement: policy.PolicyDocument.Statement.map((s) => ({ ...s, Condition: lowerKeys(s.Condition) })) };
    return resourcePolicyAllows(doc, principal, action, resource, { 'aws:securetransport': 'true', ...context });
  }

  /**
   * Whether the bucket's policy lets one of the account's roles do an action (its own IAM policy decides the
   * rest): false only when a Deny of the policy applies, as S3 evaluates an explicit Deny first.
   */
  bucketPolicyLetsRole(bucket: string, roleArn: string, action: string, resource: string, context: Record<string, string>): boolean {
    const policy = this.template.ofType('AWS::S3::BucketPolicy').map(([, r]) => this.template.resolveAny(r.Properties) as { Bucket: string; PolicyDocument: { Statement: Statement[] } }).find((p) => p.Bucket === bucket);
    if (!policy) return true;
    const denies = policy.PolicyDocument.Statement.filter((s) => s.Effect === 'Deny').map((s) => ({ ...s, Effect: 'Allow' as const, Condition: lowerKeys(s.Condition) }));
    return !resourcePolicyAllows({ Statement: denies }, { AWS: roleArn }, action, resource, { 'aws:securetransport': 'true', ...context });
  }

  /** Whether the bucket exists in the template. */
  bucketExists(bucket: string): boolean {
    return this.template.ofType('AWS::S3::Bucket').some(([id]) => this.template.ref(id) === bucket);
  }

  // ---- KMS

  /** The key an id, ARN or alias names. */
  keyArn(keyId: string): string {
    if (this.keys.has(keyId)) return keyId;
    const byId = [...this.keys.keys()].find((arn) => arn.endsWith(`/${keyId}`));
    if (byId) return byId;
    for (const [, r] of this.template.ofType('AWS::KMS::Alias')) {
      const p = this.template.resolveAny(r.Properties) as { AliasName: string; TargetKeyId: string };
      if (keyId === p.AliasName || keyId.endsWith(`:${p.AliasName}`)) return this.keyArn(p.TargetKeyId);
    }
    throw new AwsError('NotFoundException', `Key '${keyId}' does not exist`);
  }

  /** Whether the key policy lets the role use the key: naming the role itself, or the account (IAM then decides). */
  keyPolicyAllows(keyArn: string, roleArn: string, action: string, context: Record<string, string | string[]>): { direct: boolean; viaAccount: boolean } {
    const id = this.template.findByArn('AWS::KMS::Key', keyArn)!;
    const policy = this.template.resolveAny(this.template.resource(id).Properties!.KeyPolicy) as { Statement: Statement[] };
    const doc = { Statement: policy.Statement.map((s) => ({ ...s, Condition: lowerKeys(s.Condition) })) };
    const root = `arn:aws:iam::${this.template.account}:root`;
    return {
      direct: resourcePolicyAllows(doc, { AWS: roleArn }, action, keyArn, context as Record<string, string>),
      viaAccount: resourcePolicyAllows(doc, { AWS: root }, action, keyArn, context as Record<string, string>),
    };
  }

  encrypt(keyArn: string, plaintext: Buffer, context: Record<string, string>): Buffer {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(keyArn)!, iv);
    cipher.setAAD(contextDigest(context));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from(JSON.stringify({ k: keyArn })), Buffer.from([0]), iv, cipher.getAuthTag(), data]);
  }

  decrypt(blob: Buffer, context: Record<string, string>): { keyArn: string; plaintext: Buffer } {
    const split = blob.indexOf(0);
    let keyArn: string;
    try {
      keyArn = (JSON.parse(blob.subarray(0, split).toString('utf8')) as { k: string }).k;
    } catch {
      throw new AwsError('InvalidCiphertextException', '');
    }
    const key = this.keys.get(keyArn);
    if (!key) throw new AwsError('InvalidCiphertextException', '');
    const iv = blob.subarray(split + 1, split + 13);
    const tag = blob.subarray(split + 13, split + 29);
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(contextDigest(context));
    decipher.setAuthTag(tag);
    try {
      return { keyArn, plaintext: Buffer.concat([decipher.update(blob.subarray(split + 29)), decipher.final()]) };
    } catch {
      // a different encryption context than the one it was sealed with: KMS says no more than this
      throw new AwsError('InvalidCiphertextException', '');
    }
  }
}

function contextDigest(context: Record<string, string>): Buffer {
  return createHash('sha256').update(JSON.stringify(Object.entries(context).sort(([a], [b]) => a.localeCompare(b)))).digest();
}

/** Condition keys are case-insensitive in IAM: the harness compares them lowercased. */
export function lowerKeys(condition: Statement['Condition']): Statement['Condition'] {
  if (!condition) return condition;
  return Object.fromEntries(Object.entries(condition).map(([op, keys]) => [op, Object.fromEntries(Object.entries(keys).map(([k, v]) => [k.toLowerCase(), v]))]));
}

/** EventBridge pattern matching: literal lists, nested objects, prefix, exists and anything-but. */
export function patternMatches(pattern: unknown, event: unknown): boolean {
  if (Array.isArray(pattern)) {
    const values = Array.isArray(event) ? event : [event];
    return pattern.some((p) => {
      if (p && typeof p === 'object') {
        const f = p as Record<string, unknown>;
        if ('prefix' in f) return values.some((v) => typeof v === 'string' && v.startsWith(String(f.prefix)));
        if ('exists' in f) return (event !== undefined) === f.exists;
        if ('anything-but' in f) {
          const but = Array.isArray(f['anything-but']) ? (f['anything-but'] as unknown[]) : [f['anything-but']];
          return event !== undefined && values.every((v) => !but.includes(v));
        }
        return false;
      }
      return values.includes(p);
    });
  }
  if (pattern && typeof pattern === 'object') {
    if (!event || typeof event !== 'object') return false;
    return Object.entries(pattern).every(([k, p]) => patternMatches(p, (event as Record<string, unknown>)[k]));
  }
  return pattern === event;
}

/** CloudWatch Logs' JSON filter pattern, the subset the stack writes: `{ $.a = "x*" && $.b = 1 }`. */
export function jsonPatternMatches(pattern: string, record: Record<string, unknown>): boolean {
  const body = /^\s*\{(.*)\}\s*$/s.exec(pattern)?.[1];
  if (body === undefined) throw new Error(`the harness reads JSON filter patterns only, not ${pattern}`);
  return body.split('&&').every((term) => {
    const m = /^\s*\$\.([\w.]+)\s*(=|!=)\s*(?:"((?:[^"\\]|\\.)*)"|(\S+))\s*$/.exec(term);
    if (!m) throw new Error(`the harness does not read the filter term ${term}`);
    const value = m[1]!.split('.').reduce<unknown>((v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined), record);
    const wanted = m[3] ?? m[4]!;
    const hit = typeof value === 'string' || typeof value === 'number' ? globMatch(wanted, String(value)) : false;
    return m[2] === '=' ? hit : !hit;
  });
}
