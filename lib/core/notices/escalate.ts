import { z } from 'zod';
import { AlreadyExistsError, StaleWriteError } from '../errors.js';
import type { Deps } from '../ports.js';
import type { Case, CaseState, Notice } from '../model.js';
import { caseIdFor, noticeIdFor, tagOf } from '../routing/index.js';
import { startNoticeRun } from './planning.js';
import { updateCase, updateNotice } from '../updates.js';
import { CASE_AWAITING } from '../lifecycle.js';
import { appendEvent } from '../audit/index.js';
import { completeQuietly } from '../executions.js';
import { listAll } from '../paging.js';

/** Cases escalating to the same party within this many domain seconds of the first go in one notice. */
export const DEFAULT_ESCALATION_WINDOW_SECONDS = 600;

/** The store records that name the notice currently gathering escalations to one party (see escalateCases). */
const GATHERING_KIND = 'escalation-gathering';
const Gathering = z.object({ noticeId: z.string(), seq: z.number().int().min(1), notBefore: z.string() });
type Gathering = z.infer<typeof Gathering>;

/** What an escalation did: the notices its cases joined, and how many cases went on or ran out of ladder. */
export interface EscalationResult {
  readonly notices: string[];
  readonly escalated: number;
  readonly expired: number;
}

export interface EscalateOptions {
  /**
   * gather with other escalations to the same party (the workflows' own escalations); false for a coordinator's
   * "escalate now", which is sent at once @default true
   */
  readonly gather?: boolean;
  /** the sweep carrying on an escalation a kill cut short: its record is already there, and stays until this holds */
  readonly recorded?: true;
}

interface Onward {
  readonly rung: Case['ladder'][number];
  readonly step: number;
  readonly revival: number;
  readonly cases: Case[];
}

/** An escalation notice, planned; gathering other escalations' cases until `notBefore` when `notBefore` is given. */
function escalationNotice(deps: Deps, id: string, campaignId: string, group: Onward, notBefore: string | undefined): Notice {
  const now = deps.clock.now().toISOString();
  return {
    id,
    campaignId,
    party: group.rung.party,
    step: group.step,
    round: 1,
    state: 'planned',
    tag: tagOf(id),
    tokenHash: '',
    caseCount: 0,
    escalatedFrom: [],
    ...(notBefore ? { gathering: true, notBefore } : {}),
    answerDeadline: group.rung.answerDeadline,
    actionDeadline: group.rung.actionDeadline,
    remindersAllowed: group.rung.reminders,
    remindersSent: 0,
    appliedAnswers: [],
    updatedAt: now,
    version: 1,
  };
}

/**
 * Add an escalation's onward cases (`ids`, written naming the notice) to a notice: its escalatedFrom lists every
 * notice whose cases it carries, and only those cases are sent (sendNotice reads the list when it closes the
 * gathering); it counts every case that names it. false when the notice no longer takes them: it closed its
 * gathering, or went out, without them. Whether they joined is told by the cases, not by escalatedFrom: one notice
 * may escalate to the same party twice (its "not ours" cases at once, the rest at its deadline), and a retry after
 * a crash must neither count its cases twice nor take a notice that went out without them for one that has them.
 */
async function join(deps: Deps, noticeId: string, from: Notice, group: Onward, ids: readonly string[]): Promise<boolean> {
  const named = await listAll((p) => deps.store.listCases({ noticeId }, p));
  const mine = named.filter((c) => ids.includes(c.id));
  let joined = false;
  await updateNotice(deps, noticeId, (cur) => {
    if (cur.state !== 'planned' || (cur.notBefore !== undefined && !cur.gathering)) {
      // a gathering notice, once closed, sends what it has: the cases of the escalations it lists while it is still
      // to go out, and once it went, the cases it marked (sendNotice marks them before it records the notice sent);
      // cases it will not carry go to the next one
      const all = mine.length === ids.length;
      // held before it went (a campaign's pause, a policy refusal) it sends them when it is resumed
      const unsent = cur.state === 'planned' || (cur.state === 'paused' && cur.paused?.from === 'planned');
      const toGo = unsent || cur.state === 'sending' || cur.state === 'uncertain';
      joined = toGo ? all && !!cur.escalatedFrom?.includes(from.id) : all && mine.every((c) => c.state !== 'open');
      // counted while it has not gone out (once it went, sendNotice counted what it carried)
      return joined && unsent && named.length > cur.caseCount ? { ...cur, caseCount: named.length } : undefined;
    }
    joined = true;
    const escalatedFrom = cur.escalatedFrom?.includes(from.id) ? cur.escalatedFrom : [...(cur.escalatedFrom ?? []), from.id];
    // one recipient asked for several reasons gets the shortest deadline among them, as first notices do
    const next = {
      ...cur,
      escalatedFrom,
      caseCount: Math.max(cur.caseCount, named.length),
      answerDeadline: Math.min(cur.answerDeadline, group.rung.answerDeadline),
      actionDeadline: Math.min(cur.actionDeadline, group.rung.actionDeadline),
      remindersAllowed: Math.min(cur.remindersAllowed, group.rung.reminders),
    };
    const same =
      next.escalatedFrom === cur.escalatedFrom &&
      next.caseCount === cur.caseCount &&
      next.answerDeadline === cur.answerDeadline &&
      next.actionDeadline === cur.actionDeadline &&
      next.remindersAllowed === cur.remindersAllowed;
    return same ? undefined : next;
  });
  return joined;
}

/**
 * The notice an escalation to this party should go in: the one gathering now, or a new one that gathers for the
 * window. The gathering record is written with a version check, so two escalations at once agree on one notice.
 */
async function gatheringNotice(deps: Deps, from: Notice, group: Onward, skip: ReadonlySet<string>): Promise<string> {
  const key = `${from.campaignId}|${group.rung.party.email.toLowerCase()}|${group.step}|${group.revival}`;
  const window = deps.settings.escalationWindowSeconds ?? DEFAULT_ESCALATION_WINDOW_SECONDS;
  for (;;) {
    const now = deps.clock.now().getTime();
    const record = await deps.store.getRecord(GATHERING_KIND, key);
    const current = record ? Gathering.parse(JSON.parse(record.value)) : undefined;
    if (current && now < Date.parse(current.notBefore) && !skip.has(current.noticeId)) return current.noticeId;
    const seq = (current?.seq ?? 0) + 1;
    const next: Gathering = {
      noticeId: noticeIdFor(deps.ids, from.campaignId, group.rung.party.email, group.step, `escalation:${group.revival}:${seq}`),
      seq,
      notBefore: new Date(now + window * 1000).toISOString(),
    };
    // the notice before the record that names it: a record never points at nothing. A notice whose record lost the
    // race below keeps no case and is never started (and sendNotice closes a notice with no case)
    await deps.store.putNotices([escalationNotice(deps, next.noticeId, from.campaignId, group, next.notBefore)]);
    const stored = { kind: GATHERING_KIND, key, value: JSON.stringify(next), version: (record?.version ?? 0) + 1 };
    try {
      await deps.store.putRecord(stored, record ? record.version : 'absent');
    } catch (e) {
      // another escalation opened one at the same moment: join that one
      if (e instanceof StaleWriteError || e instanceof AlreadyExistsError) continue;
      throw e;
    }
    return next.noticeId;
  }
}

/**
 * Hand cases to the next party of their ladder; a case whose ladder is exhausted expires. The workflows' own
 * escalations to one party gather: those within a short window of the first (DEFAULT_ESCALATION_WINDOW_SECONDS) go
 * in one notice that names every party asked before, sent when the window ends, the same rule as first notices.
 * The onward cases are written before they join a notice, and a notice sends only the cases of the escalations
 * that joined it before it closed, so a late one goes to the next notice rather than twice or nowhere. New records
 * are created before the old ones are marked, so a crash half-way redoes the same (derived) records.
 */
export async function escalateCases(deps: Deps, from: Notice, cases: readonly Case[], reason: string, options: EscalateOptions = {}): Promise<EscalationResult> {
  return oneAtATime(deps, from.id, async () => {
    if (options.recorded) return escalateNow(deps, from, cases, reason, options);
    // kept until the cases joined the notices that send them: a kill in between leaves the escalation to the sweep
    // (finishEscalating), since a coordinator's retry finds the cases gone on and escalates nothing
    const value = { noticeId: from.id, at: deps.clock.now().toISOString(), gather: options.gather ?? true };
    const mark = { kind: ESCALATING_KIND, key: `${from.id}.${deps.ids.newId('e')}`, value: JSON.stringify(value), version: 1 };
    await deps.store.putRecord(mark);
    const result = await escalateNow(deps, from, cases, reason, options);
    await deps.store.deleteRecord(ESCALATING_KIND, mark.key);
    return result;
  });
}

/** The records of the escalations under way, one per escalateCases, from before its claims until its cases joined. */
export const ESCALATING_KIND = 'escalating';

/** How long an escalation may take before the sweep takes it over: longer than any function that escalates runs. */
export const ESCALATING_AFTER_MS = 10 * 60_000;

const EscalatingMark = z.object({ noticeId: z.string().min(1), at: z.string(), gather: z.boolean().optional() });

/**
 * The sweep's part of escalateCases: each notice whose escalation a kill cut short (an ESCALATING_KIND record older
 * than ESCALATING_AFTER_MS, or any at a start) has its claimed cases carried on, as that escalation would have. On
 * the embedded host every start also does it for every campaign (finishEscalations); on AWS nothing else would.
 * Returns how many cases it carried on; a notice whose escalation fails again stays for the next sweep.
 */
export async function finishEscalating(deps: Deps, olderThanMs = ESCALATING_AFTER_MS): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - olderThanMs).toISOString();
  const marks = await listAll((p) => deps.store.listRecords(ESCALATING_KIND, p));
  const byNotice = new Map<string, { keys: string[]; gather: boolean }>();
  // a notice with an escalation under way now is left to it: carried on, its cases would be escalated twice at once
  const underWay = new Set<string>();
  for (const record of marks) {
    const mark = EscalatingMark.safeParse(JSON.parse(record.value));
    const noticeId = mark.success ? mark.data.noticeId : '';
    if (mark.success && mark.data.at > before) underWay.add(noticeId);
    else {
      const cut = byNotice.get(noticeId) ?? { keys: [], gather: true };
      byNotice.set(noticeId, { keys: [...cut.keys, record.key], gather: cut.gather && (mark.data?.gather ?? true) });
    }
  }
  let carried = 0;
  for (const [noticeId, { keys, gather }] of byNotice) {
    if (underWay.has(noticeId)) continue;
    try {
      if (noticeId) {
        const cases = await listAll((p) => deps.store.listCases({ noticeId }, p));
        // a coordinator's "escalate now" goes on at once, as it would have
        carried += await carryOn(deps, cases, (id) => deps.store.getCase(id), { gather, recorded: true });
      }
      for (const key of keys) await deps.store.deleteRecord(ESCALATING_KIND, key);
    } catch (e) {
      deps.log.warn('could not carry on an escalation a kill cut short; it stays for the next sweep', { notice: noticeId, error: (e as Error).name });
    }
  }
  return carried;
}

// the escalations of one notice's cases under way in this process, by store
const escalating = new WeakMap<object, Map<string, Promise<unknown>>>();

/**
 * The escalations of one notice's cases run one at a time in a process (a coordinator's "escalate now" meeting the
 * deadline's, a "not ours" meeting a bounce): two at once would each find the other's claim and take it for one a
 * crash left half-way, and record the escalation twice. A crash leaves no lock behind: it lives in memory only.
 */
async function oneAtATime<T>(deps: Deps, key: string, work: () => Promise<T>): Promise<T> {
  let running = escalating.get(deps.store);
  if (!running) escalating.set(deps.store, (running = new Map()));
  for (let ahead = running.get(key); ahead; ahead = running.get(key)) await ahead.catch(() => undefined);
  const mine = work();
  running.set(key, mine);
  try {
    return await mine;
  } finally {
    if (running.get(key) === mine) running.delete(key);
  }
}

async function escalateNow(deps: Deps, from: Notice, cases: readonly Case[], reason: string, options: EscalateOptions): Promise<EscalationResult> {
  const gather = options.gather ?? true;
  const now = deps.clock.now().toISOString();
  const groups = new Map<string, Onward>();
  let escalated = 0;
  let expired = 0;
  // claim first: a case moves on only if it still waits on this party when the move is written (an answer that got
  // there first keeps it); a retry after a crash finds the case claimed with its onward case named, and finishes
  for (const c of cases) {
    const step = c.step + 1;
    const rung = c.ladder[step];
    const onward = rung ? caseIdFor(deps.ids, c.campaignId, c.indicator.value, step, c.revival ?? 0) : undefined;
    const to: CaseState = rung ? 'escalated' : 'expired';
    let claimed = false;
    let resumed = false;
    await updateCase(deps, c.id, (cur) => {
      claimed = false;
      resumed = onward !== undefined && cur.onward === onward;
      if (resumed || !(CASE_AWAITING.has(cur.state) || CLAIMABLE.has(cur.state))) return undefined;
      claimed = true;
      return {
        ...cur,
        state: cur.state === 'not-ours' && to === 'escalated' ? 'not-ours' : to,
        reason: to === 'expired' ? 'ladder exhausted' : reason,
        pausedFrom: undefined,
        ...(onward ? { onward } : {}),
      };
    });
    if (!claimed && !resumed) continue;
    if (to === 'escalated') escalated++;
    else expired++;
    const type = to === 'expired' ? 'case.expired' : 'case.escalated';
    // an event for what changed; one a crash cut off between the claim and the record is written when it resumes
    // (looked for in the whole chain: a late answer may have added to it since)
    if (claimed || !(await deps.store.listEvents({ caseId: c.id })).some((e) => e.type === type)) {
      await appendEvent(deps, {
        campaignId: c.campaignId,
        caseId: c.id,
        noticeId: from.id,
        type,
        actor: 'system',
        data: { reason, ...(rung ? { next: rung.party.id } : {}), ...(resumed ? { resumed: true } : {}) },
      });
    }
    if (!rung) continue;
    const key = `${rung.party.email.toLowerCase()}|${step}|${c.revival ?? 0}`;
    const group = groups.get(key) ?? { rung, step, revival: c.revival ?? 0, cases: [] };
    group.cases.push(c);
    groups.set(key, group);
  }
  const joined: string[] = [];
  const parts: { group: Onward; earlier: string | undefined }[] = [];
  for (const group of groups.values()) {
    // a case a crash left half-way continues with the notice it was written for; the others find theirs
    const byEarlier = new Map<string, Case[]>();
    for (const c of group.cases) {
      const earlier = (await deps.store.getCase(caseIdFor(deps.ids, c.campaignId, c.indicator.value, group.step, c.revival ?? 0)))?.noticeId ?? '';
      byEarlier.set(earlier, [...(byEarlier.get(earlier) ?? []), c]);
    }
    for (const [earlier, cases] of byEarlier) parts.push({ group: { ...group, cases }, earlier: earlier || undefined });
  }
  for (const { group, earlier } of parts) {
    const ids = group.cases.map((c) => caseIdFor(deps.ids, c.campaignId, c.indicator.value, group.step, c.revival ?? 0));
    const closed = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      if (attempt > 20) throw new Error(`escalation of ${from.id} found no notice to join`);
      const noticeId =
        attempt === 0 && earlier
          ? earlier
          : gather
            ? await gatheringNotice(deps, from, group, closed)
            : noticeIdFor(deps.ids, from.campaignId, group.rung.party.email, group.step, `escalation:${group.revival}:now:${from.id}:${attempt}`);
      if (!gather) await deps.store.putNotices([escalationNotice(deps, noticeId, from.campaignId, group, undefined)]);
      await deps.store.putCases(
        group.cases.map((c, i) => ({
          id: ids[i]!,
          campaignId: c.campaignId,
          indicator: c.indicator,
          ladder: c.ladder,
          step: group.step,
          state: 'open',
          noticeId,
          previousCaseId: c.id,
          escalatedFrom: from.id,
          ...(c.revival ? { revival: c.revival } : {}),
          updatedAt: now,
          version: 1,
        })),
      );
      if (await join(deps, noticeId, from, group, ids)) {
        joined.push(noticeId);
        break;
      }
      // the notice closed before this escalation joined it: it will not send these cases; move them on
      closed.add(noticeId);
      const next = gather ? await gatheringNotice(deps, from, group, closed) : noticeIdFor(deps.ids, from.campaignId, group.rung.party.email, group.step, `escalation:${group.revival}:now:${from.id}:${attempt + 1}`);
      for (const id of ids) await updateCase(deps, id, (cur) => (cur.noticeId === noticeId && cur.state === 'open' ? { ...cur, noticeId: next } : undefined));
    }
  }
  const notices = [...new Set(joined)];
  for (const id of notices) {
    const notice = await deps.store.getNotice(id);
    if (notice) await startNoticeRun(deps, notice);
  }
  return { notices, escalated, expired };
}

/**
 * Escalations a crash cut short, carried on from where they stopped: cases claimed for the next party (their onward
 * case named) whose onward case was never written, or never joined the notice that is to send it. A workflow's own
 * escalation is taken up again by its resumed execution, but a coordinator's "escalate now" or a "not ours" answer
 * has nobody to repeat it (the retried command finds the case escalated and refuses; the answer, applied again,
 * moves nothing): the indicator would be left with no party, its onward case open in a notice that never sends it.
 * Returns how many cases it carried on.
 */
export async function finishEscalations(deps: Deps, campaignId: string): Promise<number> {
  const cases = await listAll((p) => deps.store.listCases({ campaignId }, p));
  const byId = new Map(cases.map((c) => [c.id, c]));
  return carryOn(deps, cases, async (id) => byId.get(id));
}

/** Carries on the cases claimed for the next party whose onward case never joined the notice that is to send it. */
async function carryOn(deps: Deps, cases: readonly Case[], caseById: (id: string) => Promise<Case | undefined>, options: EscalateOptions = {}): Promise<number> {
  const notices = new Map<string, Notice | undefined>();
  const noticeOf = async (id: string) => {
    if (!notices.has(id)) notices.set(id, await deps.store.getNotice(id));
    return notices.get(id);
  };
  const unfinished = new Map<string, Case[]>();
  for (const c of cases) {
    if (!c.onward || !c.noticeId) continue;
    const next = await caseById(c.onward);
    // the notice the onward case is in lists every notice whose cases it carries (join): then it is done
    if (next?.noticeId && (await noticeOf(next.noticeId))?.escalatedFrom?.includes(c.noticeId)) continue;
    unfinished.set(c.noticeId, [...(unfinished.get(c.noticeId) ?? []), c]);
  }
  let carried = 0;
  for (const [fromId, list] of unfinished) {
    const from = await noticeOf(fromId);
    if (!from) continue;
    await escalateCases(deps, from, list, list[0]!.reason ?? 'escalated', options);
    carried += list.length;
  }
  return carried;
}

/** Case states, besides the awaiting ones, that a party can still be relieved of. */
const CLAIMABLE: ReadonlySet<CaseState> = new Set(['open', 'not-ours', 'needs-info', 'paused', 'disputed']);

/** The cases of a notice an escalation should consider: those still with its party, and those it began to hand on. */
export function escalationCandidates(cases: readonly Case[]): Case[] {
  return cases.filter((c) => CASE_AWAITING.has(c.state) || c.state === 'open' || c.onward !== undefined);
}

/**
 * How a notice ends once its open cases were handed on: escalated when someone else was asked, exhausted when no
 * party was left on any of their ladders (they expired), closed when nothing was open.
 */
export function finalState(open: number, result: EscalationResult): 'escalated' | 'exhausted' | 'closed' {
  if (!open) return 'closed';
  return result.escalated > 0 ? 'escalated' : 'exhausted';
}

/**
 * Send a notice again, as it stands, to the party's next mailbox (a new round: the execution waiting on the dead
 * one stops). Returns the new address, or undefined when the party has none left or the notice moved on.
 */
export async function rerouteToNextContact(deps: Deps, noticeId: string, dead: string): Promise<string | undefined> {
  let token: string | undefined;
  let next: string | undefined;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    next = undefined;
    const [first, ...rest] = cur.party.fallbackEmails ?? [];
    const live = cur.state === 'sent' || cur.state === 'uncertain' || cur.state === 'planned' || cur.state === 'sending';
    if (!first || !live || cur.party.email.toLowerCase() !== dead) return undefined;
    next = first;
    token = cur.taskToken;
    return {
      ...cur,
      party: { ...cur.party, email: first, ...(rest.length ? { fallbackEmails: rest } : { fallbackEmails: undefined }) },
      contactIndex: (cur.contactIndex ?? 0) + 1,
      state: 'planned',
      round: cur.round + 1,
      sentAt: undefined,
      deadline: undefined,
      tokenHash: '',
      remindersSent: 0,
      taskToken: undefined,
    };
  });
  if (!next) return undefined;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.rerouted', actor: 'mail', data: { from: dead, to: next, round: notice.round } });
  if (token) await completeQuietly(deps, token, { next: 'stopped' });
  await startNoticeRun(deps, notice);
  return next;
}
