import { afterEach, describe, expect, it } from 'vitest';
import { recordAnswer } from '../../lib/core/answers/index.js';
import { CASE_FINISHED } from '../../lib/core/lifecycle.js';
import { noticeDeadline, sendNotice } from '../../lib/core/notices/index.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * One notice escalating to the same party twice: its "not ours" case at once, its other case at the deadline. Found
 * by the property test (test/core/lifecycle.property.test.ts): the second escalation took the notice the first one
 * had joined for its own (a notice's escalatedFrom lists the notice, not the cases), so its case was written into a
 * notice that did not count it, or that had gone out without it and left it open, in nobody's hands.
 */

let sent: SentNotice | undefined;
afterEach(async () => {
  await sent?.close();
  sent = undefined;
});

const HOUR = 3_600_000;

describe('escalateCases', () => {
  it("sends the second escalation of a notice to the same party in a notice of its own once the first one's went out", async () => {
    let realNow = Date.now();
    const clock = new ScaledClock({ realNow: () => realNow });
    sent = await sentNotice({ content: '192.0.2.10\n192.0.2.11\n', clock });
    const { deps, store, notice } = sent;
    const [a, b] = (await store.listCases({ noticeId: notice.id })).items;

    // "not ours" for one case: it goes to the CERT in a notice that gathers, then goes out
    await recordAnswer(deps, notice.id, { intent: 'not-ours', source: 'api', caseIds: [a!.id] });
    const first = (await store.getCase((await store.getCase(a!.id))!.onward!))!;
    realNow += HOUR;
    await sendNotice(deps, first.noticeId!);
    expect((await store.getNotice(first.noticeId!))!.state).toBe('sent');

    // the other case reaches its deadline, a reminder, its deadline again: it goes to the CERT too
    realNow += 24 * HOUR;
    await noticeDeadline(deps, notice.id, false, 1);
    realNow += 24 * HOUR;
    await noticeDeadline(deps, notice.id, false, 1);
    const second = (await store.getCase((await store.getCase(b!.id))!.onward!))!;

    expect(second.noticeId).not.toBe(first.noticeId);
    const carrier = (await store.getNotice(second.noticeId!))!;
    expect(carrier.state).toBe('planned');
    expect(carrier.escalatedFrom).toContain(notice.id);
    realNow += HOUR;
    await sendNotice(deps, carrier.id);
    expect((await store.getCase(second.id))!.state).toBe('notified');
    // every indicator with one party, and every notice counting the cases that name it
    for (const c of (await store.listCases({ campaignId: notice.campaignId })).items) if (!CASE_FINISHED.has(c.state)) expect(c.state).toBe('notified');
    for (const n of (await store.listNotices({ campaignId: notice.campaignId })).items) {
      expect(n.caseCount, n.id).toBe((await store.listCases({ noticeId: n.id })).items.length);
    }
  });

  it('counts the second escalation of a notice to a notice still gathering', async () => {
    let realNow = Date.now();
    const clock = new ScaledClock({ realNow: () => realNow });
    sent = await sentNotice({ content: '192.0.2.10\n192.0.2.11\n', clock });
    const { deps, store, notice } = sent;
    const [a, b] = (await store.listCases({ noticeId: notice.id })).items;

    await recordAnswer(deps, notice.id, { intent: 'not-ours', source: 'api', caseIds: [a!.id] });
    await recordAnswer(deps, notice.id, { intent: 'not-ours', source: 'api', caseIds: [b!.id] });

    const onward = await Promise.all([a!, b!].map(async (c) => (await store.getCase((await store.getCase(c.id))!.onward!))!));
    expect(onward[1]!.noticeId).toBe(onward[0]!.noticeId);
    const gathering = (await store.getNotice(onward[0]!.noticeId!))!;
    expect(gathering.caseCount).toBe(2);
    realNow += HOUR;
    await sendNotice(deps, gathering.id);
    expect(await Promise.all(onward.map(async (c) => (await store.getCase(c.id))!.state))).toEqual(['notified', 'notified']);
  });
});
