import { GetCommand, DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { dynamoItemSize } from './harness/item-size.js';
import { TEST_CONTEXT } from './harness/synth.js';
import { allItems, call, campaignView, header, sentTo, submitCampaign, uploadCampaign, useAccount } from './support.js';

/*
 * Sending on the AWS host at the sizes and in the trouble real operations meet: one hoster with thousands of
 * indicators (the notice goes in parts, every DynamoDB item stays small), and an SES account that refuses every
 * message (the sandbox): sending halts with a visible record and an alarm, nothing escalates, and it resumes by
 * itself once SES sends again. Then a reply SES receives for the envelope sender alone finds its notice.
 */
const { account } = useAccount();

const LIMIT = Number(TEST_CONTEXT.maxMessageBytes);

async function haltRecord(aws: ReturnType<typeof account>): Promise<Record<string, unknown> | undefined> {
  const client = new DynamoDBClient(aws.operatorClientConfig());
  try {
    const found = await DynamoDBDocumentClient.from(client).send(new GetCommand({ TableName: aws.tableName, Key: { pk: 'REC#sending-halt#all', sk: 'REC' }, ConsistentRead: true }));
    return found.Item;
  } finally {
    client.destroy();
  }
}

function alarmsNotified(aws: ReturnType<typeof account>): string[] {
  const topic = aws.template.getAtt(aws.template.ofType('AWS::SNS::Topic').find(([id]) => id.startsWith('OperationsAlarmTopic'))![0], 'TopicArn');
  return aws.services.published.filter((p) => p.topicArn === topic).map((p) => JSON.parse(p.message).AlarmName as string);
}

describe('sending on the AWS host', () => {
  it('sends a notice of 2,000 indicators to one hoster in parts, each under the limit, with every DynamoDB item far under 400 KB', async () => {
    const aws = account();
    // one hoster's address, 2,000 kit paths on it: a notice to one recipient
    const lines = Array.from({ length: 2000 }, (_, i) => `http://192.0.2.10/login/${i}/verify.php,url,KE,phishing kit`);
    // a file this size goes by the upload path: an API call has 29 s, which 2,000 indicators' writes may not fit in here
    const id = await uploadCampaign(aws, lines, { name: 'One big hoster' });
    const parts = await aws.waitFor(
      'every part of the notice',
      () => {
        const sent = sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.10'));
        const total = Number(/part \d+ of (\d+)/.exec(header(sent[0] ?? ({ raw: '' } as never), 'Subject') ?? '')?.[1] ?? 0);
        return total > 0 && sent.length === total ? sent : undefined;
      },
      240_000,
    );
    expect(parts.length).toBeGreaterThanOrEqual(2);
    for (const part of parts) expect(Buffer.byteLength(part.raw, 'utf8')).toBeLessThan(LIMIT);
    // every indicator is in exactly one part
    const listed = parts.flatMap((p) => [...p.raw.replace(/=\r\n/g, '').matchAll(/login\/(\d+)\/verify/g)].map((m) => m[1]));
    expect(new Set(listed).size).toBe(2000);
    await aws.waitFor('every case notified', async () => ((await campaignView(aws, id)).cases.notified === 2000 ? true : undefined), 120_000);

    const items = await allItems(aws);
    const largest = Math.max(...items.map(dynamoItemSize));
    // eslint-disable-next-line no-console
    console.info(`2,000 indicators: ${items.length} items, the largest ${largest} bytes; ${parts.length} parts, the largest ${Math.max(...parts.map((p) => p.raw.length))} bytes`);
    expect(largest).toBeLessThan(100 * 1024);
    expect(aws.denials()).toEqual([]);
  }, 300_000);

  it('halts sending while SES refuses every message, alarms, escalates nothing, and resumes by itself', async () => {
    const aws = account();
    aws.services.sandbox();
    const refusedBefore = aws.services.sandboxRefusals;
    const id = await submitCampaign(aws, ['203.0.113.77,ip,ZA,c2 server'], { name: 'Sandbox' });
    const halt = await aws.waitFor('the halt record', () => haltRecord(aws), 60_000);
    // the store's record: its value is the halt (lib/core/notices/halt.ts)
    expect(JSON.parse(JSON.parse(String(halt.data)).value).refusal).toMatchObject({ scope: 'sender', step: 'MessageRejected' });
    // the coordinator sees it with the campaign
    expect((await call(aws, 'GET', `/campaigns/${id}`)).json.sendingHalt).toMatchObject({ refusal: { scope: 'sender' } });
    // the workflow keeps trying: several refusals, and still nothing else moved
    await aws.waitFor('SES refusing again', () => aws.services.sandboxRefusals >= refusedBefore + 3 || undefined);
    const during = await campaignView(aws, id);
    expect(Object.keys(during.cases).filter((s) => s === 'escalated' || s === 'expired')).toEqual([]);
    expect(during.notices).toHaveLength(1);
    expect(sentTo(aws, 'abuse@example-networks.example')).toHaveLength(0);

    aws.services.evaluateAlarms();
    expect(alarmsNotified(aws).filter((name) => name.includes('SendingHalted'))).toHaveLength(1);

    aws.services.sandbox(false);
    await aws.waitFor('the notice sent once SES sends again', () => sentTo(aws, 'abuse@example-networks.example')[0], 60_000);
    await aws.waitFor('the halt lifted', async () => ((await haltRecord(aws)) === undefined ? true : undefined));
    await aws.waitFor('the case notified', async () => ((await campaignView(aws, id)).cases.notified === 1 ? true : undefined));
    expect(aws.sfn.waiting().length).toBeGreaterThan(0);
    expect(aws.denials()).toEqual([]);
  }, 120_000);

  it('matches a reply SES received for the envelope sender alone, whose headers name no address of ours', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.200,ip,KE,c2 server'], { name: 'Envelope' });
    const notice = await aws.waitFor('the notice', () => sentTo(aws, 'abuse@hosting.example').find((m) => m.raw.includes('192.0.2.200')), 60_000);
    const [n] = (await campaignView(aws, id)).notices;
    // the envelope sender the notice went out with (VERP, the reply token after `+b.`): a desk's vacation
    // responder answers it, not the From, and quotes nothing of the notice
    const reply = /<?takedown\+([^@\s>]+)@reply\.example>?/.exec(header(notice, 'Reply-To') ?? '')?.[1];
    expect(reply).toBeDefined();
    const verp = `takedown+b.${reply}@reply.example`;
    const raw = [
      'From: Abuse Desk <abuse@hosting.example>',
      `To: ${header(notice, 'From')}`,
      'Subject: Out of office',
      'Auto-Submitted: auto-replied',
      `Date: ${new Date().toUTCString()}`,
      'Message-ID: <ooo-1@hosting.example>',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'I am away until Monday.',
      '',
    ].join('\r\n');
    aws.services.receive(raw, { from: 'abuse@hosting.example', recipients: [verp] });
    await aws.services.settled();
    const after = (await call(aws, 'GET', `/notices/${n!.id}`)).json;
    expect(after.cases.map((c: { state: string }) => c.state)).toEqual(['received']);
    expect(aws.denials()).toEqual([]);
  }, 60_000);
});
