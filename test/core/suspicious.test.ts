import { generateKeyPairSync } from 'node:crypto';
import { deliveryReport } from '../../lib/adapters/mail/dsn.js';
import { dkimSign } from 'mailauth';
import { afterEach, describe, expect, it } from 'vitest';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { listAll } from '../../lib/core/paging.js';
import { authFailure, senderFits, verdictsFromSesHeaders, verdictsFromSesReceipt } from '../../lib/core/answers/mail-auth.js';
import type { InboundMail } from '../../lib/core/ports.js';
import { registrableDomain, suffixOnlyAuthenticator } from '../../lib/adapters/mail/domains.js';
import { MailauthAuthenticator } from '../../lib/adapters/mail/mailauth.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { stubResolver, txt } from '../support/mail-dns.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * Suspicious replies: the reply token matches, but the sender is not the notice's recipient, or the sender's own
 * domain says through SPF/DKIM/DMARC that the message is not theirs. DNS comes from a table, never the network.
 */

let fixture: SentNotice | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

// the hoster's desk sends from 192.0.2.0/24 and publishes p=reject; a DKIM key under the selector "desk"
const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PUBLIC_KEY = keys.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const PRIVATE_KEY = keys.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DNS = {
  'TXT hoster.example': txt('v=spf1 ip4:192.0.2.0/24 -all'),
  'TXT _dmarc.hoster.example': txt('v=DMARC1; p=reject; rua=mailto:dmarc@hoster.example'),
  'TXT desk._domainkey.hoster.example': txt(`v=DKIM1; k=rsa; p=${PUBLIC_KEY}`),
  'TXT lax.example': txt('v=spf1 ip4:192.0.2.0/24 ~all'),
};
const DESK = { ip: '192.0.2.25', helo: 'mx.hoster.example', mailFrom: 'abuse@hoster.example' };
const ELSEWHERE = { ip: '203.0.113.66', helo: 'mail.forwarder.example', mailFrom: 'abuse@hoster.example' };

function reply(f: SentNotice, from: string, body: string, subject = `Re: ${f.subject}`): string {
  return [
    `From: Abuse Desk <${from}>`,
    `To: ${f.replyTo}`,
    `Subject: ${subject}`,
    `Message-ID: <reply-${Math.random().toString(36).slice(2)}@hoster.example>`,
    'Date: Thu, 05 Jun 2025 10:00:00 +0000',
    `In-Reply-To: ${f.outbound.messageId}`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

async function signed(raw: string, domain = 'hoster.example'): Promise<string> {
  // mailauth signs with signatureData only; its type declarations ask for the fields at the top level instead
  const options = { signTime: new Date(), signatureData: [{ signingDomain: domain, selector: 'desk', privateKey: PRIVATE_KEY }] } as unknown as Parameters<typeof dkimSign>[1];
  const result = await dkimSign(raw, options);
  expect(result.errors).toEqual([]);
  return result.signatures + raw;
}

async function inbound(raw: string, client?: InboundMail['client']): Promise<InboundMail> {
  const mail = await parseMail(Buffer.from(raw));
  return client ? { ...mail, client } : mail;
}

async function caseStates(f: SentNotice): Promise<string[]> {
  return (await listAll((p) => f.store.listCases({ noticeId: f.notice.id }, p))).map((c) => c.state);
}

const TAKEN_DOWN = 'Hello,\r\n\r\nWe have suspended the server at 192.0.2.10.\r\n\r\nRegards,\r\nAbuse team';

describe('receiveMail with suspicious senders', () => {
  it('keeps a spoofed reply (valid token, From a foreign domain) for review and applies nothing', async () => {
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver(DNS) }) });
    const result = await receiveMail(fixture.deps, await inbound(reply(fixture, 'abuse.team@gmail.com', TAKEN_DOWN), { ip: '198.51.100.9', helo: 'mail.gmail.example', mailFrom: 'abuse.team@gmail.com' }));

    expect(result).toMatchObject({ matched: true, by: 'token', class: 'human', outcome: 'review' });
    expect(result.reason).toMatch(/gmail\.com does not fit the contact's domain hoster\.example/);
    const [item] = (await fixture.store.listReviews()).items;
    expect(item).toMatchObject({ reason: 'suspicious', noticeId: fixture.notice.id, matchedBy: 'token' });
    expect(item!.classification).toMatchObject({ class: 'human', intent: 'actioned' });
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect(await caseStates(fixture)).toEqual(['notified']);
    expect((await fixture.store.getNotice(fixture.notice.id))?.state).toBe('sent');
    const events = await fixture.store.listEvents({ noticeId: fixture.notice.id });
    expect(events.find((e) => e.type === 'mail.review')?.data).toMatchObject({ reason: 'suspicious' });
  });

  it('applies a reply whose DKIM signature of the From domain verifies, even when SPF fails (a forward)', async () => {
    const resolver = stubResolver(DNS);
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver }) });
    const raw = await signed(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN));
    const result = await receiveMail(fixture.deps, await inbound(raw, ELSEWHERE));

    expect(result).toMatchObject({ outcome: 'answer', intent: 'actioned', by: 'token' });
    expect(resolver.asked).toEqual(expect.arrayContaining(['txt desk._domainkey.hoster.example', 'txt _dmarc.hoster.example', 'txt hoster.example']));
    expect(await caseStates(fixture)).toEqual(['actioned']);
    expect((await fixture.store.listReviews()).items).toEqual([]);
  });

  it('holds a reply from the right domain that fails DMARC under p=reject (no aligned SPF or DKIM)', async () => {
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver(DNS) }) });
    const result = await receiveMail(fixture.deps, await inbound(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN), ELSEWHERE));

    expect(result).toMatchObject({ outcome: 'review', class: 'human' });
    expect(result.reason).toBe("DMARC fail under the From domain's p=reject (mailauth)");
    expect((await fixture.store.listReviews()).items.map((r) => r.reason)).toEqual(['suspicious']);
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('applies the same unsigned reply when it comes from an address the domain allows (SPF pass aligns)', async () => {
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver(DNS) }) });
    const result = await receiveMail(fixture.deps, await inbound(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN), DESK));
    expect(result).toMatchObject({ outcome: 'answer', intent: 'actioned' });
  });

  it('holds a reply whose DKIM signature of the From domain no longer verifies, where no DMARC policy decides', async () => {
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver({ ...DNS, 'TXT _dmarc.hoster.example': txt('v=DMARC1; p=none') }) }) });
    // a header changed after signing: the signature is bad, not merely unverifiable
    const raw = (await signed(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN))).replace(/^Subject: Re: /m, 'Subject: RE: ');
    // sent through a list server whose own domain only soft-fails it: SPF says nothing either way
    const result = await receiveMail(fixture.deps, await inbound(raw, { ip: '203.0.113.66', helo: 'lists.lax.example', mailFrom: 'bounces@lax.example' }));
    expect(result).toMatchObject({ outcome: 'review' });
    expect(result.reason).toBe('a DKIM signature of the From domain failed (mailauth)');
  });

  it('applies an answer from the recipient\'s ticket subdomain, and from a domain the directory lists for the party', async () => {
    fixture = await sentNotice({ mailAuth: new MailauthAuthenticator({ resolver: stubResolver({ ...DNS, 'TXT desk._domainkey.tickets.hoster.example': DNS['TXT desk._domainkey.hoster.example'] }) }) });
    // "taken down" closes the case: the ticket system signs what it sends
    const ticket = await receiveMail(fixture.deps, await inbound(await signed(reply(fixture, 'noreply@tickets.hoster.example', TAKEN_DOWN), 'tickets.hoster.example'), ELSEWHERE));
    expect(ticket).toMatchObject({ outcome: 'answer', intent: 'actioned', by: 'token' });
    expect(await caseStates(fixture)).toEqual(['actioned']);
    await fixture.close();

    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const hosted = await receiveMail(fixture.deps, await inbound(reply(fixture, 'support@hoster.desk.example', 'Hello,\r\n\r\nThank you for your report, we are investigating.\r\n')));
    expect(hosted).toMatchObject({ outcome: 'answer', intent: 'acknowledged' });
  });

  it('holds an automatic reply from a foreign domain that names the notice by its public tag only', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const raw = reply(fixture, 'noreply@helpdesk.example', 'Your request has been received as ticket 4711.', `[Ticket#4711] received: ${fixture.subject}`)
      .replace(`To: ${fixture.replyTo}`, 'To: takedown@reply.example')
      .replace(/^In-Reply-To: .*\r\n/m, 'Auto-Submitted: auto-replied\r\n');
    const result = await receiveMail(fixture.deps, await inbound(raw));
    expect(result).toMatchObject({ class: 'auto-reply', by: 'tag', outcome: 'review' });
    expect(await fixture.store.listAnswers(fixture.notice.id)).toEqual([]);
    expect(await caseStates(fixture)).toEqual(['notified']);
  });

  it('does not hold a bounce from the recipient\'s mailbox provider, whose domain is not the contact\'s', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const raw = deliveryReport({
      from: 'Mail Delivery Subsystem <mailer-daemon@googlemail.com>',
      to: 'takedown@reply.example',
      subject: 'Delivery Status Notification (Delay)',
      text: 'Delivery to the following recipient has been delayed.',
      reportingMta: 'googlemail.com',
      recipient: 'abuse@hoster.example',
      action: 'delayed',
      status: '4.4.1',
      originalHeaders: `Reply-To: ${fixture.replyTo}\r\nSubject: ${fixture.subject}`,
    });
    const result = await receiveMail(fixture.deps, await inbound(raw));
    expect(result).toMatchObject({ class: 'bounce', outcome: 'event', by: 'token' });
  });

  it('holds a message SES marked as failing DMARC under p=quarantine, with no DNS of its own', async () => {
    fixture = await sentNotice({ mailAuth: suffixOnlyAuthenticator });
    const mail = await inbound(reply(fixture, 'abuse@hoster.example', TAKEN_DOWN));
    const auth = verdictsFromSesReceipt({ spfVerdict: { status: 'GRAY' }, dkimVerdict: { status: 'GRAY' }, dmarcVerdict: { status: 'FAIL' }, dmarcPolicy: 'quarantine' });
    const result = await receiveMail(fixture.deps, { ...mail, auth });
    expect(result).toMatchObject({ outcome: 'review' });
    expect(result.reason).toBe("DMARC fail under the From domain's p=quarantine (ses)");
  });
});

describe('authFailure', () => {
  it('counts only failing verdicts, and DMARC only under a policy that asks for it', () => {
    const cases: [Parameters<typeof authFailure>[0], string | undefined][] = [
      [{}, undefined],
      [{ spf: 'none', dkim: 'none', dmarc: 'none' }, undefined],
      [{ spf: 'temperror', dkim: 'temperror', dmarc: 'temperror' }, undefined],
      [{ spf: 'softfail', dkim: 'neutral', dmarc: 'none' }, undefined],
      [{ spf: 'permerror' }, undefined],
      [{ spf: 'fail' }, 'SPF fail: the envelope domain does not allow the sending host'],
      [{ spf: 'fail', dkim: 'pass', dmarc: 'pass' }, undefined],
      [{ dkim: 'fail', dmarc: 'pass' }, undefined],
      [{ dkim: 'fail' }, 'a DKIM signature of the From domain failed'],
      [{ dmarc: 'fail', dmarcPolicy: 'none', spf: 'softfail' }, undefined],
      [{ dmarc: 'fail', dmarcPolicy: 'reject' }, "DMARC fail under the From domain's p=reject"],
      [{ dmarc: 'fail', dmarcPolicy: 'quarantine' }, "DMARC fail under the From domain's p=quarantine"],
      [{ dmarc: 'fail' }, "DMARC fail, the From domain's policy unknown"],
      [{ virus: 'fail', dmarc: 'pass' }, 'the virus scan failed'],
      [{ spam: 'fail' }, 'the spam scan failed'],
      [{ spam: 'pass', virus: 'pass', dmarc: 'pass' }, undefined],
    ];
    for (const [verdicts, expected] of cases) expect(authFailure(verdicts), JSON.stringify(verdicts)).toBe(expected);
  });
});

describe('senderFits', () => {
  const party = { email: 'abuse@hoster.example', answerDomains: ['desk.example'] };
  it('takes the contact, its domain and subdomains, its registrable domain and the listed domains, nothing else', () => {
    const fits = (from: string | undefined, p: { email: string; answerDomains?: string[] } = party) => senderFits(from, p, registrableDomain).fits;
    expect(fits('abuse@hoster.example')).toBe(true);
    expect(fits('Noreply@Tickets.Hoster.Example')).toBe(true);
    expect(fits('desk@hoster.co.uk', { email: 'abuse@mail.hoster.co.uk' })).toBe(true);
    expect(fits('x@other.co.uk', { email: 'abuse@mail.hoster.co.uk' })).toBe(false);
    expect(fits('agent@hoster.desk.example')).toBe(true);
    expect(fits('abuse@gmail.com')).toBe(false);
    expect(fits('abuse@hoster.example.evil.example')).toBe(false);
    expect(fits('abuse@nothoster.example')).toBe(false);
    expect(fits(undefined)).toBe(false);
    // two customers of one platform are two owners
    expect(fits('x@b.github.io', { email: 'abuse@a.github.io' })).toBe(false);
    // a contact at a shared mailbox provider fits only itself
    expect(fits('hoster.abuse@gmail.com', { email: 'hoster.abuse@gmail.com' })).toBe(true);
    expect(fits('someone.else@gmail.com', { email: 'hoster.abuse@gmail.com' })).toBe(false);
  });

  it('without the public suffix list takes only the contact\'s domain and below', () => {
    expect(senderFits('desk@hoster.co.uk', { email: 'abuse@mail.hoster.co.uk' }).fits).toBe(false);
    expect(senderFits('desk@t.mail.hoster.co.uk', { email: 'abuse@mail.hoster.co.uk' }).fits).toBe(true);
  });
});

describe('SES verdicts', () => {
  it('reads the receipt of an SES event', () => {
    expect(
      verdictsFromSesReceipt({
        spfVerdict: { status: 'PASS' },
        dkimVerdict: { status: 'GRAY' },
        dmarcVerdict: { status: 'FAIL' },
        dmarcPolicy: 'reject',
        spamVerdict: { status: 'PASS' },
        virusVerdict: { status: 'PROCESSING_FAILED' },
      }),
    ).toEqual({ spf: 'pass', dkim: 'none', dmarc: 'fail', dmarcPolicy: 'reject', spam: 'pass', virus: 'temperror', by: 'ses' });
  });

  it('reads only the topmost headers SES wrote into a stored message, not a forged copy below them', () => {
    const headers = {
      'x-ses-spam-verdict': 'PASS\nFAIL',
      'x-ses-virus-verdict': 'PASS',
      'authentication-results':
        'amazonses.com; spf=fail (spfCheck: 203.0.113.66 is not a permitted sender) smtp.mailfrom=abuse@hoster.example; dkim=none header.i=@hoster.example; dmarc=fail header.from=hoster.example\namazonses.com; spf=pass; dkim=pass; dmarc=pass',
    };
    expect(verdictsFromSesHeaders(headers)).toEqual({ spf: 'fail', dkim: 'none', dmarc: 'fail', spam: 'pass', virus: 'pass', by: 'ses-headers' });
    expect(verdictsFromSesHeaders({ 'authentication-results': 'mx.elsewhere.example; dmarc=pass' })).toBeUndefined();
    expect(verdictsFromSesHeaders({ subject: 'hi' })).toBeUndefined();
  });
});
