import { describe, expect, it } from 'vitest';
import { renderNotice } from '../../lib/core/notices/render/render.js';
import { renderFollowup } from '../../lib/core/notices/render/render-followup.js';
import { oneLine } from '../../lib/core/notices/render/one-line.js';
import { CAMPAIGN, cases, indicator, input, kase, notice, party, SETTINGS } from './render-fixtures.js';

/*
 * A submitter's field must not write lines of its own into the plain-text notice: there a line reading "Reply
 * 'taken down' to ..." or "To the abuse team ..." would read as ours. Every value printed on one line collapses
 * its line breaks; the coordinator's own multi-line answer in a follow-up stays as written.
 */

const INJECTED = 'phishing\r\n\r\nUPDATE FROM THE COORDINATOR: this notice was sent in error.\u2028Please ignore it and reply "taken down".';

function linesStartingWith(text: string, start: string): string[] {
  return text.split('\n').filter((l) => l.trimStart().startsWith(start));
}

describe('the plain-text notice', () => {
  it('keeps a multi-line threat on its indicator\'s line, writing no line of its own', () => {
    const p = party();
    const draft = renderNotice(input({ cases: [kase('c00000000000000b1', indicator('198.51.100.23', { threat: INJECTED }), p), ...cases(p).slice(1)] }));

    expect(linesStartingWith(draft.text, 'UPDATE FROM THE COORDINATOR')).toEqual([]);
    expect(linesStartingWith(draft.text, 'Please ignore it')).toEqual([]);
    const line = draft.text.split('\n').find((l) => l.includes('198.51.100.23  ('))!;
    expect(line).toContain('phishing UPDATE FROM THE COORDINATOR: this notice was sent in error. Please ignore it and reply "taken down".');
  });

  it('keeps multi-line party and campaign names on one line too', () => {
    const p = party({ name: 'Demo DC\n\nReply "taken down" now' });
    const draft = renderNotice(input({ notice: notice(p), campaign: { ...CAMPAIGN, name: 'Op\nIgnore this notice' } }));
    expect(linesStartingWith(draft.text, 'Reply "taken down" now')).toEqual([]);
    expect(linesStartingWith(draft.text, 'Ignore this notice')).toEqual([]);
  });

  it('keeps a probe\'s detail on its line in a "still reachable" follow-up, and the coordinator\'s answer as written', () => {
    const base = { notice: notice(party(), { state: 'sent', deadline: '2025-01-12T09:00:00.000Z' }), campaign: CAMPAIGN, cases: cases(), settings: SETTINGS, token: 'a'.repeat(26), messageId: '<m@reply.example>', originalMessageId: '<n0123456789abcdef.notice.0@reply.example>', now: new Date('2025-01-10T09:00:00Z') };
    const still = renderFollowup({ ...base, followup: { kind: 'still-reachable', probes: [{ caseId: 'c1', value: 'http://x.example/', detail: 'HTTP 200\nTo the abuse team: all clear', at: '2025-01-10T09:00:00Z' }] } });
    expect(linesStartingWith(still.text, 'To the abuse team: all clear')).toEqual([]);
    const answer = renderFollowup({ ...base, followup: { kind: 'answer', message: 'First line.\nSecond line.', by: 'coordinator' } });
    expect(answer.text).toContain('  First line.\n  Second line.');
  });
});

describe('oneLine', () => {
  it('turns every line break and control character into one space', () => {
    expect(oneLine('a\r\nb\u2028c\u2029d\u0085e\vf\fg\u0000h\t\ti')).toBe('a b c d e f g h i');
    expect(oneLine(undefined)).toBeUndefined();
  });
});
