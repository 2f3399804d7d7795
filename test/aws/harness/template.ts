import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** One resource of a CloudFormation template. */
export interface Resource {
  readonly Type: string;
  readonly Properties?: Record<string, any>;
  readonly Metadata?: Record<string, any>;
  readonly Condition?: string;
}

export interface TemplateJson {
  readonly Resources: Record<string, Resource>;
  readonly Outputs?: Record<string, { Value: unknown }>;
  readonly Conditions?: Record<string, unknown>;
  readonly Parameters?: Record<string, { Default?: unknown }>;
}

const short = (text: string, n = 10) => createHash('sha256').update(text).digest('hex').slice(0, n);

/**
 * A synthesised template as CloudFormation would deploy it into one account and region: every resource gets the
 * physical name and ARN CloudFormation would give it (generated names as `<stack>-<logical id>`), and `resolve`
 * evaluates the intrinsics (Ref, Fn::GetAtt, Fn::Join, Fn::Sub, Fn::Select, Fn::Split, Fn::If and the
 * condition functions, pseudo parameters).
 */
export class DeployedTemplate {
  readonly json: TemplateJson;

  constructor(
    readonly dir: string,
    readonly stackName: string,
    readonly account: string,
    readonly region: string,
  ) {
    this.json = JSON.parse(readFileSync(join(dir, `${stackName}.template.json`), 'utf8')) as TemplateJson;
  }

  get resources(): Record<string, Resource> {
    return this.json.Resources;
  }

  /** Every resource of a type, with its logical id. */
  ofType(type: string): [string, Resource][] {
    return Object.entries(this.resources).filter(([, r]) => r.Type === type);
  }

  resource(logicalId: string): Resource {
    const r = this.resources[logicalId];
    if (!r) throw new Error(`the template has no resource ${logicalId}`);
    return r;
  }

  private generatedName(logicalId: string, max = 64): string {
    return `${this.stackName}-${logicalId}`.slice(0, max);
  }

  private arn(service: string, resource: string, region = this.region, account = this.account): string {
    return `arn:aws:${service}:${region}:${account}:${resource}`;
  }

  /** What `Ref` of a resource gives. */
  ref(logicalId: string): string {
    const pseudo = this.pseudo(logicalId);
    if (pseudo !== undefined) return pseudo;
    const param = this.json.Parameters?.[logicalId];
    if (param) return String(param.Default ?? '');
    const r = this.resource(logicalId);
    const p = r.Properties ?? {};
    switch (r.Type) {
      case 'AWS::Lambda::Function':
        return p.FunctionName ? this.resolve(p.FunctionName) : this.generatedName(logicalId);
      case 'AWS::IAM::Role':
        return p.RoleName ? this.resolve(p.RoleName) : this.generatedName(logicalId);
      case 'AWS::DynamoDB::Table':
        return p.TableName ? this.resolve(p.TableName) : this.generatedName(logicalId);
      case 'AWS::StepFunctions::StateMachine':
        return this.getAtt(logicalId, 'Arn');
      case 'AWS::S3::Bucket':
        return p.BucketName ? this.resolve(p.BucketName) : this.generatedName(logicalId, 63).toLowerCase();
      case 'AWS::SNS::Topic':
        return this.getAtt(logicalId, 'TopicArn');
      case 'AWS::SQS::Queue':
        return this.getAtt(logicalId, 'QueueUrl');
      case 'AWS::KMS::Key':
        return `${short(logicalId, 8)}-${short(`${logicalId}1`, 4)}-${short(`${logicalId}2`, 4)}-${short(`${logicalId}3`, 4)}-${short(`${logicalId}4`, 12)}`;
      case 'AWS::KMS::Alias':
        return this.resolve(p.AliasName);
      case 'AWS::Logs::LogGroup':
        return p.LogGroupName ? this.resolve(p.LogGroupName) : this.generatedName(logicalId);
      case 'AWS::Cognito::UserPool':
        return `${this.region}_${short(logicalId, 9)}`;
      case 'AWS::Cognito::UserPoolClient':
        return short(logicalId, 26);
      case 'AWS::ApiGatewayV2::Api':
      case 'AWS::ApiGatewayV2::Authorizer':
        return short(logicalId, 10);
      case 'AWS::ApiGatewayV2::Stage':
        return this.resolve(p.StageName);
      case 'AWS::SES::ReceiptRuleSet':
        return p.RuleSetName ? this.resolve(p.RuleSetName) : this.generatedName(logicalId);
      case 'AWS::SES::ConfigurationSet':
        return p.Name ? this.resolve(p.Name) : this.generatedName(logicalId);
      case 'AWS::Events::Rule':
        return p.Name ? this.resolve(p.Name) : this.generatedName(logicalId);
      case 'AWS::CloudWatch::Alarm':
        return p.AlarmName ? this.resolve(p.AlarmName) : this.generatedName(logicalId);
      default:
        return this.generatedName(logicalId);
    }
  }

  /** What `Fn::GetAtt` of a resource's attribute gives. */
  getAtt(logicalId: string, attribute: string): string {
    const r = this.resource(logicalId);
    const p = r.Properties ?? {};
    switch (`${r.Type}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return this.arn('lambda', `function:${this.ref(logicalId)}`);
      case 'AWS::IAM::Role.Arn':
        return `arn:aws:iam::${this.account}:role/${this.ref(logicalId)}`;
      case 'AWS::DynamoDB::Table.Arn':
        return this.arn('dynamodb', `table/${this.ref(logicalId)}`);
      case 'AWS::StepFunctions::StateMachine.Arn':
        return this.arn('states', `stateMachine:${this.getAtt(logicalId, 'Name')}`);
      case 'AWS::StepFunctions::StateMachine.Name':
        return p.StateMachineName ? this.resolve(p.StateMachineName) : this.generatedName(logicalId, 80);
      case 'AWS::S3::Bucket.Arn':
        return `arn:aws:s3:::${this.ref(logicalId)}`;
      case 'AWS::S3::Bucket.DomainName':
        return `${this.ref(logicalId)}.s3.amazonaws.com`;
      case 'AWS::S3::Bucket.RegionalDomainName':
        return `${this.ref(logicalId)}.s3.${this.region}.amazonaws.com`;
      case 'AWS::SNS::Topic.TopicArn':
        return this.arn('sns', p.TopicName ? this.resolve(p.TopicName) : this.generatedName(logicalId, 256));
      case 'AWS::SNS::Topic.TopicName':
        return this.getAtt(logicalId, 'TopicArn').split(':').pop()!;
      case 'AWS::SQS::Queue.Arn':
        return this.arn('sqs', this.getAtt(logicalId, 'QueueName'));
      case 'AWS::SQS::Queue.QueueName':
        return p.QueueName ? this.resolve(p.QueueName) : this.generatedName(logicalId, 80);
      case 'AWS::SQS::Queue.QueueUrl':
        return `https://sqs.${this.region}.amazonaws.com/${this.account}/${this.getAtt(logicalId, 'QueueName')}`;
      case 'AWS::KMS::Key.Arn':
        return this.arn('kms', `key/${this.ref(logicalId)}`);
      case 'AWS::KMS::Key.KeyId':
        return this.ref(logicalId);
      case 'AWS::Logs::LogGroup.Arn':
        return this.arn('logs', `log-group:${this.ref(logicalId)}:*`);
      case 'AWS::Cognito::UserPool.Arn':
        return this.arn('cognito-idp', `userpool/${this.ref(logicalId)}`);
      case 'AWS::Cognito::UserPool.ProviderURL':
        return `https://cognito-idp.${this.region}.amazonaws.com/${this.ref(logicalId)}`;
      case 'AWS::Cognito::UserPool.ProviderName':
        return `cognito-idp.${this.region}.amazonaws.com/${this.ref(logicalId)}`;
      case 'AWS::ApiGatewayV2::Api.ApiEndpoint':
        return `https://${this.ref(logicalId)}.execute-api.${this.region}.amazonaws.com`;
      case 'AWS::ApiGatewayV2::Api.ApiId':
        return this.ref(logicalId);
      case 'AWS::Events::Rule.Arn':
        return this.arn('events', `rule/${this.ref(logicalId)}`);
      case 'AWS::CloudWatch::Alarm.Arn':
        return this.arn('cloudwatch', `alarm:${this.ref(logicalId)}`);
      default:
        throw new Error(`the harness does not know Fn::GetAtt ${logicalId}.${attribute} (${r.Type})`);
    }
  }

  private pseudo(name: string): string | undefined {
    switch (name) {
      case 'AWS::AccountId':
        return this.account;
      case 'AWS::Region':
        return this.region;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return this.stackName;
      case 'AWS::StackId':
        return this.arn('cloudformation', `stack/${this.stackName}/00000000-0000-0000-0000-000000000000`);
      default:
        return undefined;
    }
  }

  /** Whether a template condition holds. */
  condition(name: string): boolean {
    const c = this.json.Conditions?.[name];
    if (c === undefined) throw new Error(`the template has no condition ${name}`);
    return Boolean(this.resolveAny(c));
  }

  /** A value with its intrinsics evaluated, as a string. */
  resolve(value: unknown): string {
    const v = this.resolveAny(value);
    if (typeof v !== 'string') throw new Error(`expected a string, got ${JSON.stringify(v)}`);
    return v;
  }

  /** A value of any shape with every intrinsic in it evaluated. */
  resolveAny(value: unknown): unknown {
    if (Array.isArray(value)) return value.map((v) => this.resolveAny(v)).filter((v) => v !== NO_VALUE);
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 1) {
      const [fn, arg] = entries[0]!;
      switch (fn) {
        case 'Ref':
          return arg === 'AWS::NoValue' ? NO_VALUE : this.ref(arg as string);
        case 'Fn::GetAtt': {
          const [id, attr] = Array.isArray(arg) ? (arg as string[]) : String(arg).split(/\.(.+)/);
          return this.getAtt(id!, attr!);
        }
        case 'Fn::Join': {
          const [sep, parts] = arg as [string, unknown[]];
          return (this.resolveAny(parts) as unknown[]).map(String).join(sep);
        }
        case 'Fn::Select': {
          const [index, list] = arg as [unknown, unknown];
          return (this.resolveAny(list) as unknown[])[Number(this.resolveAny(index))];
        }
        case 'Fn::Split': {
          const [sep, text] = arg as [string, unknown];
          return this.resolve(text).split(sep);
        }
        case 'Fn::Sub': {
          const [text, vars] = Array.isArray(arg) ? (arg as [string, Record<string, unknown>]) : [arg as string, {}];
          return text.replace(/\$\{([^}!]+)\}/g, (_, name: string) => {
            if (name in vars) return String(this.resolveAny(vars[name]));
            const [id, attr] = name.split(/\.(.+)/);
            return attr ? this.getAtt(id!, attr) : this.ref(id!);
          });
        }
        case 'Fn::If': {
          const [cond, yes, no] = arg as [string, unknown, unknown];
          return this.resolveAny(this.condition(cond) ? yes : no);
        }
        case 'Fn::Equals': {
          const [a, b] = arg as [unknown, unknown];
          return JSON.stringify(this.resolveAny(a)) === JSON.stringify(this.resolveAny(b));
        }
        case 'Fn::Not':
          return !(this.resolveAny((arg as unknown[])[0]) as boolean);
        case 'Fn::And':
          return (arg as unknown[]).every((a) => this.resolveAny(a) as boolean);
        case 'Fn::Or':
          return (arg as unknown[]).some((a) => this.resolveAny(a) as boolean);
        case 'Condition':
          return this.condition(arg as string);
        case 'Fn::GetAZs':
          return ['a', 'b', 'c'].map((z) => `${this.region}${z}`);
        default:
          break;
      }
    }
    return Object.fromEntries(entries.map(([k, v]) => [k, this.resolveAny(v)]).filter(([, v]) => v !== NO_VALUE));
  }

  /** The logical id whose ARN (or Ref) is `arn`, among resources of `type`. */
  findByArn(type: string, arn: string): string | undefined {
    return this.ofType(type).find(([id]) => this.getAtt(id, 'Arn') === arn)?.[0];
  }
}

const NO_VALUE = Symbol('AWS::NoValue');
