import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { Architecture, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { PROJECT_ROOT } from './paths.js';
import { acknowledge } from './nag.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../adapters/runtime/log-fields.js';

/** Where a file handed to `files` lands inside the deployed function. */
export const LAMBDA_TASK_ROOT = '/var/task';

export interface TaskFunctionProps {
  /** the handler file, relative to the project root, e.g. `lambdas/send-notice.ts` (exports `handler`) */
  readonly entry: string;
  /** the function's whole configuration; lib/adapters/aws/deps.ts reads it */
  readonly environment: Readonly<Record<string, string>>;
  /**
   * Files copied beside the bundle, each readable at `/var/task/<basename>`.
   * @default none
   */
  readonly files?: readonly string[];
  /**
   * Folders copied beside the bundle with everything in them, each readable at `/var/task/<basename>`
   * (the notice templates). @default none
   */
  readonly directories?: readonly string[];
  /**
   * Must stay below the `TimeoutSeconds` of the Task states that call the function.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  /** @default RetentionDays.THREE_MONTHS */
  readonly logRetention?: RetentionDays;
  /**
   * The log group goes with the stack: the audit trail is in the table, not in the logs.
   * @default RemovalPolicy.DESTROY
   */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/** One Lambda of the AWS host: a thin file from lambdas/ bundled with the local esbuild, never with Docker. */
export class TaskFunction extends Construct {
  readonly function: NodejsFunction;

  constructor(scope: Construct, id: string, props: TaskFunctionProps) {
    super(scope, id);
    const inProject = (file: string) => {
      const path = relative(PROJECT_ROOT, resolve(PROJECT_ROOT, file));
      if (path.startsWith('..') || isAbsolute(path)) throw new Error(`${file} is outside the project: it cannot be bundled`);
      return path;
    };
    const files = (props.files ?? []).map(inProject);
    const directories = (props.directories ?? []).map(inProject);
    const logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention ?? RetentionDays.THREE_MONTHS,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    this.function = new NodejsFunction(this, 'Function', {
      entry: join(PROJECT_ROOT, props.entry),
      handler: 'handler',
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize ?? 512,
      timeout: props.timeout ?? Duration.minutes(1),
      tracing: Tracing.ACTIVE,
      logGroup,
      environment: {
        ...props.environment,
        // minified bundle: stack traces are only readable through the source map
        NODE_OPTIONS: '--enable-source-maps',
        // Powertools' logger, metrics and tracer name the service and the metrics' namespace from these
        POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      bundling: {
        // ESM: the sources are ESM (import.meta, top-level await stay legal) and Node 22 loads index.mjs
        // natively. A CommonJS dependency that calls require() on a Node builtin breaks an ESM bundle,
        // hence the createRequire banner.
        format: OutputFormat.ESM,
        mainFields: ['module', 'main'],
        banner: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
        target: 'node22',
        // bundle the SDK rather than use the runtime's copy: the version deployed is the one tested
        externalModules: [],
        // safe to minify: every error sets its `name` explicitly, and the name is what the workflows match
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        forceDockerBundling: false,
        // esbuild's size summary is noise in every synth and test run; warnings still show
        logLevel: LogLevel.WARNING,
        commandHooks: {
          beforeBundling: () => [],
          beforeInstall: () => [],
          afterBundling: (inputDir: string, outputDir: string) =>
            [
              ...files.map((file) => `cp "${join(inputDir, file)}" "${join(outputDir, basename(file))}"`),
              ...directories.map((dir) => `cp -R "${join(inputDir, dir)}" "${join(outputDir, basename(dir))}"`),
            ],
        },
      },
    });
    for (const [rule, reason] of TaskFunction.ACKNOWLEDGED) acknowledge(this, rule, reason);
  }

  private static readonly ACKNOWLEDGED = [
    ['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'the AWS managed policy grants writing the function\'s own logs, nothing else'],
    ['AwsSolutions-IAM5[Resource::*]', 'X-Ray\'s PutTraceSegments and PutTelemetryRecords take no resource; completing a task token takes none either (the token is the boundary)'],
    ['AwsSolutions-L1', 'Node.js 22 is the runtime the bundles are built for and tested on (target node22); a move is a decision with its own tests'],
  ] as const;

  /** The path the function reads a file given in `files` at. */
  static deployedPath(file: string): string {
    return `${LAMBDA_TASK_ROOT}/${basename(file)}`;
  }
}
