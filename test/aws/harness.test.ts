import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import { AUDITOR } from './harness/account.js';
import { useAccount } from './support.js';

/*
 * The harness is the account the scenarios trust: it must refuse what AWS would refuse. Each check here fails
 * if the harness lets through what the template does not allow.
 */
// billing on: one test checks the capacity the harness counts
const { account } = useAccount({ billing: true });

describe('the AWS harness', () => {
  it('serves every function and state machine of the synthesised template', () => {
    const aws = account();
    expect(aws.lambda.specs.length).toBe(aws.template.ofType('AWS::Lambda::Function').length);
    expect(aws.lambda.specs.map((s) => s.logicalId).sort()).toEqual(aws.template.ofType('AWS::Lambda::Function').map(([id]) => id).sort());
    for (const workflow of ['campaign', 'notice', 'verify'] as const) expect(aws.stateMachineArn(workflow)).toMatch(/^arn:aws:states:eu-west-1:123456789012:stateMachine:Takedown-/);
  });

  it('refuses a call the role of the calling function does not grant, as AWS does', async () => {
    const aws = account();
    const route = aws.lambda.spec('RouteCampaignFunction');
    // the route function's own credentials: it may not start workflows
    const sfn = new SFNClient({ region: 'eu-west-1', endpoint: aws.endpoint.url, credentials: { accessKeyId: route.roleId, secretAccessKey: 'x', sessionToken: route.logicalId } });
    try {
      await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: aws.stateMachineArn('notice'), name: 'forbidden', input: '{}' }))).rejects.toMatchObject({ name: 'AccessDeniedException' });
    } finally {
      sfn.destroy();
    }
    expect(aws.denials()).toEqual([`${route.logicalId} -> states:StartExecution ${aws.stateMachineArn('notice')}`]);
    aws.endpoint.denials.length = 0;
  });

  it('answers 401 for a route behind the JWT authorizer without a token, before the function runs', async () => {
    const aws = account();
    const api = aws.lambda.spec('ApiFunction').logicalId;
    const before = aws.lambda.invocations.get(api) ?? 0;
    const res = await aws.request({ method: 'GET', path: '/campaigns' });
    expect(res.status).toBe(401);
    expect(aws.lambda.invocations.get(api) ?? 0).toBe(before);
    const signedIn = await aws.request({ method: 'GET', path: '/campaigns', as: AUDITOR });
    expect(signedIn.status).toBe(200);
  });

  it('opens the dashboard to an API key sign-in, with no Cognito token', async () => {
    const aws = account();
    const dynamo = new DynamoDBClient(aws.operatorClientConfig());
    try {
      const store = new DynamoDbStore({ tableName: aws.tableName, client: DynamoDBDocumentClient.from(dynamo) });
      const { key } = await createApiKey(store, { role: 'auditor', name: 'Court auditor' });
      expect((await aws.request({ method: 'GET', path: '/ui' })).status).not.toBe(200);
      const login = await aws.request({ method: 'POST', path: '/ui/login', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: aws.api.url }, body: `key=${encodeURIComponent(key)}` });
      expect(login.status).toBe(303);
      const cookie = login.cookies.map((c) => c.split(';')[0]).join('; ') || login.headers['set-cookie']?.split(';')[0];
      expect(cookie).toMatch(/tkd_session=/);
      const page = await aws.request({ method: 'GET', path: '/ui', headers: { cookie: cookie! } });
      expect(page.status).toBe(200);
      // the session opens the dashboard only: the JSON API stays behind the authorizer
      expect((await aws.request({ method: 'GET', path: '/campaigns', headers: { cookie: cookie! } })).status).toBe(401);
    } finally {
      dynamo.destroy();
    }
  });

  it('bills a write on the larger of the item before and after, and each index on what the write changed in it', async () => {
    const aws = account();
    const dynamo = new DynamoDBClient(aws.operatorClientConfig());
    const doc = DynamoDBDocumentClient.from(dynamo);
    const units = async (write: () => Promise<unknown>) => {
      const before = aws.endpoint.capacity.writeUnits;
      await write();
      return aws.endpoint.capacity.writeUnits - before;
    };
    const key = { pk: 'TEST#capacity', sk: 'TEST' };
    const set = (name: string, value: string) =>
      doc.send(new UpdateCommand({ TableName: aws.tableName, Key: key, UpdateExpression: 'SET #a = :v', ExpressionAttributeNames: { '#a': name }, ExpressionAttributeValues: { ':v': value } }));
    try {
      // 3 KB in the table; gsi3 holds keys only: one small entry
      expect(await units(() => doc.send(new PutCommand({ TableName: aws.tableName, Item: { ...key, gsi3pk: 'TEST', gsi3sk: 'capacity', data: 'a'.repeat(3000) } })))).toBe(3 + 1);
      // 3 KB before, 5 KB after: the table bills the larger; gsi3 projects no `data`, so it is not written
      expect(await units(() => set('data', 'b'.repeat(5000)))).toBe(5);
      // a new index key: the old entry deleted, the new one put
      expect(await units(() => set('gsi3sk', 'moved'))).toBe(5 + 2);
      // a put over the stored item bills the larger of the two as well; nothing in gsi3 changed
      expect(await units(() => doc.send(new PutCommand({ TableName: aws.tableName, Item: { ...key, gsi3pk: 'TEST', gsi3sk: 'moved', data: 'c' } })))).toBe(5);
      // under 2 KB; gsi1 projects gsi2pk: a new gsi2 key rewrites the gsi2 entry (two writes) and the gsi1 one (one)
      await doc.send(new PutCommand({ TableName: aws.tableName, Item: { ...key, gsi1pk: 'TEST', gsi1sk: 'capacity', gsi2pk: 'TEST#a', gsi2sk: 'capacity', data: 'd'.repeat(1900) } }));
      expect(await units(() => set('gsi2pk', 'TEST#b'))).toBe(2 + 2 + 1);
      // the item leaves both indexes
      expect(await units(() => doc.send(new DeleteCommand({ TableName: aws.tableName, Key: key })))).toBe(2 + 1 + 1);
    } finally {
      dynamo.destroy();
    }
  });

  it('gives a function\'s error back with its name as the errorType the workflows match', async () => {
    const aws = account();
    const result = await aws.lambda.invoke(aws.lambda.spec('SendNoticeFunction').arn, { noticeId: '' });
    expect(result).toMatchObject({ error: { errorType: 'InvalidInputError' } });
  });
});
