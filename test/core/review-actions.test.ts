import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMail } from '../../lib/adapters/mail/parse.js';
import { receiveMail } from '../../lib/core/answers/inbound.js';
import { InvalidInputError } from '../../lib/core/errors.js';
import type { Notice } from '../../lib/core/model.js';
import { applyReview, dismissReview, reviewQueue, ReviewResolvedError } from '../../lib/core/answers/review-actions.js';
import type { Host } from '../../lib/local/host.js';
import { submit, testHost, waitFor } from '../workflows/support.js';

let host: Host & { dispose(): Promise<void> };
let notice: Notice;

beforeAll(async () => {
  host = await testHost(1);
  const campaignId = await submit(host, ['198.51.100.5,ip,CI,phishing kit host']);
  notice = await waitFor('the notice', async () => {
    const [n] = (await host.store.listNotices({ campaignId })).items;
    return n?.state === 'sent' && n.taskToken !== undefined && n;
  });
});
afterAll(async () => host?.dispose());

/** Mail from a stranger that names no notice: it can only go to the review queue. */
async function unmatched(n: number): Promise<string> {
  const raw = `From: someone@elsewhere.example\r\nTo: takedown@reply.example\r\nSubject: about your message ${n}\r\nMessage-ID: <stray-${n}@elsewhere.example>\r\n\r\nWe have removed it.\r\n`;
  await receiveMail(host.deps, await parseMail(raw));
  const item = (await reviewQueue(host.deps)).open.find((i) => i.subject === `about your message ${n}`);
  return item!.id;
}

describe('applyReview', () => {
  it('asks which notice an unmatched message answers, then applies it once however often it is sent', async () => {
    const id = await unmatched(1);
    await expect(applyReview(host.deps, id, { intent: 'actioned', by: 'Duty coordinator' })).rejects.toBeInstanceOf(InvalidInputError);
    const first = await applyReview(host.deps, id, { intent: 'actioned', by: 'Duty coordinator', noticeId: `TKD-${notice.id}` });
    const again = await applyReview(host.deps, id, { intent: 'actioned', by: 'Duty coordinator', noticeId: notice.id });
    expect(again).toEqual(first);
    const answers = await host.store.listAnswers(notice.id);
    expect(answers.map((a) => [a.intent, a.source, a.from])).toEqual([['actioned', 'manual', 'Duty coordinator']]);
    expect((await host.store.listEvents({ noticeId: notice.id })).filter((e) => e.type === 'review.applied')).toHaveLength(1);
    const queue = await reviewQueue(host.deps);
    expect(queue.open.map((i) => i.id)).not.toContain(id);
    expect(queue.resolved.find((r) => r.item.id === id)?.resolution).toMatchObject({ action: 'applied', intent: 'actioned', by: 'Duty coordinator' });
  });

  it('refuses an intent that is not one', async () => {
    const id = await unmatched(2);
    await expect(applyReview(host.deps, id, { intent: 'maybe', by: 'x', noticeId: notice.id })).rejects.toBeInstanceOf(InvalidInputError);
  });
});

describe('dismissReview', () => {
  it('sets a message aside without applying anything, and a later apply is refused', async () => {
    const id = await unmatched(3);
    const before = (await host.store.listAnswers(notice.id)).length;
    const dismissed = await dismissReview(host.deps, id, { by: 'Duty coordinator', note: 'spam' });
    expect(dismissed).toMatchObject({ action: 'dismissed', by: 'Duty coordinator', note: 'spam' });
    expect(await dismissReview(host.deps, id, { by: 'someone else' })).toEqual(dismissed);
    await expect(applyReview(host.deps, id, { intent: 'actioned', by: 'x', noticeId: notice.id })).rejects.toBeInstanceOf(ReviewResolvedError);
    expect(await host.store.listAnswers(notice.id)).toHaveLength(before);
  });
});
