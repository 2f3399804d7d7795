import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SFNClient } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { SfnWorkflows } from '../../lib/adapters/sfn/workflows.sfn.js';
import { TaskTokenExpiredError } from '../../lib/core/errors.js';

/** A request as the fake Step Functions endpoint received it. */
interface Received {
  readonly target: string;
  readonly headers: IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** What the fake answers to the next request of an operation: a JSON body, or an error as HTTP 400. */
type Reply = { body: Record<string, unknown> } | { error: string };

/** A reply made from the request's body (a page asked for), where one reply for every request will not do. */
type Answerer = (body: Record<string, unknown>) => Reply;

const ARNS = {
  campaign: 'arn:aws:states:us-east-1:123456789012:stateMachine:takedown-campaign',
  notice: 'arn:aws:states:us-east-1:123456789012:stateMachine:takedown-notice',
  verify: 'arn:aws:states:us-east-1:123456789012:stateMachine:takedown-verify',
};

let server: Server;
let received: Received[] = [];
const replies = new Map<string, Reply | Answerer>();

/** Speaks the SFN JSON 1.0 protocol: POST /, the operation in x-amz-target, the body JSON. */
function startFakeSfn(): Promise<Server> {
  const s = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const target = String(req.headers['x-amz-target'] ?? '');
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
      received.push({ target, headers: req.headers, body });
      const operation = target.replace('AWSStepFunctions.', '');
      const stored = replies.get(operation) ?? { body: {} };
      const reply = typeof stored === 'function' ? stored(body) : stored;
      const failed = 'error' in reply;
      res.writeHead(failed ? 400 : 200, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(JSON.stringify(failed ? { __type: reply.error, message: `fake ${reply.error}` } : reply.body));
    });
  });
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(s)));
}

function workflows(): SfnWorkflows {
  const { port } = server.address() as AddressInfo;
  const client = new SFNClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'not-a-secret' },
    maxAttempts: 1,
  });
  return new SfnWorkflows({ client, stateMachineArns: ARNS });
}

beforeAll(async () => {
  server = await startFakeSfn();
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

beforeEach(() => {
  received = [];
  replies.clear();
});

describe('SfnWorkflows.start', () => {
  it('starts an execution of the named state machine with the name and the input as JSON', async () => {
    // Prepare
    replies.set('StartExecution', { body: { executionArn: `${ARNS.notice}:ntc_1-r1`, startDate: 1_700_000_000 } });

    // Act
    await workflows().start('notice', 'ntc_1-r1', { noticeId: 'ntc_1' });

    // Assess
    expect(received).toHaveLength(1);
    expect(received[0]?.target).toBe('AWSStepFunctions.StartExecution');
    expect(received[0]?.headers['content-type']).toBe('application/x-amz-json-1.0');
    expect(received[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/states\//);
    expect(received[0]?.body).toEqual({ stateMachineArn: ARNS.notice, name: 'ntc_1-r1', input: '{"noticeId":"ntc_1"}' });
  });

  it('resolves quietly when an execution with that name already exists', async () => {
    replies.set('StartExecution', { error: 'ExecutionAlreadyExists' });

    await expect(workflows().start('campaign', 'cmp_1-r1', { campaignId: 'cmp_1' })).resolves.toBeUndefined();
    expect(received[0]?.body).toMatchObject({ stateMachineArn: ARNS.campaign, name: 'cmp_1-r1' });
  });

  it('lets any other refusal through with its name', async () => {
    replies.set('StartExecution', { error: 'StateMachineDoesNotExist' });

    await expect(workflows().start('campaign', 'cmp_1-r1', {})).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
  });
});

describe('SfnWorkflows.succeed', () => {
  it('sends the task token and the output as JSON', async () => {
    await workflows().succeed('token-abc', { next: 'send' });

    expect(received).toHaveLength(1);
    expect(received[0]?.target).toBe('AWSStepFunctions.SendTaskSuccess');
    expect(received[0]?.body).toEqual({ taskToken: 'token-abc', output: '{"next":"send"}' });
  });

  it.each(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken'])(
    'reports an expired token when Step Functions answers %s',
    async (error) => {
      replies.set('SendTaskSuccess', { error });

      const failure = await workflows().succeed('token-abc', {}).catch((e: unknown) => e);

      expect(failure).toBeInstanceOf(TaskTokenExpiredError);
      expect((failure as TaskTokenExpiredError).name).toBe('TaskTokenExpiredError');
      expect((failure as Error).message).not.toContain('token-abc');
      expect(((failure as Error).cause as Error).name).toBe(error);
    },
  );

  it('lets a throttling error through unchanged, so the caller may retry', async () => {
    replies.set('SendTaskSuccess', { error: 'ThrottlingException' });

    const failure = await workflows().succeed('token-abc', {}).catch((e: unknown) => e);

    expect(failure).not.toBeInstanceOf(TaskTokenExpiredError);
    expect((failure as Error).name).toBe('ThrottlingException');
  });
});

describe('SfnWorkflows.describe', () => {
  it('asks for the execution of that name under the state machine, and reads its status', async () => {
    for (const [status, expected] of [['RUNNING', 'running'], ['SUCCEEDED', 'succeeded'], ['FAILED', 'failed'], ['TIMED_OUT', 'failed'], ['ABORTED', 'failed']] as const) {
      replies.set('DescribeExecution', { body: { status, executionArn: 'x', stateMachineArn: ARNS.notice, startDate: 0 } });
      expect(await workflows().describe('notice', 'notice-n1-r2'), status).toBe(expected);
    }
    const asked = received.filter((r) => r.target === 'AWSStepFunctions.DescribeExecution').at(-1)!;
    expect(asked.body).toEqual({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:takedown-notice:notice-n1-r2' });
  });

  it('says absent for an execution Step Functions does not know', async () => {
    replies.set('DescribeExecution', { error: 'ExecutionDoesNotExist' });
    expect(await workflows().describe('verify', 'verify-n1-abc')).toBe('absent');
  });

  it('lets any other refusal through', async () => {
    replies.set('DescribeExecution', { error: 'AccessDeniedException' });
    await expect(workflows().describe('notice', 'notice-n1-r1')).rejects.toMatchObject({ name: 'AccessDeniedException' });
  });
});

describe('SfnWorkflows.census', () => {
  it('lists the running and the failed, timed out and aborted executions of the state machine, every page of each', async () => {
    // 2,500 running (three pages), a page each of the ended ones
    const running = Array.from({ length: 2500 }, (_, i) => `notice-n${i}-r1`);
    const ended: Record<string, string[]> = { FAILED: ['notice-a-r1'], TIMED_OUT: ['notice-b-r2'], ABORTED: ['notice-c-r1'], RUNNING: running };
    replies.set('ListExecutions', (body) => {
      const all = ended[String(body.statusFilter)] ?? [];
      const from = body.nextToken ? Number(body.nextToken) : 0;
      const size = Number(body.maxResults);
      const page = all.slice(from, from + size).map((name) => ({ name, executionArn: `x:${name}`, stateMachineArn: body.stateMachineArn, status: body.statusFilter, startDate: 0 }));
      return { body: { executions: page, ...(from + size < all.length ? { nextToken: String(from + size) } : {}) } };
    });
    const census = await workflows().census('notice');
    expect(census.running.size).toBe(2500);
    expect(census.running.has('notice-n2499-r1')).toBe(true);
    expect([...census.failed].sort()).toEqual(['notice-a-r1', 'notice-b-r2', 'notice-c-r1']);
    const asked = received.filter((r) => r.target === 'AWSStepFunctions.ListExecutions').map((r) => r.body);
    expect(asked).toHaveLength(6);
    expect(asked.every((b) => b.stateMachineArn === ARNS.notice && b.maxResults === 1000)).toBe(true);
    expect(asked.filter((b) => b.statusFilter === 'RUNNING').map((b) => b.nextToken ?? null)).toEqual([null, '1000', '2000']);
  });

  it('lets a refusal through rather than answer with a partial census', async () => {
    replies.set('ListExecutions', { error: 'ThrottlingException' });
    await expect(workflows().census('verify')).rejects.toMatchObject({ name: 'ThrottlingException' });
  });
});
