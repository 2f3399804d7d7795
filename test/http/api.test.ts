import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Host } from '../../lib/local/host.js';
import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { api, authHeaders, submit, testHost, waitFor } from '../workflows/support.js';

let host: Host & { dispose(): Promise<void> };
let noticeId: string;

beforeAll(async () => {
  host = await testHost(1);
  const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
  noticeId = await waitFor('the notice', async () => (await host.store.listNotices({ campaignId })).items[0]?.id);
});
afterAll(async () => host?.dispose());

type ErrorBody = { error: { code: string; message: string; issues?: { where: string; reason: string }[] } };

describe('POST /notices/{id}/answers', () => {
  it('refuses a body that is not JSON with 400', async () => {
    const res = await api<ErrorBody>(host, 'POST', `/notices/${noticeId}/answers`, '{not json');
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('INPUT.INVALID');
  });

  it('refuses an unknown intent with 400 and names the field', async () => {
    const res = await api<ErrorBody>(host, 'POST', `/notices/${noticeId}/answers`, { intent: 'maybe' });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.map((i) => i.where)).toEqual(['intent']);
  });

  it('refuses fields it does not know with 400', async () => {
    const res = await api<ErrorBody>(host, 'POST', `/notices/${noticeId}/answers`, { intent: 'acknowledged', admin: true });
    expect(res.status).toBe(400);
  });

  it('refuses a case that is not part of the notice with 400', async () => {
    const res = await api<ErrorBody>(host, 'POST', `/notices/${noticeId}/answers`, { intent: 'acknowledged', caseIds: ['cnotmine000000000'] });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.[0]?.reason).toBe('not in this notice');
  });

  it('answers 404 for an unknown notice, even with a valid body', async () => {
    const res = await api<ErrorBody>(host, 'POST', '/notices/n0000000000000000/answers', { intent: 'acknowledged' });
    expect(res.status).toBe(404);
    expect(res.body.error.code).toBe('NOTICE.NOT_FOUND');
  });

  it('answers 404 for an id that cannot be a notice id', async () => {
    const res = await api<ErrorBody>(host, 'POST', '/notices/..%2F..%2Fetc/answers', { intent: 'acknowledged' });
    expect(res.status).toBe(404);
  });

  it('applies a repeated answer once when it carries the same answerId', async () => {
    const first = await api<{ applied: boolean }>(host, 'POST', `/notices/${noticeId}/answers`, { intent: 'acknowledged', answerId: 'ticket-991' });
    const again = await api<{ applied: boolean }>(host, 'POST', `/notices/${noticeId}/answers`, { intent: 'acknowledged', answerId: 'ticket-991' });
    expect([first.status, first.body.applied]).toEqual([200, true]);
    expect([again.status, again.body.applied]).toEqual([200, false]);
    expect(await host.store.listAnswers(noticeId)).toHaveLength(1);
  });
});

describe('POST /campaigns', () => {
  it('refuses a campaign with a bad line with 400, names the line, and stores nothing', async () => {
    const before = (await host.store.listCampaigns()).length;
    const res = await api<ErrorBody>(host, 'POST', '/campaigns', {
      name: 'Bad file',
      submitter: 'tester',
      content: 'indicator,type\n192.0.2.10,ip\n192.0.2.300,ip\n',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.issues?.[0]?.where).toBe('line 3');
    expect(await host.store.listCampaigns()).toHaveLength(before);
  });

  it('answers a submission retried with the same Idempotency-Key with the first campaign, storing nothing new', async () => {
    const body = JSON.stringify({ name: 'Retried', submitter: 'tester', content: '198.51.100.77\n198.51.100.78\n', requireApproval: false });
    const post = () =>
      fetch(`${host.httpUrl}/campaigns`, { method: 'POST', headers: { ...authHeaders(host), 'content-type': 'application/json', 'idempotency-key': 'op-42-batch-1' }, body }).then(
        async (r) => ({ status: r.status, body: (await r.json()) as { campaign: { id: string }; repeated?: boolean } }),
      );
    const first = await post();
    const again = await post();
    expect(first.status).toBe(201);
    expect([again.status, again.body.repeated, again.body.campaign.id]).toEqual([200, true, first.body.campaign.id]);
    const campaigns = (await host.store.listCampaigns()).filter((c) => c.name === 'Retried');
    expect(campaigns).toHaveLength(1);
    const sent = await waitFor('the notice', async () => (await host.store.listNotices({ campaignId: first.body.campaign.id })).items.find((n) => n.state === 'sent'));
    expect(sent.caseCount).toBe(2);
  });

  it('records the caller as the submitter, and a submitter named in the body only as whom it acts for', async () => {
    const bare = await api<{ campaign: { id: string; submitter: string; onBehalfOf?: string } }>(host, 'POST', '/campaigns', { name: 'x', content: '192.0.2.10' });
    expect(bare.status).toBe(201);
    expect([bare.body.campaign.submitter, bare.body.campaign.onBehalfOf]).toEqual([LOCAL_KEY_NAME, undefined]);
    const named = await api<{ campaign: { submitter: string; onBehalfOf?: string } }>(host, 'POST', '/campaigns', { name: 'y', submitter: 'Alice at the CERT', content: '192.0.2.11' });
    expect([named.body.campaign.submitter, named.body.campaign.onBehalfOf]).toEqual([LOCAL_KEY_NAME, 'Alice at the CERT']);
  });

  it('refuses an approval whose body is not JSON with 400 instead of approving as nobody', async () => {
    const campaignId = await submit(host, ['203.0.113.6,ip,ZA,C2'], true);
    await waitFor('the plan', async () => ((await host.store.getCampaign(campaignId))?.state === 'awaiting-approval' ? true : undefined));
    const res = await api<ErrorBody>(host, 'POST', `/campaigns/${campaignId}/approval`, '{"approver": ');
    expect(res.status).toBe(400);
    expect((await host.store.getCampaign(campaignId))?.state).toBe('awaiting-approval');
  });

  it("tells a campaign's state and how many of its notices are out, without its cases, and 404 for an unknown one", async () => {
    const campaignId = await submit(host, ['203.0.113.7,ip,ZA,C2', '198.51.100.9,ip,CI,phishing kit host'], true);
    await waitFor('the plan', async () => ((await host.store.getCampaign(campaignId))?.state === 'awaiting-approval' ? true : undefined));
    const planned = await api<{ campaign: Record<string, unknown>; notices: { out: number; total: number } }>(host, 'GET', `/campaigns/${campaignId}/progress`);
    expect(planned.status).toBe(200);
    expect(planned.body).toStrictEqual({ campaign: { id: campaignId, state: 'awaiting-approval' }, notices: { out: 0, total: 2 } });

    await api(host, 'POST', `/campaigns/${campaignId}/approval`, {});
    const sent = await waitFor('both notices out', async () => {
      const p = await api<{ campaign: { state: string }; notices: { out: number; total: number } }>(host, 'GET', `/campaigns/${campaignId}/progress`);
      return p.body.notices.out === 2 ? p.body : undefined;
    });
    expect(sent.notices.total).toBe(2);
    const states = (await host.store.listNotices({ campaignId })).items.map((n) => n.state);
    expect(states.every((s) => s !== 'planned' && s !== 'sending')).toBe(true);

    // the campaign itself, told: what it went through, not its cases' and notices' events
    const one = await api<{ history: { type: string; actor: string; text: string; bookkeeping?: true }[] }>(host, 'GET', `/campaigns/${campaignId}`);
    const told = one.body.history.filter((h) => !h.bookkeeping);
    expect(told.map((h) => h.type)).toEqual(['campaign.submitted', 'campaign.planned', 'campaign.approved', 'campaign.running']);
    expect(told[1]!.text).toBe('Routing plan built: 2 case(s) in 2 notice(s), 0 indicator(s) unroutable');
    expect(told[3]!.text).toBe('Sending started: 2 notice(s)');
    // the workflow's bookkeeping is there too, marked as such (the sources routing used)
    expect(one.body.history.find((h) => h.type === 'routing.sources')?.bookkeeping).toBe(true);

    const unknown = await api<ErrorBody>(host, 'GET', '/campaigns/cmp_0000000000000000/progress');
    expect([unknown.status, unknown.body.error.code]).toEqual([404, 'CAMPAIGN.NOT_FOUND']);
    const malformed = await api<ErrorBody>(host, 'GET', '/campaigns/..%2F..%2Fetc/progress');
    expect([malformed.status, malformed.body.error.code]).toEqual([404, 'CAMPAIGN.NOT_FOUND']);
  });

  it('answers 404 for the approval of an unknown campaign', async () => {
    const res = await api<ErrorBody>(host, 'POST', '/campaigns/cmp_0000000000000000/approval', {});
    expect(res.status).toBe(404);
  });

  it('never shows the approval task token of a campaign waiting for approval', async () => {
    const campaignId = await submit(host, ['203.0.113.5,ip,ZA,C2'], true);
    await waitFor('the parked approval token', async () => ((await host.store.getCampaign(campaignId))?.approvalToken ? true : undefined));
    const one = await api<{ campaign: Record<string, unknown> }>(host, 'GET', `/campaigns/${campaignId}`);
    const all = await api<{ campaigns: Record<string, unknown>[] }>(host, 'GET', '/campaigns');
    expect(one.body.campaign.state).toBe('awaiting-approval');
    expect(Object.keys(one.body.campaign)).not.toContain('approvalToken');
    expect(all.body.campaigns.flatMap((c) => Object.keys(c))).not.toContain('approvalToken');
  });

  it('never shows a reply-token hash or a task token', async () => {
    const res = await api<{ notice: Record<string, unknown> }>(host, 'GET', `/notices/${noticeId}`);
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.notice)).not.toContain('tokenHash');
    expect(Object.keys(res.body.notice)).not.toContain('taskToken');
  });
});
