import { afterEach, describe, expect, it } from 'vitest';
import type { Host } from '../../lib/local/host.js';
import { listAll } from '../../lib/core/paging.js';
import type { Notice } from '../../lib/core/model.js';
import { outbox, submit, testHost, waitFor } from './support.js';

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
      return all.find((n) => n.party.id === 'cert:KE' && n.state !== 'planned');
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
      return n && !['planned', 'sent'].includes(n.state) ? n : undefined;
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
