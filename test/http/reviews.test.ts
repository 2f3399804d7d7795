import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey } from '../../lib/adapters/http/api-keys.js';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { reviewQueue } from '../../lib/core/answers/review-actions.js';
import type { Notice } from '../../lib/core/model.js';
import type { Host } from '../../lib/local/host.js';
import { LOCAL_KEY_NAME } from '../../lib/local/keys.js';
import { runCli } from '../e2e/support.js';
import { api, submit, testHost, waitFor } from '../workflows/support.js';

/*
 * The review queue worked from everywhere: a recipient's question is an item without a classification, and the
 * dashboard's list of it used to answer 500 for everyone; the API and the CLI could neither show nor decide one;
 * a follow-up or a later answer left the question on the queue for good.
 */

let host: Host & { dispose(): Promise<void> };
let coordinator: string;

beforeAll(async () => {
  host = await testHost(1);
  coordinator = (await createApiKey(host.store, { role: 'coordinator', name: 'Duty coordinator' })).key;
});
afterAll(async () => host?.dispose());

async function sentNotice(line: string): Promise<Notice> {
  const campaignId = await submit(host, [line]);
  return waitFor('the notice', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
}

async function call<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${host.httpUrl}${path}`, {
    method,
    headers: { authorization: `Bearer ${coordinator}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

async function openItem(reason: string, noticeId?: string): Promise<string> {
  const item = (await reviewQueue(host.deps)).open.find((i) => i.reason === reason && (noticeId === undefined || i.noticeId === noticeId));
  expect(item, `an open ${reason} item`).toBeDefined();
  return item!.id;
}

describe('a question on the review queue', () => {
  it('renders on the dashboard page, and a follow-up in the thread settles it', async () => {
    const notice = await sentNotice('192.0.2.10,ip,KE,C2 server');
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'Which path serves the kit?' });
    const id = await openItem('needs-info', notice.id);

    const page = await fetch(`${host.httpUrl}/ui/reviews`, { headers: { authorization: `Bearer ${coordinator}` } });
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('The recipient asked a question');
    expect(html).toContain('Which path serves the kit?');
    expect(html).toContain(`action="/ui/notices/${notice.id}/followups"`);

    const followed = await call('POST', `/notices/${notice.id}/followups`, { message: 'The path is /gate.php.' });
    expect(followed.status).toBe(201);
    const queue = await reviewQueue(host.deps);
    expect(queue.open.map((i) => i.id)).not.toContain(id);
    expect(queue.resolved.find((r) => r.item.id === id)?.resolution).toMatchObject({ action: 'settled', by: 'Duty coordinator', how: expect.stringContaining('follow-up') });
  });

  it('is settled when the recipient answers again, and applying the question itself is not contradicted', async () => {
    const notice = await sentNotice('192.0.2.20,ip,KE,C2 server');
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'Evidence please.' });
    const first = await openItem('needs-info', notice.id);
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'acknowledged', note: 'found it' });
    expect((await reviewQueue(host.deps)).resolved.find((r) => r.item.id === first)?.resolution).toMatchObject({ action: 'settled', how: expect.stringContaining('acknowledged') });

    const other = await sentNotice('192.0.2.30,ip,KE,C2 server');
    await api(host, 'POST', `/notices/${other.id}/answers`, { intent: 'needs-info', note: 'Which port?' });
    const second = await openItem('needs-info', other.id);
    // a person reads the question as an acknowledgement: the item is applied, not settled by its own answer
    const applied = await call<{ resolution: { action: string; by: string } }>('POST', `/reviews/${second}/apply`, { intent: 'acknowledged' });
    expect(applied.status).toBe(200);
    expect(applied.body.resolution).toMatchObject({ action: 'applied', by: 'Duty coordinator' });
  });
});

describe('the review API', () => {
  async function unmatched(n: number): Promise<string> {
    const raw = `From: someone@elsewhere.example\r\nTo: takedown@reply.example\r\nSubject: stray ${n}\r\nMessage-ID: <stray-api-${n}@elsewhere.example>\r\n\r\nWe removed it.\r\n`;
    await receiveMail(host.deps, await parseMail(raw));
    return (await reviewQueue(host.deps)).open.find((i) => i.subject === `stray ${n}`)!.id;
  }

  it('shows an item, applies it to the notice a person names, and refuses to dismiss it afterwards', async () => {
    const notice = await sentNotice('192.0.2.40,ip,KE,C2 server');
    const id = await unmatched(1);
    const shown = await call<{ item: { id: string; reason: string }; resolution?: unknown }>('GET', `/reviews/${id}`);
    expect([shown.status, shown.body.item.reason, shown.body.resolution]).toEqual([200, 'unmatched', undefined]);

    const missing = await call<{ error: { issues: { where: string }[] } }>('POST', `/reviews/${id}/apply`, { intent: 'actioned' });
    expect(missing.status).toBe(400);
    expect(missing.body.error.issues.map((i) => i.where)).toEqual(['noticeId']);
    const applied = await call('POST', `/reviews/${id}/apply`, { intent: 'actioned', noticeId: `TKD-${notice.id}`, onBehalfOf: 'night shift' });
    expect(applied.status).toBe(200);
    expect(applied.body.resolution).toMatchObject({ action: 'applied', intent: 'actioned', noticeId: notice.id, by: 'Duty coordinator', onBehalfOf: 'night shift' });
    expect((await call('POST', `/reviews/${id}/dismiss`, {})).status).toBe(409);
    expect((await call('GET', '/reviews/r_nosuchitem')).status).toBe(404);
  });

  it('dismisses an item with the caller as who decided', async () => {
    const id = await unmatched(2);
    const dismissed = await call('POST', `/reviews/${id}/dismiss`, { note: 'spam' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body.resolution).toMatchObject({ action: 'dismissed', by: 'Duty coordinator', note: 'spam' });
    expect((await call('POST', `/reviews/${id}/dismiss`, { unexpected: 1 })).status).toBe(400);
  });
});

describe('takedown review', () => {
  it('lists, shows, applies and dismisses through the running host, recorded as the CLI user', async () => {
    const notice = await sentNotice('192.0.2.50,ip,KE,C2 server');
    await api(host, 'POST', `/notices/${notice.id}/answers`, { intent: 'needs-info', note: 'More logs?' });
    const question = await openItem('needs-info', notice.id);
    const raw = `From: x@elsewhere.example\r\nTo: takedown@reply.example\r\nSubject: stray cli\r\nMessage-ID: <stray-cli@elsewhere.example>\r\n\r\nhello\r\n`;
    await receiveMail(host.deps, await parseMail(raw));
    const stray = (await reviewQueue(host.deps)).open.find((i) => i.subject === 'stray cli')!.id;
    const dir = ['--data-dir', host.files.dataDir];

    const list = await runCli(['review', 'list', ...dir]);
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout).toContain(question);
    expect(list.stdout).toMatch(/needs-info\s+\(no message\)/);
    const show = await runCli(['review', 'show', question, ...dir]);
    expect(show.stdout).toMatch(/their words:\s+More logs\?/);

    const applied = await runCli(['review', 'apply', question, '--intent', 'acknowledged', '--as', 'the night desk', ...dir]);
    expect(applied.code, applied.stderr).toBe(0);
    const dismissed = await runCli(['review', 'dismiss', stray, '--note', 'not ours to read', ...dir]);
    expect(dismissed.code, dismissed.stderr).toBe(0);
    const resolved = (await reviewQueue(host.deps)).resolved;
    expect(resolved.find((r) => r.item.id === question)?.resolution).toMatchObject({ action: 'applied', by: LOCAL_KEY_NAME, onBehalfOf: 'the night desk' });
    expect(resolved.find((r) => r.item.id === stray)?.resolution).toMatchObject({ action: 'dismissed', by: LOCAL_KEY_NAME });
    const unknown = await runCli(['review', 'show', 'r_nosuchitem', ...dir]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('takedown review list --data-dir');
  });
});
