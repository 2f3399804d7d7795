import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signWebhook } from '../../lib/core/answers/webhooks.js';
import { AUDITOR } from './harness/account.js';
import { allItems, call, campaignView, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * Parity with the embedded host in finding parties and in what a coordinator changes at run time, on the AWS host:
 * RDAP through the route function (the registries on loopback, the answers cached in the table), then a contact
 * override, a directory and a routing policy stored through the API and read by the route function for the next
 * campaign (the bundled directory is only the fallback), and a recipient's webhook secret issued and rotated
 * through the API, sealed by KMS.
 */
const { account, rdap } = useAccount();

const DIRECTORY = {
  networks: [{ cidr: '192.0.2.128/25', name: 'Runtime Hosting (example)', abuse: 'abuse@runtime-hosting.example', country: 'KE' }],
  registrars: [{ suffix: 'test', name: 'Test Names Registrar (example)', abuse: 'abuse@test-registrar.example' }],
  certs: [{ country: 'KE', name: 'KE CERT (example)', abuse: 'incidents@cert-ke.example' }],
};

describe('parties and settings on the AWS host', () => {
  it('finds the hosting network\'s abuse desk by RDAP from the route function, and keeps the answer in the table', async () => {
    const aws = account();
    // an address the bundled directory does not know: RIPE's answer names BT's abuse role
    await submitCampaign(aws, ['62.239.237.1,ip,GB,c2 server'], { name: 'RDAP' });
    const notice = await aws.waitFor('the notice to the RDAP abuse contact', () => sentTo(aws, 'zzdnsr@bt.com')[0]);
    expect(notice.raw).toMatch(/62\.239\.237\.1/);
    expect(rdap().requests.some((path) => path.endsWith('/ip/62.239.237.1'))).toBe(true);
    expect((await allItems(aws)).some((item) => item.pk?.S?.startsWith('LRANGE#rdap-net4'))).toBe(true);
    expect(aws.denials()).toEqual([]);
  });

  it('routes with a contact override a coordinator recorded through the API, and lets no auditor record one', async () => {
    const aws = account();
    expect((await call(aws, 'POST', '/contacts/overrides', { target: '203.0.113.0/24', email: 'noc@override.example' }, AUDITOR)).status).toBe(403);
    const recorded = await call(aws, 'POST', '/contacts/overrides', { target: '203.0.113.0/24', email: 'noc@override.example', note: 'their abuse desk is the NOC' });
    expect(recorded.status).toBe(201);
    expect((await call(aws, 'GET', '/contacts/overrides', undefined, AUDITOR)).json.overrides).toEqual([expect.objectContaining({ target: '203.0.113.0/24', email: 'noc@override.example', by: 'coordinator@cert.example' })]);
    await submitCampaign(aws, ['203.0.113.9,ip,ZA,c2 server'], { name: 'Override' });
    await aws.waitFor('the notice to the override', () => sentTo(aws, 'noc@override.example')[0]);
    expect(sentTo(aws, 'abuse@example-networks.example')).toHaveLength(0);
  });

  it('routes the next campaign with the directory a coordinator stored, not the bundled one', async () => {
    const aws = account();
    expect((await call(aws, 'PUT', '/directory', DIRECTORY, AUDITOR)).status).toBe(403);
    const bad = await call(aws, 'PUT', '/directory', { networks: [{ cidr: '192.0.2.0/33', name: 'x', abuse: 'not-an-address' }] });
    expect(bad.status).toBe(400);
    const stored = await call(aws, 'PUT', '/directory', DIRECTORY);
    expect(stored.status).toBe(200);
    expect((await call(aws, 'GET', '/directory', undefined, AUDITOR)).json).toMatchObject({ source: 'stored', version: 1, by: 'coordinator@cert.example', directory: DIRECTORY });
    await submitCampaign(aws, ['192.0.2.130,ip,KE,c2 server'], { name: 'Stored directory' });
    await aws.waitFor('the notice to the stored directory\'s desk', () => sentTo(aws, 'abuse@runtime-hosting.example')[0]);
    expect(sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.130'))).toHaveLength(0);
  });

  it('issues a recipient\'s webhook secret once through the API, rotates it, and takes answers signed with it', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['http://mule.shop.test/x,url,KE,money mule site'], { name: 'Secrets' });
    await aws.waitFor('the notice', () => sentTo(aws, 'abuse@test-registrar.example').find((m) => m.raw.includes('mule.shop.test')));
    const [n] = (await campaignView(aws, id)).notices;
    const recipient = (await call(aws, 'GET', `/notices/${n!.id}`)).json.notice.party.id as string;
    expect((await call(aws, 'POST', '/recipient-secrets', { recipient }, AUDITOR)).status).toBe(403);
    const created = await call(aws, 'POST', '/recipient-secrets', { recipient });
    expect(created.status).toBe(201);
    expect(created.json.secret).toMatch(/^whsec_/);
    expect((await call(aws, 'POST', '/recipient-secrets', { recipient })).status).toBe(409);
    const rotated = await call(aws, 'POST', '/recipient-secrets/rotation', { recipient, graceHours: 1 });
    expect(rotated.status).toBe(200);
    expect(rotated.json.previousValidUntil).toBeDefined();
    expect((await call(aws, 'GET', '/recipient-secrets', undefined, AUDITOR)).json.secrets).toEqual([expect.objectContaining({ recipient })]);
    // nothing but the sealed form is kept
    expect(JSON.stringify(await allItems(aws))).not.toContain(rotated.json.secret);
    const body = JSON.stringify({ recipient, noticeId: n!.id, intent: 'actioned', answerId: 'ticket-9' });
    const webhookId = `msg_${randomUUID()}`;
    const timestamp = Math.floor(Date.now() / 1000);
    const answered = await aws.request({ method: 'POST', path: '/webhooks/answers', headers: { 'content-type': 'application/json', 'webhook-id': webhookId, 'webhook-timestamp': String(timestamp), 'webhook-signature': signWebhook(rotated.json.secret, webhookId, timestamp, body) }, body });
    expect(answered.status).toBe(201);
    const kms = aws.requestCounts()[aws.lambda.spec('ApiFunction').logicalId]?.byOperation ?? {};
    // sealed at each issue (a refused second create sealed too before the store said it exists)
    expect(kms['kms:Encrypt']).toBeGreaterThanOrEqual(2);
    expect(aws.denials()).toEqual([]);
  });
  it('routes the next campaign with the routing policy a coordinator stored', async () => {
    const aws = account();
    const policy = { rules: [{ name: 'C2 in Kenya: the CERT first', when: { kind: 'ip', country: 'KE' }, ladder: [{ party: 'cert', answerDeadline: '24h' }, { party: 'hosting', answerDeadline: '24h' }] }, { when: {}, ladder: [{ party: 'hosting', answerDeadline: '24h' }] }] };
    expect((await call(aws, 'PUT', '/routing', policy)).status).toBe(200);
    const id = await submitCampaign(aws, ['192.0.2.140,ip,KE,c2 server'], { name: 'Stored policy' });
    await aws.waitFor('the notice to the CERT first', () => sentTo(aws, 'incidents@cert-ke.example').find((m) => m.raw.includes('192.0.2.140')));
    expect((await campaignView(aws, id)).notices).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  });

});
