import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { dkimRecords, dkimSigner } from '../support/dkim.js';
import { stubResolver } from '../support/mail-dns.js';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readdirSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { MailRejectedError, MailTransientError } from '../../lib/core/errors.js';
import type { Notice } from '../../lib/core/model.js';
import type { Mailer } from '../../lib/core/ports.js';
import { listAll } from '../../lib/core/paging.js';
import type { Host } from '../../lib/local/host.js';
import { api, outbox, submit, testHost, waitFor } from './support.js';

const DAY = 86400;
let host: (Host & { dispose(): Promise<void> }) | undefined;

afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

async function notices(h: Host, campaignId: string): Promise<Notice[]> {
  return listAll((p) => h.store.listNotices({ campaignId }, p));
}

async function allSent(h: Host, campaignId: string, count: number): Promise<Notice[]> {
  return waitFor(`${count} notices sent`, async () => {
    const list = await notices(h, campaignId);
    return list.length === count && list.every((n) => n.state === 'sent') && list;
  });
}

function pathOf(h: Host, noticeId: string): string[] {
  return h.workflows.get(`notice-${noticeId}-r1`)?.path ?? [];
}

describe('the notice workflow on the shipped ASL', () => {
  it('groups the indicators of one recipient into one notice and closes it when the answer comes through the API', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback', '198.51.100.5,ip,CI,phishing kit host']);
    const [a, b] = await allSent(host, campaignId, 2);
    const hosting = [a!, b!].find((n) => n.party.email === 'abuse@hosting.example')!;
    expect(hosting.caseCount).toBe(2);
    expect(outbox(host)).toHaveLength(2);

    const res = await api(host, 'POST', `/notices/${hosting.id}/answers`, { intent: 'actioned', note: 'both servers suspended' });
    expect(res.status).toBe(200);
    await waitFor('the execution to end', () => host!.workflows.get(`notice-${hosting.id}-r1`)?.status === 'succeeded');

    expect(pathOf(host, hosting.id)).toEqual(['SendNotice', 'NextStep', 'AwaitAnswer', 'NextStep', 'Closed']);
    const cases = await listAll((p) => host!.store.listCases({ noticeId: hosting.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['actioned', 'actioned']);
    expect((await host.store.getNotice(hosting.id))?.state).toBe('closed');
    // nothing more went out: no reminder, no escalation
    expect(outbox(host)).toHaveLength(2);
    // the audit trail says where each party's contact came from
    const sources = (await host.store.listEvents({ campaignId })).filter((e) => e.type === 'routing.sources');
    expect(sources).toHaveLength(1);
    expect(sources[0]!.data['parties']).toContainEqual({ party: hosting.party.id, email: 'abuse@hosting.example', source: 'directory', matchedBy: '192.0.2.0/24' });
    // and the TLP gate's decision for what went out
    const sent = (await host.store.listEvents({ noticeId: hosting.id })).find((e) => e.type === 'notice.sent')!;
    expect(sent.data['tlp']).toBe('AMBER');
  });

  it('sends one reminder at the deadline, then escalates the open cases to the national CERT', async () => {
    // a day passes in 0.1 s; each wait is at least one engine second
    host = await testHost(10 * DAY);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback']);
    const [first] = await allSent(host, campaignId, 1);

    const escalated = await waitFor('escalation', async () => {
      const all = await notices(host!, campaignId);
      // out of planned and of sending (its send claimed): gone out
      return all.length === 2 && all.find((n) => n.id !== first!.id && n.state !== 'planned' && n.state !== 'sending');
    });
    expect(escalated.party.id).toBe('cert:KE');
    expect(escalated.caseCount).toBe(2);
    expect(escalated.escalatedFrom).toEqual([first!.id]);
    await waitFor('the first execution to end', () => host!.workflows.get(`notice-${first!.id}-r1`)?.status === 'succeeded');

    expect(pathOf(host, first!.id)).toEqual([
      'SendNotice', 'NextStep', 'AwaitAnswer', 'DeadlinePassed', 'NextStep', 'AwaitAnswer', 'DeadlinePassed', 'NextStep', 'Escalated',
    ]);
    const mail = outbox(host);
    const subjects = mail.map((m) => m.header('Subject') ?? '');
    expect(subjects[0]).toMatch(/^\[TKD-n[0-9a-z]{16}\] Takedown request: 2 malicious indicators/);
    expect(subjects[1]).toMatch(/Reminder 1:/);
    // the reminder threads under the original notice
    expect(mail[1]!.header('In-Reply-To')).toBe(mail[0]!.header('Message-ID'));
    expect(subjects[2]).toMatch(/Escalation: Takedown request/);
    expect(mail[2]!.header('To')).toBe('incidents@cert-ke.example');
    expect(mail[2]!.raw).toMatch(/first reported to Example Hosting Ltd/);

    const cases = await listAll((p) => host!.store.listCases({ campaignId }, p));
    expect(cases.filter((c) => c.step === 0).map((c) => c.state)).toEqual(['escalated', 'escalated']);
    expect(cases.filter((c) => c.step === 1).every((c) => c.noticeId === escalated.id)).toBe(true);
  });

  it('renders and composes the reminder on the compose thread, as the first notice', async () => {
    host = await testHost(10 * DAY, { config: { composeThreads: 1 } });
    const offload = host.deps.offload!;
    const rendered = vi.spyOn(offload, 'renderAndCompose');
    const here = vi.spyOn(offload as unknown as { doHere: (job: unknown) => Promise<unknown> }, 'doHere');
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const [first] = await allSent(host, campaignId, 1);
    await waitFor('the reminder', async () => ((await host!.store.getNotice(first!.id))?.remindersSent === 1 ? true : undefined));

    const jobs = rendered.mock.calls.map(([job]) => ({ notice: job.notice.id, reminder: job.reminder?.n }));
    expect(jobs.slice(0, 2)).toEqual([{ notice: first!.id, reminder: undefined }, { notice: first!.id, reminder: 1 }]);
    // the thread did both: a job it failed or could not take would have been done here
    expect(here).not.toHaveBeenCalled();
    const reminder = outbox(host).find((m) => /Reminder 1:/.test(m.header('Subject') ?? ''))!;
    expect(reminder.header('In-Reply-To')).toBe(outbox(host)[0]!.header('Message-ID'));
  });

  it('escalates at once when the recipient\'s server refuses the reminder for good', async () => {
    const refusesReminders = (inner: Mailer): Mailer => ({
      compose: (d) => inner.compose(d),
      sendRaw: async (envelope, raw) => {
        if (/Subject: \[TKD-[^\]]+\] Reminder/.test(raw)) throw new MailRejectedError('the relay answered 550 to RCPT');
        return inner.sendRaw(envelope, raw);
      },
    });
    host = await testHost(10 * DAY, { decorate: { mailer: refusesReminders } });
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const [first] = await allSent(host, campaignId, 1);
    await waitFor('the first execution to end', () => host!.workflows.get(`notice-${first!.id}-r1`)?.status === 'succeeded');

    expect(pathOf(host, first!.id)).toEqual(['SendNotice', 'NextStep', 'AwaitAnswer', 'DeadlinePassed', 'Undeliverable', 'NextStep', 'Escalated']);
    const all = await notices(host, campaignId);
    expect(all.find((n) => n.id !== first!.id)?.party.id).toBe('cert:KE');
  });

  it('keeps waiting after a reminder when the answer comes before the second deadline', async () => {
    // a day in two seconds: room to answer between the reminder and the escalation
    host = await testHost(DAY / 2);
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
    const [notice] = await allSent(host, campaignId, 1);
    await waitFor('the reminder', async () => ((await host!.store.getNotice(notice!.id))?.remindersSent === 1 ? true : undefined));

    const res = await api(host, 'POST', `/notices/${notice!.id}/answers`, { intent: 'actioned' });
    expect(res.status).toBe(200);
    await waitFor('the execution to end', () => host!.workflows.get(`notice-${notice!.id}-r1`)?.status === 'succeeded');

    expect(pathOf(host, notice!.id)).toEqual(['SendNotice', 'NextStep', 'AwaitAnswer', 'DeadlinePassed', 'NextStep', 'AwaitAnswer', 'NextStep', 'Closed']);
    expect((await notices(host, campaignId)).map((n) => n.state)).toEqual(['closed']);
    expect(outbox(host)).toHaveLength(2);
  });

  it('records a reply by mail to the notice\'s reply address as the answer', async () => {
    // "suspended" closes the case: the desk's domain signs its mail, as the stub DNS publishes
    host = await testHost(1, { mailAuthResolver: stubResolver(dkimRecords('demo-dc.example')) });
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
    const [notice] = await allSent(host, campaignId, 1);
    const sent = outbox(host)[0]!;
    const replyTo = sent.header('Reply-To')!;
    expect(replyTo).toMatch(/^takedown\+n[0-9a-z]{16}\.[0-9a-z]{26}@reply\.example$/);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true, dkim: dkimSigner('demo-dc.example') });
    await transport.sendMail({
      from: 'abuse@demo-dc.example',
      to: replyTo,
      subject: `Re: ${sent.header('Subject')}`,
      inReplyTo: sent.header('Message-ID'),
      text: 'Hello,\n\nThe server has been suspended.\n\nRegards,\nDemo DC abuse desk\n\nOn Mon, someone wrote:\n> Takedown request',
    });
    transport.close();

    const after = await waitFor('the notice to close', async () => {
      const n = await host!.store.getNotice(notice!.id);
      return n?.state === 'closed' && n;
    });
    const answers = await host.store.listAnswers(after.id);
    expect(answers.map((a) => [a.source, a.intent])).toEqual([['mail', 'actioned']]);
  });

  it('refuses a mail whose reply token is forged', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
    const [notice] = await allSent(host, campaignId, 1);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true });
    await transport.sendMail({
      from: 'someone@elsewhere.example',
      to: `takedown+${notice!.id}.${'a'.repeat(32)}@reply.example`,
      subject: 'Re: your notice',
      text: 'The server has been suspended.',
    });
    transport.close();
    // the inbound server answers 250 only after the message was stored and read
    expect(readdirSync(host.files.inbox)).toHaveLength(1);
    expect((await host.store.getNotice(notice!.id))?.state).toBe('sent');
    expect(await host.store.listAnswers(notice!.id)).toEqual([]);
  });
});

describe('answers by mail that do not carry the reply token', () => {
  it('sends an answer matched only by the subject tag to review instead of applying it', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
    const [notice] = await allSent(host, campaignId, 1);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: host.smtpPort, secure: false, ignoreTLS: true });
    // anyone can write the tag: it is the notice id, printed in every subject; even from the recipient's own
    // domain (a From is easily forged) it proves nothing without the reply token
    await transport.sendMail({
      from: 'abuse@demo-dc.example',
      to: 'takedown@reply.example',
      subject: `Re: [${notice!.tag}] Takedown request`,
      text: 'The server has been taken down.',
    });
    transport.close();
    expect((await host.store.getNotice(notice!.id))?.state).toBe('sent');
    expect(await host.store.listAnswers(notice!.id)).toEqual([]);
    const reviews = await listAll((p) => host!.store.listReviews(p));
    expect(reviews.map((r) => [r.reason, r.noticeId, r.matchedBy])).toEqual([['unverified', notice!.id, 'tag']]);
  });
});

describe('the campaign workflow', () => {
  it('sends nothing until the routing plan is approved', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '198.51.100.5,ip,CI,phishing'], true);
    await waitFor('the plan', async () => ((await host!.store.getCampaign(campaignId))?.state === 'awaiting-approval' ? true : undefined));
    await new Promise((r) => setTimeout(r, 300));
    expect(outbox(host)).toHaveLength(0);
    expect((await notices(host, campaignId)).map((n) => n.state)).toEqual(['planned', 'planned']);

    const res = await api(host, 'POST', `/campaigns/${campaignId}/approval`, { approver: 'duty officer' });
    expect(res.status).toBe(200);
    await allSent(host, campaignId, 2);
    expect(outbox(host)).toHaveLength(2);
    const campaign = await host.store.getCampaign(campaignId);
    // the key that approved is recorded; the name in the body only as whom it acted for
    expect(campaign).toMatchObject({ state: 'running', approvedBy: LOCAL_KEY_NAME, approvedOnBehalfOf: 'duty officer' });
    expect(host.workflows.get(`campaign-${campaignId}-r1`)?.path).toEqual([
      'FromUpload', 'RouteIndicators', 'AllRouted', 'BuildNotices', 'NeedsApproval', 'AwaitApproval', 'NeedsApproval', 'StartNotices', 'AllStarted', 'Running',
    ]);
  });

  it('sends nothing twice when the send step is retried after a refused hand-over', async () => {
    let calls = 0;
    const flaky = (inner: Mailer): Mailer => ({
      compose: (d) => inner.compose(d),
      async sendRaw(envelope, raw) {
        calls++;
        if (calls === 1) throw new MailTransientError('the relay answered 451');
        return inner.sendRaw(envelope, raw);
      },
    });
    host = await testHost(1, { decorate: { mailer: flaky } });
    const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
    const [notice] = await allSent(host, campaignId, 1);
    const execution = host.workflows.get(`notice-${notice!.id}-r1`)!;
    expect(execution.events.filter((e) => e.type === 'StateRetried').map((e) => e.state)).toEqual(['SendNotice']);
    expect(calls).toBe(2);
    expect(outbox(host)).toHaveLength(1);
    const [out] = await host.store.listOutbound(notice!.id);
    expect(out).toMatchObject({ state: 'sent', attempts: 2 });
    // a refused hand-over is a plain retry, not an uncertain send
    const events = await host.store.listEvents({ noticeId: notice!.id });
    expect(events.map((e) => e.type)).not.toContain('message.uncertain');
    expect(events.filter((e) => e.type === 'message.sent')).toHaveLength(1);
  });
});
