import { describe, expect, it } from 'vitest';
import { call, campaignView, replyTo, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * A whole campaign on the AWS host as `cdk synth` produced it: submitted through the HTTP API, routed, one
 * notice per recipient sent through SES, answered by a reply that SES receives and by the API, verified by the
 * verify workflow's probe, closed. Every AWS call each function made was allowed by its role in the template.
 */
const { account, dns } = useAccount();

describe('a campaign on the AWS host', () => {
  it('goes from the API to verified-down cases, with every call allowed by the template', async () => {
    const aws = account();
    // both names are gone from the DNS (the stub knows neither): the probes find them down
    const id = await submitCampaign(aws, ['http://login.bank-secure.test/verify,url,KE,phishing kit', 'http://pay.wallet.example/claim,url,KE,phishing kit']);
    const sent = await aws.waitFor('two notices', () => (aws.services.outbox.length >= 2 ? aws.services.outbox : undefined));
    expect(sent.map((m) => m.to[0]).sort()).toEqual(['abuse@registrar.example', 'abuse@test-registrar.example']);
    expect(sent.every((m) => m.configurationSet === 'Takedown-notices' && m.sender.startsWith('SendNoticeFunction'))).toBe(true);

    // both notices wait for their answer (a task token parked on each): the answers must wake them
    await aws.waitFor('both answer waits', () => aws.sfn.waiting().length === 2 || undefined);
    // one desk replies by mail: SES stores it in the inbound bucket and invokes the inbound function
    const [notice] = sentTo(aws, 'abuse@test-registrar.example');
    const reply = replyTo(notice!, 'abuse@test-registrar.example', 'Hello, we have taken the site down and suspended the domain.\r\nRegards');
    aws.services.receive(reply.raw, { from: 'abuse@test-registrar.example', recipients: [reply.to] });
    // the other answers through the API for its ticket system
    const view = await campaignView(aws, id);
    const other = view.notices.find((n: any) => JSON.stringify(n).includes('abuse@registrar.example'))!;
    const answered = await call(aws, 'POST', `/notices/${other.id}/answers`, { intent: 'actioned', note: 'suspended', answerId: 'ticket-1' });
    expect(answered.status).toBeLessThan(300);

    // each verify execution probes, records its verdict, then watches for a revival
    await aws.waitFor('both verifications past their first probe', () => aws.executions('verify').filter((e) => e.path.includes('NextCheck')).length === 2 || undefined);
    const closed = await campaignView(aws, id);
    expect(closed.cases).toEqual({ 'verified-down': 2 });
    expect(dns().queries.some((q) => q.startsWith('login.bank-secure.test'))).toBe(true);
    // the campaign, two notice and two verify executions; the histories of those that ended reach the audit trail
    expect(aws.executions('campaign').map((e) => e.status)).toEqual(['SUCCEEDED']);
    expect(aws.executions('notice').map((e) => e.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(aws.executions('verify')).toHaveLength(2);
    await aws.services.settled();
    expect(aws.lambda.invocations.get(aws.lambda.spec('ExecutionHistoryFunction').logicalId)).toBeGreaterThanOrEqual(3);
    expect(aws.denials()).toEqual([]);
    // no function failed on its way (an error retried by a workflow would hide here)
    expect([...aws.lambda.errors.entries()]).toEqual([]);
    // eslint-disable-next-line no-console
    console.info(`AWS requests per function, campaign of 2 indicators:\n${JSON.stringify(aws.requestCounts(), null, 1)}`);
  });
});
