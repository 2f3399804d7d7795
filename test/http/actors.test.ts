import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import { routeKeys } from '../../lib/adapters/http/auth.js';
import { createApp } from '../../lib/adapters/http/app.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { reviewQueue } from '../../lib/core/answers/review-actions.js';
import type { AuditEvent, Notice } from '../../lib/core/model.js';
import { listAll } from '../../lib/core/paging.js';
import { DIRECTORY_AUDIT_ID } from '../../lib/core/routing/index.js';
import type { Host } from '../../lib/local/host.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * Who is recorded as having made a change: on every route that changes something, the authenticated principal
 * (here an API key named "Alice Coordinator"), never a name the body gives; a name in the body ("Mallory") is
 * recorded only beside it, as whom Alice said she acted for. The test walks every mutating route the app has: a
 * route added without being walked here fails the first test.
 */

const ALICE = 'Alice Coordinator';
const MALLORY = 'Mallory';

// routes that change no audited record: their own tests say what they do
const NOT_AUDITED: Readonly<Record<string, string>> = {
  'POST /plans': 'a dry run: stores nothing',
  'POST /ui/login': 'opens a session, changes no campaign',
  'POST /ui/logout': 'closes a session, changes no campaign',
  'POST /webhooks/answers': "a recipient's own channel: the signed recipient is the actor (answer-routes tests)",
  'POST /links/:token': "a recipient's own channel: the link's recipient is the actor (answer-routes tests)",
  'PUT /directory': 'the embedded host reads its directory from a file: 409, nothing changes (test/aws/settings records the caller)',
  'PUT /routing': 'the embedded host reads its routing policy from a file: 409, nothing changes (test/aws/settings)',
  'POST /uploads': 'the embedded host has no upload bucket; the upload record keeps its creator (test/aws/upload)',
};

let host: Host & { dispose(): Promise<void> };
let key: string;
const walked = new Set<string>();

beforeAll(async () => {
  host = await testHost(1);
  key = (await createApiKey(host.store, { role: 'coordinator', name: ALICE })).key;
});
afterAll(async () => host?.dispose());

async function post(path: string, body: Record<string, unknown>, form = false): Promise<{ status: number; text: string }> {
  const res = await fetch(`${host.httpUrl}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { authorization: `Bearer ${key}`, 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(Object.entries(body).map(([k, v]): [string, string] => [k, String(v)])) : JSON.stringify(body),
  });
  return { status: res.status, text: await res.text() };
}

/**
 * Does a request as Alice and checks the events it appended: at least one made by a person, every one of those
 * Alice's, the body's name never an actor, and (where the route takes one) Mallory recorded as whom she acted for.
 */
async function walk(route: string, campaignId: string, request: () => Promise<{ status: number; text: string }>, options: { onBehalf?: boolean } = {}): Promise<AuditEvent[]> {
  const before = new Set((await host.store.listEvents({ campaignId })).map((e) => e.id));
  const res = await request();
  expect(res.status, `${route}: ${res.text.slice(0, 300)}`).toBeLessThan(400);
  const added = (await host.store.listEvents({ campaignId })).filter((e) => !before.has(e.id));
  const byPeople = added.filter((e) => !['system', 'mail', 'sweeper'].includes(e.actor));
  expect(byPeople.length, `${route} recorded no change by a person`).toBeGreaterThan(0);
  for (const e of byPeople) expect([e.type, e.actor], route).toEqual([e.type, ALICE]);
  expect(added.map((e) => e.actor), route).not.toContain(MALLORY);
  if (options.onBehalf !== false) expect(byPeople.some((e) => e.data.onBehalfOf === MALLORY), `${route} did not record whom Alice acted for`).toBe(true);
  walked.add(route);
  return added;
}

async function campaign(lines: string[], requireApproval = false): Promise<string> {
  const id = await submit(host, lines, requireApproval);
  await waitFor('the campaign to settle', async () => {
    const c = await host.store.getCampaign(id);
    if (requireApproval) return c?.state === 'awaiting-approval';
    const notices = await listAll((p) => host.store.listNotices({ campaignId: id }, p));
    return c?.state === 'running' && notices.every((n) => n.state === 'sent' && n.taskToken !== undefined);
  });
  return id;
}

async function noticesOf(campaignId: string): Promise<Notice[]> {
  return listAll((p) => host.store.listNotices({ campaignId }, p));
}

describe('every route that changes something', () => {
  it('records the key that called as the actor, and a name in the body only as whom it acted for', async () => {
    // submit: the submitter is the caller
    const before = new Set((await host.store.listCampaigns()).map((c) => c.id));
    const submitted = await post('/campaigns', { name: 'Actors', submitter: MALLORY, content: 'indicator,type\n192.0.2.60,ip\n', requireApproval: true });
    expect(submitted.status).toBe(201);
    const newId = (await host.store.listCampaigns()).find((c) => !before.has(c.id))!.id;
    const campaignRecord = (await host.store.getCampaign(newId))!;
    expect([campaignRecord.submitter, campaignRecord.onBehalfOf]).toEqual([ALICE, MALLORY]);
    const submittedEvent = (await host.store.listEvents({ campaignId: newId })).find((e) => e.type === 'campaign.submitted')!;
    expect([submittedEvent.actor, submittedEvent.data.onBehalfOf]).toEqual([ALICE, MALLORY]);
    walked.add('POST /campaigns');
    await waitFor('the plan', async () => (await host.store.getCampaign(newId))?.state === 'awaiting-approval');

    // approval, with the older field name that used to become the actor
    await walk('POST /campaigns/:id/approval', newId, () => post(`/campaigns/${newId}/approval`, { approver: MALLORY }));
    expect((await host.store.getCampaign(newId))).toMatchObject({ approvedBy: ALICE, approvedOnBehalfOf: MALLORY });
    const cancelMe = await campaign(['192.0.2.61,ip,KE,x'], true);
    await walk('POST /campaigns/:id/cancellation', cancelMe, () => post(`/campaigns/${cancelMe}/cancellation`, { onBehalfOf: MALLORY, reason: 'wrong file' }));
    const viaUi = await campaign(['192.0.2.62,ip,KE,x'], true);
    await walk('POST /ui/campaigns/:id/approval', viaUi, () => post(`/ui/campaigns/${viaUi}/approval`, {}, true), { onBehalf: false });
    expect((await host.store.getCampaign(viaUi))?.approvedBy).toBe(ALICE);

    // a running campaign: one notice of three cases, and two notices of one
    const run = await campaign(['192.0.2.63,ip,KE,a', '192.0.2.64,ip,KE,b', '192.0.2.65,ip,KE,c', '198.51.100.5,ip,CI,d', '198.51.100.70,ip,MA,e']);
    const notices = await noticesOf(run);
    const big = notices.find((n) => n.caseCount === 3)!;
    const [two, three] = notices.filter((n) => n.caseCount === 1);
    const [k1, k2, k3] = await listAll((p) => host.store.listCases({ noticeId: big.id }, p));
    await walk('POST /cases/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/cases/${k1!.id}/pause`, { by: MALLORY, reason: 'hold' }));
    await walk('POST /cases/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/cases/${k1!.id}/resume`, { onBehalfOf: MALLORY }));
    await walk('POST /cases/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/cases/${k2!.id}/escalate`, { onBehalfOf: MALLORY, reason: 'silent' }));
    await walk('POST /cases/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/cases/${k3!.id}/cancel`, { onBehalfOf: MALLORY, reason: 'false positive' }));
    await walk('POST /notices/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/notices/${two!.id}/pause`, { onBehalfOf: MALLORY, reason: 'hold' }));
    await walk('POST /notices/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/notices/${two!.id}/resume`, { onBehalfOf: MALLORY }));
    await waitFor('the resumed notice to wait again', async () => (await host.store.getNotice(two!.id))?.taskToken !== undefined);
    await walk('POST /notices/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/notices/${two!.id}/escalate`, { onBehalfOf: MALLORY, reason: 'silent' }));
    await walk('POST /notices/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/notices/${three!.id}/cancel`, { onBehalfOf: MALLORY, reason: 'withdrawn' }));

    // answers and questions: an answer entered by hand is recorded as entered by Alice, whose answer it is beside it
    const answered = await walk('POST /notices/:id/answers', run, () => post(`/notices/${big.id}/answers`, { intent: 'needs-info', from: 'abuse@hosting.example', note: 'which path?', onBehalfOf: MALLORY }));
    expect(answered.find((e) => e.type === 'answer.received')?.data).toMatchObject({ from: 'abuse@hosting.example', onBehalfOf: MALLORY });
    await walk('POST /notices/:id/followups', run, () => post(`/notices/${big.id}/followups`, { message: 'The path is /gate.php.', by: MALLORY }));
    await api(host, 'POST', `/notices/${big.id}/answers`, { intent: 'needs-info', note: 'and the port?' });
    await walk('POST /ui/notices/:id/followups', run, () => post(`/ui/notices/${big.id}/followups`, { message: 'Port 8443.' }, true), { onBehalf: false });

    // the review queue: a question dismissed, unmatched mail applied to a notice, from the API and the dashboard
    const question = async () => {
      await api(host, 'POST', `/notices/${big.id}/answers`, { intent: 'needs-info', note: `again ${Math.random()}` });
      return (await reviewQueue(host.deps)).open.find((i) => i.reason === 'needs-info' && i.noticeId === big.id)!.id;
    };
    const stray = async (n: number) => {
      await receiveMail(host.deps, await parseMail(`From: a@elsewhere.example\r\nTo: takedown@reply.example\r\nSubject: actors ${n}\r\nMessage-ID: <actors-${n}@elsewhere.example>\r\n\r\nremoved\r\n`));
      return (await reviewQueue(host.deps)).open.find((i) => i.subject === `actors ${n}`)!.id;
    };
    const q1 = await question();
    await walk('POST /reviews/:id/dismiss', run, () => post(`/reviews/${q1}/dismiss`, { onBehalfOf: MALLORY }));
    const s1 = await stray(1);
    await walk('POST /reviews/:id/apply', run, () => post(`/reviews/${s1}/apply`, { intent: 'acknowledged', noticeId: big.id, by: MALLORY }));
    const q2 = await question();
    await walk('POST /ui/reviews/:id/dismiss', run, () => post(`/ui/reviews/${q2}/dismiss`, {}, true), { onBehalf: false });
    const s2 = await stray(2);
    await walk('POST /ui/reviews/:id/apply', run, () => post(`/ui/reviews/${s2}/apply`, { intent: 'acknowledged', noticeId: big.id }, true), { onBehalf: false });

    // the dashboard's hand on the clock, confirmed with a reason
    await walk('POST /ui/controls/:id', run, () => post(`/ui/controls/${k1!.id}`, { action: 'pause', confirm: 'yes', reason: 'from the dashboard' }, true), { onBehalf: false });
    // a whole campaign, last: pause, resume, escalate (forced over the recipient that acknowledged), cancel
    await walk('POST /campaigns/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/campaigns/${run}/pause`, { onBehalfOf: MALLORY, reason: 'hold' }));
    await walk('POST /campaigns/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/campaigns/${run}/resume`, { onBehalfOf: MALLORY }));
    await walk('POST /campaigns/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/campaigns/${run}/escalate`, { onBehalfOf: MALLORY, reason: 'operation deadline', force: true }));
    await walk('POST /campaigns/:id/:action{pause|resume|cancel|escalate}', run, () => post(`/campaigns/${run}/cancel`, { onBehalfOf: MALLORY, reason: 'operation over' }));

    // run-time settings: who overrode a contact or issued a webhook secret is the caller too
    await walk('POST /contacts/overrides', DIRECTORY_AUDIT_ID, () => post('/contacts/overrides', { target: '192.0.2.0/24', email: 'noc@override.example' }), { onBehalf: false });
    await walk('POST /recipient-secrets', DIRECTORY_AUDIT_ID, () => post('/recipient-secrets', { recipient: 'cert:KE' }), { onBehalf: false });
    await walk('POST /recipient-secrets/rotation', DIRECTORY_AUDIT_ID, () => post('/recipient-secrets/rotation', { recipient: 'cert:KE' }), { onBehalf: false });
    for (const name of ['directory', 'routing']) {
      const res = await fetch(`${host.httpUrl}/${name}`, { method: 'PUT', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: '{}' });
      expect(res.status, `PUT /${name} on the embedded host`).toBe(409);
    }

    const mutating = routeKeys(createApp(host.deps)).filter((k) => !k.startsWith('GET ') && !NOT_AUDITED[k]);
    expect([...walked].sort()).toEqual(mutating.sort());
  });
});
