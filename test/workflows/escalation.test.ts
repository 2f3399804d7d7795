import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../lib/local/host.js';
import { listAll } from '../../lib/core/paging.js';
import type { Notice } from '../../lib/core/model.js';
import { api, outbox, submit, testHost, waitFor } from './support.js';

const DAY = 86_400;
let host: (Host & { dispose(): Promise<void> }) | undefined;
afterEach(async () => {
  await host?.dispose();
  host = undefined;
});

const notices = (h: Host, campaignId: string): Promise<Notice[]> => listAll((p) => h.store.listNotices({ campaignId }, p));

describe('escalation', () => {
  it('sends one notice to a party that several notices escalate to at once, naming every party asked before', async () => {
    // three hosters in Kenya (examples/directory.yaml), none answers: all three escalate to KE's CERT together.
    // A day passes in 0.1 s, so a few milliseconds between their deadlines are hours of domain time: the window is wide
    host = await testHost(10 * DAY, { config: { rdap: 'off', escalationWindowSeconds: 4 * DAY } });
    const campaignId = await submit(host, ['192.0.2.10,ip,KE,C2 server', '192.0.2.130,ip,KE,C2 server', '198.51.100.10,ip,KE,C2 server']);
    const cert = await waitFor('the escalation to be sent', async () => {
      const all = await notices(host!, campaignId);
      // out of planned and of sending (its send claimed): gone out
      return all.find((n) => n.party.id === 'cert:KE' && n.state !== 'planned' && n.state !== 'sending');
    }, 30_000);
    await waitFor('the first notices to end', async () => (await notices(host!, campaignId)).filter((n) => n.step === 0).every((n) => n.state === 'escalated'));

    const all = await notices(host, campaignId);
    const first = all.filter((n) => n.step === 0);
    expect(first).toHaveLength(3);
    // one notice to the CERT, carrying the three cases and naming the three parties asked before
    expect(all.filter((n) => n.party.id === 'cert:KE')).toHaveLength(1);
    expect(cert.caseCount).toBe(3);
    expect([...cert.escalatedFrom!].sort()).toEqual(first.map((n) => n.id).sort());
    const toCert = outbox(host).filter((m) => m.header('To') === 'incidents@cert-ke.example');
    expect(toCert).toHaveLength(1);
    const text = toCert[0]!.raw.replace(/=\r\n/g, '').replace(/\s+/g, ' ');
    for (const n of first) expect(text).toContain(n.party.name);
    for (const value of ['192.0.2.10', '192.0.2.130', '198.51.100.10']) expect(text).toContain(value);
  }, 45_000);

  it('ends a notice whose open cases have no party left as exhausted, and the campaign as done once every case is finished', async () => {
    // no CERT for ZZ and no upstream with RDAP off: the hosting network is the whole ladder
    host = await testHost(10 * DAY, { config: { rdap: 'off' } });
    const campaignId = await submit(host, ['192.0.2.10,ip,ZZ,C2 server']);
    const notice = await waitFor('the notice to end', async () => {
      const [n] = await notices(host!, campaignId);
      if (!n || ['planned', 'sending', 'sent'].includes(n.state)) return undefined;
      // the notice's end is written before its event: wait for the event of the state it ended in too
      return (await host!.store.listEvents({ noticeId: n.id })).some((e) => e.type === `notice.${n.state}`) ? n : undefined;
    }, 30_000);
    expect(notice.state).toBe('exhausted');
    const types = (await host.store.listEvents({ noticeId: notice.id })).map((e) => e.type);
    expect(types).toContain('notice.exhausted');
    expect(types).not.toContain('notice.escalated');
    expect(await notices(host, campaignId)).toHaveLength(1);
    const campaign = await waitFor('the campaign to be done', async () => {
      const c = await host!.store.getCampaign(campaignId);
      return c?.state === 'done' ? c : undefined;
    });
    expect(campaign.state).toBe('done');
    // the state is written before its event: a loaded machine can read one without the other for a moment
    await waitFor('the campaign.done event', async () => (await host!.store.listEvents({ campaignId })).some((e) => e.type === 'campaign.done'));
  }, 45_000);
});

describe('late answers', () => {
  it("counts a late 'taken down' from the first party: actioned where the case now stands, the party it went to told in its language, that notice closed", async () => {
    // Demo Datacentre SARL (Côte d'Ivoire) does not answer in time; the case goes on to CI's CERT, which writes French
    host = await testHost(10 * DAY, { config: { rdap: 'off', escalationWindowSeconds: 1 } });
    const campaignId = await submit(host, ['198.51.100.10,ip,CI,C2 server']);
    const cert = await waitFor('the escalation to be sent', async () => (await notices(host!, campaignId)).find((n) => n.party.id === 'cert:CI' && n.state === 'sent'), 30_000);
    const first = (await notices(host, campaignId)).find((n) => n.step === 0)!;
    expect(first.state).toBe('escalated');

    // the hoster answers a day late: "removed"
    const late = await api(host, 'POST', `/notices/${first.id}/answers`, { intent: 'actioned', note: 'server removed yesterday' });
    expect(late.status).toBeLessThan(300);

    const closed = await waitFor('the CERT notice to close', async () => {
      const n = await host!.store.getNotice(cert.id);
      return n?.state === 'closed' ? n : undefined;
    });
    expect(closed.state).toBe('closed');
    const cases = await listAll((p) => host!.store.listCases({ campaignId }, p));
    expect(cases.find((c) => c.step === 0)?.state).toBe('escalated');
    expect(cases.find((c) => c.step === 1)).toMatchObject({ state: 'actioned', reason: expect.stringContaining('Demo Datacentre SARL') });
    // the CERT is told, in French and English, that nothing is needed from it
    const told = outbox(host).filter((m) => m.header('To') === 'incidents@cert-ci.example');
    expect(told).toHaveLength(2);
    const text = told[1]!.raw.replace(/=\r\n/g, '');
    expect(told[1]!.header('Subject')).toMatch(/R=C3=A9solu|Résolu/);
    expect(text).toContain('No action is needed from you');
    const events = await host.store.listEvents({ campaignId });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['case.late-answer', 'case.resolved-upstream', 'notice.resolved-upstream']));
  }, 45_000);
});
