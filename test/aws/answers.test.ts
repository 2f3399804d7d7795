import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { KmsSecretBox } from '../../lib/adapters/secrets/kms.js';
import { createRecipientSecret } from '../../lib/core/answers/index.js';
import { signWebhook } from '../../lib/core/answers/webhooks.js';
import { call, campaignView, linksIn, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * The ways an answer reaches the AWS host besides a reply: SES's bounce event through the configuration set and
 * SNS, a one-click link through the HTTP API's open route, and a signed webhook whose secret KMS sealed.
 */
const { account } = useAccount();

describe('answers on the AWS host', () => {
  it('hands a notice SES bounced to the next party of its ladder', async () => {
    const aws = account();
    aws.services.bounce('abuse@example-networks.example');
    await submitCampaign(aws, ['203.0.113.5,ip,ZA,c2 server'], { name: 'Bounce' });
    // SES accepted the notice, then published the bounce; the SES events function escalated to the CERT
    const next = await aws.waitFor('the CERT\'s notice', () => sentTo(aws, 'incidents@cert-za.example')[0]);
    expect(sentTo(aws, 'abuse@example-networks.example')).toHaveLength(1);
    expect(next.raw).toMatch(/203\.0\.113\.5/);
    expect(aws.lambda.invocations.get(aws.lambda.spec('SesEventsFunction').logicalId)).toBe(1);
    expect(aws.denials()).toEqual([]);
  });

  it('applies a one-click link once, through the API route the authorizer leaves open', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['http://kit.shop.test/a,url,KE,phishing kit'], { name: 'Links' });
    const notice = await aws.waitFor('the notice', () => sentTo(aws, 'abuse@test-registrar.example').find((m) => m.raw.includes('kit.shop.test')));
    const links = linksIn(notice, aws.api.url);
    expect(links.length).toBeGreaterThanOrEqual(3);
    const takenDown = await (async () => {
      for (const path of links) {
        const page = await aws.request({ method: 'GET', path });
        if (page.status === 200 && /taken down/i.test(page.body)) return path;
      }
      return undefined;
    })();
    expect(takenDown).toBeDefined();
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const applied = await aws.request({ method: 'POST', path: takenDown!, headers: form, body: 'confirm=yes' });
    expect(applied.status).toBe(200);
    const again = await aws.request({ method: 'POST', path: takenDown!, headers: form, body: 'confirm=yes' });
    expect(again.status).not.toBe(200);
    await aws.waitFor('verified down', async () => ((await campaignView(aws, id)).cases['verified-down'] === 1 ? true : undefined));
    expect(aws.denials()).toEqual([]);
  });

  it('stores the link tokens with the epoch seconds the table\'s TTL expires them by', async () => {
    const aws = account();
    expect(aws.ttlAttribute).toBe('ttl');
    const dynamo = new DynamoDBClient(aws.operatorClientConfig());
    try {
      const doc = DynamoDBDocumentClient.from(dynamo);
      const { Items = [] } = await doc.send(new ScanCommand({ TableName: aws.tableName, FilterExpression: 'attribute_exists(#ttl)', ExpressionAttributeNames: { '#ttl': aws.ttlAttribute! } }));
      expect(Items.length).toBeGreaterThan(0);
      const now = Date.now() / 1000;
      // DynamoDB expires only a Number of epoch seconds (milliseconds would be ~1.8e12, a date 57,000 years away)
      for (const item of Items) expect(item[aws.ttlAttribute!]).toSatisfy((t: unknown) => typeof t === 'number' && t > now && t < now + 10 * 365 * 86400);
    } finally {
      dynamo.destroy();
    }
  });

  it('takes a webhook signed with the secret KMS sealed, and refuses a forged one', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['http://mule.bank.test/x,url,KE,money mule site'], { name: 'Webhooks' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@test-registrar.example').find((m) => m.raw.includes('mule.bank.test')));
    const noticeId = (await campaignView(aws, id)).notices[0]!.id;
    const { secret, recipient } = await recipientSecret(aws, noticeId);
    const forged = await postWebhook(aws, `whsec_${Buffer.alloc(32, 7).toString('base64')}`, { recipient, noticeId, intent: 'actioned', note: 'suspended', answerId: 'forged-1' });
    expect(forged.status).toBe(401);
    const signed = await postWebhook(aws, secret, { recipient, noticeId, intent: 'actioned', note: 'suspended', answerId: 'ticket-7' });
    expect(signed.status).toBe(201);
    await aws.waitFor('verified down', async () => ((await campaignView(aws, id)).cases['verified-down'] === 1 ? true : undefined));
    expect(aws.requestCounts()[aws.lambda.spec('ApiFunction').logicalId]?.byOperation['kms:Decrypt']).toBeGreaterThanOrEqual(1);
    expect(aws.denials()).toEqual([]);
  });

  it('applies at the next sweep a webhook answer whose function died once it was stored, though its retry is a replay', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['http://drop.bank.test/y,url,KE,money mule site'], { name: 'Webhook cut short' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@test-registrar.example').find((m) => m.raw.includes('drop.bank.test')));
    const noticeId = (await campaignView(aws, id)).notices[0]!.id;
    const { secret, recipient } = await recipientSecret(aws, noticeId);
    // the API function dies as it writes the answer's event: the answer is stored, not applied
    aws.endpoint.killAt = (fn, operation, body) => fn.startsWith('ApiFunction') && operation.startsWith('dynamodb:') && body.includes('answer.received');
    const body = { recipient, noticeId, intent: 'actioned', note: 'suspended', answerId: 'ticket-9' };
    const headers = webhookHeaders(secret, body);
    try {
      const cut = await postWebhook(aws, secret, body, headers);
      expect(cut.status).toBeGreaterThanOrEqual(500);
    } finally {
      aws.endpoint.killAt = undefined;
    }
    // the sender's retry of the same delivery is a replay: refused, and nothing else would apply it
    expect((await postWebhook(aws, secret, body, headers)).status).toBe(401);
    expect((await campaignView(aws, id)).cases).toEqual({ notified: 1 });
    // the sweep leaves it while a request may still be applying it, then applies it
    await aws.advanceClock(11 * 60_000);
    aws.services.tick('Sweep');
    await aws.waitFor('verified down', async () => ((await campaignView(aws, id)).cases['verified-down'] === 1 ? true : undefined));
    expect(aws.denials()).toEqual([]);
  });
});

const issuedSecrets = new Map<string, string>();

/** The recipient's webhook secret, issued once by an operator and sealed with the stack's key, as an administrator would. */
async function recipientSecret(aws: ReturnType<ReturnType<typeof useAccount>['account']>, noticeId: string): Promise<{ secret: string; recipient: string }> {
  const notice = (await call(aws, 'GET', `/notices/${noticeId}`)).json.notice;
  const known = issuedSecrets.get(notice.party.id);
  if (known) return { secret: known, recipient: notice.party.id };
  const config = aws.operatorClientConfig();
  const keyId = aws.template.getAtt(aws.template.ofType('AWS::KMS::Key').find(([id]) => id.startsWith('WebhookSecrets'))![0], 'Arn');
  const dynamo = new DynamoDBClient(config);
  const kms = new KMSClient(config);
  try {
    const store = new DynamoDbStore({ tableName: aws.tableName, client: DynamoDBDocumentClient.from(dynamo) });
    const issued = await createRecipientSecret({ store, clock: { now: () => new Date(), engineSeconds: (s: number) => s }, secrets: new KmsSecretBox({ keyId, client: kms }) } as never, notice.party.id);
    issuedSecrets.set(notice.party.id, issued.secret);
    return { secret: issued.secret, recipient: notice.party.id };
  } finally {
    dynamo.destroy();
    kms.destroy();
  }
}

type WebhookAnswer = { recipient: string; noticeId: string; intent: string; note: string; answerId: string };

const webhookBody = (body: WebhookAnswer) => JSON.stringify(body);

function webhookHeaders(secret: string, body: WebhookAnswer): Record<string, string> {
  const webhookId = `msg_${randomUUID()}`;
  const timestamp = Math.floor(Date.now() / 1000);
  return { 'content-type': 'application/json', 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(secret, webhookId, timestamp, webhookBody(body)) };
}

/** The recipient's answer through POST /webhooks/answers; the same headers again are the sender's retry of one delivery. */
function postWebhook(aws: ReturnType<ReturnType<typeof useAccount>['account']>, secret: string, body: WebhookAnswer, headers = webhookHeaders(secret, body)) {
  return aws.request({ method: 'POST', path: '/webhooks/answers', headers, body: webhookBody(body) });
}
