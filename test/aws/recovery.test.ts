import { describe, expect, it } from 'vitest';
import { call, campaignView, endedRounds, replyTo, sentTo, submitCampaign, useAccount } from './support.js';

/*
 * Failures on the AWS host are seen and recovered: an execution whose retries run out fails, its alarm notifies
 * the operators' topic, and the sweeper's schedule starts it again as a new round that sends the notice once
 * (a campaign's execution as a notice's).
 * An asynchronous invocation that keeps failing lands in the failure queue, whose depth alarms.
 */
const { account } = useAccount();

function alarmsNotified(aws: ReturnType<typeof account>): string[] {
  const topic = aws.template.getAtt(aws.template.ofType('AWS::SNS::Topic').find(([id]) => id.startsWith('OperationsAlarmTopic'))![0], 'TopicArn');
  return aws.services.published.filter((p) => p.topicArn === topic).map((p) => JSON.parse(p.message).AlarmName as string);
}

describe('failures on the AWS host', () => {
  it('alarm when a notice execution fails through its retries, and the sweeper sends the notice exactly once', async () => {
    const aws = account();
    // Lambda refuses the send function until its retries in the workflow run out
    aws.lambda.throttle('SendNoticeFunction', 1000);
    await submitCampaign(aws, ['192.0.2.10,ip,KE,c2 server'], { name: 'Recovery' });
    const failed = await aws.waitFor('the failed execution', () => aws.executions('notice').find((e) => e.status === 'FAILED'));
    expect(failed.error).toBe('Lambda.TooManyRequestsException');
    expect(aws.services.outbox).toHaveLength(0);

    aws.services.evaluateAlarms();
    const notified = alarmsNotified(aws);
    expect(notified.some((name) => name.includes('NoticeWorkflowFailed'))).toBe(true);
    expect(notified.some((name) => name.includes('SendNoticeFunctionThrottles'))).toBe(true);

    aws.lambda.throttle('SendNoticeFunction', 0);
    aws.services.tick('Sweep');
    const next = await aws.waitFor('the next round waiting for an answer', () => aws.executions('notice').find((e) => e.name.endsWith('-r2') && e.path.includes('AwaitAnswer')));
    expect(next.name).toBe(failed.name.replace(/-r1$/, '-r2'));
    // a second sweep finds it running: nothing starts, nothing is sent again
    aws.services.tick('Sweep');
    await aws.services.settled();
    expect(aws.executions('notice')).toHaveLength(2);
    expect(sentTo(aws, 'abuse@hosting.example')).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
    // the sweeper learnt what became of the notice's executions from their lists (a call per thousand), not by a
    // DescribeExecution per live notice, which for a big operation is 20,000 calls a sweep, one after the other
    const [, sweeper] = Object.entries(aws.endpoint.counts()).find(([fn]) => fn.startsWith('SweeperFunction'))!;
    expect(sweeper.byOperation['states:ListExecutions']).toBeGreaterThan(0);
    expect(sweeper.byOperation['states:DescribeExecution'] ?? 0).toBe(0);
  });

  it("tells a client polling a campaign's progress that its workflow failed while routing, and the sweeper routes and sends it as its next round", async () => {
    const aws = account();
    // Lambda refuses the routing function until the campaign workflow's retries run out
    aws.lambda.throttle('RouteCampaignFunction', 1000);
    let id: string;
    try {
      id = await submitCampaign(aws, ['192.0.2.77,ip,KE,c2 server'], { name: 'Stuck in routing' });
      await aws.waitFor('the failed campaign execution', () => aws.executions('campaign').find((e) => e.status === 'FAILED' && e.name.includes(id)));
      const progress = await call(aws, 'GET', `/campaigns/${id}/progress`);
      expect([progress.status, progress.json]).toStrictEqual([200, { campaign: { id, state: 'routing' }, notices: { out: 0, total: 0 }, workflow: 'failed' }]);
      aws.services.evaluateAlarms();
      expect(alarmsNotified(aws).some((name) => name.includes('CampaignWorkflowFailed'))).toBe(true);
    } finally {
      aws.lambda.throttle('RouteCampaignFunction', 0);
    }
    aws.services.tick('Sweep');
    // the notice recorded sent, its mail handed to SES before
    const progress = await aws.waitFor('the notice of the next round sent', async () => {
      const p = (await call(aws, 'GET', `/campaigns/${id}/progress`)).json as { notices: { out: number } };
      return p.notices.out === 1 ? p : undefined;
    });
    expect(progress).toStrictEqual({ campaign: { id, state: 'running' }, notices: { out: 1, total: 1 } });
    expect(await endedRounds(aws, id)).toEqual([
      ['-r1', 'FAILED'],
      ['-r2', 'SUCCEEDED'],
    ]);
    // the next sweep finds the campaign's notices on their own: nothing starts, nothing is sent again
    aws.services.tick('Sweep');
    await aws.services.settled();
    expect(aws.executions('campaign').filter((e) => e.name.includes(id))).toHaveLength(2);
    expect(sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.77'))).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  });

  it('keeps a reply the inbound function could not take through its retries in the failure queue, and alarms', async () => {
    const aws = account();
    const notice = sentTo(aws, 'abuse@hosting.example')[0]!;
    aws.lambda.throttle('InboundMailFunction', 3);
    const reply = replyTo(notice, 'abuse@hosting.example', 'We took it down.');
    aws.services.receive(reply.raw, { from: 'abuse@hosting.example', recipients: [reply.to] });
    await aws.services.settled();
    const [queue] = [...aws.services.queues.values()];
    expect(queue).toHaveLength(1);
    expect(JSON.stringify((queue![0] as { requestPayload: unknown }).requestPayload)).toContain('"eventSource":"aws:ses"');
    aws.services.evaluateAlarms();
    expect(alarmsNotified(aws).some((name) => name.includes('FailedInvocationsWaiting'))).toBe(true);
  });

  it('sends a follow-up SES throttled when it was asked for, at the next sweep', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.91,ip,KE,c2 server'], { name: 'Kept follow-up' });
    const notice = await aws.waitFor('the notice sent', async () => (await campaignView(aws, id)).notices.find((n) => n.state === 'sent'));
    // SES throttles the account: the follow-up is composed and kept, the request answered
    aws.services.refuse('abuse@hosting.example', 'TooManyRequestsException');
    const asked = await call(aws, 'POST', `/notices/${notice.id}/followups`, { message: 'The server at 192.0.2.91 is a C2 of the campaign; the logs are attached to the notice.' });
    expect([asked.status, asked.json]).toMatchObject([201, {}]);
    const ours = () => sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.replace(/=\r\n/g, '').includes('192.0.2.91'));
    const before = ours().length;
    aws.services.accept('abuse@hosting.example');
    aws.services.tick('Sweep');
    await aws.services.settled();
    const sent = ours();
    // before the fix, the sweeper's role could not read the stored bytes: the follow-up stayed unsent for good
    expect(aws.denials()).toEqual([]);
    expect(sent).toHaveLength(before + 1);
    expect(sent.at(-1)!.raw).toContain('the logs are attached to the notice');
  });

  it('applies a reply that proves a notice delivered whose send function died once SES had taken it', async () => {
    const aws = account();
    // the function dies between SES's answer and its record, and Lambda refuses it after: the notice's one part
    // stays 'sending', its hand-over's outcome unknown, until the execution's retries run out
    aws.services.onAccepted = (mail) => {
      if (!mail.sender.startsWith('SendNoticeFunction') || !mail.raw.includes('192.0.2.93')) return;
      aws.lambda.throttle('SendNoticeFunction', 1000);
      aws.lambda.crash('SendNoticeFunction');
    };
    let id: string;
    try {
      id = await submitCampaign(aws, ['192.0.2.93,ip,KE,c2 server'], { name: 'Died mid-send' });
      await aws.waitFor('the failed execution', async () => {
        const [notice] = (await campaignView(aws, id)).notices;
        return notice && aws.executions('notice').find((e) => e.status === 'FAILED' && e.name.includes(notice.id));
      });
    } finally {
      aws.services.onAccepted = undefined;
      aws.lambda.throttle('SendNoticeFunction', 0);
    }
    const [mail, ...more] = sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.93'));
    expect(more).toHaveLength(0);
    // its reply token proves it arrived: the inbound function records it sent (masking its copy) and applies the answer
    const reply = replyTo(mail!, 'abuse@hosting.example', 'We took it down.');
    aws.services.receive(reply.raw, { from: 'abuse@hosting.example', recipients: [reply.to] });
    await aws.services.settled();
    expect(aws.denials()).toEqual([]);
    expect([...aws.services.queues.values()].flat().filter((m) => JSON.stringify(m).includes('192.0.2.93'))).toEqual([]);
    const { notice, cases } = (await call(aws, 'GET', `/notices/${(await campaignView(aws, id)).notices[0]!.id}`)).json;
    expect(notice.sentAt).toBeDefined();
    expect(notice.appliedAnswers).toHaveLength(1);
    expect(cases.map((c: { state: string }) => c.state)).toEqual(['actioned']);
    // only the masked copy of its bytes is kept: no working token at rest
    const kept = [...aws.services.objects.keys()].filter((k) => k.includes(`/${notice.id}.notice.`));
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.every((k) => k.endsWith('.masked.eml'))).toBe(true);
    // the sweeper's next round of the failed execution finds the message sent: nothing goes out again
    aws.services.tick('Sweep');
    await aws.waitFor('the next round past its send step', () => aws.executions('notice').find((e) => e.name === `notice-${notice.id}-r2` && (e.status !== 'RUNNING' || e.path.includes('AwaitAnswer'))));
    await aws.services.settled();
    expect(sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.93'))).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  });

  it('sends the same bytes once more when the send function died after SES took the notice, and says so in the trail', async () => {
    const aws = account();
    let killed = false;
    aws.services.onAccepted = (mail) => {
      if (killed || !mail.sender.startsWith('SendNoticeFunction') || !mail.raw.includes('192.0.2.94')) return;
      killed = true;
      aws.lambda.crash('SendNoticeFunction');
    };
    let id: string;
    try {
      id = await submitCampaign(aws, ['192.0.2.94,ip,KE,c2 server'], { name: 'Killed mid-send' });
      await aws.waitFor('the notice sent', async () => (await campaignView(aws, id)).notices.find((n) => n.state === 'sent'));
    } finally {
      aws.services.onAccepted = undefined;
    }
    // the step's retry found the hand-over's outcome unknown and sent the very same bytes (SES gives each its own id)
    const copies = sentTo(aws, 'abuse@hosting.example').filter((m) => m.raw.includes('192.0.2.94'));
    expect(copies).toHaveLength(2);
    const body = (m: { raw: string }) => m.raw.replace(/^(message-id|date):.*\r?\n/gim, '');
    expect(body(copies[1]!)).toBe(body(copies[0]!));
    const { cases } = (await call(aws, 'GET', `/notices/${(await campaignView(aws, id)).notices[0]!.id}`)).json;
    const { story } = (await call(aws, 'GET', `/cases/${cases[0].id}`)).json as { story: { kind: string; entry: { type?: string; data?: Record<string, unknown> } }[] };
    const events = story.filter((l) => l.kind === 'event').map((l) => l.entry);
    expect(events.filter((e) => e.type === 'message.uncertain')).toHaveLength(1);
    expect(events.filter((e) => e.type === 'message.sent')).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  });

  it("carries a coordinator's 'escalate now' on to the next party at the next sweep when the API function died half-way", async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.95,ip,KE,c2 server'], { name: 'Escalation cut short' });
    const notice = await aws.waitFor('the notice sent', async () => (await campaignView(aws, id)).notices.find((n) => n.state === 'sent'));
    // the function dies as it writes the case the next party is to get: the first party's case is claimed, the
    // onward case never joins a notice
    aws.endpoint.killAt = (fn, operation, body) => fn.startsWith('ApiFunction') && operation.startsWith('dynamodb:') && body.includes('previousCaseId');
    try {
      const cut = await call(aws, 'POST', `/notices/${notice.id}/escalate`, { reason: 'no answer by phone either' });
      expect(cut.status).toBeGreaterThanOrEqual(500);
    } finally {
      aws.endpoint.killAt = undefined;
    }
    // the coordinator's retry finds the case gone on already: nothing to escalate, and nobody else would carry it on
    const retry = await call(aws, 'POST', `/notices/${notice.id}/escalate`, { reason: 'no answer by phone either' });
    expect([retry.status, retry.json.result.escalatedTo]).toEqual([200, []]);
    expect(sentTo(aws, 'incidents@cert-ke.example').filter((m) => m.raw.includes('192.0.2.95'))).toEqual([]);
    await aws.advanceClock(11 * 60_000);
    aws.services.tick('Sweep');
    const toCert = await aws.waitFor('the CERT\'s notice', () => sentTo(aws, 'incidents@cert-ke.example').find((m) => m.raw.includes('192.0.2.95')));
    expect(toCert.sender.startsWith('SendNoticeFunction')).toBe(true);
    await aws.services.settled();
    expect(sentTo(aws, 'incidents@cert-ke.example').filter((m) => m.raw.includes('192.0.2.95'))).toHaveLength(1);
    expect(aws.denials()).toEqual([]);
  });
});
