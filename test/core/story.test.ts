import { describe, expect, it } from 'vitest';
import { disagreementOf, fillTemplate, sentence, storyLine, type StoryNames } from '../../lib/core/audit/story.js';
import type { TimelineEntry } from '../../lib/core/audit/timeline.js';
import type { AuditEvent } from '../../lib/core/model.js';

/*
 * A case's history in sentences a coordinator reads without opening JSON: what was sent to whom, what came back,
 * what the probes saw, who escalated and why.
 */

const AT = '2026-03-02T08:00:00.000Z';
const names: StoryNames = { party: (id) => ({ 'hosting:192.0.2.0/24': 'Example Hosting Ltd', 'cert:KE': 'KE CERT' })[id ?? ''] };

function event(type: string, data: Record<string, unknown>, actor = 'system'): TimelineEntry {
  const e: AuditEvent = { id: 'e1', campaignId: 'cmp_1', type, actor, at: AT, data, chain: 'case:c1', seq: 0, prev: '0', hash: 'h' };
  return { kind: 'event', at: AT, event: e };
}

const told = (entry: TimelineEntry) => sentence(storyLine(entry, names));

describe('a case told in sentences', () => {
  it('says to whom a notice went and when the answer is due', () => {
    expect(told(event('notice.sent', { to: 'abuse@hosting.example', party: 'hosting:192.0.2.0/24', cases: 2, deadline: '2026-03-03T08:00:00.000Z' }))).toBe(
      'Notice sent to Example Hosting Ltd <abuse@hosting.example>, 2 case(s); answer due 2026-03-03 08:00 UTC',
    );
  });

  it('says an auto-reply came, with the ticket it gave', () => {
    const entry: TimelineEntry = { kind: 'answer', at: AT, answer: { id: 'a1', noticeId: 'n1', intent: 'received', source: 'mail', ticket: '4711', receivedAt: AT } };
    expect(told(entry)).toBe('Auto-reply received, ticket 4711');
  });

  it('names who took a case down, how they said so, and their ticket', () => {
    const entry: TimelineEntry = { kind: 'answer', at: AT, answer: { id: 'a2', noticeId: 'n1', intent: 'actioned', source: 'webhook', from: 'hosting:192.0.2.0/24', ticket: 'INC-1', receivedAt: AT } };
    expect(storyLine(entry, names)).toMatchObject({ tone: 'good' });
    expect(told(entry)).toBe('Taken down by webhook, from hosting:192.0.2.0/24, ticket INC-1');
  });

  it('names the party an escalation went to, and why', () => {
    expect(told(event('case.escalated', { reason: 'no answer by 2026-03-03T08:00:00.000Z', next: 'cert:KE' }))).toBe('Escalated to KE CERT: no answer by 2026-03-03T08:00:00.000Z');
    expect(told(event('case.force-escalated', { reason: 'the host ignores us' }, 'Alice'))).toBe('Escalated by hand by Alice: the host ignores us');
  });

  it("quotes a refusal in the server's own words, and says whose refusal it was", () => {
    const refusal = { scope: 'recipient', code: 550, enhanced: '5.1.1', text: 'mailbox unknown' };
    expect(told(event('message.refused', { refusal }))).toBe("Refused by the recipient's server: 550 5.1.1 mailbox unknown");
    expect(storyLine(event('message.refused', { refusal }), names).tone).toBe('bad');
    expect(told(event('sending.halted', { refusal: { scope: 'sender', code: 554, enhanced: '5.7.1', text: 'Relay access denied' } }))).toBe('Sending halted: 554 5.7.1 Relay access denied');
  });

  it('says what the probes saw', () => {
    expect(told(event('probe.result', { method: 'http', live: true, conclusive: true, detail: 'HTTP 200, the evidence page' }))).toBe('Probe (http): still live, HTTP 200, the evidence page');
    expect(told(event('case.verified-down', { detail: 'NXDOMAIN' }))).toBe('Verified down: NXDOMAIN');
  });

  it('folds away what is bookkeeping (a message accepted, a workflow history) and keeps it for the raw record', () => {
    expect(storyLine(event('workflow.history', { name: 'notice-n1-r1', status: 'succeeded' }), names).bookkeeping).toBe(true);
    expect(storyLine(event('notice.sent', { to: 'x' }), names).bookkeeping).toBeUndefined();
  });

  it('fills only the slots it has values for', () => {
    expect(fillTemplate('{a} and {b}', { a: 1 })).toBe('1 and {b}');
  });
});

describe('a disagreement between a party and the probes', () => {
  const probe = { live: true, detail: 'HTTP 200', at: AT };

  it('is shown when the party said it took it down and the last probe finds it live', () => {
    expect(disagreementOf({ state: 'notified', probe }, true, 'Example Hosting Ltd')).toEqual({
      template: '{party} says it is down; the probe at {at} says it is live: {detail}',
      values: { party: 'Example Hosting Ltd', at: '2026-03-02 08:00 UTC', detail: 'HTTP 200' },
    });
  });

  it('is none when nobody said down, or the probe agrees', () => {
    expect(disagreementOf({ state: 'notified', probe }, false, 'x')).toBeUndefined();
    expect(disagreementOf({ state: 'verified-down', probe: { ...probe, live: false } }, true, 'x')).toBeUndefined();
  });
});
