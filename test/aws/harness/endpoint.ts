import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AwsError, accessDenied } from './errors.js';
import type { LambdaService } from './functions.js';
import type { ConditionContext, IamPolicies } from './iam.js';
import type { AccountServices } from './services.js';
import type { StepFunctionsService } from './stepfunctions.js';
import type { DeployedTemplate } from './template.js';
import { dynamoItemSize, indexWriteUnits, type IndexDesign } from './item-size.js';

/** Who made a request: a function (by its role's credentials) or the operator setting the test up. */
interface Caller {
  readonly roleId?: string;
  readonly functionId: string;
}

/** One refusal IAM made. */
export interface Denial {
  readonly function: string;
  readonly action: string;
  readonly resource: string;
}

/** The access key the tests' own setup calls use: the operator, whom IAM does not restrict. */
export const OPERATOR_KEY = 'operator';

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** An aws-chunked body (a streamed upload with trailing checksums) back to its bytes. */
function unchunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  let at = 0;
  for (;;) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = parseInt(body.subarray(at, eol).toString('latin1').split(';')[0]!, 16);
    if (!size) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}

function xmlEscape(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

/**
 * The account's one endpoint (AWS_ENDPOINT_URL of every function): it tells the service from the request's
 * signing scope, the caller from its credentials, refuses what the caller's IAM policies in the template do not
 * allow (AccessDeniedException, as AWS answers), counts every request per function, and serves DynamoDB (through
 * dynalite), Step Functions, SES v2, S3 (path-style), KMS.
 */
export class AccountEndpoint {
  private server?: Server;
  url = '';
  readonly requests = new Map<string, Map<string, number>>();
  readonly denials: Denial[] = [];
  /**
   * DynamoDB's capacity units as on-demand bills them, from the items' sizes: a write is 1 unit per KB of the
   * item for the table, the larger of before and after, and what it changed in each index by the template's
   * projections (indexWriteUnits); a read 1 unit per 4 KB read consistently, half that eventually. The harness reads
   * the stored item from dynalite before a put, an update or a delete, and after an update (reads not counted).
   * Counted only when the account bills (AccountOptions.billing).
   */
  readonly capacity = { writeUnits: 0, readUnits: 0 };
  /** the write units by the kind of item (its partition key's prefix: CASE, EVT, NTC ...), the table's and its indexes' apart */
  readonly writeUnitsByKind = new Map<string, { writes: number; table: number; indexes: number }>();
  /** the requests being handled, awaited by close() */
  private readonly inflight = new Set<Promise<void>>();

  private lambda!: LambdaService;
  /**
   * Asked before each call a function makes (`dynamodb:PutItem`, `s3:PutObject` ...) with its body: true kills the
   * function there, as a crash or Lambda's timeout would, and the call gets no answer.
   */
  killAt?: (functionId: string, operation: string, body: string) => boolean;
  private services!: AccountServices;
  private sfn!: () => StepFunctionsService;

  constructor(
    private readonly template: DeployedTemplate,
    private readonly iam: IamPolicies,
    private readonly dynaliteUrl: string,
    private readonly billing: boolean,
  ) {}

  /** The services behind the endpoint, made once its URL is known (the functions are told it). */
  attach(parts: { lambda: LambdaService; services: AccountServices; sfn: StepFunctionsService }): void {
    this.lambda = parts.lambda;
    this.services = parts.services;
    this.sfn = () => parts.sfn;
  }

  async listen(): Promise<string> {
    const server = createServer((req, res) => {
      const handled = this.handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ __type: 'InternalFailure', message: (e as Error).message }));
      });
      this.inflight.add(handled);
      void handled.finally(() => this.inflight.delete(handled));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    // a request whose caller is gone may still be on its way to dynalite: it ends before dynalite closes
    await Promise.all(this.inflight);
  }

  /** Requests per function, by `service:Operation`, and their total. */
  counts(): Record<string, { total: number; byOperation: Record<string, number> }> {
    return Object.fromEntries(
      [...this.requests].map(([fn, ops]) => [fn, { total: [...ops.values()].reduce((a, b) => a + b, 0), byOperation: Object.fromEntries([...ops].sort()) }]),
    );
  }

  private count(caller: Caller, operation: string): void {
    const ops = this.requests.get(caller.functionId) ?? new Map<string, number>();
    ops.set(operation, (ops.get(operation) ?? 0) + 1);
    this.requests.set(caller.functionId, ops);
  }

  /** Throws AccessDeniedException unless the caller's role may do `action` on every resource. */
  private authorize(caller: Caller, action: string, resources: readonly string[], context: ConditionContext = {}): void {
    if (!caller.roleId) return;
    for (const resource of resources) {
      if (this.iam.allows(caller.roleId, action, resource, context)) continue;
      this.denials.push({ function: caller.functionId, action, resource });
      const fn = this.lambda.byRole(caller.roleId);
      throw accessDenied(`arn:aws:sts::${this.template.account}:assumed-role/${this.template.ref(caller.roleId)}/${fn?.name ?? 'session'}`, action, resource);
    }
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://endpoint');
    const auth = req.headers.authorization ?? '';
    const credential = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\/aws4_request/.exec(auth)?.slice(1) ?? url.searchParams.get('X-Amz-Credential')?.split('/').filter((_, i) => i !== 1);
    if (!credential) return this.fail(res, 'json', new AwsError('MissingAuthenticationTokenException', 'Missing Authentication Token', 403));
    const [accessKey, , service] = credential as [string, string, string];
    const sessionToken = (req.headers['x-amz-security-token'] as string | undefined) ?? url.searchParams.get('X-Amz-Security-Token') ?? '';
    const caller: Caller = accessKey === OPERATOR_KEY ? { functionId: 'operator' } : { roleId: accessKey, functionId: sessionToken || accessKey };
    if (caller.roleId && !this.template.resources[caller.roleId]) return this.fail(res, 'json', new AwsError('UnrecognizedClientException', 'The security token included in the request is invalid.', 400));
    let body = await readBody(req);
    if (String(req.headers['content-encoding'] ?? '').includes('aws-chunked') || String(req.headers['x-amz-content-sha256'] ?? '').startsWith('STREAMING-')) body = unchunk(body);
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.split('.')[1] ?? '';
    if (caller.roleId && this.killAt?.(caller.functionId, `${service}:${op || req.method}`, body.toString('utf8'))) {
      this.lambda.crash(caller.functionId);
      req.socket.destroy();
      return;
    }
    try {
      switch (service) {
        case 'dynamodb':
          this.count(caller, `dynamodb:${op}`);
          return await this.dynamodb(caller, op, req, body, res);
        case 'states':
          this.count(caller, `states:${op}`);
          return this.json(res, '1.0', this.states(caller, op, JSON.parse(body.toString('utf8') || '{}')));
        case 'kms':
          this.count(caller, `kms:${op}`);
          return this.json(res, '1.1', this.kms(caller, op, JSON.parse(body.toString('utf8') || '{}')));
        case 'ses':
          this.count(caller, `ses:${req.method} ${url.pathname.replace(/\/v2\/email\//, '')}`);
          return this.ses(caller, req, url, body, res);
        case 's3':
          return this.s3(caller, req, url, body, res);
        default:
          this.count(caller, `${service}:${op || url.pathname}`);
          throw new AwsError('UnknownOperationException', `the harness does not serve ${service} ${op || url.pathname}`);
      }
    } catch (e) {
      if (!(e instanceof AwsError)) throw e;
      return this.fail(res, service === 's3' ? 'xml' : service === 'ses' ? 'rest' : 'json', e);
    }
  }

  private json(res: ServerResponse, version: string, value: unknown): void {
    res.writeHead(200, { 'content-type': `application/x-amz-json-${version}` });
    res.end(JSON.stringify(value ?? {}));
  }

  private fail(res: ServerResponse, protocol: 'json' | 'rest' | 'xml', e: AwsError): void {
    if (protocol === 'xml') {
      const status = e.code === 'AccessDeniedException' ? 403 : e.status;
      res.writeHead(status, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${e.code === 'AccessDeniedException' ? 'AccessDenied' : e.code}</Code><Message>${xmlEscape(e.message)}</Message></Error>`);
      return;
    }
    if (protocol === 'rest') {
      res.writeHead(e.code === 'AccessDeniedException' ? 403 : e.status, { 'content-type': 'application/json', 'x-amzn-errortype': e.code });
      res.end(JSON.stringify({ message: e.message }));
      return;
    }
    res.writeHead(e.status, { 'content-type': 'application/x-amz-json-1.0' });
    res.end(JSON.stringify({ __type: e.code, message: e.message }));
  }

  // ---- DynamoDB: checked here, served by dynalite

  private async dynamodb(caller: Caller, op: string, req: IncomingMessage, body: Buffer, res: ServerResponse): Promise<void> {
    const request = JSON.parse(body.toString('utf8') || '{}') as Record<string, any>;
    const tableArn = (name: string) => `arn:aws:dynamodb:${this.template.region}:${this.template.account}:table/${name}`;
    const resources: string[] = [];
    if (request.TableName) resources.push(request.IndexName ? `${tableArn(request.TableName)}/index/${request.IndexName}` : tableArn(request.TableName));
    for (const name of Object.keys(request.RequestItems ?? {})) resources.push(tableArn(name));
    for (const item of request.TransactItems ?? []) {
      const inner = Object.values(item)[0] as { TableName: string };
      resources.push(tableArn(inner.TableName));
    }
    this.authorize(caller, `dynamodb:${op}`, [...new Set(resources)], { 'dynamodb:leadingkeys': leadingKeys(request) });
    // a write is billed on the stored item's size as well as the new one's, and its indexes on what changed in them:
    // the request does not carry the stored item
    const bills = this.billing && (op === 'PutItem' || op === 'UpdateItem' || op === 'DeleteItem');
    const before = bills ? await this.storedItem(req, request) : undefined;
    const answer = await fetch(this.dynaliteUrl, {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type']), 'x-amz-target': String(req.headers['x-amz-target']), authorization: String(req.headers.authorization), 'x-amz-date': String(req.headers['x-amz-date'] ?? '') },
      body,
    });
    const text = Buffer.from(await answer.arrayBuffer());
    const after = bills && answer.status === 200 && op === 'UpdateItem' ? await this.storedItem(req, request) : undefined;
    if (this.billing && answer.status === 200) this.countCapacity(op, request, text, before, after);
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0', 'x-amz-crc32': answer.headers.get('x-amz-crc32') ?? '' });
    res.end(text);
  }

  /** The item an update or delete names, as dynalite holds it now (undefined when there is none). */
  private async storedItem(req: IncomingMessage, request: Record<string, any>): Promise<Record<string, any> | undefined> {
    const answer = await fetch(this.dynaliteUrl, {
      method: 'POST',
      headers: { 'content-type': String(req.headers['content-type']), 'x-amz-target': 'DynamoDB_20120810.GetItem', authorization: String(req.headers.authorization), 'x-amz-date': String(req.headers['x-amz-date'] ?? '') },
      body: JSON.stringify({ TableName: request.TableName, Key: request.Key ?? this.keyOf(request.Item ?? {}), ConsistentRead: true }),
    });
    if (answer.status !== 200) throw new Error(`the harness could not read the item an ${String(request.TableName)} write names: ${answer.status}`);
    return ((await answer.json()) as { Item?: Record<string, any> }).Item;
  }

  /** The table's key attributes and its indexes as the template declares them (the harness has one table). */
  private get tableDesign(): { keys: string[]; indexes: IndexDesign[] } {
    if (this.design === undefined) {
      const [, table] = this.template.ofType('AWS::DynamoDB::Table')[0]!;
      const p = this.template.resolveAny(table.Properties) as Record<string, any>;
      const keysOf = (schema: { AttributeName: string }[]) => schema.map((k) => k.AttributeName);
      this.design = {
        keys: keysOf(p.KeySchema),
        indexes: (p.GlobalSecondaryIndexes ?? []).map((g: Record<string, any>) => ({
          keys: keysOf(g.KeySchema),
          projection: g.Projection?.ProjectionType ?? 'ALL',
          include: g.Projection?.NonKeyAttributes ?? [],
        })),
      };
    }
    return this.design;
  }
  private design?: { keys: string[]; indexes: IndexDesign[] };

  /** The table key of an item. */
  private keyOf(item: Record<string, any>): Record<string, any> {
    return Object.fromEntries(this.tableDesign.keys.map((k) => [k, item[k]]));
  }

  private countCapacity(op: string, request: Record<string, any>, response: Buffer, before?: Record<string, any>, after?: Record<string, any>): void {
    const byKind = (key: Record<string, any> | undefined, table: number, indexes: number) => {
      const kind = String(key?.pk?.S ?? '?').split('#')[0]!;
      const entry = this.writeUnitsByKind.get(kind) ?? { writes: 0, table: 0, indexes: 0 };
      entry.writes += 1;
      entry.table += table;
      entry.indexes += indexes;
      this.writeUnitsByKind.set(kind, entry);
    };
    // the table bills the larger of the item before and after; each index what changed in it (indexWriteUnits)
    const write = (key: Record<string, any> | undefined, was: Record<string, any> | undefined, now: Record<string, any> | undefined) => {
      const units = Math.max(1, ...[was, now].map((item) => (item ? Math.ceil(dynamoItemSize(item) / 1024) : 0)));
      const indexes = indexWriteUnits(was, now, this.tableDesign.keys, this.tableDesign.indexes);
      this.capacity.writeUnits += units + indexes;
      byKind(key, units, indexes);
    };
    const read = (items: Record<string, any>[], consistent: boolean) => {
      const bytes = items.reduce((n, i) => n + dynamoItemSize(i), 0);
      this.capacity.readUnits += Math.max(1, Math.ceil(bytes / 4096)) * (consistent ? 1 : 0.5);
    };
    if (op === 'PutItem') write(request.Item, before, request.Item ?? {});
    else if (op === 'UpdateItem' || op === 'DeleteItem') write(request.Key, before, after);
    else if (op === 'BatchWriteItem') {
      for (const rs of Object.values(request.RequestItems ?? {}) as any[]) {
        for (const r of rs) {
          // billed as new items: the harness does not read what a batch overwrites (the store batches only markers)
          if (r.PutRequest) write(r.PutRequest.Item, undefined, r.PutRequest.Item);
          else {
            this.capacity.writeUnits += 1;
            byKind(r.DeleteRequest?.Key, 1, 0);
          }
        }
      }
    } else if (['GetItem', 'Query', 'Scan', 'BatchGetItem'].includes(op)) {
      let out: Record<string, any> = {};
      try {
        out = JSON.parse(response.toString('utf8')) as Record<string, any>;
      } catch {
        return;
      }
      if (op === 'GetItem') read(out.Item ? [out.Item] : [], request.ConsistentRead === true);
      else if (op === 'BatchGetItem') for (const [table, items] of Object.entries(out.Responses ?? {}) as [string, any[]][]) for (const item of items) read([item], request.RequestItems?.[table]?.ConsistentRead === true);
      else read(out.Items ?? [], request.ConsistentRead === true);
    }
  }

  // ---- Step Functions

  private states(caller: Caller, op: string, r: Record<string, any>): unknown {
    const sfn = this.sfn();
    switch (op) {
      case 'StartExecution': {
        this.authorize(caller, 'states:StartExecution', [r.stateMachineArn]);
        const e = sfn.startExecution(r.stateMachineArn, r.name, r.input);
        return { executionArn: e.executionArn, startDate: e.startDate.getTime() / 1000 };
      }
      case 'SendTaskSuccess':
        this.authorize(caller, 'states:SendTaskSuccess', ['*']);
        sfn.completeTask(r.taskToken, { output: r.output });
        return {};
      case 'SendTaskFailure':
        this.authorize(caller, 'states:SendTaskFailure', ['*']);
        sfn.completeTask(r.taskToken, { error: r.error, cause: r.cause });
        return {};
      case 'SendTaskHeartbeat':
        this.authorize(caller, 'states:SendTaskHeartbeat', ['*']);
        sfn.heartbeat(r.taskToken);
        return {};
      case 'DescribeExecution': {
        this.authorize(caller, 'states:DescribeExecution', [r.executionArn]);
        const e = sfn.execution(r.executionArn);
        return {
          executionArn: e.executionArn,
          stateMachineArn: e.stateMachineArn,
          name: e.name,
          status: e.status,
          startDate: e.startDate.getTime() / 1000,
          ...(e.stopDate ? { stopDate: e.stopDate.getTime() / 1000 } : {}),
          input: e.input,
          ...(e.output !== undefined ? { output: e.output } : {}),
          ...(e.error ? { error: e.error, cause: e.cause } : {}),
        };
      }
      case 'StopExecution':
        this.authorize(caller, 'states:StopExecution', [r.executionArn]);
        sfn.stopExecution(r.executionArn);
        return { stopDate: Date.now() / 1000 };
      case 'ListExecutions': {
        this.authorize(caller, 'states:ListExecutions', [r.stateMachineArn]);
        const all = [...sfn.executions.values()].filter((e) => e.stateMachineArn === r.stateMachineArn && (!r.statusFilter || e.status === r.statusFilter));
        all.sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
        const start = r.nextToken ? Number(r.nextToken) : 0;
        const size = Number(r.maxResults || 100);
        const page = all.slice(start, start + size);
        return {
          executions: page.map((e) => ({ executionArn: e.executionArn, stateMachineArn: e.stateMachineArn, name: e.name, status: e.status, startDate: e.startDate.getTime() / 1000, ...(e.stopDate ? { stopDate: e.stopDate.getTime() / 1000 } : {}) })),
          ...(start + size < all.length ? { nextToken: String(start + size) } : {}),
        };
      }
      case 'GetExecutionHistory': {
        this.authorize(caller, 'states:GetExecutionHistory', [r.executionArn]);
        const e = sfn.execution(r.executionArn);
        const events = r.reverseOrder ? [...e.history].reverse() : e.history;
        const start = r.nextToken ? Number(r.nextToken) : 0;
        const size = Number(r.maxResults || 1000);
        return {
          events: events.slice(start, start + size).map((h) => ({
            id: h.id,
            previousEventId: h.id - 1,
            type: h.type,
            timestamp: h.timestamp.getTime() / 1000,
            ...(h.type.endsWith('StateEntered') ? { stateEnteredEventDetails: { name: h.state } } : {}),
            ...(h.type.endsWith('StateExited') ? { stateExitedEventDetails: { name: h.state } } : {}),
            ...(h.type === 'TaskFailed' ? { taskFailedEventDetails: { error: h.error, cause: h.cause, resourceType: 'lambda', resource: 'invoke' } } : {}),
            ...(h.type === 'ExecutionFailed' ? { executionFailedEventDetails: { error: h.error, cause: h.cause } } : {}),
          })),
          ...(start + size < events.length ? { nextToken: String(start + size) } : {}),
        };
      }
      default:
        throw new AwsError('UnknownOperationException', `the harness does not serve states:${op}`);
    }
  }

  // ---- KMS

  private kms(caller: Caller, op: string, r: Record<string, any>): unknown {
    const context = (r.EncryptionContext ?? {}) as Record<string, string>;
    const conditions: Record<string, string | string[]> = { 'kms:encryptioncontextkeys': Object.keys(context), 'kms:calleraccount': this.template.account };
    for (const [k, v] of Object.entries(context)) conditions[`kms:encryptioncontext:${k.toLowerCase()}`] = v;
    const check = (keyArn: string, action: string) => {
      if (!caller.roleId) return;
      const roleArn = this.template.getAtt(caller.roleId, 'Arn');
      const policy = this.services.keyPolicyAllows(keyArn, roleArn, action, conditions);
      // the key policy decides: it names the role, or it trusts the account and the role's IAM policy allows it
      if (policy.direct) return;
      if (policy.viaAccount) return this.authorize(caller, action, [keyArn], conditions);
      this.denials.push({ function: caller.functionId, action, resource: keyArn });
      throw accessDenied(roleArn, action, keyArn);
    };
    switch (op) {
      case 'Encrypt': {
        const keyArn = this.services.keyArn(r.KeyId);
        check(keyArn, 'kms:Encrypt');
        return { KeyId: keyArn, CiphertextBlob: this.services.encrypt(keyArn, Buffer.from(r.Plaintext, 'base64'), context).toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'Decrypt': {
        const opened = this.services.decrypt(Buffer.from(r.CiphertextBlob, 'base64'), context);
        if (r.KeyId && this.services.keyArn(r.KeyId) !== opened.keyArn) throw new AwsError('IncorrectKeyException', 'The key ID in the request does not identify the CMK used to encrypt the ciphertext.');
        check(opened.keyArn, 'kms:Decrypt');
        return { KeyId: opened.keyArn, Plaintext: opened.plaintext.toString('base64'), EncryptionAlgorithm: 'SYMMETRIC_DEFAULT' };
      }
      case 'GenerateDataKeyWithoutPlaintext': {
        const keyArn = this.services.keyArn(r.KeyId);
        check(keyArn, 'kms:GenerateDataKeyWithoutPlaintext');
        const bytes = r.KeySpec === 'AES_128' ? 16 : Number(r.NumberOfBytes ?? 32);
        return { KeyId: keyArn, CiphertextBlob: this.services.encrypt(keyArn, randomBytes(bytes), context).toString('base64') };
      }
      default:
        throw new AwsError('UnknownOperationException', `the harness does not serve kms:${op}`);
    }
  }

  // ---- SES v2

  private ses(caller: Caller, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): void {
    if (req.method !== 'POST' || url.pathname !== '/v2/email/outbound-emails') throw new AwsError('NotFoundException', `the harness does not serve SES ${req.method} ${url.pathname}`, 404);
    const r = JSON.parse(body.toString('utf8')) as Parameters<AccountServices['sendEmail']>[1];
    const raw = Buffer.from(r.Content?.Raw?.Data ?? '', 'base64').toString('utf8');
    const from = (r.FromEmailAddress ?? /^From:.*?<?([^\s<>]+@[^\s<>]+)>?\s*$/im.exec(raw)?.[1] ?? '').toLowerCase();
    const domain = from.split('@')[1] ?? '';
    const arn = (resource: string) => `arn:aws:ses:${this.template.region}:${this.template.account}:${resource}`;
    const context = { 'ses:fromaddress': from, 'ses:recipients': r.Destination?.ToAddresses ?? [], 'ses:apiversion': '2' };
    // SES authorises the send against the identity that covers the From address (the domain here) and the
    // configuration set it names
    this.authorize(caller, 'ses:SendEmail', [arn(`identity/${domain}`), ...(r.ConfigurationSetName ? [arn(`configuration-set/${r.ConfigurationSetName}`)] : [])], context);
    const messageId = this.services.sendEmail(caller.functionId, r);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ MessageId: messageId }));
  }

  // ---- S3 (path-style)

  private s3(caller: Caller, req: IncomingMessage, url: URL, body: Buffer, res: ServerResponse): void {
    const [, bucket = '', ...rest] = url.pathname.split('/');
    const key = decodeURIComponent(rest.join('/'));
    const method = req.method ?? 'GET';
    const action = method === 'PUT' ? 's3:PutObject' : method === 'DELETE' ? 's3:DeleteObject' : key === '' ? 's3:ListBucket' : 's3:GetObject';
    this.count(caller, `${action}`);
    if (!this.services.bucketExists(bucket)) throw new AwsError('NoSuchBucket', 'The specified bucket does not exist', 404);
    const resource = key === '' ? `arn:aws:s3:::${bucket}` : `arn:aws:s3:::${bucket}/${key}`;
    const ifNoneMatch = req.headers['if-none-match'] as string | undefined;
    // a presigned URL carries its expiry in the query: S3 refuses it once past, whoever signed it
    const signedAt = url.searchParams.get('X-Amz-Date');
    const expires = url.searchParams.get('X-Amz-Expires');
    if (signedAt && expires) {
      const at = Date.parse(signedAt.replace(/^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/, '$1-$2-$3T$4:$5:$6Z'));
      if (Date.now() > at + Number(expires) * 1000) throw new AwsError('AccessDenied', 'Request has expired', 403);
    }
    this.authorize(caller, action, [resource], {
      ...(ifNoneMatch !== undefined ? { 's3:if-none-match': ifNoneMatch } : {}),
      ...(action === 's3:ListBucket' ? { 's3:prefix': url.searchParams.get('prefix') ?? '' } : {}),
    });
    if (method === 'PUT' && req.headers['x-amz-object-lock-legal-hold']) this.authorize(caller, 's3:PutObjectLegalHold', [resource]);
    // what the bucket policy says to this role: a Deny there refuses whatever the role's own policy allows
    if (caller.roleId && !this.services.bucketPolicyLetsRole(bucket, this.template.getAtt(caller.roleId, 'Arn'), action, resource, { ...(ifNoneMatch !== undefined ? { 's3:if-none-match': ifNoneMatch } : {}) })) {
      this.denials.push({ function: caller.functionId, action, resource });
      throw accessDenied(this.template.getAtt(caller.roleId, 'Arn'), action, resource);
    }
    const id = `${bucket}/${key}`;
    if (method === 'PUT') {
      if (ifNoneMatch === '*' && this.services.objects.has(id)) throw new AwsError('PreconditionFailed', 'At least one of the pre-conditions you specified did not hold', 412);
      this.services.objects.set(id, { body, contentType: req.headers['content-type'] });
      res.writeHead(200, { etag: '"harness"' });
      res.end();
      return;
    }
    if (method === 'GET' && key === '') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const keys = [...this.services.objects.keys()].filter((k) => k.startsWith(`${bucket}/${prefix}`)).map((k) => k.slice(bucket.length + 1)).sort();
      const contents = keys.map((k) => `<Contents><Key>${xmlEscape(k)}</Key><Size>${this.services.objects.get(`${bucket}/${k}`)!.body.length}</Size></Contents>`).join('');
      res.writeHead(200, { 'content-type': 'application/xml' });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><IsTruncated>false</IsTruncated>${contents}</ListBucketResult>`);
      return;
    }
    if (method === 'GET' || method === 'HEAD') {
      const object = this.services.objects.get(id);
      if (!object) throw new AwsError('NoSuchKey', 'The specified key does not exist.', 404);
      const range = method === 'GET' ? /^bytes=(\d+)-(\d*)$/.exec(String(req.headers.range ?? '')) : null;
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(object.body.length - 1, range[2] ? Number(range[2]) : object.body.length - 1);
        res.writeHead(206, { 'content-type': object.contentType ?? 'application/octet-stream', 'content-length': String(end - start + 1), 'content-range': `bytes ${start}-${end}/${object.body.length}`, etag: '"harness"' });
        res.end(object.body.subarray(start, end + 1));
        return;
      }
      res.writeHead(200, { 'content-type': object.contentType ?? 'application/octet-stream', 'content-length': String(object.body.length), etag: '"harness"' });
      res.end(method === 'HEAD' ? undefined : object.body);
      return;
    }
    if (method === 'DELETE') {
      // as S3 answers: 204 whether or not the key was there
      this.services.objects.delete(id);
      res.writeHead(204);
      res.end();
      return;
    }
    throw new AwsError('NotImplemented', `the harness does not serve S3 ${method}`, 501);
  }
}

/** The partition keys a DynamoDB request touches, as IAM's dynamodb:LeadingKeys condition key sees them. */
function leadingKeys(request: Record<string, any>): string[] {
  const keys: string[] = [];
  const pkOf = (item: Record<string, any> | undefined) => {
    const pk = item?.pk?.S;
    if (typeof pk === 'string') keys.push(pk);
  };
  pkOf(request.Key);
  pkOf(request.Item);
  for (const requests of Object.values(request.RequestItems ?? {}) as any[]) {
    if (!Array.isArray(requests)) {
      for (const k of (requests as { Keys?: any[] }).Keys ?? []) pkOf(k);
      continue;
    }
    for (const r of requests) {
      pkOf(r.PutRequest?.Item);
      pkOf(r.DeleteRequest?.Key);
    }
  }
  for (const t of request.TransactItems ?? []) {
    const inner = Object.values(t)[0] as { Key?: any; Item?: any };
    pkOf(inner.Key);
    pkOf(inner.Item);
  }
  // a query names its partition in the key condition: the value bound to the partition key
  if (typeof request.KeyConditionExpression === 'string' && !request.IndexName) {
    const m = /(#\w+|\bpk\b)\s*=\s*(:\w+)/.exec(request.KeyConditionExpression);
    const name = m?.[1]?.startsWith('#') ? request.ExpressionAttributeNames?.[m[1]] : m?.[1];
    const value = m ? request.ExpressionAttributeValues?.[m[2]!]?.S : undefined;
    if (name === 'pk' && typeof value === 'string') keys.push(value);
  }
  return keys;
}
