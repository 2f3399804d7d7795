import { z } from 'zod';
import { CampaignStateError, InvalidInputError, InvalidTransitionError, NeedsForceError, NotFoundError } from '../errors.js';
import type { Deps } from '../ports.js';
import { actorOf, type ActorLike, type Campaign, type Case, type CaseState, type Notice } from '../model.js';
import { appendEvent } from '../audit/index.js';
import { CASE_AWAITING, CASE_FINISHED, PAUSE_REASON } from '../lifecycle.js';
import { updateCampaign, updateCase, updateNotice } from '../updates.js';
import { casesOf, mustGetNotice } from '../notices/index.js';
import { escalateCases } from '../notices/index.js';
import { stepFor } from '../notices/index.js';
import { pauseNotice, restartNotice, settleNotice } from '../notices/index.js';
import { completeQuietly } from '../executions.js';
import { listAll } from '../paging.js';
import { cancelCampaign } from './approval.js';

/**
 * A coordinator's hand on the clock: pause, resume, cancel or escalate at once, a case, a notice or a whole
 * campaign; and the answer to a recipient's question, sent in the notice's thread. Every action is an audited
 * event naming who took it. Workflows are never edited in flight: a waiting execution is woken and re-decides
 * from the stored notice; a paused notice's execution ends, and resuming starts the next round of it.
 */

export const ControlAction = z.enum(['pause', 'resume', 'cancel', 'escalate']);

/**
 * The notice states a cancel takes. Not one being sent: its send was claimed before and goes; a campaign's cancel
 * that finds it so is followed by the notice as soon as it is out (sendNotice).
 */
const CANCELLABLE: readonly string[] = ['planned', 'sent', 'paused', 'uncertain'];

export type ControlAction = z.infer<typeof ControlAction>;

export type ControlTarget = { readonly campaignId: string } | { readonly noticeId: string } | { readonly caseId: string };

export interface ControlResult {
  readonly action: ControlAction;
  readonly target: string;
  /** notices whose clock changed (paused, resumed, cancelled, escalated or closed) */
  readonly notices: number;
  /** cases whose state changed */
  readonly cases: number;
  /** the notices the escalation started */
  readonly escalatedTo: readonly string[];
  /** notices a campaign-wide escalation left alone, and why (acknowledged, a question open): force escalates them */
  readonly skipped?: readonly { readonly id: string; readonly reason: string }[];
}

/** How a control is done: `force` escalates even what a recipient acknowledged or asked about. */
export interface ControlOptions {
  readonly force?: boolean;
}

/**
 * Why escalating these cases over their recipient's head needs `force`, or undefined when it does not: a recipient
 * that acknowledged is working on it, and one that asked a question is waiting for our answer, not late.
 */
async function whyForceIsNeeded(deps: Deps, notice: Pick<Notice, 'id' | 'party' | 'paused'>, cases: readonly Case[]): Promise<string | undefined> {
  const held = (c: Case) => (c.state === 'paused' ? (c.pausedFrom as CaseState | undefined) : c.state);
  const asked = cases.filter((c) => held(c) === 'needs-info').length + (notice.paused?.from && notice.paused.reason.startsWith(PAUSE_REASON.question) ? 1 : 0);
  const acknowledged = cases.filter((c) => held(c) === 'acknowledged');
  if (!asked && !acknowledged.length) return undefined;
  const answers = await deps.store.listAnswers(notice.id);
  const last = (intent: string) => answers.filter((a) => a.intent === intent).map((a) => a.receivedAt).sort().at(-1);
  const who = notice.party.name;
  if (asked) {
    const at = last('needs-info');
    return `${who} asked a question${at ? ` at ${at}` : ''} that is not answered yet (answer it with a follow-up); escalating now needs force`;
  }
  const at = last('acknowledged');
  return `${who} acknowledged ${acknowledged.length === 1 ? 'this case' : `${acknowledged.length} cases`}${at ? ` at ${at}` : ''} and is working on it; escalating now needs force`;
}

/** Which kind of record an id names, by its prefix: `cmp_…` campaign, `n…` notice, `c…` case. */
export function targetOf(id: string): ControlTarget {
  if (/^cmp_[a-z0-9]{16}$/.test(id)) return { campaignId: id };
  if (/^n[a-z0-9]{16}$/.test(id)) return { noticeId: id };
  if (/^c[a-z0-9]{16}$/.test(id)) return { caseId: id };
  throw new InvalidInputError('not a campaign, notice or case id', [{ where: 'id', reason: 'expected cmp_…, n… or c… (as `takedown status` shows them)' }]);
}

async function mustGetCase(deps: Deps, id: string): Promise<Case> {
  const c = await deps.store.getCase(id);
  if (!c) throw new NotFoundError('case', id);
  return c;
}

async function controlCase(deps: Deps, caseId: string, action: ControlAction, by: ActorLike, reason: string, options: ControlOptions): Promise<ControlResult> {
  const who = actorOf(by);
  const actor = who.name;
  const before = await mustGetCase(deps, caseId);
  const base = { action, target: caseId, notices: 0, cases: 0, escalatedTo: [] as string[] };
  const refuse = (to: string) => {
    throw new InvalidTransitionError('case', caseId, before.state, to);
  };
  const audit = (type: string, data: Record<string, unknown> = {}) =>
    appendEvent(deps, { campaignId: before.campaignId, caseId, noticeId: before.noticeId, type, actor, data: { reason, ...data, ...(who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {}) } });

  if (action === 'pause') {
    if (!CASE_AWAITING.has(before.state) && before.state !== 'open' && before.state !== 'needs-info') refuse('paused');
    await updateCase(deps, caseId, (cur) => (cur.state === 'paused' ? undefined : { ...cur, state: 'paused', pausedFrom: cur.state }));
    await audit('case.paused', { from: before.state });
    // a notice whose every waiting case is paused stops its clock
    let notices = 0;
    if (before.noticeId) {
      const rest = (await casesOf(deps, before.noticeId)).filter((c) => CASE_AWAITING.has(c.state) || c.state === 'open');
      if (!rest.length && (await pauseNotice(deps, before.noticeId, who, `every waiting case paused: ${reason}`))) notices++;
    }
    return { ...base, cases: 1, notices };
  }
  if (action === 'resume') {
    if (before.state !== 'paused') refuse('its state before the pause');
    const back = (before.pausedFrom as CaseState | undefined) ?? 'notified';
    await updateCase(deps, caseId, (cur) => (cur.state !== 'paused' ? undefined : { ...cur, state: back === 'needs-info' ? 'notified' : back, pausedFrom: undefined }));
    await audit('case.resumed', { to: back });
    let notices = 0;
    if (before.noticeId) {
      const notice = await deps.store.getNotice(before.noticeId);
      if (notice?.state === 'paused' && (await restartNotice(deps, notice.id, who, undefined, `case ${caseId} resumed`))) notices++;
    }
    return { ...base, cases: 1, notices };
  }
  if (action === 'cancel') {
    if (CASE_FINISHED.has(before.state)) refuse('cancelled');
    await updateCase(deps, caseId, (cur) => (CASE_FINISHED.has(cur.state) ? undefined : { ...cur, state: 'cancelled', reason: `cancelled by ${actor}: ${reason}` }));
    await audit('case.cancelled');
    const notices = before.noticeId && (await settleNotice(deps, before.noticeId, actor)) ? 1 : 0;
    return { ...base, cases: 1, notices };
  }
  // escalate now
  if (!CASE_AWAITING.has(before.state) && !['open', 'needs-info', 'paused', 'disputed'].includes(before.state)) refuse('escalated');
  if (!before.noticeId) refuse('escalated');
  const notice = await mustGetNotice(deps, before.noticeId!);
  const why = options.force ? undefined : await whyForceIsNeeded(deps, { ...notice, paused: undefined }, [before]);
  if (why) throw new NeedsForceError(`case ${caseId}: ${why}`);
  const escalatedTo = (await escalateCases(deps, notice, [before], `escalated by ${actor}: ${reason}`, { gather: false })).notices;
  await audit('case.force-escalated', { to: escalatedTo, ...(options.force ? { forced: true } : {}) });
  const notices = (await settleNotice(deps, notice.id, actor)) ? 1 : 0;
  return { ...base, cases: 1, notices, escalatedTo };
}

async function controlNotice(deps: Deps, noticeId: string, action: ControlAction, by: ActorLike, reason: string, options: ControlOptions): Promise<ControlResult> {
  const who = actorOf(by);
  const actor = who.name;
  const onBehalf = who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {};
  const notice = await mustGetNotice(deps, noticeId);
  const base = { action, target: noticeId, notices: 0, cases: 0, escalatedTo: [] as string[] };
  if (action === 'pause') {
    const paused = await pauseNotice(deps, noticeId, who, reason);
    if (!paused) throw new InvalidTransitionError('notice', noticeId, notice.state, 'paused');
    return { ...base, notices: 1 };
  }
  if (action === 'resume') {
    if (notice.state !== 'paused') throw new InvalidTransitionError('notice', noticeId, notice.state, 'its state before the pause');
    // cases paused one by one come back with their notice
    let cases = 0;
    for (const c of await casesOf(deps, noticeId)) {
      if (c.state !== 'paused') continue;
      const back = (c.pausedFrom as CaseState | undefined) ?? 'notified';
      await updateCase(deps, c.id, (cur) => (cur.state !== 'paused' ? undefined : { ...cur, state: back === 'needs-info' ? 'notified' : back, pausedFrom: undefined }));
      cases++;
    }
    await restartNotice(deps, noticeId, who, undefined, reason);
    return { ...base, notices: 1, cases };
  }
  const open = (await casesOf(deps, noticeId)).filter((c) => CASE_AWAITING.has(c.state) || ['open', 'needs-info', 'paused'].includes(c.state));
  if (action === 'cancel') {
    if (!CANCELLABLE.includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'cancelled');
    // each record once, as it changes: a deadline step or an answer may have moved a case or the notice meanwhile
    let cases = 0;
    for (const c of open) {
      let moved = false;
      await updateCase(deps, c.id, (cur) => ((moved = !CASE_FINISHED.has(cur.state)) ? { ...cur, state: 'cancelled', reason: `cancelled by ${actor}: ${reason}` } : undefined));
      if (!moved) continue;
      cases++;
      await appendEvent(deps, { campaignId: c.campaignId, caseId: c.id, noticeId, type: 'case.cancelled', actor, data: { reason, ...onBehalf } });
    }
    let token: string | undefined;
    let changed = false;
    const after = await updateNotice(deps, noticeId, (cur) => {
      token = cur.taskToken;
      changed = CANCELLABLE.includes(cur.state);
      return changed ? { ...cur, state: 'cancelled', taskToken: undefined, paused: undefined } : undefined;
    });
    if (changed) await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.cancelled', actor, data: { reason, cases, ...onBehalf } });
    if (token) await completeQuietly(deps, token, stepFor(deps, after));
    return { ...base, notices: changed ? 1 : 0, cases };
  }
  if (!['sent', 'paused'].includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'escalated');
  const why = options.force ? undefined : await whyForceIsNeeded(deps, notice, open);
  if (why) throw new NeedsForceError(`notice ${noticeId}: ${why}`);
  const escalatedTo = (await escalateCases(deps, notice, open, `escalated by ${actor}: ${reason}`, { gather: false })).notices;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.force-escalated', actor, data: { reason, cases: open.length, to: escalatedTo, ...(options.force ? { forced: true } : {}), ...onBehalf } });
  await settleNotice(deps, noticeId, actor);
  return { ...base, notices: 1, cases: open.length, escalatedTo };
}

async function controlCampaign(deps: Deps, campaignId: string, action: ControlAction, by: ActorLike, reason: string, options: ControlOptions): Promise<ControlResult> {
  const who = actorOf(by);
  const actor = who.name;
  const onBehalf = who.onBehalfOf ? { onBehalfOf: who.onBehalfOf } : {};
  const campaign = await deps.store.getCampaign(campaignId);
  if (!campaign) throw new NotFoundError('campaign', campaignId);
  const base = { action, target: campaignId, notices: 0, cases: 0, escalatedTo: [] as string[] };
  const allNotices = () => listAll((p) => deps.store.listNotices({ campaignId }, p));
  const setState = (from: readonly Campaign['state'][], to: Campaign['state']) =>
    updateCampaign(deps, campaignId, (c) => {
      if (c.state === to) return undefined;
      if (!from.includes(c.state)) throw new CampaignStateError(campaignId, c.state, action);
      return { ...c, state: to };
    });

  if (action === 'pause') {
    await setState(['running', 'sending'], 'paused');
    let notices = 0;
    for (const n of await allNotices()) if (await pauseNotice(deps, n.id, who, `${PAUSE_REASON.campaign}: ${reason}`)) notices++;
    await appendEvent(deps, { campaignId, type: 'campaign.paused', actor, data: { reason, notices, ...onBehalf } });
    return { ...base, notices };
  }
  if (action === 'resume') {
    await setState(['paused'], 'running');
    let notices = 0;
    for (const n of await allNotices()) {
      // a notice paused on its own (a question to answer, a coordinator's hold) stays paused: only the
      // campaign's pause is lifted
      if (n.state === 'paused' && n.paused?.reason.startsWith(PAUSE_REASON.campaign) && (await restartNotice(deps, n.id, who, undefined, reason))) notices++;
    }
    await appendEvent(deps, { campaignId, type: 'campaign.resumed', actor, data: { reason, notices, ...onBehalf } });
    return { ...base, notices };
  }
  if (action === 'cancel') {
    if (campaign.state === 'routing' || campaign.state === 'awaiting-approval') {
      await cancelCampaign(deps, campaignId, who, reason);
      return base;
    }
    await setState(['sending', 'running', 'paused', 'done'], 'cancelled');
    let notices = 0;
    let cases = 0;
    for (const n of await allNotices()) {
      if (!CANCELLABLE.includes(n.state)) continue;
      const r = await controlNotice(deps, n.id, 'cancel', who, reason, options);
      notices += r.notices;
      cases += r.cases;
    }
    await appendEvent(deps, { campaignId, type: 'campaign.cancelled', actor, data: { reason, notices, cases, ...onBehalf } });
    return { ...base, notices, cases };
  }
  if (campaign.state !== 'running' && campaign.state !== 'paused') throw new CampaignStateError(campaignId, campaign.state, 'escalate');
  let notices = 0;
  let cases = 0;
  const escalatedTo: string[] = [];
  const skipped: { id: string; reason: string }[] = [];
  for (const n of await allNotices()) {
    if (n.state !== 'sent' && n.state !== 'paused') continue;
    // the notices this loop starts are planned: they are not escalated again in the same pass
    try {
      const r = await controlNotice(deps, n.id, 'escalate', who, reason, options);
      notices += r.notices;
      cases += r.cases;
      escalatedTo.push(...r.escalatedTo);
    } catch (e) {
      // one recipient working on it does not stop the others' escalation: it is left alone, and said so
      if (!(e instanceof NeedsForceError)) throw e;
      skipped.push({ id: n.id, reason: e.message });
    }
  }
  await appendEvent(deps, { campaignId, type: 'campaign.force-escalated', actor, data: { reason, notices, cases, ...(skipped.length ? { skipped: skipped.map((s) => s.id) } : {}), ...(options.force ? { forced: true } : {}), ...onBehalf } });
  return { ...base, notices, cases, escalatedTo, ...(skipped.length ? { skipped } : {}) };
}

/**
 * Pause, resume, cancel or escalate a campaign, a notice or a case, as `by` (the principal, and whom it acts for);
 * audited. Escalating what a recipient acknowledged or asked about is refused (NeedsForceError) unless `force`.
 */
export async function control(deps: Deps, id: string, action: ControlAction, by: ActorLike, reason = 'by hand', options: ControlOptions = {}): Promise<ControlResult> {
  const target = targetOf(id);
  if ('campaignId' in target) return controlCampaign(deps, target.campaignId, action, by, reason, options);
  if ('noticeId' in target) return controlNotice(deps, target.noticeId, action, by, reason, options);
  return controlCase(deps, target.caseId, action, by, reason, options);
}

/** Cases of a campaign whose ladder ran out, with their history, for the coordinator. */
export async function expiredCases(deps: Pick<Deps, 'store'>, campaignId: string): Promise<{ case: Case; history: Awaited<ReturnType<Deps['store']['listEvents']>> }[]> {
  const all = await listAll((p) => deps.store.listCases({ campaignId }, p));
  const expired = all.filter((c) => c.state === 'expired');
  const byValue = new Map<string, Case[]>();
  for (const c of all) byValue.set(c.indicator.value, [...(byValue.get(c.indicator.value) ?? []), c]);
  const out = [];
  for (const c of expired) {
    // the whole climb: every case of the same indicator, in ladder order
    const chain = (byValue.get(c.indicator.value) ?? []).sort((a, b) => a.step - b.step);
    const history = [];
    for (const link of chain) history.push(...(await deps.store.listEvents({ caseId: link.id })));
    history.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    out.push({ case: c, history });
  }
  return out;
}

/** What a control would do, for the page that asks a coordinator to confirm it; nothing is changed. */
export interface ControlPreview {
  readonly action: ControlAction;
  readonly target: ControlTarget;
  /** what it names: the campaign's name, the notice's recipient, the case's indicator */
  readonly label: string;
  /** the cases it would touch (waiting ones for escalate, pause and cancel) */
  readonly cases: number;
  /** for an escalation: the parties the cases would go to next (none left: they expire) */
  readonly nextParties: readonly string[];
  /** why escalating needs `force`, when it does */
  readonly needsForce?: string;
}

/** What `control` would do to a campaign, a notice or a case, without doing it. */
export async function controlPreview(deps: Deps, id: string, action: ControlAction): Promise<ControlPreview> {
  const target = targetOf(id);
  const waiting = (c: Case) => CASE_AWAITING.has(c.state) || ['open', 'needs-info', 'paused'].includes(c.state);
  const next = (cases: readonly Case[]) => [...new Set(cases.map((c) => c.ladder[c.step + 1]?.party.name ?? ''))].map((n) => n || '(nobody: the case expires)');
  if ('caseId' in target) {
    const c = await mustGetCase(deps, target.caseId);
    const notice = c.noticeId ? await deps.store.getNotice(c.noticeId) : undefined;
    const needsForce = action === 'escalate' && notice ? await whyForceIsNeeded(deps, { ...notice, paused: undefined }, [c]) : undefined;
    return { action, target, label: `${c.indicator.value} (${(c.ladder[c.step] ?? c.ladder[0]!).party.name})`, cases: 1, nextParties: action === 'escalate' ? next([c]) : [], ...(needsForce ? { needsForce } : {}) };
  }
  if ('noticeId' in target) {
    const notice = await mustGetNotice(deps, target.noticeId);
    const open = (await casesOf(deps, notice.id)).filter(waiting);
    const needsForce = action === 'escalate' ? await whyForceIsNeeded(deps, notice, open) : undefined;
    return { action, target, label: `${notice.tag} (${notice.party.name})`, cases: open.length, nextParties: action === 'escalate' ? next(open) : [], ...(needsForce ? { needsForce } : {}) };
  }
  const campaign = await deps.store.getCampaign(target.campaignId);
  if (!campaign) throw new NotFoundError('campaign', target.campaignId);
  const cases = (await listAll((p) => deps.store.listCases({ campaignId: campaign.id }, p))).filter(waiting);
  const acknowledgedOrAsked = cases.filter((c) => ['acknowledged', 'needs-info'].includes(c.state === 'paused' ? (c.pausedFrom ?? '') : c.state)).length;
  return {
    action,
    target,
    label: campaign.name,
    cases: cases.length,
    nextParties: action === 'escalate' ? next(cases) : [],
    ...(action === 'escalate' && acknowledgedOrAsked ? { needsForce: `${acknowledgedOrAsked} of these cases were acknowledged or are waiting on a question: their notices are left alone unless forced` } : {}),
  };
}
