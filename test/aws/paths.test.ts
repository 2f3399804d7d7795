import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoDbStore } from '../../lib/adapters/dynamodb/store.dynamodb.js';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import type { SentEmail } from './harness/services.js';
import { COORDINATOR } from './harness/account.js';
import { call, campaignView, header, replyTo, sentTo, submitCampaign, uploadCampaign, useAccount } from './support.js';

/*
 * Paths of the AWS host the other files do not walk, each end to end through the harness (the functions as
 * `cdk synth` bundled them, IAM as the template grants it):
 *  - a delivery report (5.3.4, too big) SES receives for a notice's envelope sender: the notice goes again smaller;
 *  - SES events through the configuration set's topic: a complaint (kept for a person), a permanent bounce of a
 *    contact with a fallback mailbox (rerouted), a policy bounce (held);
 *  - the answer deadline passing: the reminder the recipient gets, then the escalation to the next party;
 *  - verification: a "taken down" whose page still answers (a "still reachable" follow-up), and a revival after a
 *    verified takedown (the case reopened with the first party);
 *  - a coordinator's exports over the API;
 *  - a late "taken down" by mail after the cases went on to the next party (that party is told).
 * The probed sites run on loopback, their names answered by the test's DNS stub; the deployment opens the probes'
 * address guard to loopback, as a lab would to its own targets.
 */
let site: Server;
let sitePort = 0;
/** what the loopback site answers per path: a live kit page, or gone */
const pages = new Map<string, { status: number; body: string }>();

const { account, dns } = useAccount({ probeEnvironment: () => ({ TAKEDOWN_PROBE_ALLOW_ADDRESSES: '127.0.0.1/32' }) });

beforeAll(async () => {
  site = createServer((req, res) => {
    const page = pages.get(req.url ?? '') ?? { status: 404, body: '<h1>Not Found</h1>' };
    res.writeHead(page.status, { 'content-type': 'text/html' }).end(page.body);
  });
  await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
  sitePort = (site.address() as AddressInfo).port;
});

afterAll(async () => {
  await new Promise<void>((resolve) => site?.close(() => resolve()));
});

const DAY = 86_400_000;
const KIT_PAGE = '<html><head><title>Secure Bank Login</title></head><body><form action="/verify.php"><input name="user"><input name="pin" type="password"></form></body></html>';

type Aws = ReturnType<typeof account>;

/** The messages SES accepted for an address that name an indicator. */
function mailFor(aws: Aws, address: string, indicator: string): SentEmail[] {
  return sentTo(aws, address).filter((m) => m.raw.replace(/=\r\n/g, '').includes(indicator));
}

/** Reads of the table as the operator (the audit events of a notice). */
async function withStore<T>(aws: Aws, read: (store: DynamoDbStore) => Promise<T>): Promise<T> {
  const client = new DynamoDBClient(aws.operatorClientConfig());
  try {
    return await read(new DynamoDbStore({ tableName: aws.tableName, client: DynamoDBDocumentClient.from(client) }));
  } finally {
    client.destroy();
  }
}

async function eventTypes(aws: Aws, noticeId: string): Promise<string[]> {
  return withStore(aws, async (store) => (await store.listEvents({ noticeId })).map((e) => e.type));
}

async function noticeById(aws: Aws, id: string): Promise<{ notice: any; cases: any[] }> {
  const res = await call(aws, 'GET', `/notices/${id}`);
  if (res.status !== 200) throw new Error(`GET /notices/${id} answered ${res.status}: ${JSON.stringify(res.json)}`);
  return res.json;
}

/** The campaign's one notice, once it is sent and its execution waits for the answer. */
async function sentNotice(aws: Aws, campaignId: string, ms = 60_000): Promise<{ id: string }> {
  return aws.waitFor(
    'the notice sent and waiting for its answer',
    async () => {
      const [n] = (await campaignView(aws, campaignId)).notices;
      return n && n.state === 'sent' && aws.sfn.waiting().some((arn) => arn.includes(n.id)) ? n : undefined;
    },
    ms,
  );
}

/** The envelope sender (VERP) a notice went out with: delivery reports go back to it. */
function envelopeSender(notice: SentEmail): string {
  const reply = /<?takedown\+([^@\s>]+)@reply\.example>?/.exec(header(notice, 'Reply-To') ?? '')?.[1];
  if (!reply) throw new Error('the notice has no reply token');
  return `takedown+b.${reply}@reply.example`;
}

/** The SES configuration set's event topic, which SES publishes bounce and complaint events to. */
function sesEventTopic(aws: Aws): string {
  const destinations = aws.template.ofType('AWS::SES::ConfigurationSetEventDestination');
  expect(destinations).toHaveLength(1);
  const p = aws.template.resolveAny(destinations[0]![1].Properties) as { EventDestination: { SnsDestination: { TopicARN: string } } };
  return p.EventDestination.SnsDestination.TopicARN;
}

/** SES publishes an event about a message it sent (as its event destination does), through the topic. */
function sesPublishes(aws: Aws, mail: SentEmail, event: Record<string, unknown>): void {
  const timestamp = new Date().toISOString();
  aws.services.publish(
    sesEventTopic(aws),
    JSON.stringify({
      ...event,
      mail: { timestamp, messageId: mail.messageId, source: mail.from, destination: mail.to, sendingAccountId: aws.template.account, tags: { 'ses:configuration-set': [mail.configurationSet ?? ''] } },
    }),
  );
}

/** An SES permanent bounce of one recipient, with the status and diagnostic its server gave. */
function permanentBounce(emailAddress: string, status: string, diagnosticCode: string): Record<string, unknown> {
  return {
    eventType: 'Bounce',
    bounce: { bounceType: 'Permanent', bounceSubType: 'General', bouncedRecipients: [{ emailAddress, action: 'failed', status, diagnosticCode }], timestamp: new Date().toISOString(), feedbackId: randomUUID() },
  };
}

function invocations(aws: Aws, prefix: string): number {
  return aws.lambda.invocations.get(aws.lambda.spec(prefix).logicalId) ?? 0;
}

describe('paths of the AWS host', () => {
  it("sends a notice again in smaller parts when the recipient's server reports it too big (a 5.3.4 report to its envelope sender)", async () => {
    const aws = account();
    const lines = Array.from({ length: 700 }, (_, i) => `http://192.0.2.150/kit/${i}/index.php,url,KE,phishing kit`);
    const id = await uploadCampaign(aws, lines, { name: 'Too big' });
    const notice = await sentNotice(aws, id, 120_000);
    const [first, ...others] = mailFor(aws, 'abuse@hosting.example', '192.0.2.150');
    expect(others).toHaveLength(0);
    const firstSize = Buffer.byteLength(first!.raw, 'utf8');
    const inboundBefore = invocations(aws, 'InboundMailFunction');

    const raw = deliveryReport({
      from: 'Mail Delivery System <MAILER-DAEMON@mx.hosting.example>',
      to: envelopeSender(first!),
      reportingMta: 'mx.hosting.example',
      recipient: 'abuse@hosting.example',
      action: 'failed',
      status: '5.3.4',
      diagnostic: 'smtp; 552 5.3.4 Error: message file too big',
      originalHeaders: `Subject: ${header(first!, 'Subject') ?? ''}`,
    });
    aws.services.receive(raw, { from: '', recipients: [envelopeSender(first!)] });

    const resent = await aws.waitFor(
      'the notice sent again',
      async () => {
        const { notice: n } = await noticeById(aws, notice.id);
        return n.state === 'sent' && n.resends === 1 ? n : undefined;
      },
      120_000,
    );
    expect(invocations(aws, 'InboundMailFunction')).toBe(inboundBefore + 1);
    expect(resent.refusal).toMatchObject({ scope: 'message', enhanced: '5.3.4', code: 552, step: 'dsn' });
    const again = mailFor(aws, 'abuse@hosting.example', '192.0.2.150').slice(1);
    expect(again.length).toBeGreaterThan(1);
    for (const m of again) expect(Buffer.byteLength(m.raw, 'utf8')).toBeLessThan(firstSize);
    // every indicator is in the parts sent again
    const listed = new Set(again.flatMap((p) => [...p.raw.replace(/=\r\n/g, '').matchAll(/kit\/(\d+)\/index/g)].map((m) => m[1])));
    expect(listed.size).toBe(700);
    const types = await eventTypes(aws, notice.id);
    expect(types).toContain('notice.resent');
    expect(types).not.toContain('contact.undeliverable');
    // nothing escalated: one notice, no mail to the CERT, the next round waits for the answer
    expect((await campaignView(aws, id)).notices).toHaveLength(1);
    expect(mailFor(aws, 'incidents@cert-ke.example', '192.0.2.150')).toHaveLength(0);
    const rounds = aws.executions('notice').filter((e) => e.name.startsWith(`notice-${notice.id}-`));
    expect(rounds.map((e) => e.name)).toEqual([`notice-${notice.id}-r1`, `notice-${notice.id}-r2`]);
    await aws.waitFor('the first round ended', () => rounds[0]!.status !== 'RUNNING' || undefined);
    expect(rounds[0]!.status).toBe('SUCCEEDED');
    expect(aws.sfn.waiting().some((arn) => arn.endsWith(`notice-${notice.id}-r2`))).toBe(true);
    expect(aws.denials()).toEqual([]);
  }, 300_000);

  it('keeps an SES complaint about a notice for a person, and moves nothing', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['203.0.113.150,ip,ZA,c2 server'], { name: 'Complaint' });
    const notice = await sentNotice(aws, id);
    const [mail] = mailFor(aws, 'abuse@example-networks.example', '203.0.113.150');
    const before = invocations(aws, 'SesEventsFunction');
    sesPublishes(aws, mail!, {
      eventType: 'Complaint',
      complaint: { complainedRecipients: [{ emailAddress: 'abuse@example-networks.example' }], timestamp: new Date().toISOString(), feedbackId: randomUUID(), complaintFeedbackType: 'abuse' },
    });
    await aws.services.settled();
    expect(invocations(aws, 'SesEventsFunction')).toBe(before + 1);
    expect([...aws.lambda.errors.keys()].filter((k) => k.startsWith('SesEventsFunction'))).toEqual([]);
    const reviews = (await call(aws, 'GET', '/reviews')).json.reviews as { reason: string; noticeId?: string }[];
    expect(reviews.filter((r) => r.noticeId === notice.id).map((r) => r.reason)).toEqual(['complaint']);
    expect(await eventTypes(aws, notice.id)).toContain('mail.complaint');
    // the notice still waits on its party: nothing escalated
    const { notice: after, cases } = await noticeById(aws, notice.id);
    expect(after.state).toBe('sent');
    expect(cases.map((c: { state: string }) => c.state)).toEqual(['notified']);
    expect(mailFor(aws, 'incidents@cert-za.example', '203.0.113.150')).toHaveLength(0);
    expect(aws.sfn.waiting().some((arn) => arn.includes(notice.id))).toBe(true);
    expect(aws.denials()).toEqual([]);
  });

  it("sends a notice SES bounced for good to the party's fallback mailbox before anyone else", async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['198.51.100.150,ip,CI,c2 server'], { name: 'SES bounce, fallback' });
    const notice = await sentNotice(aws, id);
    const [mail] = mailFor(aws, 'abuse@demo-dc.example', '198.51.100.150');
    sesPublishes(aws, mail!, permanentBounce('abuse@demo-dc.example', '5.1.1', 'smtp; 550 5.1.1 user unknown'));
    const rerouted = await aws.waitFor('the notice at the fallback mailbox', () => mailFor(aws, 'noc@demo-dc.example', '198.51.100.150')[0]);
    expect(rerouted.sender.startsWith('SendNoticeFunction')).toBe(true);
    const { notice: after, cases } = await aws.waitFor('the rerouted notice sent', async () => {
      const got = await noticeById(aws, notice.id);
      return got.notice.state === 'sent' && got.notice.party.email === 'noc@demo-dc.example' ? got : undefined;
    });
    expect(after.contactIndex).toBe(1);
    expect(cases.map((c: { state: string }) => c.state)).toEqual(['notified']);
    expect(await eventTypes(aws, notice.id)).toEqual(expect.arrayContaining(['mail.bounce', 'contact.undeliverable', 'notice.rerouted']));
    // the same party's other mailbox, not the next party
    expect(mailFor(aws, 'incidents@cert-ci.example', '198.51.100.150')).toHaveLength(0);
    expect(mailFor(aws, 'abuse@demo-dc.example', '198.51.100.150')).toHaveLength(1);
    expect((await campaignView(aws, id)).notices).toHaveLength(1);
    await aws.waitFor('the next round waiting', () => aws.sfn.waiting().some((arn) => arn.endsWith(`notice-${notice.id}-r2`)) || undefined);
    expect(aws.denials()).toEqual([]);
  });

  it("holds a notice SES reports refused by the recipient's policy (5.7.1) for a person, and escalates nothing", async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['203.0.113.151,ip,ZA,c2 server'], { name: 'SES bounce, policy' });
    const notice = await sentNotice(aws, id);
    const [mail] = mailFor(aws, 'abuse@example-networks.example', '203.0.113.151');
    sesPublishes(aws, mail!, permanentBounce('abuse@example-networks.example', '5.7.1', 'smtp; 550 5.7.1 Message rejected per DMARC policy for takedown.example'));
    const held = await aws.waitFor('the notice held', async () => {
      const got = await noticeById(aws, notice.id);
      return got.notice.state === 'paused' ? got.notice : undefined;
    });
    expect(held.refusal).toMatchObject({ scope: 'policy', enhanced: '5.7.1', step: 'dsn' });
    expect(held.paused?.reason).toMatch(/5\.7\.1/);
    await aws.waitFor('the execution ended', () => aws.executions('notice').find((e) => e.name === `notice-${notice.id}-r1` && e.status !== 'RUNNING'));
    expect(await eventTypes(aws, notice.id)).not.toContain('contact.undeliverable');
    expect(mailFor(aws, 'incidents@cert-za.example', '203.0.113.151')).toHaveLength(0);
    expect(aws.denials()).toEqual([]);
  });

  it('sends "still reachable" to the party whose "taken down" the probe finds untrue', async () => {
    const aws = account();
    dns().set('kit.still-up.test', { A: ['127.0.0.1'] });
    pages.set('/still-up/login', { status: 200, body: KIT_PAGE });
    const url = `http://kit.still-up.test:${sitePort}/still-up/login`;
    const id = await submitCampaign(aws, [`${url},url,KE,phishing kit`], { name: 'Still reachable' });
    const notice = await sentNotice(aws, id);
    expect(mailFor(aws, 'abuse@test-registrar.example', 'kit.still-up.test')).toHaveLength(1);
    const answered = await call(aws, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned', note: 'suspended', answerId: 'desk-still-1' });
    expect(answered.status).toBeLessThan(300);
    const followup = await aws.waitFor('the "still reachable" follow-up', () => mailFor(aws, 'abuse@test-registrar.example', 'kit.still-up.test')[1], 60_000);
    expect(followup.sender.startsWith('VerifyNoticeFunction')).toBe(true);
    expect(followup.raw.replace(/=\r\n/g, '')).toMatch(/still|reachable/i);
    const { cases } = await aws.waitFor('the case back with its party', async () => {
      const got = await noticeById(aws, notice.id);
      return got.cases[0]?.state === 'notified' ? got : undefined;
    });
    expect(cases[0].probe).toMatchObject({ verdict: 'live', live: true });
    expect(await withStore(aws, async (store) => (await store.listEvents({ caseId: cases[0].id })).map((e) => e.type))).toContain('case.still-reachable');
    expect(aws.denials()).toEqual([]);
    expect([...aws.lambda.errors.keys()].filter((k) => k.startsWith('VerifyNoticeFunction'))).toEqual([]);
  }, 90_000);

  it("exports a campaign's evidence for a coordinator over the API, in every format", async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.152,ip,KE,c2 server'], { name: 'Export' });
    await sentNotice(aws, id);
    const fetchExport = (format: string) => aws.request({ method: 'GET', path: `/campaigns/${id}/export?format=${format}`, as: COORDINATOR });
    const csv = await fetchExport('csv');
    expect(csv.status).toBe(200);
    expect(csv.headers['content-type']).toMatch(/text\/csv/);
    expect(csv.headers['content-disposition']).toMatch(/attachment/);
    expect(csv.body).toContain('192.0.2.152');
    const xlsx = await fetchExport('xlsx');
    expect([xlsx.status, xlsx.headers['content-type']]).toEqual([200, expect.stringMatching(/spreadsheetml/)]);
    // a zip file (the harness reads the body as text: the magic is enough)
    expect(xlsx.body.startsWith('PK')).toBe(true);
    const stix = await fetchExport('stix');
    expect(stix.status).toBe(200);
    expect(JSON.stringify(JSON.parse(stix.body))).toContain('192.0.2.152');
    const misp = await fetchExport('misp');
    expect(misp.status).toBe(200);
    expect(JSON.stringify(JSON.parse(misp.body))).toContain('192.0.2.152');
    const bad = await fetchExport('pdf');
    expect(bad.status).toBe(400);
    expect(aws.denials()).toEqual([]);
  }, 60_000);

  // ---- the tests below move the account clock: every notice still waiting in the account sees its deadline pass

  it('reminds a party that has not answered by the deadline, then escalates to the next party', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.151,ip,KE,c2 server'], { name: 'Reminder received' });
    const notice = await sentNotice(aws, id);
    const deadlinesBefore = invocations(aws, 'NoticeDeadlineFunction');
    // the hoster's answer deadline (a day) passes with no answer
    await aws.advanceClock(DAY + 60_000);
    const reminder = await aws.waitFor('the reminder', () => mailFor(aws, 'abuse@hosting.example', '192.0.2.151')[1], 60_000);
    expect(invocations(aws, 'NoticeDeadlineFunction')).toBeGreaterThan(deadlinesBefore);
    expect(reminder.sender.startsWith('NoticeDeadlineFunction')).toBe(true);
    const [original] = mailFor(aws, 'abuse@hosting.example', '192.0.2.151');
    expect(header(reminder, 'Subject')).toMatch(/remind/i);
    expect(header(reminder, 'Subject')).toContain(/\[(TKD-[^\]]+)\]/.exec(header(original!, 'Subject') ?? '')?.[1] ?? 'no tag');
    // it answers the same thread, and carries a reply address of its own notice
    expect(header(reminder, 'In-Reply-To') ?? header(reminder, 'References') ?? '').not.toBe('');
    expect(header(reminder, 'Reply-To')).toMatch(new RegExp(`takedown\\+${notice.id}`));
    await aws.waitFor('the wait after the reminder', () => aws.sfn.waiting().some((arn) => arn.endsWith(`notice-${notice.id}-r1`)) || undefined);
    const reminded = (await noticeById(aws, notice.id)).notice;
    expect([reminded.state, reminded.remindersSent]).toEqual(['sent', 1]);

    // and the wait after the reminder ends with no answer either: the CERT of the country is asked
    await aws.advanceClock(DAY + 60_000);
    const next = await aws.waitFor('the CERT\'s notice', () => mailFor(aws, 'incidents@cert-ke.example', '192.0.2.151')[0], 60_000);
    expect(next.sender.startsWith('SendNoticeFunction')).toBe(true);
    const view = await aws.waitFor('the escalation recorded', async () => {
      const v = await campaignView(aws, id);
      return v.notices.length === 2 && v.cases.escalated === 1 && v.cases.notified === 1 ? v : undefined;
    });
    expect(view.notices.find((n) => n.id === notice.id)!.state).toBe('escalated');
    expect(mailFor(aws, 'abuse@hosting.example', '192.0.2.151')).toHaveLength(2);
    const first = aws.executions('notice').find((e) => e.name === `notice-${notice.id}-r1`)!;
    await first.done;
    expect([first.status, first.path.includes('Escalated')]).toEqual(['SUCCEEDED', true]);
    expect(aws.denials()).toEqual([]);
  }, 120_000);

  it('reopens a case whose page came back after a verified takedown, with its first party', async () => {
    const aws = account();
    dns().set('kit.comes-back.test', { A: ['127.0.0.1'] });
    // the page is gone when the party says it took it down
    pages.set('/comes-back/login', { status: 404, body: '<h1>Not Found</h1>' });
    const url = `http://kit.comes-back.test:${sitePort}/comes-back/login`;
    const id = await submitCampaign(aws, [`${url},url,KE,phishing kit`], { name: 'Revival' });
    const notice = await sentNotice(aws, id);
    expect((await call(aws, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned', answerId: 'desk-back-1' })).status).toBeLessThan(300);
    await aws.waitFor('verified down', async () => ((await campaignView(aws, id)).cases['verified-down'] === 1 ? true : undefined), 60_000);
    const watch = await aws.waitFor('the verification watching for a revival', () => aws.executions('verify').find((e) => e.name.startsWith(`verify-${notice.id}`) && e.status === 'RUNNING' && e.path.at(-1) === 'Watch'));
    // the watch's wait is a day of the engine's real time (SecondsPath): the execution is stopped, the day passes on
    // the account clock, and the sweeper starts the verification again, as it does after any stop or failure
    aws.sfn.stopExecution(watch.executionArn);
    await watch.done;
    pages.set('/comes-back/login', { status: 200, body: KIT_PAGE });
    await aws.advanceClock(DAY + 60_000);
    aws.services.tick('Sweep');
    const revival = await aws.waitFor('the notice of the revival', () => mailFor(aws, 'abuse@test-registrar.example', 'kit.comes-back.test')[1], 60_000);
    expect(revival.sender.startsWith('SendNoticeFunction')).toBe(true);
    // the mail goes out before the notice is recorded sent
    const view = await aws.waitFor('the case reopened, its notice recorded sent', async () => {
      const v = await campaignView(aws, id);
      return v.notices.length === 2 && v.cases.notified === 1 && v.notices.some((n) => n.id !== notice.id && n.state === 'sent') ? v : undefined;
    });
    const reopened = view.notices.find((n) => n.id !== notice.id) as any;
    expect(reopened.revivalOf).toBe(notice.id);
    expect(aws.executions('verify').some((e) => e.name.startsWith(`verify-${notice.id}`) && e.name.endsWith('-s1'))).toBe(true);
    expect(aws.denials()).toEqual([]);
  }, 120_000);

  it('takes a late "taken down" by mail after the cases went on, and tells the next party it need do nothing', async () => {
    const aws = account();
    const id = await submitCampaign(aws, ['192.0.2.153,ip,KE,c2 server'], { name: 'Late answer' });
    const notice = await sentNotice(aws, id);
    // no answer through the deadline and the reminder's: the cases go on to the CERT
    await aws.advanceClock(DAY + 60_000);
    await aws.waitFor('the reminder', () => mailFor(aws, 'abuse@hosting.example', '192.0.2.153')[1], 60_000);
    await aws.waitFor('the wait after the reminder', () => aws.sfn.waiting().some((arn) => arn.endsWith(`notice-${notice.id}-r1`)) || undefined);
    await aws.advanceClock(DAY + 60_000);
    await aws.waitFor('the CERT\'s notice', () => mailFor(aws, 'incidents@cert-ke.example', '192.0.2.153')[0], 60_000);
    const certNotice = await aws.waitFor('the CERT\'s notice waiting', async () => {
      const n = (await campaignView(aws, id)).notices.find((x) => x.id !== notice.id);
      return n && n.state === 'sent' && aws.sfn.waiting().some((arn) => arn.includes(n.id)) ? n : undefined;
    });
    // the hoster answers the first notice by mail, late
    const inboundBefore = invocations(aws, 'InboundMailFunction');
    const [original] = mailFor(aws, 'abuse@hosting.example', '192.0.2.153');
    const reply = replyTo(original!, 'abuse@hosting.example', 'Hello, we have taken the server down and suspended the customer.\r\nRegards');
    aws.services.receive(reply.raw, { from: 'abuse@hosting.example', recipients: [reply.to] });
    await aws.services.settled();
    // the inbound function tells the CERT at once, as the embedded host does (test/workflows/escalation.test.ts
    // 'late answers'): it may send mail (without ses:SendEmail, SES's refusal read as our own account's and halted
    // all sending)
    const told = await aws.waitFor('the CERT told it need do nothing', () => mailFor(aws, 'incidents@cert-ke.example', '192.0.2.153')[1], 15_000);
    expect(told.sender.startsWith('InboundMailFunction')).toBe(true);
    expect(invocations(aws, 'InboundMailFunction')).toBe(inboundBefore + 1);
    // the CERT's case is actioned on the hoster's word
    const { cases } = await noticeById(aws, certNotice.id);
    expect(cases.map((c: { state: string }) => c.state)).toEqual([expect.stringMatching(/actioned|verified-down/)]);
    const types = await eventTypes(aws, certNotice.id);
    expect(types).toEqual(expect.arrayContaining(['case.resolved-upstream', 'notice.resolved-upstream']));
    expect(types).not.toContain('sending.halted');
    expect(mailFor(aws, 'incidents@cert-ke.example', '192.0.2.153')).toHaveLength(2);
    expect([...aws.services.queues.values()].flat().filter((m) => JSON.stringify(m).includes(reply.to))).toEqual([]);
    expect(aws.denials()).toEqual([]);
  }, 120_000);
});
