import { describe, expect, it } from 'vitest';
import type { Answer, Case, CaseState, Notice, Party } from '../../lib/core/model.js';
import { countsOf, percentile, progressOf, progressOverTime, timeToAction } from '../../lib/core/reports/stats.js';

const SENT = '2026-03-02T08:00:00.000Z';

function party(id: string, name: string, country?: string): Party {
  return { id, kind: 'hosting', name, email: `abuse@${id.replace(/[^a-z]/g, '')}.example`, contactSource: 'directory', ...(country ? { country } : {}) };
}

const acme = party('hosting:acme', 'Acme Hosting', 'KE');
const blue = party('hosting:blue', 'Blue Cloud', 'NG');

function makeCase(id: string, state: CaseState, p: Party, noticeId: string | undefined, country?: string): Case {
  return {
    id,
    campaignId: 'cmp_1',
    indicator: { value: `198.51.100.${id.replace(/\D/g, '') || id.length}`, kind: 'ipv4', host: '198.51.100.1', hostKind: 'ipv4', raw: id, origin: `line ${id}`, ...(country ? { country } : {}) },
    ladder: [{ party: p, answerDeadline: 86400, actionDeadline: 86400, reminders: 1 }],
    step: 0,
    state,
    ...(noticeId ? { noticeId } : {}),
    updatedAt: SENT,
    version: 1,
  };
}

function makeNotice(id: string, p: Party, sentAt?: string): Notice {
  return {
    id,
    campaignId: 'cmp_1',
    party: p,
    step: 0,
    round: 1,
    state: sentAt ? 'sent' : 'planned',
    tag: `TKD-${id}`,
    tokenHash: 'h',
    caseCount: 1,
    answerDeadline: 86400,
    actionDeadline: 86400,
    remindersAllowed: 1,
    remindersSent: 0,
    appliedAnswers: [],
    ...(sentAt ? { sentAt } : {}),
    updatedAt: SENT,
    version: 1,
  };
}

function actioned(noticeId: string, hoursAfterSent: number, caseIds?: string[], intent: Answer['intent'] = 'actioned'): Answer {
  return { id: `a${noticeId}${hoursAfterSent}`, noticeId, intent, source: 'mail', receivedAt: new Date(Date.parse(SENT) + hoursAfterSent * 3600_000).toISOString(), ...(caseIds ? { caseIds } : {}) };
}

describe('percentile', () => {
  it('gives the middle value of an odd count and the mean of the middle two of an even one', () => {
    expect(percentile([1, 2, 3], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 10], 0.5)).toBe(2.5);
  });

  it('interpolates the 90th percentile between the closest ranks', () => {
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBeCloseTo(9.1, 10);
    expect(percentile([42], 0.9)).toBe(42);
  });

  it('refuses an empty list and a p outside 0..1', () => {
    expect(() => percentile([], 0.5)).toThrow(RangeError);
    expect(() => percentile([1], 1.5)).toThrow(RangeError);
  });
});

describe('progressOf', () => {
  it('counts each case at every stage it reached, per country and per provider', () => {
    const notices = [makeNotice('n1', acme, SENT), makeNotice('n2', blue, SENT), makeNotice('n3', blue)];
    const cases = [
      makeCase('c1', 'verified-down', acme, 'n1', 'KE'),
      makeCase('c2', 'actioned', acme, 'n1', 'KE'),
      makeCase('c3', 'acknowledged', acme, 'n1', 'UG'),
      makeCase('c4', 'notified', blue, 'n2', 'NG'),
      makeCase('c5', 'expired', blue, 'n2', 'NG'),
      makeCase('c6', 'open', blue, 'n3'),
    ];
    const p = progressOf(cases, notices);
    expect(p.total).toEqual({ identified: 6, notified: 5, acknowledged: 3, actioned: 2, verifiedDown: 1, expired: 1 });
    expect(p.byProvider.map((r) => [r.label, r.progress.identified, r.progress.notified, r.progress.actioned])).toEqual([
      ['Acme Hosting', 3, 3, 2],
      ['Blue Cloud', 3, 2, 0],
    ]);
    // the indicator's own country first, else its party's
    expect(Object.fromEntries(p.byCountry.map((r) => [r.key, r.progress.identified]))).toEqual({ KE: 2, NG: 3, UG: 1 });
  });

  it('counts a case whose notice went out as notified even when it was paused since', () => {
    const p = progressOf([makeCase('c1', 'paused', acme, 'n1')], [makeNotice('n1', acme, SENT)]);
    expect(p.total.notified).toBe(1);
  });
});

describe('an escalated indicator', () => {
  // the same indicator, first with Acme (escalated), then with the CERT (acknowledged)
  const cert = party('cert:KE', 'KE CERT', 'KE');
  const first = { ...makeCase('c1', 'escalated', acme, 'n1', 'KE'), onward: 'c9' };
  const second: Case = { ...makeCase('c9', 'acknowledged', cert, 'n2', 'KE'), indicator: first.indicator, step: 1, previousCaseId: 'c1', ladder: [first.ladder[0]!, { ...first.ladder[0]!, party: cert }] };
  const other = makeCase('c2', 'notified', acme, 'n1', 'KE');
  const notices = [makeNotice('n1', acme, SENT), makeNotice('n2', cert, SENT)];

  it('counts once in the totals and by country, at the stage it reached; each provider keeps its own case', () => {
    const p = progressOf([first, second, other], notices);
    expect(p.total).toEqual({ identified: 2, notified: 2, acknowledged: 1, actioned: 0, verifiedDown: 0, expired: 0 });
    expect(p.byCountry.map((r) => [r.key, r.progress.identified])).toEqual([['KE', 2]]);
    expect(p.byProvider.map((r) => [r.label, r.progress.identified])).toEqual([
      ['Acme Hosting', 2],
      ['KE CERT', 1],
    ]);
  });

  it('is explained in one line: indicators, the cases they became (with the escalations), the notices', () => {
    const counts = countsOf({ counts: { submitted: 2, indicators: 2, duplicates: 0, unroutable: 0, cases: 2, notices: 1 } }, [first, second, other], notices);
    expect(counts).toMatchObject({ indicators: 2, cases: 3, escalations: 1, notices: 2, sent: 2 });
    expect(counts.line).toBe('2 indicators → 3 cases (1 escalation) → 2 notices');
    const unroutable = countsOf({ counts: { submitted: 3, indicators: 3, duplicates: 0, unroutable: 1, cases: 2, notices: 1 } }, [other], [notices[0]!]);
    expect(unroutable.line).toBe('3 indicators (1 unroutable) → 1 case → 1 notice');
  });

  it('is notified once over time, when its first notice went out', () => {
    const over = progressOverTime([first, second, other], notices, new Map());
    expect(over).toEqual({ from: SENT, notified: [SENT, SENT], actioned: [], verifiedDown: [] });
  });
});

describe('timeToAction', () => {
  it('measures each actioned case from its notice going out to the first answer saying it acted', () => {
    const notices = [makeNotice('n1', acme, SENT), makeNotice('n2', blue, SENT)];
    const cases = [
      makeCase('c1', 'actioned', acme, 'n1'),
      makeCase('c2', 'verified-down', acme, 'n1'),
      makeCase('c3', 'actioned', acme, 'n1'),
      makeCase('c4', 'actioned', blue, 'n2'),
      // answered "actioned" for all cases, but this one had moved on: nothing to measure
      makeCase('c5', 'escalated', blue, 'n2'),
    ];
    const answers = new Map([
      // c1 and c2 at 2 h, c3 at 10 h (a later answer for all does not move c1 and c2)
      ['n1', [actioned('n1', 2, ['c1', 'c2']), actioned('n1', 10), actioned('n1', 1, undefined, 'acknowledged')]],
      ['n2', [actioned('n2', 30)]],
    ]);
    const t = timeToAction(cases, notices, answers);
    expect(t.overall.count).toBe(4);
    expect(t.overall.medianSeconds).toBe(6 * 3600);
    const acmeStats = t.byProvider.find((p) => p.partyId === acme.id)!.stats;
    expect(acmeStats).toEqual({ count: 3, medianSeconds: 2 * 3600, p90Seconds: (2 + 0.8 * 8) * 3600 });
    expect(t.byProvider.find((p) => p.partyId === blue.id)!.stats).toEqual({ count: 1, medianSeconds: 30 * 3600, p90Seconds: 30 * 3600 });
  });

  it('measures nothing for cases actioned without an answer or on a notice never sent', () => {
    const t = timeToAction([makeCase('c1', 'actioned', acme, 'n1'), makeCase('c2', 'actioned', acme, 'n2')], [makeNotice('n1', acme, SENT), makeNotice('n2', acme)], new Map([['n2', [actioned('n2', 1)]]]));
    expect(t.overall).toEqual({ count: 0 });
    expect(t.byProvider).toEqual([]);
  });
});
