import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, RemovalPolicy, Stack, type CfnElement } from 'aws-cdk-lib';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { DefinitionBody, LogLevel, StateMachine, StateMachineType } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { WorkflowName } from '../core/ports.js';
import { placeholderOf, type TaskName } from '../core/tasks.js';
import { PROJECT_ROOT } from './paths.js';
import { acknowledge } from './nag.js';

/**
 * The placeholders that are not task functions: the partition of every service integration ARN (`aws`,
 * `aws-cn`, `aws-us-gov`), so one definition deploys to any partition. The embedded host fills the same names.
 */
export const PARTITION_PLACEHOLDER = 'Partition';

/** Every `${Name}` placeholder of an ASL text, in order of first use. */
export function aslPlaceholders(asl: string): string[] {
  return [...new Set([...asl.matchAll(/\$\{([^}]+)\}/g)].map((m) => m[1] as string))];
}

export interface WorkflowProps {
  /** the workflow: its definition is `workflows/<workflow>.asl.json`, the only copy */
  readonly workflow: WorkflowName;
  /** fixed, so that functions can be given the ARN before the state machine exists (see `Workflow.arnOf`) */
  readonly stateMachineName: string;
  /** the function of each Task of this workflow; every placeholder must have one and every one a placeholder */
  readonly tasks: Readonly<Partial<Record<TaskName, IFunction>>>;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /** @default RemovalPolicy.DESTROY */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** A Standard state machine from its ASL file, with the task functions substituted in and allowed, nothing more. */
export class Workflow extends Construct {
  readonly stateMachine: StateMachine;

  /** The ARN a state machine named `stateMachineName` will have in `scope`'s stack. */
  static arnOf(scope: Construct, stateMachineName: string): string {
    return Stack.of(scope).formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: stateMachineName,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  constructor(scope: Construct, id: string, props: WorkflowProps) {
    super(scope, id);
    const file = join(PROJECT_ROOT, 'workflows', `${props.workflow}.asl.json`);
    const asl = readFileSync(file, 'utf8');
    const placeholders = new Set(aslPlaceholders(asl));
    const substitutions: Record<string, string> = {};
    if (placeholders.has(PARTITION_PLACEHOLDER)) substitutions[PARTITION_PLACEHOLDER] = Stack.of(this).partition;
    for (const [task, fn] of Object.entries(props.tasks) as [TaskName, IFunction | undefined][]) {
      if (!fn) continue;
      const placeholder = placeholderOf(task);
      if (!placeholders.has(placeholder)) throw new Error(`${file} has no \${${placeholder}}: ${task} is not part of it`);
      substitutions[placeholder] = fn.functionArn;
    }
    const unresolved = [...placeholders].filter((p) => !(p in substitutions));
    if (unresolved.length > 0) throw new Error(`${file}: no function given for ${unresolved.map((p) => `\${${p}}`).join(', ')}`);

    const logGroup = new LogGroup(this, 'Logs', {
      // the vendedlogs prefix keeps the log group's resource policy from hitting its size limit
      logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.stateMachine = new StateMachine(this, 'StateMachine', {
      stateMachineName: props.stateMachineName,
      stateMachineType: StateMachineType.STANDARD,
      // inline: fromFile would make an S3 asset of a few kilobytes and a bootstrap bucket to hold it
      definitionBody: DefinitionBody.fromString(asl),
      definitionSubstitutions: substitutions,
      // every transition is logged, but no step's data: inputs and outputs hold task tokens and addresses
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
      tracingEnabled: true,
    });
    acknowledge(this.stateMachine, 'AwsSolutions-IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments, GetSamplingRules ...) and log delivery take no resource');
    for (const fn of Object.values(props.tasks)) {
      if (!fn) continue;
      fn.grantInvoke(this.stateMachine);
      const id = Stack.of(this).getLogicalId(fn.node.defaultChild as CfnElement);
      acknowledge(this.stateMachine, `AwsSolutions-IAM5[Resource::<${id}.Arn>:*]`, 'the grant to invoke its own task function covers that function\'s versions and aliases, nothing else');
    }
  }
}
