import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import type { Notice } from '../../lib/core/model.js';
import { listAll } from '../../lib/core/paging.js';
import { expiredCases } from '../../lib/core/campaign/control.js';
import type { Host } from '../../lib/local/host.js';
import { reviewQueue } from '../../lib/core/answers/review-actions.js';
import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { api, outbox, submit, testHost, waitFor } from './support.js';

/*
 * The clock a coordinator and the answers move, on the shipped notice workflow: a question pauses it and the
 * coordinator's answer resumes it in the same thread; pause, resume, cancel and escalate by hand; a ladder that
 * runs out. Real engine, real SMTP outbox, real HTTP API.
 */

const DAY = 86400;
let host: (Host & { dispose(): Promise<void> }) | undefined;

afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

async function noticesOf(h: Host, campaignId: string): Promise<Notice[]> {
  return listAll((p) => h.store.listNotices({ campaignId }, p));
}

async function waitingNotice(h: Host, campaignId: string, email: string): Promise<Notice> {
  return waitFor(`the notice to ${email} to wait for an answer`, async () => {
    const n = (await noticesOf(h, campaignId)).find((x) => x.party.email === email);
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
}

describe('answers and coordinators move the clock', () => {
  it('pauses on a question, queues it for the coordinator, and resumes in the same thread when they answer', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');

    const asked = await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'Which URL path? We see nothing on that address.' });
    expect(asked.status).toBe(200);
    await waitFor('the first execution to stop', () => host!.workflows.get(`notice-${notice.id}-r1`)?.status === 'succeeded');
    expect(host.workflows.get(`notice-${notice.id}-r1`)?.path.at(-1)).toBe('Stopped');
    const paused = (await host.store.getNotice(notice.id))!;
    expect(paused.state).toBe('paused');
    expect(paused.paused).toMatchObject({ reason: 'needs-info' });
    expect(paused.paused!.remainingSeconds).toBeGreaterThan(DAY - 120);
    const reviews = (await host.store.listReviews()).items;
    expect(reviews).toEqual([expect.objectContaining({ reason: 'needs-info', noticeId: notice.id, note: 'Which URL path? We see nothing on that address.' })]);

    const answered = await api<{ notice: Notice }>(host, 'POST', `/notices/${notice.id}/followups`, { message: 'The C2 listens on port 8443, path /gate.php.', by: 'analyst-1' });
    expect(answered.status).toBe(201);
    const resumed = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    expect(resumed.round).toBe(2);
    expect(host.workflows.get(`notice-${notice.id}-r2`)?.status).toBe('running');
    // the action deadline runs from the answer
    expect(Date.parse(resumed.deadline!) - Date.now()).toBeGreaterThan(resumed.actionDeadline * 1000 - 60_000);

    const mail = outbox(host);
    expect(mail).toHaveLength(2);
    const [original, followup] = mail;
    expect(followup!.header('Subject')).toContain(`[${notice.tag}] Re: Answer to your question`);
    expect(followup!.header('In-Reply-To')).toBe(original!.header('Message-ID'));
    expect((await simpleParser(followup!.raw)).text).toContain('The C2 listens on port 8443, path /gate.php.');
    const cases = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect(cases.map((c) => c.state)).toEqual(['notified']);
    // the key that called is the actor; the person it says it acts for is recorded beside it
    const events = (await host.store.listEvents({ noticeId: notice.id })).map((e) => [e.type, e.actor, e.data.onBehalfOf]);
    expect(events).toContainEqual(['notice.followup', LOCAL_KEY_NAME, 'analyst-1']);
    expect(events).toContainEqual(['notice.resumed', LOCAL_KEY_NAME, 'analyst-1']);
    // and the question it answered left the review queue
    expect((await reviewQueue(host.deps)).open).toEqual([]);
  });

  it('pauses a whole campaign and resumes it with the time each notice had left', async () => {
    // an hour a second: the two seconds spent paused are two hours the deadline must move by
    host = await testHost(3600);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '198.51.100.5,ip,CI,phishing kit host']);
    const a = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    await waitingNotice(host, campaignId, 'abuse@demo-dc.example');
    // two hours of the answer period pass before the pause: a resume that restarted the whole period would show
    await new Promise((r) => setTimeout(r, 2000));

    const paused = await api<{ result: { notices: number } }>(host, 'POST', `/campaigns/${campaignId}/pause`, { by: 'lead', reason: 'operation on hold' });
    expect(paused.status).toBe(200);
    expect(paused.body.result.notices).toBe(2);
    expect((await host.store.getCampaign(campaignId))?.state).toBe('paused');
    await waitFor('both executions to stop', async () =>
      (await noticesOf(host!, campaignId)).every((n) => host!.workflows.get(`notice-${n.id}-r1`)?.status === 'succeeded'),
    );
    expect((await noticesOf(host, campaignId)).map((n) => n.state)).toEqual(['paused', 'paused']);
    // pausing twice is refused for a notice, harmless for the campaign
    expect((await api(host, 'POST', `/notices/${a.id}/pause`, {})).status).toBe(409);

    const pausedAt = host.clock.now().getTime();
    await new Promise((r) => setTimeout(r, 2000));
    const resumed = await api(host, 'POST', `/campaigns/${campaignId}/resume`, { by: 'lead' });
    expect(resumed.status).toBe(200);
    const pausedFor = host.clock.now().getTime() - pausedAt;
    const back = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    expect(back.round).toBe(2);
    // the time left was kept: the deadline moved by the pause, not back to a whole answer period
    expect(Math.abs(Date.parse(back.deadline!) - (Date.parse(a.deadline!) + pausedFor))).toBeLessThan(20 * 60_000);
    expect((await host.store.getCampaign(campaignId))?.state).toBe('running');
    const types = (await host.store.listEvents({ campaignId })).map((e) => `${e.type}:${e.actor}:${String(e.data.onBehalfOf)}`);
    for (const type of ['campaign.paused', 'campaign.resumed', 'notice.paused', 'notice.resumed']) {
      expect(types).toContainEqual(`${type}:${LOCAL_KEY_NAME}:lead`);
    }
    expect(outbox(host)).toHaveLength(2);
  });

  it('escalates one case by hand at once, and cancels another without touching the rest', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback', '192.0.2.12,ip,KE,C2 backup']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    const [c1, c2, c3] = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));

    const escalated = await api<{ result: { escalatedTo: string[] } }>(host, 'POST', `/cases/${c1!.id}/escalate`, { by: 'lead', reason: 'the host ignores us' });
    expect(escalated.status).toBe(200);
    expect(escalated.body.result.escalatedTo).toHaveLength(1);
    const cert = await waitingNotice(host, campaignId, 'incidents@cert-ke.example');
    expect(cert.caseCount).toBe(1);
    expect(cert.escalatedFrom).toEqual([notice.id]);

    expect((await api(host, 'POST', `/cases/${c2!.id}/cancel`, { by: 'lead', reason: 'false positive' })).status).toBe(200);
    expect((await host.store.getCase(c1!.id))?.state).toBe('escalated');
    expect((await host.store.getCase(c2!.id))).toMatchObject({ state: 'cancelled', reason: `cancelled by ${LOCAL_KEY_NAME}: false positive` });
    expect((await host.store.getCase(c3!.id))?.state).toBe('notified');
    // the first notice still waits for its last case
    expect((await host.store.getNotice(notice.id))?.state).toBe('sent');
    // cancelling it again is refused: a cancelled case is finished
    expect((await api(host, 'POST', `/cases/${c2!.id}/cancel`, {})).status).toBe(409);
    expect((await api(host, 'POST', `/cases/cnotacaseid000000/cancel`, {})).status).toBe(404);
  });

  it('expires a case whose ladder ran out and lists it with its whole history', async () => {
    host = await testHost(20 * DAY);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const expired = await waitFor(
      'the case to expire',
      async () => {
        const list = await expiredCases(host!.deps, campaignId);
        // the case is claimed before its event is written (a crash between the two writes the event on resume), so
        // wait for both; that the event comes last is asserted below
        return list.length === 1 && list[0]!.history.some((e) => e.type === 'case.expired') && list;
      },
      30_000,
    );
    const [{ case: c, history }] = expired as [Awaited<ReturnType<typeof expiredCases>>[number]];
    expect(c.step).toBe(c.ladder.length - 1);
    expect(c.reason).toBe('ladder exhausted');
    const types = history.map((e) => e.type);
    expect(types.filter((t) => t === 'case.escalated')).toHaveLength(c.ladder.length - 1);
    expect(types.at(-1)).toBe('case.expired');
    const res = await api<{ cases: unknown[] }>(host, 'GET', `/campaigns/${campaignId}/expired`);
    expect(res.status).toBe(200);
    expect(res.body.cases).toHaveLength(1);
  });

  it('keeps a notice whose other cases were answered waiting for a case on hold, and runs it again when resumed', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.11,ip,KE,C2 fallback']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    const [held, other] = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    expect((await api(host, 'POST', `/cases/${held!.id}/pause`, { reason: 'law enforcement asked to wait' })).status).toBe(200);
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned', caseIds: [other!.id] });
    const waiting = (await host.store.getNotice(notice.id))!;
    expect(waiting.state).toBe('paused');
    expect(waiting.paused?.reason).toBe('cases paused');

    expect((await api(host, 'POST', `/cases/${held!.id}/resume`, {})).status).toBe(200);
    const again = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    expect(again.round).toBe(2);
    expect((await host.store.getCase(held!.id))?.state).toBe('notified');
    expect(host.workflows.get(`notice-${notice.id}-r2`)?.status).toBe('running');
  });

  it('closes a paused notice once everything in it is answered, and an execution of an earlier round stops', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    await api(host, 'POST', `/campaigns/${campaignId}/pause`, { reason: 'hold' });
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'actioned' });
    expect((await host.store.getNotice(notice.id))?.state).toBe('closed');
    // resuming the campaign restarts nothing for it: no reminder about nothing
    await api(host, 'POST', `/campaigns/${campaignId}/resume`, {});
    expect((await host.store.getNotice(notice.id))).toMatchObject({ state: 'closed', round: 1 });
    // a task of a round that is not the notice's current one does nothing
    const { runTask } = await import('../../lib/core/tasks.js');
    expect(await runTask('NoticeDeadline', host.deps, { noticeId: notice.id, round: 7, undeliverable: true })).toEqual({ next: 'stopped' });
    expect(await runTask('SendNotice', host.deps, { noticeId: notice.id, round: 7 })).toEqual({ next: 'stopped' });
    expect(outbox(host)).toHaveLength(1);
  });

  it('runs the clock again when the party that asked a question acknowledges anyway', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'which port?' });
    expect((await host.store.getNotice(notice.id))?.state).toBe('paused');
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'acknowledged', note: 'found it, working on it' });
    const running = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    expect(running.round).toBe(2);
    expect(Date.parse(running.deadline!) - Date.now()).toBeGreaterThan(running.actionDeadline * 1000 - 60_000);
  });
});

describe('a coordinator escalating by hand', () => {
  it('is refused (409, with the reason) for a notice its recipient acknowledged, unless forced', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server']);
    const notice = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    const [c] = await listAll((p) => host!.store.listCases({ noticeId: notice.id }, p));
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'acknowledged', note: 'on it' });

    const refused = await api<{ error: { code: string; message: string } }>(host, 'POST', `/notices/${notice.id}/escalate`, { reason: 'slow' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.code).toBe('CONTROL.NEEDS_FORCE');
    expect(refused.body.error.message).toMatch(/Example Hosting Ltd acknowledged this case at .+ and is working on it/);
    const caseRefused = await api<{ error: { code: string } }>(host, 'POST', `/cases/${c!.id}/escalate`, { reason: 'slow' });
    expect([caseRefused.status, caseRefused.body.error.code]).toEqual([409, 'CONTROL.NEEDS_FORCE']);
    expect((await host.store.getCase(c!.id))?.state).toBe('acknowledged');
    expect(outbox(host)).toHaveLength(1);

    const forced = await api<{ result: { escalatedTo: string[] } }>(host, 'POST', `/notices/${notice.id}/escalate`, { reason: 'three days and nothing', force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.result.escalatedTo).toHaveLength(1);
    const event = (await host.store.listEvents({ noticeId: notice.id })).find((e) => e.type === 'notice.force-escalated')!;
    expect(event.data).toMatchObject({ forced: true, reason: 'three days and nothing' });
  });

  it('is refused for a notice waiting on a question, and a campaign-wide escalation leaves that notice alone', async () => {
    host = await testHost(1);
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '198.51.100.5,ip,CI,phishing kit host']);
    const asking = await waitingNotice(host, campaignId, 'abuse@hosting.example');
    const silent = await waitingNotice(host, campaignId, 'abuse@demo-dc.example');
    await api(host, 'POST', `/notices/${asking.id}/answers`, { intent: 'needs-info', note: 'which path?' });

    const refused = await api<{ error: { code: string; message: string } }>(host, 'POST', `/notices/${asking.id}/escalate`, { reason: 'slow' });
    expect(refused.status).toBe(409);
    expect(refused.body.error.message).toMatch(/asked a question .*not answered yet/);

    const all = await api<{ result: { notices: number; skipped: { id: string; reason: string }[] } }>(host, 'POST', `/campaigns/${campaignId}/escalate`, { reason: 'deadline of the operation' });
    expect(all.status).toBe(200);
    expect(all.body.result.notices).toBe(1);
    expect(all.body.result.skipped.map((s) => s.id)).toEqual([asking.id]);
    expect((await host.store.getNotice(silent.id))?.state).toBe('escalated');
    expect((await host.store.getNotice(asking.id))?.state).toBe('paused');
  });
});
