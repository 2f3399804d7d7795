import { statSync } from 'node:fs';
import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Notice } from '../../lib/core/model.js';
import type { Deps, Logger } from '../../lib/core/ports.js';
import { listAll } from '../../lib/core/paging.js';
import { submitCampaign } from '../../lib/core/campaign/submit.js';
import { issueAnswerLinks } from '../../lib/core/notices/links.js';
import { createRecipientSecret, RECIPIENT_SECRET_KIND, rotateRecipientSecret, type SecretDeps } from '../../lib/core/answers/recipient-secrets.js';
import { signWebhook } from '../../lib/core/answers/webhooks.js';
import { createApp } from '../../lib/adapters/http/app.js';
import { answerRoutes } from '../../lib/adapters/http/answer-routes.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import type { Host } from '../../lib/local/host.js';
import { testHost, waitFor } from '../workflows/support.js';

/*
 * The recipients' channels over real HTTP on loopback: the host's own app (with the role guard in front) served
 * by @hono/node-server over the embedded host's store and workflows, with a logger that keeps every line so the
 * last test can check that none holds a secret, a token or a signature.
 */

let host: Host & { dispose(): Promise<void> };
const servers: ServerType[] = [];
let url: string;
let recipient: string;
let secret: string;
const logged: string[] = [];
// every secret, token and signature the tests handle: none may appear in a log line
const sensitive: string[] = [];

const capture: Logger = {
  info: (message, fields) => void logged.push(JSON.stringify({ level: 'info', message, ...fields })),
  warn: (message, fields) => void logged.push(JSON.stringify({ level: 'warn', message, ...fields })),
  error: (message, fields) => void logged.push(JSON.stringify({ level: 'error', message, ...fields })),
};

async function listen(app: Hono): Promise<string> {
  const server = await new Promise<ServerType>((ok) => {
    const s = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, () => ok(s));
  });
  servers.push(server);
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return `http://127.0.0.1:${address.port}`;
}

function deps(): Deps {
  return { ...host.deps, log: capture };
}

function secretDeps(clock = new ScaledClock()): SecretDeps {
  return { store: host.store, clock, secrets: host.deps.secrets! };
}

let nextHost = 40;
/** A notice that was sent and whose workflow waits for its answer (one new indicator per call). */
async function waitingNotice(): Promise<Notice> {
  const content = ['indicator,type,country,evidence', `192.0.2.${nextHost++},ip,KE,phishing kit host`].join('\n');
  const campaignId = (await submitCampaign(host.deps, { name: 'Answer routes', submitter: 'tester', content, requireApproval: false })).campaign.id;
  const sent = await waitFor('the notice to be sent', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n;
  });
  return waitFor('the workflow to wait for an answer', async () => {
    const n = await host.store.getNotice(sent.id);
    return n?.taskToken !== undefined && n;
  });
}

const caseStates = async (noticeId: string) => (await listAll((p) => host.store.listCases({ noticeId }, p))).map((c) => c.state);

interface Delivery {
  readonly secret?: string;
  readonly id?: string;
  /** the sender's clock, ms @default now */
  readonly at?: number;
  /** the whole webhook-signature header, instead of one signature with `secret` */
  readonly signature?: string;
  readonly omit?: 'webhook-id' | 'webhook-timestamp' | 'webhook-signature';
  readonly base?: string;
}

let deliveries = 0;
/** POST /webhooks/answers as a recipient's ticket system does; returns the status, the body and what was sent. */
async function deliver(payload: unknown, d: Delivery = {}) {
  const body = typeof payload === 'string' ? payload : JSON.stringify(payload);
  const id = d.id ?? `msg_test${++deliveries}`;
  const ts = Math.floor((d.at ?? Date.now()) / 1000);
  const signature = d.signature ?? signWebhook(d.secret ?? secret, id, ts, body);
  sensitive.push(signature.slice(3));
  const headers: Record<string, string> = { 'content-type': 'application/json', 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': signature };
  if (d.omit) delete headers[d.omit];
  const send = async () => {
    const res = await fetch(`${d.base ?? url}/webhooks/answers`, { method: 'POST', headers, body });
    return { status: res.status, body: (await res.json()) as { error?: { code: string }; applied?: boolean; answer?: { id: string; source: string }; notice?: { state: string } } };
  };
  return { ...(await send()), again: send, id };
}

beforeAll(async () => {
  host = await testHost(1);
  url = await listen(createApp(deps()));
  const first = await waitingNotice();
  recipient = first.party.id;
  secret = (await createRecipientSecret(secretDeps(), recipient)).secret;
  sensitive.push(secret, secret.slice('whsec_'.length));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise<void>((done) => s.close(() => done()))));
  await host?.dispose();
});

describe('POST /webhooks/answers', () => {
  it('applies a signed answer and completes the waiting workflow', async () => {
    const notice = await waitingNotice();
    const res = await deliver({ recipient, noticeId: notice.id, intent: 'actioned', ticket: 'INC-4411', note: 'server wiped' });
    expect(res.status).toBe(201);
    expect([res.body.applied, res.body.answer?.source, res.body.answer?.id]).toEqual([true, 'webhook', `${notice.id}:${res.id}`]);
    expect(await caseStates(notice.id)).toEqual(['actioned']);
    const after = await host.store.getNotice(notice.id);
    expect([after?.state, after?.taskToken]).toEqual(['closed', undefined]);
    const [answer] = await host.store.listAnswers(notice.id);
    expect([answer?.intent, answer?.ticket, answer?.from]).toEqual(['actioned', 'INC-4411', recipient]);
  });

  it('refuses a signature made with another secret with 401 and applies nothing', async () => {
    const notice = await waitingNotice();
    const forger = 'whsec_' + Buffer.alloc(32, 9).toString('base64');
    const res = await deliver({ recipient, noticeId: notice.id, intent: 'actioned' }, { secret: forger });
    expect([res.status, res.body.error?.code]).toEqual([401, 'WEBHOOK.BAD_SIGNATURE']);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    expect(await caseStates(notice.id)).toEqual(['notified']);
  });

  it('refuses a replayed delivery with 401 and applies nothing twice', async () => {
    const notice = await waitingNotice();
    const first = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' });
    const replay = await first.again();
    expect(first.status).toBe(201);
    expect([replay.status, replay.body.error?.code]).toEqual([401, 'WEBHOOK.REPLAYED']);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(1);
    expect((await host.store.getNotice(notice.id))?.appliedAnswers).toHaveLength(1);
  });

  it('takes the retry of a delivery whose host died between marking it seen and storing its answer', async () => {
    // found by reading the route while the chaos run (npm run chaos) counted webhook answers: a retry after such a
    // crash was refused as a replay, and Standard Webhooks senders do not retry a 4xx: the answer was lost
    const notice = await waitingNotice();
    const dead = new Error('the process died');
    const dying = new Proxy(host.store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (prop === 'putAnswer' || prop === 'deleteRecord') return () => Promise.reject(dead);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const dyingUrl = await listen(createApp({ ...deps(), store: dying }));
    const payload = { recipient, noticeId: notice.id, intent: 'actioned', note: 'server wiped' };
    const first = await deliver(payload, { base: dyingUrl, id: 'msg_crash_1' });
    expect(first.status).toBe(500);
    expect(await host.store.listAnswers(notice.id)).toEqual([]);

    const retry = await deliver(payload, { id: 'msg_crash_1' });
    expect(retry.status).toBe(201);
    expect(await caseStates(notice.id)).toEqual(['actioned']);
    // and a replay of it, once stored, is refused as before
    expect((await deliver(payload, { id: 'msg_crash_1' })).status).toBe(401);
  });

  it('refuses a timestamp six minutes old with 401', async () => {
    const notice = await waitingNotice();
    const res = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { at: Date.now() - 6 * 60_000 });
    expect([res.status, res.body.error?.code]).toEqual([401, 'WEBHOOK.STALE']);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
  });

  it('refuses a request without its signature header with 401', async () => {
    const notice = await waitingNotice();
    const res = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { omit: 'webhook-signature' });
    expect([res.status, res.body.error?.code]).toEqual([401, 'WEBHOOK.UNSIGNED']);
  });

  it('refuses an answer for another recipient\'s notice with 403 and applies nothing', async () => {
    const notice = await waitingNotice();
    const other = 'hosting:203.0.113.0/24';
    const otherSecret = (await createRecipientSecret(secretDeps(), other)).secret;
    sensitive.push(otherSecret);
    const res = await deliver({ recipient: other, noticeId: notice.id, intent: 'not-ours' }, { secret: otherSecret });
    expect([res.status, res.body.error?.code]).toEqual([403, 'WEBHOOK.NOT_YOUR_NOTICE']);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    // and our recipient's own secret cannot speak for the other one
    const posing = await deliver({ recipient: other, noticeId: notice.id, intent: 'not-ours' });
    expect(posing.status).toBe(401);
  });

  it('accepts the notice\'s subject tag in place of its id', async () => {
    const notice = await waitingNotice();
    const res = await deliver({ recipient, noticeId: `[${notice.tag}]`, intent: 'acknowledged' });
    expect(res.status).toBe(201);
    expect(await caseStates(notice.id)).toEqual(['acknowledged']);
  });

  it('answers 404 for an unknown notice', async () => {
    const res = await deliver({ recipient, noticeId: 'n0000000000000000', intent: 'acknowledged' });
    expect([res.status, res.body.error?.code]).toEqual([404, 'NOTICE.NOT_FOUND']);
  });

  it('refuses an invalid answer with 400 once signed, and accepts the corrected retry of that delivery', async () => {
    const notice = await waitingNotice();
    const bad = await deliver({ recipient, noticeId: notice.id, intent: 'maybe' }, { id: 'msg_fixed_later' });
    expect(bad.status).toBe(400);
    const fixed = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { id: 'msg_fixed_later' });
    expect(fixed.status).toBe(201);
    expect(await caseStates(notice.id)).toEqual(['acknowledged']);
  });

  it('applies an answer once when a retry comes with a new webhook-id but the same answerId', async () => {
    const notice = await waitingNotice();
    const first = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged', answerId: 'INC-77-ack' });
    const retry = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged', answerId: 'INC-77-ack' });
    expect([first.status, retry.status, retry.body.applied]).toEqual([201, 200, false]);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(1);
  });

  it('accepts the old and the new secret while a rotation is in grace, and only the new one after', async () => {
    const notice = await waitingNotice();
    const rotated = await rotateRecipientSecret(secretDeps(), recipient);
    sensitive.push(rotated.secret);
    const old = secret;
    secret = rotated.secret;
    expect((await deliver({ recipient, noticeId: notice.id, intent: 'received' }, { secret: old })).status).toBe(201);
    expect((await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { secret: rotated.secret })).status).toBe(201);

    // the same routes a day and an hour later by the wall clock
    const later = Date.now() + 25 * 3600_000;
    const lateUrl = await listen(answerRoutes(deps(), { wallClock: new ScaledClock({ anchorDomain: later }) }));
    const oldLate = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { secret: old, at: later, base: lateUrl });
    const newLate = await deliver({ recipient, noticeId: notice.id, intent: 'acknowledged' }, { secret: rotated.secret, at: later, base: lateUrl });
    expect([oldLate.status, oldLate.body.error?.code]).toEqual([401, 'WEBHOOK.BAD_SIGNATURE']);
    expect(newLate.status).toBe(201);
  });

  it('answers 503 with a clear code when the host has no secret store', async () => {
    const bare = await listen(answerRoutes({ ...deps(), secrets: undefined }));
    const res = await deliver({ recipient, noticeId: 'n0000000000000000', intent: 'acknowledged' }, { base: bare });
    expect([res.status, res.body.error?.code]).toEqual([503, 'WEBHOOK.UNAVAILABLE']);
  });
});

describe('GET and POST /links/:token', () => {
  async function links(notice: Notice, ttlSeconds?: number) {
    const issued = await issueAnswerLinks(host.deps, notice, ttlSeconds ? { ttlSeconds } : {});
    const tokens = Object.fromEntries(Object.entries(issued).map(([k, v]) => [k, v.slice(v.lastIndexOf('/') + 1)])) as Record<keyof typeof issued, string>;
    sensitive.push(...Object.values(tokens));
    return tokens;
  }
  const open = async (token: string) => {
    const res = await fetch(`${url}/links/${token}`);
    return { status: res.status, html: await res.text(), headers: res.headers };
  };
  const press = async (token: string, form = 'confirm=yes') => {
    const res = await fetch(`${url}/links/${token}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form });
    return { status: res.status, html: await res.text() };
  };

  it('shows a confirmation page and applies nothing, however often it is opened', async () => {
    const notice = await waitingNotice();
    const { acknowledge } = await links(notice);
    const first = await open(acknowledge);
    await open(acknowledge);
    expect(first.status).toBe(200);
    expect(first.html).toContain('<form method="post">');
    expect(first.html).toContain(notice.tag);
    expect(first.headers.get('referrer-policy')).toBe('no-referrer');
    expect(first.headers.get('cache-control')).toBe('no-store');
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    expect(await caseStates(notice.id)).toEqual(['notified']);
  });

  it('applies once on the page\'s POST and answers 410 to a second use', async () => {
    const notice = await waitingNotice();
    const { actioned } = await links(notice);
    const first = await press(actioned);
    const second = await press(actioned);
    expect(first.status).toBe(200);
    expect(second.status).toBe(410);
    expect(second.html).toContain('already used');
    expect((await open(actioned)).status).toBe(410);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(1);
    expect(await caseStates(notice.id)).toEqual(['actioned']);
    expect((await host.store.getNotice(notice.id))?.state).toBe('closed');
  });

  it('applies nothing on a bare POST that did not come from the page', async () => {
    const notice = await waitingNotice();
    const { notOurs } = await links(notice);
    expect((await press(notOurs, '')).status).toBe(400);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    expect((await press(notOurs)).status).toBe(200);
  });

  it('answers 410 for an expired link and 404 for an unknown one', async () => {
    const notice = await waitingNotice();
    // minted by a clock 31 days behind: expired by the host's
    const past = { ...host.deps, clock: new ScaledClock({ anchorDomain: host.clock.now().getTime() - 31 * 86400_000 }) };
    const issued = await issueAnswerLinks(past, notice);
    const token = issued.acknowledge.slice(issued.acknowledge.lastIndexOf('/') + 1);
    sensitive.push(token);
    const page = await open(token);
    expect([page.status, page.html.includes('expired')]).toEqual([410, true]);
    expect((await press(token)).status).toBe(410);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(0);
    expect((await open('abcdefghjkmnpqrstvwxyz0123456789')).status).toBe(404);
  });
});

describe('secrets and tokens', () => {
  it('keeps the key file private and the stored secret sealed', async () => {
    expect(statSync(host.files.secretKey).mode & 0o077).toBe(0);
    const stored = await host.store.getRecord(RECIPIENT_SECRET_KIND, recipient);
    expect(stored).toBeDefined();
    for (const s of sensitive) expect(stored!.value).not.toContain(s);
  });

  it('logs no secret, token or signature', () => {
    const text = logged.join('\n');
    // the channels did log: refusals and answers
    expect(text).toContain('webhook refused');
    expect(text).toContain('webhook answer');
    expect(text).toContain('link answer');
    expect(sensitive.length).toBeGreaterThan(20);
    for (const s of sensitive) expect(text).not.toContain(s);
  });
});
