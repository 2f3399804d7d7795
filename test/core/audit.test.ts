import { describe, expect, it } from 'vitest';
import { verifyChains } from '../../lib/core/audit/verifier.js';
import { chainOf, eventHash, ZERO_HASH } from '../../lib/core/audit/events.js';
import type { AuditEvent } from '../../lib/core/model.js';

type Spec = { campaignId?: string; caseId?: string; noticeId?: string; type?: string };

/** A trail linked as appendEvent links it: case and notice chains anchored to their campaign's first event. */
function trail(specs: readonly Spec[]): AuditEvent[] {
  const heads = new Map<string, AuditEvent>();
  const roots = new Map<string, string>();
  return specs.map((spec, n) => {
    const campaignId = spec.campaignId ?? 'cmp_a';
    const body = {
      id: `e${String(n).padStart(3, '0')}`,
      campaignId,
      ...(spec.caseId ? { caseId: spec.caseId } : {}),
      ...(spec.noticeId ? { noticeId: spec.noticeId } : {}),
      type: spec.type ?? 'case.noted',
      actor: 'system',
      at: new Date(Date.UTC(2025, 2, 1, 8, n)).toISOString(),
      data: { n, note: 'ünïcode ✓', nested: { list: [1.5, null, true] } },
    };
    const chain = chainOf(body);
    const head = heads.get(chain);
    const root = chain === `campaign:${campaignId}`;
    const prev = head ? head.hash : root ? ZERO_HASH : roots.get(campaignId)!;
    const linked = { ...body, chain, seq: head ? head.seq + 1 : 0, prev };
    const event: AuditEvent = { ...linked, hash: eventHash(linked) };
    heads.set(chain, event);
    if (root && !head) roots.set(campaignId, event.hash);
    return event;
  });
}

const SPECS: Spec[] = [
  { type: 'campaign.submitted' },
  { caseId: 'case_1' },
  { caseId: 'case_2' },
  { noticeId: 'ntc_1' },
  { caseId: 'case_1' },
  { type: 'campaign.planned' },
  { caseId: 'case_1', noticeId: 'ntc_1' },
  { noticeId: 'ntc_1' },
  { caseId: 'case_2' },
];

/** Recompute an event's hash after a change, as someone rewriting one record would. */
function rehash(event: AuditEvent): AuditEvent {
  return { ...event, hash: eventHash(event) };
}

describe('verifyChains', () => {
  it('verifies a trail of one campaign chain and its case and notice chains, and reports every head', () => {
    const events = trail(SPECS);

    const report = verifyChains(events);

    expect(report).toMatchObject({ ok: true, chains: 4, events: 9, brokenChains: 0 });
    expect(report.broken).toBeUndefined();
    expect(report.heads).toStrictEqual({
      'campaign:cmp_a': { seq: 1, hash: events[5]!.hash },
      'case:case_1': { seq: 2, hash: events[6]!.hash },
      'case:case_2': { seq: 1, hash: events[8]!.hash },
      'notice:ntc_1': { seq: 1, hash: events[7]!.hash },
    });
  });

  it('finds one altered byte: a hash mismatch at that event', () => {
    const events = trail(SPECS);
    const json = JSON.stringify(events[4]);
    events[4] = JSON.parse(json.replace('"actor":"system"', '"actor":"systen"')) as AuditEvent;

    expect(verifyChains(events).broken).toStrictEqual({
      chain: 'case:case_1', seq: 1, eventId: 'e004', kind: 'hash-mismatch', detail: expect.any(String),
    });
  });

  it('finds a deleted event: the seq is missing where it was', () => {
    const events = trail(SPECS).filter((e) => e.id !== 'e004');

    expect(verifyChains(events).broken).toMatchObject({ chain: 'case:case_1', seq: 1, eventId: 'e006', kind: 'missing-seq' });
  });

  it('finds two events of a chain swapped: reordered at the first of them', () => {
    const events = trail(SPECS);
    [events[4], events[6]] = [events[6]!, events[4]!];

    expect(verifyChains(events).broken).toMatchObject({ chain: 'case:case_1', seq: 1, eventId: 'e006', kind: 'reordered' });
  });

  it('finds an event rewritten with a fresh hash: the next event no longer points at it', () => {
    const events = trail(SPECS);
    events[4] = rehash({ ...events[4]!, data: { n: 4, note: 'rewritten' } });

    expect(verifyChains(events).broken).toMatchObject({ chain: 'case:case_1', seq: 2, eventId: 'e006', kind: 'wrong-prev' });
  });

  it('finds a case chain anchored to another campaign root: an anchor mismatch', () => {
    const events = trail(SPECS);
    events[2] = rehash({ ...events[2]!, prev: 'f'.repeat(64) });
    events[8] = rehash({ ...events[8]!, prev: events[2]!.hash });

    expect(verifyChains(events).broken).toMatchObject({ chain: 'case:case_2', seq: 0, eventId: 'e002', kind: 'anchor-mismatch' });
  });

  it('finds a deleted campaign root: its chain misses seq 0 and the root is reported first', () => {
    const events = trail(SPECS).filter((e) => e.id !== 'e000');

    const report = verifyChains(events);

    expect(report.broken).toMatchObject({ chain: 'campaign:cmp_a', seq: 0, eventId: 'e005', kind: 'missing-seq' });
    // every case and notice chain lost its anchor with it
    expect(report.brokenChains).toBe(4);
  });

  it('finds a cut-off tail only against a head recorded before, and a vanished chain too', () => {
    const events = trail(SPECS);
    const before = verifyChains(events).heads;
    const cut = events.filter((e) => e.id !== 'e008' && e.id !== 'e003' && e.id !== 'e007');

    expect(verifyChains(cut).ok).toBe(true);
    const report = verifyChains(cut, { heads: before });
    expect(report.broken).toMatchObject({ chain: 'case:case_2', seq: 1, kind: 'truncated' });
    expect(report.brokenChains).toBe(2);
  });

  it('reports an item that is no chain link as unreadable instead of failing', () => {
    const events: unknown[] = [...trail(SPECS)];
    events.splice(3, 0, 'not an event', { chain: 'case:case_1' });

    const report = verifyChains(events);

    expect(report.ok).toBe(false);
    expect(report.broken).toMatchObject({ chain: '(none)', seq: 3, kind: 'unreadable' });
  });
});
