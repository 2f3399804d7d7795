import { afterEach, describe, expect, it } from 'vitest';
import { noticeDeadline } from '../../lib/core/notices/index.js';
import { recordAnswer } from '../../lib/core/answers/index.js';
import { listAll } from '../../lib/core/paging.js';
import type { Deps, Store } from '../../lib/core/ports.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/**
 * Claim, then act: a step that sends (a reminder) or hands cases on (an escalation) claims its notice or cases by a
 * versioned write first, so an answer that lands between the step's read and its act wins. The answer is slipped in
 * at that exact moment: when the step lists the notice's cases.
 */

let sent: SentNotice | undefined;
afterEach(async () => {
  await sent?.close();
  sent = undefined;
});

/** The deps at a moment past the notice's deadline, with the answer landing when the step reads the cases. */
function pastDeadlineWithAnswer(s: SentNotice, intent: 'actioned' | 'acknowledged'): Deps {
  const deadline = Date.parse(s.notice.deadline!);
  let answered = false;
  const store = new Proxy(s.store, {
    get(target, key, receiver) {
      const value = Reflect.get(target, key, receiver) as unknown;
      if (key !== 'listCases' || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      return async (...args: Parameters<Store['listCases']>) => {
        const page = await (value as Store['listCases']).apply(target, args);
        if (!answered) {
          answered = true;
          await recordAnswer(s.deps, s.notice.id, { intent, source: 'api', answerId: 'racing-answer' });
        }
        return page;
      };
    },
  }) as Store;
  return { ...s.deps, store, clock: { now: () => new Date(deadline + 1000), engineSeconds: (x: number) => x } };
}

describe('claim, then act', () => {
  it('sends no reminder when an answer closed the notice between the deadline step reading it and sending', async () => {
    sent = await sentNotice();
    const deps = pastDeadlineWithAnswer(sent, 'actioned');

    await noticeDeadline(deps, sent.notice.id, false);

    expect((await sent.store.listOutbound(sent.notice.id)).map((o) => o.kind)).toEqual(['notice']);
    expect((await sent.store.getNotice(sent.notice.id))?.state).toBe('closed');
  });

  it('hands on no case an answer reached first, and records no escalation for it', async () => {
    sent = await sentNotice();
    // no reminder left: the deadline escalates
    await sent.store.saveNotice({ ...sent.notice, remindersSent: sent.notice.remindersAllowed, version: sent.notice.version + 1 });
    const deps = pastDeadlineWithAnswer(sent, 'actioned');

    await noticeDeadline(deps, sent.notice.id, false);

    const cases = await listAll((p) => sent!.store.listCases({ campaignId: sent!.notice.campaignId }, p));
    // one case, actioned by its party; nobody else was asked (the old step made a case at the CERT too)
    expect(cases.map((c) => [c.step, c.state])).toEqual([[0, 'actioned']]);
    const types = (await sent.store.listEvents({ campaignId: sent.notice.campaignId })).map((e) => e.type);
    expect(types).not.toContain('case.escalated');
    expect((await sent.store.listNotices({ campaignId: sent.notice.campaignId })).items).toHaveLength(1);
  });
});
