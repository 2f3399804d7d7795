import { AwsAccount, COORDINATOR } from '../test/aws/harness/account.js';
import { dynamoItemSize } from '../test/aws/harness/item-size.js';
import { startDnsStub } from '../lib/adapters/probe/dns-stub.js';
import { DEFAULT_SPEC, generateBench } from './generate.js';
import { DynamoDBClient, ScanCommand, type AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The bench's campaign (bench/generate.ts: 20,674 indicators, ~2,000 networks) on the AWS host as `cdk synth`
 * produced it, run offline by the test harness: the generated directory stored through PUT /directory, the file
 * uploaded by a presigned URL and read by the campaign workflow, every notice sent through SES. It counts what AWS
 * bills and prices it at list prices. Minutes of work on two cores; never part of `npm test`.
 */

/** List prices used, us-east-1, on-demand, as published in 2025 (eu-west-1 is ~10 % dearer for most). */
export const AWS_PRICES = {
  stepFunctionsPerTransition: 0.025 / 1000,
  lambdaPerRequest: 0.2 / 1_000_000,
  /** arm64, first 7.5 billion GB-s a month */
  lambdaPerGbSecond: 0.0000133334,
  dynamoPerWriteUnit: 0.625 / 1_000_000,
  dynamoPerReadUnit: 0.125 / 1_000_000,
  sesPerMessage: 0.1 / 1000,
  /** SES's outgoing data (attachments): $0.12 per GB */
  sesPerGb: 0.12,
  s3PerPut: 0.005 / 1000,
  s3PerGet: 0.0004 / 1000,
  kmsPerRequest: 0.03 / 10_000,
  apiGatewayPerRequest: 1 / 1_000_000,
} as const;

export interface AwsBenchFigures {
  readonly indicators: number;
  readonly notices: number;
  readonly messagesSent: number;
  readonly megabytesSent: number;
  readonly largestItemBytes: number;
  /** what the largest item is: its partition key's kind and its sort key */
  readonly largestItem: string;
  readonly items: number;
  /** executions by workflow and status */
  readonly executions: Readonly<Record<string, Readonly<Record<string, number>>>>;
  /** function errors (a workflow's retries cover most) by function */
  readonly functionErrors: Readonly<Record<string, number>>;
  readonly lambdaInvocations: number;
  readonly lambdaInvocationsPerNotice: number;
  readonly lambdaGbSeconds: number;
  readonly stateTransitions: number;
  readonly dynamoRequests: number;
  readonly dynamoRequestsPerIndicator: number;
  readonly writeUnits: number;
  readonly writeUnitsPerIndicator: number;
  /** per indicator, by the kind of item written (its partition key's prefix): writes, the table's units and its indexes' */
  readonly writeUnitsByKind: Readonly<Record<string, { readonly writes: number; readonly table: number; readonly indexes: number }>>;
  readonly readUnits: number;
  readonly s3Puts: number;
  readonly s3Gets: number;
  readonly kmsRequests: number;
  readonly apiRequests: number;
  readonly denials: number;
  readonly seconds: number;
  readonly cost: Readonly<Record<string, number>> & { readonly total: number; readonly perNotice: number; readonly perThousandIndicators: number };
}

async function json(res: { status: number; body: string }, what: string, expected: number[]): Promise<any> {
  if (!expected.includes(res.status)) throw new Error(`${what} answered ${res.status}: ${res.body.slice(0, 300)}`);
  return JSON.parse(res.body);
}

/** Runs the campaign on the harness and returns what it took. */
export async function runAwsBench(options: { log: (line: string) => void; indicators?: number; seed?: number }): Promise<AwsBenchFigures> {
  // a smaller campaign keeps the default's shape: as many indicators per network, as big a share of names
  const scale = (options.indicators ?? DEFAULT_SPEC.indicators) / DEFAULT_SPEC.indicators;
  const spec = {
    ...DEFAULT_SPEC,
    ...(options.seed ? { seed: options.seed } : {}),
    indicators: Math.round(DEFAULT_SPEC.indicators * scale),
    ipv4Networks: Math.max(1, Math.floor(DEFAULT_SPEC.ipv4Networks * scale)),
    ipv6Networks: Math.max(1, Math.floor(DEFAULT_SPEC.ipv6Networks * scale)),
    domainIndicators: Math.floor(DEFAULT_SPEC.domainIndicators * scale),
  };
  const generated = generateBench(spec);
  const started = Date.now();
  options.log(`AWS host: synthesising the stack and starting the offline account for ${generated.counts.indicators.toLocaleString('en')} indicators ...`);
  // the generated names resolve nowhere: the route function's DNS is a stub with no records; RDAP is off for the
  // generated networks (documentation ranges are never asked), so the directory decides every route
  const dns = await startDnsStub();
  const aws = await AwsAccount.start({
    // DynamoDB's capacity units, counted as on-demand bills them
    billing: true,
    extraEnvironment: (fn): Record<string, string> => (fn.environment.RDAP_MODE === 'real' ? { RDAP_DNS: dns.server, RDAP_MODE: 'off' } : {}),
  });
  try {
    const request = (method: string, path: string, body?: unknown) => aws.request({ method, path, as: COORDINATOR, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
    await json(await request('PUT', '/directory', generated.directory), 'PUT /directory', [200]);
    const file = Buffer.from(generated.csv, 'utf8');
    const asked = await json(await request('POST', '/uploads', { size: file.length }), 'POST /uploads', [201]);
    const put = await fetch(asked.url, { method: 'PUT', body: file });
    if (put.status !== 200) throw new Error(`the upload PUT answered ${put.status}`);
    const submitted = await json(await request('POST', '/campaigns', { upload: asked.upload, name: 'Bench on AWS', submitter: 'bench', requireApproval: false }), 'POST /campaigns', [202]);
    const campaignId = submitted.campaign.id as string;
    options.log(`AWS host: campaign ${campaignId} submitted; reading, routing and sending ...`);

    // every notice execution has sent its notice and waits for an answer (or ended: a notice nobody can receive);
    // watched from the account's side, so the figures hold no request of the bench's own
    let lastLog = 0;
    const notices = await aws.waitFor(
      'every notice sent',
      () => {
        const campaign = aws.executions('campaign').find((e) => e.input.includes(asked.upload));
        const runs = aws.executions('notice');
        const waiting = new Set(aws.sfn.waiting());
        const settled = runs.filter((e) => e.status !== 'RUNNING' || waiting.has(e.executionArn)).length;
        const line = `${campaign?.path.at(-1) ?? 'starting'}: ${aws.services.outbox.length} messages sent, ${settled} of ${runs.length} notices waiting for their answer`;
        if (Date.now() - lastLog > 15_000) {
          options.log(`AWS host: ${line}`);
          lastLog = Date.now();
        }
        if (campaign?.status === 'FAILED') throw new Error(`the campaign execution failed: ${campaign.error} ${campaign.cause}`);
        return campaign?.status === 'SUCCEEDED' && runs.length > 0 && settled === runs.length ? runs.length : undefined;
      },
      7_200_000,
    );
    await aws.services.settled();

    const client = new DynamoDBClient(aws.operatorClientConfig());
    let largest = 0;
    let largestItem = '';
    let items = 0;
    try {
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await client.send(new ScanCommand({ TableName: aws.tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
        for (const item of page.Items ?? []) {
          items += 1;
          const size = dynamoItemSize(item);
          if (size > largest) {
            largest = size;
            largestItem = `${item.pk?.S?.split('#')[0] ?? '?'}# ${item.sk?.S ?? ''}`;
          }
        }
        start = page.LastEvaluatedKey;
      } while (start);
    } finally {
      client.destroy();
    }

    const counts = aws.requestCounts();
    const sum = (pred: (op: string) => boolean) => Object.values(counts).reduce((n, c) => n + Object.entries(c.byOperation).filter(([op]) => pred(op)).reduce((m, [, v]) => m + v, 0), 0);
    const invocations = [...aws.lambda.invocations.values()].reduce((a, b) => a + b, 0);
    const gbSeconds = aws.lambda.specs.reduce((n, s) => n + ((aws.lambda.durationMs.get(s.logicalId) ?? 0) / 1000) * (s.memorySize / 1024), 0);
    // a Standard workflow bills each state entered
    const transitions = [...aws.sfn.executions.values()].reduce((n, e) => n + e.path.length, 0);
    const dynamoRequests = sum((op) => op.startsWith('dynamodb:'));
    const s3Puts = sum((op) => op === 's3:PutObject');
    const s3Gets = sum((op) => op === 's3:GetObject' || op === 's3:ListBucket');
    const kmsRequests = sum((op) => op.startsWith('kms:'));
    const apiRequests = aws.lambda.invocations.get(aws.lambda.spec('ApiFunction').logicalId) ?? 0;
    const messages = aws.services.outbox.length;
    const bytes = aws.services.outbox.reduce((n, m) => n + Buffer.byteLength(m.raw, 'utf8'), 0);
    const { writeUnits, readUnits } = aws.endpoint.capacity;
    const p = AWS_PRICES;
    const cost = {
      stepFunctions: transitions * p.stepFunctionsPerTransition,
      lambda: invocations * p.lambdaPerRequest + gbSeconds * p.lambdaPerGbSecond,
      dynamodb: writeUnits * p.dynamoPerWriteUnit + readUnits * p.dynamoPerReadUnit,
      ses: messages * p.sesPerMessage + (bytes / 1024 ** 3) * p.sesPerGb,
      s3: s3Puts * p.s3PerPut + s3Gets * p.s3PerGet,
      kms: kmsRequests * p.kmsPerRequest,
      apiGateway: apiRequests * p.apiGatewayPerRequest,
    };
    const total = Object.values(cost).reduce((a, b) => a + b, 0);
    const indicators = generated.counts.indicators;
    const executions: Record<string, Record<string, number>> = {};
    for (const workflow of ['campaign', 'notice', 'verify'] as const) {
      for (const e of aws.executions(workflow)) (executions[workflow] ??= {})[e.status] = (executions[workflow]![e.status] ?? 0) + 1;
    }
    const functionErrors = Object.fromEntries([...aws.lambda.errors].map(([id, n]) => [id.replace(/[A-F0-9]{8}$/, ''), n]));
    return {
      indicators,
      notices,
      messagesSent: messages,
      megabytesSent: Math.round(bytes / 1024 / 102.4) / 10,
      largestItemBytes: largest,
      largestItem,
      items,
      executions,
      functionErrors,
      lambdaInvocations: invocations,
      lambdaInvocationsPerNotice: Math.round((invocations / notices) * 10) / 10,
      lambdaGbSeconds: Math.round(gbSeconds),
      stateTransitions: transitions,
      dynamoRequests,
      dynamoRequestsPerIndicator: Math.round((dynamoRequests / indicators) * 10) / 10,
      writeUnitsPerIndicator: Math.round((writeUnits / indicators) * 10) / 10,
      writeUnitsByKind: Object.fromEntries(
        [...aws.endpoint.writeUnitsByKind]
          .sort((a, b) => b[1].table + b[1].indexes - (a[1].table + a[1].indexes))
          .map(([kind, u]) => [kind, { writes: Math.round((u.writes / indicators) * 100) / 100, table: Math.round((u.table / indicators) * 100) / 100, indexes: Math.round((u.indexes / indicators) * 100) / 100 }]),
      ),
      writeUnits,
      readUnits: Math.round(readUnits),
      s3Puts,
      s3Gets,
      kmsRequests,
      apiRequests,
      denials: aws.denials().length,
      seconds: Math.round((Date.now() - started) / 1000),
      cost: { ...cost, total, perNotice: total / notices, perThousandIndicators: (total / indicators) * 1000 },
    };
  } finally {
    await aws.close();
    await dns.close();
  }
}

/** The figures as the bench prints them, with every price used. */
export function awsBenchText(f: AwsBenchFigures): string {
  const usd = (n: number) => `$${n < 0.01 ? n.toFixed(5) : n.toFixed(3)}`;
  const p = AWS_PRICES;
  return [
    `AWS host (offline harness), ${f.indicators.toLocaleString('en')} indicators to sent notices, ${f.seconds} s:`,
    `  notices sent              ${f.notices.toLocaleString('en')} (${f.messagesSent.toLocaleString('en')} messages, ${f.megabytesSent} MB)`,
    `  largest DynamoDB item     ${f.largestItemBytes.toLocaleString('en')} bytes (${f.largestItem}) of ${f.items.toLocaleString('en')} items (limit 409,600)`,
    `  executions                ${Object.entries(f.executions).map(([w, by]) => `${w} ${Object.entries(by).map(([st, n]) => `${n} ${st.toLowerCase()}`).join(', ')}`).join('; ')}`,
    `  function errors           ${Object.entries(f.functionErrors).map(([fn, n]) => `${fn} ${n}`).join(', ') || 'none'}`,
    `  Lambda invocations        ${f.lambdaInvocations.toLocaleString('en')} (${f.lambdaInvocationsPerNotice} per notice), ${f.lambdaGbSeconds.toLocaleString('en')} GB-s`,
    `  state transitions         ${f.stateTransitions.toLocaleString('en')}`,
    `  DynamoDB requests         ${f.dynamoRequests.toLocaleString('en')} (${f.dynamoRequestsPerIndicator} per indicator); ${f.writeUnits.toLocaleString('en')} write units (${f.writeUnitsPerIndicator} per indicator), ${f.readUnits.toLocaleString('en')} read units (from item sizes and indexes)`,
    `  write units by item, per indicator (the table's + its indexes', in so many writes): ${Object.entries(f.writeUnitsByKind ?? {}).map(([kind, u]) => `${kind} ${u.table} + ${u.indexes} (${u.writes})`).join(', ')}`,
    `  SES sends                 ${f.messagesSent.toLocaleString('en')}`,
    `  S3 PUT / GET              ${f.s3Puts.toLocaleString('en')} / ${f.s3Gets.toLocaleString('en')};  KMS ${f.kmsRequests};  API requests ${f.apiRequests}`,
    `  IAM denials               ${f.denials}`,
    `  estimated cost            ${usd(f.cost.total)} the campaign, ${usd(f.cost.perNotice)} a notice, ${usd(f.cost.perThousandIndicators)} per 1,000 indicators`,
    `    Step Functions ${usd(f.cost.stepFunctions!)}, Lambda ${usd(f.cost.lambda!)}, DynamoDB ${usd(f.cost.dynamodb!)}, SES ${usd(f.cost.ses!)}, S3 ${usd(f.cost.s3!)}, KMS ${usd(f.cost.kms!)}, API Gateway ${usd(f.cost.apiGateway!)}`,
    `  prices (us-east-1 list, on-demand): Step Functions Standard $${(p.stepFunctionsPerTransition * 1000).toFixed(3)}/1,000 transitions; Lambda $${(p.lambdaPerRequest * 1e6).toFixed(2)}/1M requests + $${p.lambdaPerGbSecond}/GB-s (arm64);`,
    `    DynamoDB $${(p.dynamoPerWriteUnit * 1e6).toFixed(3)}/1M write units, $${(p.dynamoPerReadUnit * 1e6).toFixed(3)}/1M read units; SES $${(p.sesPerMessage * 1000).toFixed(2)}/1,000 messages + $${p.sesPerGb}/GB;`,
    `    S3 $${(p.s3PerPut * 1000).toFixed(3)}/1,000 PUT, $${(p.s3PerGet * 1000).toFixed(4)}/1,000 GET; KMS $${(p.kmsPerRequest * 10000).toFixed(2)}/10,000 requests; HTTP API $${(p.apiGatewayPerRequest * 1e6).toFixed(2)}/1M requests`,
  ].join('\n');
}

// `npx tsx bench/aws.ts [indicators]`: this bench alone
if (import.meta.url === `file://${process.argv[1]}`) {
  const indicators = process.argv[2] ? Number(process.argv[2]) : undefined;
  runAwsBench({ log: (line) => process.stderr.write(`[bench] ${line}\n`), ...(indicators ? { indicators } : {}) }).then(
    (f) => {
      process.stdout.write(`${awsBenchText(f)}\n`);
      process.exit(0);
    },
    (e: unknown) => {
      process.stderr.write(`[bench] failed: ${(e as Error).stack ?? String(e)}\n`);
      process.exit(1);
    },
  );
}

/**
 * The AWS phase of `npm run bench` (its one call from bench/run.ts): the campaign on the offline AWS host; its
 * figures go into the run's report beside the embedded host's. TAKEDOWN_BENCH_AWS=0 leaves it out; TAKEDOWN_BENCH_AWS_INDICATORS
 * runs a smaller campaign.
 */
export async function awsBench(options: { log: (line: string) => void; seed?: number }): Promise<AwsBenchFigures | undefined> {
  if (process.env.TAKEDOWN_BENCH_AWS === '0') return undefined;
  const indicators = process.env.TAKEDOWN_BENCH_AWS_INDICATORS ? Number(process.env.TAKEDOWN_BENCH_AWS_INDICATORS) : undefined;
  return runAwsBench({ log: options.log, ...(options.seed ? { seed: options.seed } : {}), ...(indicators ? { indicators } : {}) });
}
