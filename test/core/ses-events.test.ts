import { afterEach, describe, expect, it } from 'vitest';
import { listAll } from '../../lib/core/paging.js';
import { rememberTransportId } from '../../lib/core/notices/sending/transport-ids.js';
import { handleSesEvents } from '../../lib/adapters/aws/ses-events.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * SES sending events as the SES events Lambda receives them: SNS's Lambda event around the JSON SES publishes
 * through a configuration set (shapes from "Contents of event data that Amazon SES publishes to Amazon SNS").
 * Real SQLite store, no AWS.
 */

let fixture: SentNotice | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const SES_MESSAGE_ID = '0100019a1b2c3d4e-5f6a7b8c-9d0e-4f1a-8b2c-3d4e5f6a7b8c-000000';

/** The mail object SES puts in every event: our From/To/Subject/Reply-To as sent, and the id SES gave it. */
function mailObject(f: SentNotice, messageId = SES_MESSAGE_ID, headers = true): Record<string, unknown> {
  return {
    timestamp: '2025-06-05T09:00:00.000Z',
    source: 'takedown@reply.example',
    sourceArn: 'arn:aws:ses:eu-west-1:123456789012:identity/reply.example',
    sendingAccountId: '123456789012',
    messageId,
    destination: ['abuse@hoster.example'],
    headersTruncated: false,
    headers: headers
      ? [
          { name: 'From', value: 'takedown@reply.example' },
          { name: 'Reply-To', value: f.replyTo },
          { name: 'To', value: 'abuse@hoster.example' },
          { name: 'Subject', value: f.subject },
          { name: 'MIME-Version', value: '1.0' },
        ]
      : [],
    commonHeaders: { from: ['takedown@reply.example'], to: ['abuse@hoster.example'], messageId, subject: headers ? f.subject : 'Takedown request' },
    tags: { 'ses:configuration-set': ['Takedown-notices'], 'ses:from-domain': ['reply.example'], 'ses:caller-identity': ['SendNoticeFunctionRole'] },
  };
}

function bounceEvent(f: SentNotice, bounceType: 'Permanent' | 'Transient', options: { messageId?: string; headers?: boolean; feedbackId?: string } = {}): Record<string, unknown> {
  const permanent = bounceType === 'Permanent';
  return {
    eventType: 'Bounce',
    bounce: {
      bounceType,
      bounceSubType: permanent ? 'General' : 'MailboxFull',
      bouncedRecipients: [
        {
          emailAddress: 'abuse@hoster.example',
          action: 'failed',
          status: permanent ? '5.1.1' : '4.2.2',
          diagnosticCode: permanent ? 'smtp; 550 5.1.1 <abuse@hoster.example>: Recipient address rejected: User unknown' : 'smtp; 452 4.2.2 Mailbox full',
        },
      ],
      timestamp: '2025-06-05T09:00:03.669Z',
      feedbackId: options.feedbackId ?? `0100019a1b2c3d4f-${bounceType.toLowerCase()}-000000`,
      reportingMTA: 'dsn; a1-23.smtp-out.eu-west-1.amazonses.com',
    },
    mail: mailObject(f, options.messageId, options.headers ?? true),
  };
}

function complaintEvent(f: SentNotice): Record<string, unknown> {
  return {
    eventType: 'Complaint',
    complaint: {
      complainedRecipients: [{ emailAddress: 'abuse@hoster.example' }],
      timestamp: '2025-06-06T11:00:00.000Z',
      feedbackId: '0100019a1b2c3d50-complaint-000000',
      userAgent: 'Mail provider feedback loop',
      complaintFeedbackType: 'abuse',
      arrivalDate: '2025-06-05T09:00:05.000Z',
    },
    mail: mailObject(f),
  };
}

/** The event SNS hands a subscribed Lambda function. */
function snsEvent(message: unknown, id = 'b1f0c7a4-8d2e-5f3a-9c1b-0e4d2a6f8b10'): Record<string, unknown> {
  return {
    Records: [
      {
        EventSource: 'aws:sns',
        EventVersion: '1.0',
        EventSubscriptionArn: 'arn:aws:sns:eu-west-1:123456789012:Takedown-ses-events:7c9d1e2f-0a1b-4c3d-8e9f-123456789abc',
        Sns: {
          Type: 'Notification',
          MessageId: id,
          TopicArn: 'arn:aws:sns:eu-west-1:123456789012:Takedown-ses-events',
          Subject: null,
          Message: JSON.stringify(message),
          Timestamp: '2025-06-05T09:00:04.000Z',
          SignatureVersion: '1',
          Signature: 'EXAMPLE',
          SigningCertUrl: 'https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-example.pem',
          UnsubscribeUrl: 'https://sns.eu-west-1.amazonaws.com/?Action=Unsubscribe',
          MessageAttributes: {},
        },
      },
    ],
  };
}

async function eventTypes(f: SentNotice): Promise<string[]> {
  return (await f.store.listEvents({ noticeId: f.notice.id })).map((e) => e.type);
}

async function caseStates(f: SentNotice): Promise<string[]> {
  return (await listAll((p) => f.store.listCases({ noticeId: f.notice.id }, p))).map((c) => c.state);
}

describe('handleSesEvents', () => {
  it('finds the notice by the SES message id, marks the contact undeliverable on a permanent bounce and escalates at once', async () => {
    fixture = await sentNotice();
    await rememberTransportId(fixture.deps, SES_MESSAGE_ID, fixture.notice.id, fixture.outbound.id);

    const [result] = await handleSesEvents(fixture.deps, snsEvent(bounceEvent(fixture, 'Permanent', { headers: false })));

    expect(result).toMatchObject({ matched: true, noticeId: fixture.notice.id, kind: 'bounce', outcome: 'event' });
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('escalated');
    expect(await caseStates(fixture)).toEqual(['escalated']);
    expect(await eventTypes(fixture)).toEqual(expect.arrayContaining(['mail.bounce', 'contact.undeliverable', 'notice.escalated']));
    const undeliverable = (await fixture.store.listEvents({ noticeId: fixture.notice.id })).find((e) => e.type === 'contact.undeliverable')!;
    expect(undeliverable.data).toMatchObject({ contact: 'abuse@hoster.example', status: '5.1.1' });
    const next = (await fixture.store.listNotices({ campaignId: fixture.notice.campaignId })).items.find((n) => n.escalatedFrom?.includes(fixture!.notice.id));
    expect(next?.party.email).toBe('incident@cert-ke.example');
    expect(fixture.workflows.started).toContain(`notice-${next!.id}-r1`);
  });

  it('applies an event SNS delivers twice once', async () => {
    fixture = await sentNotice();
    await rememberTransportId(fixture.deps, SES_MESSAGE_ID, fixture.notice.id, fixture.outbound.id);
    const event = snsEvent(bounceEvent(fixture, 'Transient'));
    await handleSesEvents(fixture.deps, event);
    const [again] = await handleSesEvents(fixture.deps, event);

    expect(again).toMatchObject({ outcome: 'duplicate' });
    expect((await eventTypes(fixture)).filter((t) => t === 'mail.bounce')).toHaveLength(1);
  });

  it('records a transient bounce and changes nothing else', async () => {
    fixture = await sentNotice();
    await rememberTransportId(fixture.deps, SES_MESSAGE_ID, fixture.notice.id, fixture.outbound.id);
    const [result] = await handleSesEvents(fixture.deps, snsEvent(bounceEvent(fixture, 'Transient')));

    expect(result).toMatchObject({ matched: true, kind: 'bounce', outcome: 'event' });
    const bounce = (await fixture.store.listEvents({ noticeId: fixture.notice.id })).find((e) => e.type === 'mail.bounce')!;
    expect(bounce.data).toMatchObject({ severity: 'delay', format: 'ses', status: '4.2.2' });
    const after = (await fixture.store.getNotice(fixture.notice.id))!;
    expect(after.state).toBe('sent');
    expect(after.deadline).toBe(fixture.notice.deadline);
    expect(await caseStates(fixture)).toEqual(['notified']);
    expect(await eventTypes(fixture)).not.toContain('contact.undeliverable');
  });

  it('records a complaint and keeps it for review, never as an answer', async () => {
    fixture = await sentNotice();
    await rememberTransportId(fixture.deps, SES_MESSAGE_ID, fixture.notice.id, fixture.outbound.id);
    const [result] = await handleSesEvents(fixture.deps, snsEvent(complaintEvent(fixture)));

    expect(result).toMatchObject({ matched: true, kind: 'complaint', outcome: 'review' });
    expect(await eventTypes(fixture)).toContain('mail.complaint');
    const [item] = (await fixture.store.listReviews()).items;
    expect(item).toMatchObject({ reason: 'complaint', noticeId: fixture.notice.id, rawRef: 'sns:b1f0c7a4-8d2e-5f3a-9c1b-0e4d2a6f8b10' });
    expect(item!.classification).toMatchObject({ class: 'report', format: 'ses', feedbackType: 'abuse' });
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('sent');
  });

  it('falls back to the reply token in the headers SES quotes when the message id was not recorded', async () => {
    fixture = await sentNotice();
    const [result] = await handleSesEvents(fixture.deps, snsEvent(bounceEvent(fixture, 'Permanent', { messageId: '0100019aunknown-000000' })));
    expect(result).toMatchObject({ matched: true, noticeId: fixture.notice.id, outcome: 'event' });
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('escalated');
  });

  it('keeps an event of no notice of ours for review, and ignores events it has no use for', async () => {
    fixture = await sentNotice();
    const [unmatched] = await handleSesEvents(fixture.deps, snsEvent(bounceEvent(fixture, 'Permanent', { messageId: '0100019aunknown-000000', headers: false })));
    expect(unmatched).toMatchObject({ matched: false, outcome: 'review' });
    expect((await fixture.store.listReviews()).items.map((r) => r.reason)).toEqual(['unmatched']);
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('sent');

    const [open] = await handleSesEvents(fixture.deps, snsEvent({ eventType: 'Open', mail: mailObject(fixture), open: { ipAddress: '192.0.2.1', timestamp: '2025-06-05T10:00:00.000Z' } }));
    expect(open).toMatchObject({ outcome: 'ignored' });
    expect(await handleSesEvents(fixture.deps, { hello: 'world' })).toEqual([]);
  });
});
