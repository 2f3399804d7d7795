import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AlreadyExistsError, InvalidInputError, StaleWriteError } from '../../lib/core/errors.js';
import {
  Answer,
  AuditEvent,
  Campaign,
  CampaignIndicator,
  Case,
  type CaseState,
  ContactOverride,
  Notice,
  type NoticeState,
  Outbound,
} from '../../lib/core/model.js';
import type { CachedLookup, Page, PageRequest, Store } from '../../lib/core/ports.js';
import { ReviewItem } from '../../lib/core/answers/review.js';
import { verifyCampaign } from '../../lib/core/audit/verifier.js';
import { campaignCounts } from '../../lib/core/reports/stats.js';
import { sendingProgress } from '../../lib/core/reports/status.js';
import { appendEvent, appendEvents, chainOf, CHAIN_SLOT_TAKEN, eventHash, GENESIS_TYPE, ZERO_HASH } from '../../lib/core/audit/events.js';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';

/*
 * The one behaviour every Store adapter must have. Fixtures go through the zod schemas so they stay records the
 * commands could really store. Kept to tens of items: dynalite manages ~600 conditional writes a second.
 */

const T0 = Date.parse('2025-03-01T08:00:00.000Z');

/** ISO time `minutes` after a fixed start. */
function at(minutes: number): string {
  return new Date(T0 + minutes * 60_000).toISOString();
}

function ip(n: number): string {
  return `198.51.100.${n}`;
}

function indicatorFor(value: string, origin = 'line 1') {
  return { value, kind: 'ipv4', host: value, hostKind: 'ipv4', country: 'KE', threat: 'c2', raw: value, origin } as const;
}

const hostingParty = {
  id: 'hosting:198.51.100.0/24',
  kind: 'hosting',
  name: 'Example Hosting Ltd',
  country: 'KE',
  email: 'abuse@hosting.example',
  contactSource: 'rdap',
  matchedBy: '198.51.100.0/24',
} as const;

function makeCampaign(id: string, overrides: Partial<Campaign> = {}): Campaign {
  return Campaign.parse({
    id,
    name: 'Operation Contract',
    tlp: 'AMBER',
    legalBasis: 'Budapest Convention art. 35',
    submitter: 'coordinator@cert.example',
    source: { format: 'csv', name: 'iocs.csv' },
    requireApproval: true,
    state: 'routing',
    createdAt: at(0),
    counts: { submitted: 3, indicators: 3, duplicates: 0, unroutable: 0, cases: 0, notices: 0 },
    version: 1,
    ...overrides,
  });
}

function makeIndicator(campaignId: string, seq: number, value = ip(seq % 250)): CampaignIndicator {
  return CampaignIndicator.parse({ campaignId, seq, indicator: indicatorFor(value, `line ${seq + 1}`) });
}

export function makeCase(
  id: string,
  options: { campaignId: string; value?: string; state?: CaseState; noticeId?: string; version?: number },
): Case {
  return Case.parse({
    id,
    campaignId: options.campaignId,
    indicator: indicatorFor(options.value ?? ip(7)),
    ladder: [{ party: hostingParty, answerDeadline: 172_800, actionDeadline: 259_200, reminders: 1 }],
    step: 0,
    state: options.state ?? 'open',
    ...(options.noticeId === undefined ? {} : { noticeId: options.noticeId }),
    updatedAt: at(1),
    version: options.version ?? 1,
  });
}

export function makeNotice(id: string, options: { campaignId: string; state?: NoticeState; version?: number }): Notice {
  return Notice.parse({
    id,
    campaignId: options.campaignId,
    party: hostingParty,
    step: 0,
    round: 1,
    state: options.state ?? 'planned',
    tag: `TKD-${id}`,
    tokenHash: 'a'.repeat(64),
    caseCount: 2,
    answerDeadline: 172_800,
    actionDeadline: 259_200,
    remindersAllowed: 1,
    remindersSent: 0,
    updatedAt: at(2),
    version: options.version ?? 1,
  });
}

export function makeOutbound(noticeId: string, kind: 'notice' | 'reminder', n: number, createdAt: string): Outbound {
  return Outbound.parse({
    id: `${noticeId}.${kind}.${n}`,
    noticeId,
    kind,
    n,
    state: 'sending',
    to: 'abuse@hosting.example',
    from: 'takedown@cert.example',
    messageId: `<${noticeId}.${kind}.${n}@cert.example>`,
    raw: 'Subject: [TKD] notice\r\n\r\nbody\r\n',
    sha256: 'b'.repeat(64),
    attempts: 1,
    createdAt,
    version: 1,
  });
}

function makeAnswer(id: string, noticeId: string, receivedAt: string, intent: Answer['intent'] = 'acknowledged'): Answer {
  return Answer.parse({ id, noticeId, intent, source: 'mail', from: 'abuse@hosting.example', ticket: 'INC-1', receivedAt });
}

type EventOptions = { campaignId: string; caseId?: string; noticeId?: string; at: string };

/** Events linked into their chains in the order given, as appendEvent links them (seq, prev, hash). */
export function makeEvents(specs: readonly (readonly [string, EventOptions])[]): AuditEvent[] {
  const heads = new Map<string, AuditEvent>();
  return specs.map(([id, options]) => {
    const body = {
      id,
      campaignId: options.campaignId,
      ...(options.caseId === undefined ? {} : { caseId: options.caseId }),
      ...(options.noticeId === undefined ? {} : { noticeId: options.noticeId }),
      type: 'case.state-changed',
      actor: 'system',
      at: options.at,
      data: { from: 'open', to: 'notified', nested: { list: [1, 'two', null, true] } },
    };
    const chain = chainOf(body);
    const head = heads.get(chain);
    const linked = { ...body, chain, seq: head ? head.seq + 1 : 0, prev: head?.hash ?? ZERO_HASH };
    const event = AuditEvent.parse({ ...linked, hash: eventHash(linked) });
    heads.set(chain, event);
    return event;
  });
}

function makeEvent(id: string, options: EventOptions): AuditEvent {
  return makeEvents([[id, options]])[0]!;
}

/** The commands' view of the store for appending events: real ids, a clock that stands still. */
function appendDeps(store: Store) {
  return { store, ids: new CryptoIds(), clock: { now: () => new Date(T0), engineSeconds: (s: number) => s } };
}

/** A cached RDAP network covering [start, end] (fixed-width keys, as the resolver writes them). */
function rangeEntry(start: string, end: string, expiresAt: string, name = `net ${start}`): CachedLookup {
  return { kind: 'rdap-net4', key: `${start}-${end}`, rangeStart: start, rangeEnd: end, value: JSON.stringify({ name }), fetchedAt: at(0), expiresAt };
}

/** An inbound message queued for review, as receiveMail stores one. */
function makeReview(id: string, receivedAt: string, reason: ReviewItem['reason'] = 'unmatched'): ReviewItem {
  return ReviewItem.parse({
    id,
    reason,
    receivedAt,
    from: 'abuse@hosting.example',
    subject: 'Re: [TKD-n0123456789abcdef] Takedown request',
    classification: { class: 'human', intent: 'unclear', text: 'ok', reason: 'no phrase of a known intent', refs: { messageIds: [], subjects: [], addresses: [] } },
    rawSha256: 'a'.repeat(64),
  });
}

/** Follows `next` to the end, counting the pages; refuses to loop for ever on a cursor that never ends. */
async function everyPage<T>(list: (page: PageRequest) => Promise<Page<T>>, limit: number) {
  const items: T[] = [];
  const sizes: number[] = [];
  let after: string | undefined;
  do {
    const page = await list(after === undefined ? { limit } : { after, limit });
    items.push(...page.items);
    sizes.push(page.items.length);
    after = page.next;
    if (sizes.length > 100) throw new Error('paging does not end');
  } while (after !== undefined);
  return { items, sizes };
}

function byId<T extends { id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Declares the Store contract suite for one adapter; `make` gives a fresh, empty store for every test. */
export function storeContract(name: string, make: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    let close: (() => Promise<void>) | undefined;

    beforeEach(async () => {
      const made = await make();
      store = made.store;
      close = made.close;
    });

    afterEach(async () => {
      await close?.();
      close = undefined;
    });

    describe('unknown ids', () => {
      it('returns undefined for a campaign, case, notice or outbound that was never stored', async () => {
        expect(await store.getCampaign('cmp_missing')).toBeUndefined();
        expect(await store.getCase('case_missing')).toBeUndefined();
        expect(await store.getNotice('ntc_missing')).toBeUndefined();
        expect(await store.getOutbound('ntc_missing.notice.0')).toBeUndefined();
      });

      it('lists nothing for a campaign, notice or case it has never seen', async () => {
        expect(await store.listIndicators('cmp_missing')).toStrictEqual({ items: [] });
        expect(await store.listCases({ campaignId: 'cmp_missing' })).toStrictEqual({ items: [] });
        expect(await store.listCases({ noticeId: 'ntc_missing' })).toStrictEqual({ items: [] });
        expect(await store.listNotices({ campaignId: 'cmp_missing' })).toStrictEqual({ items: [] });
        expect(await store.listNotices({ state: 'sent' })).toStrictEqual({ items: [] });
        expect(await store.listOutbound('ntc_missing')).toStrictEqual([]);
        expect(await store.listAnswers('ntc_missing')).toStrictEqual([]);
        expect(await store.listEvents({ campaignId: 'cmp_missing' })).toStrictEqual([]);
        expect(await store.findCasesByIndicator([ip(1)], new Set(['open']))).toStrictEqual([]);
      });
    });

    describe('campaigns', () => {
      it('returns a created campaign as a plain object equal to the one stored', async () => {
        const campaign = makeCampaign('cmp_a');
        await store.createCampaign(campaign);
        expect(await store.getCampaign('cmp_a')).toStrictEqual(campaign);
      });

      it('refuses to create a campaign twice and keeps the first', async () => {
        const first = makeCampaign('cmp_a');
        await store.createCampaign(first);
        await expect(store.createCampaign(makeCampaign('cmp_a', { name: 'Someone else' }))).rejects.toBeInstanceOf(
          AlreadyExistsError,
        );
        expect(await store.getCampaign('cmp_a')).toStrictEqual(first);
      });

      it('saves a campaign whose version follows the stored one', async () => {
        await store.createCampaign(makeCampaign('cmp_a'));
        const approved = makeCampaign('cmp_a', { state: 'sending', approvedAt: at(30), approvedBy: 'lead', version: 2 });
        await store.saveCampaign(approved);
        expect(await store.getCampaign('cmp_a')).toStrictEqual(approved);
      });

      it('refuses a stale campaign save and leaves the stored record unchanged', async () => {
        await store.createCampaign(makeCampaign('cmp_a'));
        const winner = makeCampaign('cmp_a', { state: 'sending', version: 2 });
        await store.saveCampaign(winner);

        await expect(store.saveCampaign(makeCampaign('cmp_a', { state: 'cancelled', version: 2 }))).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        await expect(store.saveCampaign(makeCampaign('cmp_a', { state: 'cancelled', version: 4 }))).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        expect(await store.getCampaign('cmp_a')).toStrictEqual(winner);
      });

      it('refuses to save a campaign that was never created', async () => {
        await expect(store.saveCampaign(makeCampaign('cmp_ghost', { version: 2 }))).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getCampaign('cmp_ghost')).toBeUndefined();
      });

      it('lists campaigns newest first, each once after saves', async () => {
        await store.createCampaign(makeCampaign('cmp_old', { createdAt: at(0) }));
        await store.createCampaign(makeCampaign('cmp_new', { createdAt: at(120) }));
        await store.createCampaign(makeCampaign('cmp_mid', { createdAt: at(60) }));
        await store.saveCampaign(makeCampaign('cmp_mid', { createdAt: at(60), state: 'running', version: 2 }));

        const listed = await store.listCampaigns();
        expect(listed.map((c) => c.id)).toStrictEqual(['cmp_new', 'cmp_mid', 'cmp_old']);
        expect(listed[1]).toStrictEqual(makeCampaign('cmp_mid', { createdAt: at(60), state: 'running', version: 2 }));
      });
    });

    describe('indicators', () => {
      // gaps and runs across hundreds: a store may shard by seq and must page over the holes
      const seqs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 98, 99, 100, 101, 350, 351];

      it('lists indicators in seq order over several pages, every one exactly once', async () => {
        const items = seqs.map((seq) => makeIndicator('cmp_a', seq));
        // put out of order and in two batches, as a resumed intake would
        await store.putIndicators([...items.slice(8)].reverse());
        await store.putIndicators(items.slice(0, 8));
        await store.putIndicators([makeIndicator('cmp_b', 4)]);

        const { items: listed, sizes } = await everyPage((page) => store.listIndicators('cmp_a', page), 4);
        expect(listed).toStrictEqual(items);
        expect(sizes).toStrictEqual([4, 4, 4, 4]);

        const odd = await everyPage((page) => store.listIndicators('cmp_a', page), 5);
        expect(odd.items).toStrictEqual(items);
        expect(odd.sizes).toStrictEqual([5, 5, 5, 1]);

        const whole = await store.listIndicators('cmp_a', { limit: 100 });
        expect(whole).toStrictEqual({ items });
      });

      it('keeps the first indicator stored under a seq when the same seq is put again', async () => {
        const first = makeIndicator('cmp_a', 3, ip(3));
        await store.putIndicators([first, makeIndicator('cmp_a', 4)]);
        await store.putIndicators([makeIndicator('cmp_a', 3, ip(200)), makeIndicator('cmp_a', 5)]);

        const { items } = await store.listIndicators('cmp_a');
        expect(items.map((i) => i.seq)).toStrictEqual([3, 4, 5]);
        expect(items[0]).toStrictEqual(first);
      });

      it('refuses a paging cursor it did not issue', async () => {
        await store.putIndicators([makeIndicator('cmp_a', 0)]);
        await expect(store.listIndicators('cmp_a', { after: 'not-a-cursor' })).rejects.toBeInstanceOf(InvalidInputError);
        await expect(store.listCases({ campaignId: 'cmp_a' }, { after: 'not-a-cursor' })).rejects.toBeInstanceOf(
          InvalidInputError,
        );
      });
    });

    describe('cases', () => {
      it('counts a campaign\'s cases by kind (escalated, reopened, withheld) and no other campaign\'s', async () => {
        // Prepare: six cases of one campaign (two escalated on, one of them of a reopened case; one reopened; one
        // withheld), one of another
        const campaign = makeCampaign('cmp_a');
        await store.createCampaign(campaign);
        await store.putCases([
          makeCase('case_01', { campaignId: 'cmp_a', value: ip(1) }),
          { ...makeCase('case_02', { campaignId: 'cmp_a', value: ip(1) }), step: 1, previousCaseId: 'case_01' },
          { ...makeCase('case_03', { campaignId: 'cmp_a', value: ip(2) }), revival: 1 },
          { ...makeCase('case_07', { campaignId: 'cmp_a', value: ip(2) }), revival: 1, step: 1, previousCaseId: 'case_03' },
          makeCase('case_04', { campaignId: 'cmp_a', value: ip(3), state: 'withheld' }),
          makeCase('case_05', { campaignId: 'cmp_a', value: ip(4), state: 'notified' }),
          makeCase('case_06', { campaignId: 'cmp_b', value: ip(5), state: 'withheld' }),
        ]);
        await store.putNotices([makeNotice('ntc_1', { campaignId: 'cmp_a' })]);

        // Act
        const counts = await campaignCounts({ store }, campaign);

        // Assess: the same counts whether the store counts them (countCases) or every case is read
        expect(counts).toMatchObject({ cases: 6, escalations: 2, reopened: 1, withheld: 1, notices: 1, sent: 0 });
        expect(counts.line).toContain('6 cases (2 escalations, 1 reopened, 1 withheld) → 1 notice');
        if (store.countCases) expect(await store.countCases('cmp_missing')).toStrictEqual({ cases: 0, escalations: 0, reopened: 0, withheld: 0 });
      });

      it('keeps the first of two cases with one id given in one call, as it keeps an existing one', async () => {
        const first = makeCase('case_02', { campaignId: 'cmp_a' });
        await store.putCases([makeCase('case_03', { campaignId: 'cmp_a' }), first, makeCase('case_02', { campaignId: 'cmp_a', state: 'withheld', value: ip(99) }), makeCase('case_01', { campaignId: 'cmp_a' })]);

        expect(await store.getCase('case_02')).toStrictEqual(first);
        const { items } = await store.listCases({ campaignId: 'cmp_a' });
        expect(items.map((c) => c.id)).toStrictEqual(['case_01', 'case_02', 'case_03']);
      });

      it('creates each case once and leaves an existing one as it is', async () => {
        const first = makeCase('case_01', { campaignId: 'cmp_a' });
        await store.putCases([first, makeCase('case_02', { campaignId: 'cmp_a' })]);
        await store.putCases([
          makeCase('case_01', { campaignId: 'cmp_a', state: 'withheld', value: ip(99) }),
          makeCase('case_03', { campaignId: 'cmp_a' }),
        ]);

        expect(await store.getCase('case_01')).toStrictEqual(first);
        expect(await store.getCase('case_03')).toStrictEqual(makeCase('case_03', { campaignId: 'cmp_a' }));
        const { items } = await store.listCases({ campaignId: 'cmp_a' });
        expect(items.map((c) => c.id)).toStrictEqual(['case_01', 'case_02', 'case_03']);
      });

      it('saves a case whose version follows and refuses a stale one, keeping the winner', async () => {
        await store.putCases([makeCase('case_01', { campaignId: 'cmp_a' })]);
        const notified = makeCase('case_01', { campaignId: 'cmp_a', state: 'notified', noticeId: 'ntc_1', version: 2 });
        await store.saveCase(notified);

        await expect(
          store.saveCase(makeCase('case_01', { campaignId: 'cmp_a', state: 'cancelled', version: 2 })),
        ).rejects.toBeInstanceOf(StaleWriteError);
        await expect(
          store.saveCase(makeCase('case_01', { campaignId: 'cmp_a', state: 'cancelled', version: 1 })),
        ).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.saveCase(makeCase('case_ghost', { campaignId: 'cmp_a', version: 2 }))).rejects.toBeInstanceOf(
          StaleWriteError,
        );
        expect(await store.getCase('case_01')).toStrictEqual(notified);
        expect(await store.getCase('case_ghost')).toBeUndefined();
      });

      it('saves cases in a batch, each by its version, and names the stale ones it left unsaved', async () => {
        await store.putCases([makeCase('case_01', { campaignId: 'cmp_a' }), makeCase('case_02', { campaignId: 'cmp_a' })]);
        const fresh = makeCase('case_01', { campaignId: 'cmp_a', state: 'notified', noticeId: 'ntc_1', version: 2 });
        const stale = makeCase('case_02', { campaignId: 'cmp_a', state: 'notified', noticeId: 'ntc_1', version: 3 });
        const ghost = makeCase('case_03', { campaignId: 'cmp_a', state: 'notified', version: 2 });

        expect((await store.saveCases([fresh, stale, ghost])).sort()).toEqual(['case_02', 'case_03']);
        expect(await store.getCase('case_01')).toStrictEqual(fresh);
        expect(await store.getCase('case_02')).toStrictEqual(makeCase('case_02', { campaignId: 'cmp_a' }));
        expect(await store.getCase('case_03')).toBeUndefined();
        expect(await store.saveCases([])).toEqual([]);
      });

      it('lists the cases of a campaign in id order over pages, every one exactly once', async () => {
        const cases = Array.from({ length: 11 }, (_, i) =>
          makeCase(`case_${String(i).padStart(2, '0')}`, { campaignId: 'cmp_a', value: ip(i) }),
        );
        await store.putCases([...cases].reverse());
        await store.putCases([makeCase('case_05x', { campaignId: 'cmp_b' })]);

        const { items, sizes } = await everyPage((page) => store.listCases({ campaignId: 'cmp_a' }, page), 3);
        expect(items).toStrictEqual(cases);
        expect(sizes).toStrictEqual([3, 3, 3, 2]);
      });

      it('lists the cases of a notice, following a case that moves to another notice', async () => {
        const carried = ['case_01', 'case_02', 'case_03', 'case_04', 'case_05'].map((id) =>
          makeCase(id, { campaignId: 'cmp_a', noticeId: 'ntc_1' }),
        );
        await store.putCases([
          ...carried,
          makeCase('case_06', { campaignId: 'cmp_a', noticeId: 'ntc_2' }),
          makeCase('case_07', { campaignId: 'cmp_a' }),
        ]);

        const { items, sizes } = await everyPage((page) => store.listCases({ noticeId: 'ntc_1' }, page), 2);
        expect(items).toStrictEqual(carried);
        expect(sizes).toStrictEqual([2, 2, 1]);

        await store.saveCase(makeCase('case_03', { campaignId: 'cmp_a', noticeId: 'ntc_2', version: 2 }));
        await store.saveCase(makeCase('case_07', { campaignId: 'cmp_a', noticeId: 'ntc_2', version: 2 }));
        const one = await store.listCases({ noticeId: 'ntc_1' });
        expect(one.items.map((c) => c.id)).toStrictEqual(['case_01', 'case_02', 'case_04', 'case_05']);
        const two = await store.listCases({ noticeId: 'ntc_2' });
        expect(two.items.map((c) => c.id)).toStrictEqual(['case_03', 'case_06', 'case_07']);
      });

      it('finds the cases of indicator values in the given states, across campaigns', async () => {
        await store.putCases([
          makeCase('case_a1', { campaignId: 'cmp_a', value: ip(1), state: 'notified' }),
          makeCase('case_a2', { campaignId: 'cmp_a', value: ip(2), state: 'open' }),
          makeCase('case_a3', { campaignId: 'cmp_a', value: ip(3), state: 'open' }),
          makeCase('case_a4', { campaignId: 'cmp_a', value: ip(1), state: 'cancelled' }),
          makeCase('case_b1', { campaignId: 'cmp_b', value: ip(1), state: 'acknowledged' }),
          makeCase('case_b2', { campaignId: 'cmp_b', value: ip(2), state: 'verified-down' }),
        ]);
        const live = new Set<CaseState>(['open', 'notified', 'acknowledged']);

        const found = await store.findCasesByIndicator([ip(1), ip(2), ip(1), ip(200)], live);
        expect(byId(found)).toStrictEqual([
          makeCase('case_a1', { campaignId: 'cmp_a', value: ip(1), state: 'notified' }),
          makeCase('case_a2', { campaignId: 'cmp_a', value: ip(2), state: 'open' }),
          makeCase('case_b1', { campaignId: 'cmp_b', value: ip(1), state: 'acknowledged' }),
        ]);

        await store.saveCase(makeCase('case_a1', { campaignId: 'cmp_a', value: ip(1), state: 'actioned', version: 2 }));
        const after = await store.findCasesByIndicator([ip(1)], live);
        expect(byId(after).map((c) => c.id)).toStrictEqual(['case_b1']);
        expect(await store.findCasesByIndicator([], live)).toStrictEqual([]);
      });
    });

    describe('notices', () => {
      it('creates each notice once, leaves an existing one as it is, and saves by version', async () => {
        const first = makeNotice('ntc_1', { campaignId: 'cmp_a' });
        await store.putNotices([first]);
        await store.putNotices([makeNotice('ntc_1', { campaignId: 'cmp_a', state: 'cancelled' })]);
        expect(await store.getNotice('ntc_1')).toStrictEqual(first);

        const sent = Notice.parse({ ...first, state: 'sent', sentAt: at(5), deadline: at(2885), taskToken: 'tok', version: 2 });
        await store.saveNotice(sent);
        await expect(store.saveNotice({ ...first, state: 'paused', version: 2 })).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.saveNotice({ ...first, state: 'paused', version: 1 })).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getNotice('ntc_1')).toStrictEqual(sent);
      });

      it("tells how many of a campaign's notices are out, the same whether the store counts them or every notice is read", async () => {
        await store.putNotices([
          makeNotice('ntc_1', { campaignId: 'cmp_a', state: 'planned' }),
          makeNotice('ntc_2', { campaignId: 'cmp_a', state: 'sending' }),
          makeNotice('ntc_3', { campaignId: 'cmp_a', state: 'uncertain' }),
          makeNotice('ntc_4', { campaignId: 'cmp_a', state: 'sent' }),
          makeNotice('ntc_5', { campaignId: 'cmp_a', state: 'closed' }),
          makeNotice('ntc_6', { campaignId: 'cmp_b', state: 'sent' }),
        ]);
        expect(await sendingProgress({ store }, 'cmp_a')).toStrictEqual({ out: 2, total: 5 });

        // a saved notice is counted in its new state, and still in its campaign
        await store.saveNotice({ ...makeNotice('ntc_1', { campaignId: 'cmp_a' }), state: 'sent', version: 2 });
        expect(await sendingProgress({ store }, 'cmp_a')).toStrictEqual({ out: 3, total: 5 });
        expect((await store.listNotices({ campaignId: 'cmp_a' })).items.map((n) => n.id)).toStrictEqual(['ntc_1', 'ntc_2', 'ntc_3', 'ntc_4', 'ntc_5']);
        if (store.countNotices) {
          expect(await store.countNotices('cmp_a')).toStrictEqual({ sending: 1, uncertain: 1, sent: 2, closed: 1 });
          expect(await store.countNotices('cmp_missing')).toStrictEqual({});
        }
        expect(await sendingProgress({ store }, 'cmp_missing')).toStrictEqual({ out: 0, total: 0 });
      });

      it('lists the notices of a campaign in id order over pages, every one exactly once', async () => {
        const notices = ['ntc_1', 'ntc_2', 'ntc_3', 'ntc_4', 'ntc_5', 'ntc_6', 'ntc_7'].map((id) =>
          makeNotice(id, { campaignId: 'cmp_a' }),
        );
        await store.putNotices([...notices].reverse());
        await store.putNotices([makeNotice('ntc_0', { campaignId: 'cmp_b' })]);

        const { items, sizes } = await everyPage((page) => store.listNotices({ campaignId: 'cmp_a' }, page), 3);
        expect(items).toStrictEqual(notices);
        expect(sizes).toStrictEqual([3, 3, 1]);
      });

      it('lists notices by state across campaigns and follows a notice whose state changes', async () => {
        await store.putNotices([
          makeNotice('ntc_1', { campaignId: 'cmp_a', state: 'sent' }),
          makeNotice('ntc_2', { campaignId: 'cmp_a' }),
          makeNotice('ntc_3', { campaignId: 'cmp_b', state: 'sent' }),
          makeNotice('ntc_4', { campaignId: 'cmp_b', state: 'sent' }),
          makeNotice('ntc_5', { campaignId: 'cmp_a', state: 'sent' }),
        ]);

        const { items, sizes } = await everyPage((page) => store.listNotices({ state: 'sent' }, page), 2);
        expect(items.map((n) => n.id)).toStrictEqual(['ntc_1', 'ntc_3', 'ntc_4', 'ntc_5']);
        expect(sizes).toStrictEqual([2, 2]);

        await store.saveNotice(makeNotice('ntc_3', { campaignId: 'cmp_b', state: 'closed', version: 2 }));
        const sent = await store.listNotices({ state: 'sent' });
        expect(sent.items.map((n) => n.id)).toStrictEqual(['ntc_1', 'ntc_4', 'ntc_5']);
        const closed = await store.listNotices({ state: 'closed' });
        expect(closed.items).toStrictEqual([makeNotice('ntc_3', { campaignId: 'cmp_b', state: 'closed', version: 2 })]);
      });
    });

    describe('outbound', () => {
      it('creates, reads, saves by version and lists the messages of a notice', async () => {
        const notice = makeOutbound('ntc_1', 'notice', 0, at(10));
        const reminder = makeOutbound('ntc_1', 'reminder', 1, at(2890));
        await store.createOutbound(reminder);
        await store.createOutbound(notice);
        await store.createOutbound(makeOutbound('ntc_2', 'notice', 0, at(11)));
        expect(await store.getOutbound('ntc_1.notice.0')).toStrictEqual(notice);

        const sent = Outbound.parse({ ...notice, state: 'sent', transportId: 'ses-0001', sentAt: at(12), version: 2 });
        await store.saveOutbound(sent);
        await expect(store.saveOutbound({ ...notice, attempts: 2, version: 2 })).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getOutbound('ntc_1.notice.0')).toStrictEqual(sent);

        expect(byId(await store.listOutbound('ntc_1'))).toStrictEqual([sent, reminder]);
      });

      it('refuses to create an outbound message twice and keeps the first bytes', async () => {
        const first = makeOutbound('ntc_1', 'notice', 0, at(10));
        await store.createOutbound(first);
        await expect(store.createOutbound({ ...first, raw: 'other bytes' })).rejects.toBeInstanceOf(AlreadyExistsError);
        expect(await store.getOutbound(first.id)).toStrictEqual(first);
      });
    });

    describe('answers', () => {
      it('stores an answer once: true the first time, false for the same id after', async () => {
        const first = makeAnswer('ans_1', 'ntc_1', at(100));
        expect(await store.putAnswer(first)).toBe(true);
        expect(await store.putAnswer(makeAnswer('ans_1', 'ntc_1', at(101), 'disputed'))).toBe(false);
        const second = makeAnswer('ans_2', 'ntc_1', at(50), 'actioned');
        expect(await store.putAnswer(second)).toBe(true);
        expect(await store.putAnswer(makeAnswer('ans_3', 'ntc_2', at(60)))).toBe(true);

        expect(byId(await store.listAnswers('ntc_1'))).toStrictEqual([first, second]);
      });
    });

    describe('reviews', () => {
      it('queues a message once: true the first time, false for the same id after, keeping the first', async () => {
        const first = makeReview('rev_1', at(10));
        expect(await store.putReview(first)).toBe(true);
        expect(await store.putReview({ ...first, reason: 'report' })).toBe(false);
        expect((await store.listReviews()).items).toStrictEqual([first]);
      });

      it('lists the queue in the order received over pages, every item exactly once', async () => {
        const items = [makeReview('rev_c', at(3)), makeReview('rev_a', at(1)), makeReview('rev_b', at(2)), makeReview('rev_d', at(2)), makeReview('rev_e', at(5), 'unclear')];
        for (const item of items) await store.putReview(item);
        const { items: listed, sizes } = await everyPage((page) => store.listReviews(page), 2);
        expect(listed.map((r) => r.id)).toStrictEqual(['rev_a', 'rev_b', 'rev_d', 'rev_c', 'rev_e']);
        expect(sizes).toStrictEqual([2, 2, 1]);
        expect(listed[4]).toStrictEqual(items[4]);
      });
    });

    describe('events', () => {
      it('lists events in append order by campaign, case and notice, whatever their times say', async () => {
        const events = makeEvents([
          ['evt_c', { campaignId: 'cmp_a', at: at(30) }],
          ['evt_a', { campaignId: 'cmp_a', caseId: 'case_1', at: at(10) }],
          ['evt_e', { campaignId: 'cmp_a', caseId: 'case_1', noticeId: 'ntc_1', at: at(20) }],
          ['evt_b', { campaignId: 'cmp_a', noticeId: 'ntc_1', at: at(20) }],
          ['evt_d', { campaignId: 'cmp_a', caseId: 'case_2', at: at(5) }],
          ['evt_f', { campaignId: 'cmp_a', caseId: 'case_1', at: at(1) }],
        ]);
        for (const event of events) await store.appendEvent(event);
        await store.appendEvent(makeEvent('evt_z', { campaignId: 'cmp_b', caseId: 'case_9', noticeId: 'ntc_9', at: at(0) }));

        const ids = (list: AuditEvent[]) => list.map((e) => e.id);
        const campaign = await store.listEvents({ campaignId: 'cmp_a' });
        expect(campaign).toStrictEqual(events);
        expect(ids(await store.listEvents({ caseId: 'case_1' }))).toStrictEqual(['evt_a', 'evt_e', 'evt_f']);
        expect(ids(await store.listEvents({ noticeId: 'ntc_1' }))).toStrictEqual(['evt_e', 'evt_b']);
      });

      it('keeps the audit trail of the contact directory apart from every campaign', async () => {
        await store.appendEvent(makeEvent('evt_dir', { campaignId: 'directory', at: at(1) }));
        expect((await store.listEvents({ campaignId: 'directory' })).map((e) => e.id)).toStrictEqual(['evt_dir']);
        expect(await store.listEvents({ campaignId: 'cmp_a' })).toStrictEqual([]);
      });

      it('refuses a second event for a chain slot that is taken and keeps the first', async () => {
        const first = makeEvent('evt_1', { campaignId: 'cmp_a', at: at(1) });
        await store.appendEvent(first);
        const rival = store.appendEvent({ ...first, id: 'evt_2', type: 'case.rewritten', data: { forged: true } });
        await expect(rival).rejects.toBeInstanceOf(AlreadyExistsError);
        await expect(rival).rejects.toMatchObject({ code: CHAIN_SLOT_TAKEN });
        expect(await store.listEvents({ campaignId: 'cmp_a' })).toStrictEqual([first]);
        expect(await store.listChain(first.chain)).toStrictEqual([first]);
      });

      it('reads each chain in slot order, its head, and its first event alone', async () => {
        const events = makeEvents([
          ['evt_1', { campaignId: 'cmp_a', at: at(1) }],
          ['evt_2', { campaignId: 'cmp_a', caseId: 'case_1', at: at(2) }],
          ['evt_3', { campaignId: 'cmp_a', at: at(3) }],
          ['evt_4', { campaignId: 'cmp_a', caseId: 'case_1', at: at(4) }],
          ['evt_5', { campaignId: 'cmp_a', caseId: 'case_1', at: at(5) }],
        ]);
        // slots, not arrival, give the order: the later slot of the case chain arrives first
        for (const i of [0, 1, 2, 4, 3]) await store.appendEvent(events[i]!);

        expect(await store.chainHead('case:case_9')).toBeUndefined();
        expect(await store.listChain('case:case_9')).toStrictEqual([]);
        expect(await store.chainHead('campaign:cmp_a')).toStrictEqual(events[2]);
        expect(await store.chainHead('case:case_1')).toStrictEqual(events[4]);
        expect((await store.listChain('case:case_1')).map((e) => e.seq)).toStrictEqual([0, 1, 2]);
        expect(await store.listChain('campaign:cmp_a')).toStrictEqual([events[0], events[2]]);
        expect(await store.listChain('case:case_1', { limit: 1 })).toStrictEqual([events[1]]);
      });

      it('lists the chains of a campaign, and no chain of another', async () => {
        const events = makeEvents([
          ['evt_1', { campaignId: 'cmp_a', at: at(1) }],
          ['evt_2', { campaignId: 'cmp_a', caseId: 'case_2', at: at(2) }],
          ['evt_3', { campaignId: 'cmp_a', noticeId: 'ntc_1', at: at(3) }],
          ['evt_4', { campaignId: 'cmp_a', caseId: 'case_1', noticeId: 'ntc_1', at: at(4) }],
          ['evt_5', { campaignId: 'cmp_a', caseId: 'case_2', at: at(5) }],
          ['evt_6', { campaignId: 'cmp_b', caseId: 'case_9', at: at(6) }],
        ]);
        for (const event of events) await store.appendEvent(event);

        expect(await store.listChains('cmp_a')).toStrictEqual(['campaign:cmp_a', 'case:case_1', 'case:case_2', 'notice:ntc_1']);
        expect(await store.listChains('cmp_b')).toStrictEqual(['case:case_9']);
        expect(await store.listChains('cmp_missing')).toStrictEqual([]);
      });

      it('takes concurrent appends to one chain one slot each, so the chain never forks and verifies', async () => {
        const deps = appendDeps(store);
        await appendEvent(deps, { campaignId: 'cmp_a', type: 'campaign.submitted', actor: 'tester', data: {} });
        const appended = await Promise.all(
          Array.from({ length: 12 }, (_, n) => appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n } })),
        );

        const chain = await store.listChain('case:case_1');
        expect(chain.map((e) => e.seq)).toStrictEqual(Array.from({ length: 12 }, (_, i) => i));
        expect(new Set(chain.map((e) => e.id))).toStrictEqual(new Set(appended.map((e) => e.id)));
        const report = await verifyCampaign({ store }, 'cmp_a');
        expect(report).toMatchObject({ ok: true, chains: 2, events: 13, brokenChains: 0 });
        expect(report.heads['case:case_1']).toStrictEqual({ seq: 11, hash: chain[11]!.hash });
      });

      it('links after another writer\'s event when the chain head this process knows is stale, reading the head again only then', async () => {
        // Prepare: a store whose head reads are counted, and a case chain this process appended to twice
        let headReads = 0;
        const counted = new Proxy(store, {
          get(target, name) {
            if (name === 'chainHead') return (chain: string) => (headReads++, target.chainHead(chain));
            const value: unknown = Reflect.get(target, name);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
        const deps = appendDeps(counted);
        await appendEvent(deps, { campaignId: 'cmp_a', type: 'campaign.submitted', actor: 'tester', data: {} });
        await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n: 0 } });
        const second = await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n: 1 } });
        // one read per chain: the second append of the case chain linked to the head this process kept
        expect(headReads).toBe(2);
        // another process appends to the chain: the head kept here is now stale
        const linked = { id: 'evt_other', at: at(1), campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'other-process', data: {}, chain: 'case:case_1', seq: 2, prev: second.hash };
        const foreign = AuditEvent.parse({ ...linked, hash: eventHash(linked) });
        await store.appendEvent(foreign);

        // Act
        const third = await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n: 3 } });

        // Assess: the stale head lost its slot, the head was read once more, and the chain goes on unforked
        expect(headReads).toBe(3);
        expect(third).toMatchObject({ seq: 3, prev: foreign.hash });
        expect((await store.listChain('case:case_1')).map((e) => e.id)).toStrictEqual([expect.any(String), second.id, 'evt_other', third.id]);
        expect(await verifyCampaign({ store }, 'cmp_a')).toMatchObject({ ok: true, chains: 2, events: 5, brokenChains: 0 });
      });

      it('anchors a case chain started before any campaign event to a campaign root it creates', async () => {
        const deps = appendDeps(store);
        const first = await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: {} });

        const [root] = await store.listChain('campaign:cmp_a');
        expect(root).toMatchObject({ type: GENESIS_TYPE, seq: 0, prev: ZERO_HASH });
        expect(first).toMatchObject({ chain: 'case:case_1', seq: 0, prev: root!.hash });
        expect((await verifyCampaign({ store }, 'cmp_a')).ok).toBe(true);
      });

      it('appends a batch in order: events of one chain linked to each other, case chains to a root begun in the batch', async () => {
        const deps = appendDeps(store);

        const appended = await appendEvents(deps, [
          { campaignId: 'cmp_a', type: 'campaign.submitted', actor: 'tester', data: {} },
          { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n: 0 } },
          { campaignId: 'cmp_a', caseId: 'case_2', type: 'case.noted', actor: 'system', data: { n: 1 } },
          { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: { n: 2 } },
        ]);

        const [root, one, two, three] = appended;
        expect(root).toMatchObject({ chain: 'campaign:cmp_a', seq: 0, prev: ZERO_HASH, type: 'campaign.submitted' });
        expect(one).toMatchObject({ chain: 'case:case_1', seq: 0, prev: root!.hash });
        expect(two).toMatchObject({ chain: 'case:case_2', seq: 0, prev: root!.hash });
        expect(three).toMatchObject({ chain: 'case:case_1', seq: 1, prev: one!.hash });
        expect((await store.listEvents({ campaignId: 'cmp_a' })).map((e) => e.id)).toStrictEqual(appended.map((e) => e.id));
        expect(await verifyCampaign({ store }, 'cmp_a')).toMatchObject({ ok: true, chains: 3, events: 4, brokenChains: 0 });
      });

      it('re-links a whole batch when a chain head known here went stale, and stores none of the stale try', async () => {
        // Prepare: this process knows the heads of two case chains; another process appends to the second
        const deps = appendDeps(store);
        await appendEvent(deps, { campaignId: 'cmp_a', type: 'campaign.submitted', actor: 'tester', data: {} });
        const one = await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.noted', actor: 'system', data: {} });
        const two = await appendEvent(deps, { campaignId: 'cmp_a', caseId: 'case_2', type: 'case.noted', actor: 'system', data: {} });
        const linked = { id: 'evt_other', at: at(1), campaignId: 'cmp_a', caseId: 'case_2', type: 'case.noted', actor: 'other-process', data: {}, chain: 'case:case_2', seq: 1, prev: two.hash };
        const foreign = AuditEvent.parse({ ...linked, hash: eventHash(linked) });
        await store.appendEvent(foreign);

        // Act
        const [a, b] = await appendEvents(deps, [
          { campaignId: 'cmp_a', caseId: 'case_1', type: 'case.verified-down', actor: 'system', data: {} },
          { campaignId: 'cmp_a', caseId: 'case_2', type: 'case.verified-down', actor: 'system', data: {} },
        ]);

        // Assess: each chain goes on from its true head, once
        expect(a).toMatchObject({ seq: 1, prev: one.hash });
        expect(b).toMatchObject({ seq: 2, prev: foreign.hash });
        expect((await store.listChain('case:case_1')).map((e) => e.id)).toStrictEqual([one.id, a!.id]);
        expect((await store.listChain('case:case_2')).map((e) => e.id)).toStrictEqual([two.id, 'evt_other', b!.id]);
        expect(await verifyCampaign({ store }, 'cmp_a')).toMatchObject({ ok: true, events: 6, brokenChains: 0 });
      });
    });

    describe('lookups', () => {
      it('returns a cached answer by kind and key until it expires, and the latest put of a key', async () => {
        const entry: CachedLookup = { kind: 'rdap-domain', key: 'example.net', value: '{"registrar":"A"}', fetchedAt: at(0), expiresAt: at(60) };
        await store.putLookup(entry);
        await store.putLookup({ ...entry, kind: 'security.txt', value: '{"contacts":[]}' });
        expect(await store.getLookup('rdap-domain', 'example.net', at(59))).toStrictEqual(entry);
        expect(await store.getLookup('rdap-domain', 'example.net', at(60))).toBeUndefined();
        expect(await store.getLookup('rdap-domain', 'example.org', at(1))).toBeUndefined();

        const newer = { ...entry, value: '{"registrar":"B"}', fetchedAt: at(70), expiresAt: at(130) };
        await store.putLookup(newer);
        expect(await store.getLookup('rdap-domain', 'example.net', at(71))).toStrictEqual(newer);
        expect((await store.getLookup('security.txt', 'example.net', at(1)))?.value).toBe('{"contacts":[]}');
      });

      it('finds the narrowest unexpired range covering a key, and nothing in the gaps', async () => {
        const wide = rangeEntry('4:c0000000', '4:c000ffff', at(100), 'wide');
        const narrow = rangeEntry('4:c0000200', '4:c00002ff', at(100), 'narrow');
        const stale = rangeEntry('4:c0000280', '4:c000028f', at(10), 'stale');
        const other = rangeEntry('4:c6336400', '4:c63364ff', at(100), 'other');
        for (const e of [other, stale, wide, narrow]) await store.putLookup(e);
        await store.putLookup({ ...narrow, kind: 'rdap-net6' });

        expect(await store.findRangeLookup('rdap-net4', '4:c0000210', at(20))).toStrictEqual(narrow);
        expect(await store.findRangeLookup('rdap-net4', '4:c0000285', at(5))).toStrictEqual(stale);
        expect(await store.findRangeLookup('rdap-net4', '4:c0000285', at(20))).toStrictEqual(narrow);
        expect(await store.findRangeLookup('rdap-net4', '4:c00002ff', at(20))).toStrictEqual(narrow);
        expect(await store.findRangeLookup('rdap-net4', '4:c0000300', at(20))).toStrictEqual(wide);
        expect(await store.findRangeLookup('rdap-net4', '4:c0010000', at(20))).toBeUndefined();
        expect(await store.findRangeLookup('rdap-net4', '4:bfffffff', at(20))).toBeUndefined();
        expect(await store.findRangeLookup('rdap-net4', '4:c6336401', at(20))).toStrictEqual(other);
        expect(await store.findRangeLookup('rdap-net4', '4:c0000210', at(100))).toBeUndefined();
      });

      it('replaces a range entry put again with a fresh expiry', async () => {
        await store.putLookup(rangeEntry('4:c0000200', '4:c00002ff', at(10), 'old'));
        const fresh = rangeEntry('4:c0000200', '4:c00002ff', at(200), 'fresh');
        await store.putLookup(fresh);
        expect(await store.findRangeLookup('rdap-net4', '4:c0000201', at(50))).toStrictEqual(fresh);
      });
    });

    describe('contact overrides', () => {
      it('lists every override once, the latest for a target winning', async () => {
        const make = (target: string, targetKind: ContactOverride['targetKind'], email: string, minute: number) =>
          ContactOverride.parse({ target, targetKind, email, by: 'coordinator', at: at(minute), note: 'confirmed by phone' });
        await store.putContactOverride(make('198.51.100.0/24', 'network', 'abuse@old.example', 1));
        await store.putContactOverride(make('registrar:iana:1251', 'party', 'abuse@registrar.example', 2));
        await store.putContactOverride(make('198.51.100.0/24', 'network', 'abuse@new.example', 3));
        await store.putContactOverride(make('bad.example', 'domain', 'abuse@registry.example', 4));

        expect(await store.listContactOverrides()).toStrictEqual([
          make('198.51.100.0/24', 'network', 'abuse@new.example', 3),
          make('bad.example', 'domain', 'abuse@registry.example', 4),
          make('registrar:iana:1251', 'party', 'abuse@registrar.example', 2),
        ]);
      });
    });

    describe('records', () => {
      const rec = (kind: string, key: string, version: number, value: unknown) => ({ kind, key, version, value: JSON.stringify(value) });

      it('creates a record only once when asked to, keeping the first', async () => {
        await store.putRecord(rec('apikey', 'h1', 1, { role: 'auditor' }), 'absent');
        await expect(store.putRecord(rec('apikey', 'h1', 1, { role: 'coordinator' }), 'absent')).rejects.toBeInstanceOf(AlreadyExistsError);
        expect(await store.getRecord('apikey', 'h1')).toStrictEqual(rec('apikey', 'h1', 1, { role: 'auditor' }));
        expect(await store.getRecord('apikey', 'h2')).toBeUndefined();
        expect(await store.getRecord('secret', 'h1')).toBeUndefined();
      });

      it('saves over the expected version only, and refuses a stale save', async () => {
        await store.putRecord(rec('link', 'k', 1, { used: false }), 'absent');
        await store.putRecord(rec('link', 'k', 2, { used: true }), 1);
        await expect(store.putRecord(rec('link', 'k', 2, { used: 'again' }), 1)).rejects.toBeInstanceOf(StaleWriteError);
        await expect(store.putRecord(rec('link', 'never', 2, {}), 1)).rejects.toBeInstanceOf(StaleWriteError);
        expect(await store.getRecord('link', 'k')).toStrictEqual(rec('link', 'k', 2, { used: true }));
      });

      it('lists the records of one kind in key order over pages, and forgets a deleted one', async () => {
        for (const key of ['c', 'a', 'e', 'b', 'd']) await store.putRecord(rec('secret', key, 1, { key }));
        await store.putRecord(rec('other', 'a0', 1, {}));
        await store.deleteRecord('secret', 'e');
        await store.deleteRecord('secret', 'never-there');
        const keys: string[] = [];
        let after: string | undefined;
        do {
          const page = await store.listRecords('secret', { after, limit: 2 });
          keys.push(...page.items.map((r) => r.key));
          after = page.next;
        } while (after);
        expect(keys).toStrictEqual(['a', 'b', 'c', 'd']);
      });
    });
  });
}
