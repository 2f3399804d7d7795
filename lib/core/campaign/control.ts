import { z } from 'zod';
import { CampaignStateError, InvalidInputError, InvalidTransitionError, NotFoundError } from '../errors.js';
import { CASE_AWAITING, CASE_FINISHED, PAUSE_REASON } from '../lifecycle.js';
import type { Campaign, Case, CaseState, Notice, NoticeState } from '../model.js';
import type { Deps } from '../ports.js';
import { cancelCampaign, completeQuietly, listAll, startNoticeRun } from './campaign.js';
import { appendEvent } from '../audit/events.js';
import { casesOf, escalateCases, mustGetNotice, sendOutbound, stepFor } from '../notices/notice.js';
import { renderFollowup, type Followup } from '../notices/render-followup.js';
import { updateCampaign, updateCase, updateNotice } from '../updates.js';

/**
 * A coordinator's hand on the clock: pause, resume, cancel or escalate at once, a case, a notice or a whole
 * campaign; and the answer to a recipient's question, sent in the notice's thread. Every action is an audited
 * event naming who took it. Workflows are never edited in flight: a waiting execution is woken and re-decides
 * from the stored notice; a paused notice's execution ends, and resuming starts the next round of it.
 */

export const ControlAction = z.enum(['pause', 'resume', 'cancel', 'escalate']);
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
}

/** Which kind of record an id names, by its prefix: `cmp_…` campaign, `n…` notice, `c…` case. */
export function targetOf(id: string): ControlTarget {
  if (/^cmp_[a-z0-9]{16}$/.test(id)) return { campaignId: id };
  if (/^n[a-z0-9]{16}$/.test(id)) return { noticeId: id };
  if (/^c[a-z0-9]{16}$/.test(id)) return { caseId: id };
  throw new InvalidInputError('not a campaign, notice or case id', [{ where: 'id', reason: 'expected cmp_…, n… or c… (as `takedown status` shows them)' }]);
}

const LIVE_NOTICE: ReadonlySet<NoticeState> = new Set(['planned', 'sent', 'uncertain']);

/** Seconds of domain time a notice's clock has left. */
function remainingOf(deps: Deps, n: Notice): number {
  if (!n.deadline) return n.answerDeadline;
  return Math.max(0, (Date.parse(n.deadline) - deps.clock.now().getTime()) / 1000);
}

/** Stop a notice's clock; its waiting execution wakes, finds it paused and ends. */
export async function pauseNotice(deps: Deps, noticeId: string, actor: string, reason: string): Promise<Notice | undefined> {
  let token: string | undefined;
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    token = undefined;
    if (!LIVE_NOTICE.has(cur.state) || cur.state === 'uncertain') return undefined;
    changed = true;
    token = cur.taskToken;
    return {
      ...cur,
      state: 'paused',
      taskToken: undefined,
      paused: { from: cur.state, remainingSeconds: remainingOf(deps, cur), reason: reason.slice(0, 300), by: actor.slice(0, 200) },
    };
  });
  if (!changed) return undefined;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.paused', actor, data: { reason, remainingSeconds: notice.paused?.remainingSeconds } });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
  return notice;
}

/**
 * Start a paused (or closed, for a "still reachable" recheck) notice's clock again as a new round: a new
 * execution under a new name, the deadline `seconds` from now. Nothing is resent: SendNotice finds it sent.
 */
export async function restartNotice(deps: Deps, noticeId: string, actor: string, seconds: number | undefined, why: string): Promise<Notice | undefined> {
  const now = deps.clock.now().getTime();
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    const fromPause = cur.state === 'paused';
    // a notice still sent has its execution: only a stopped clock starts a new round (an escalated one: for a
    // case found still reachable, which goes back to this party)
    if (!fromPause && cur.state !== 'closed' && cur.state !== 'escalated') return undefined;
    changed = true;
    const back = fromPause ? ((cur.paused?.from as NoticeState | undefined) ?? 'sent') : 'sent';
    const left = seconds ?? cur.paused?.remainingSeconds ?? cur.answerDeadline;
    return {
      ...cur,
      state: back === 'planned' ? 'planned' : 'sent',
      paused: undefined,
      taskToken: undefined,
      round: cur.round + 1,
      // a notice never sent keeps no deadline: SendNotice sets it when it sends
      deadline: back === 'planned' ? cur.deadline : new Date(now + Math.max(1, left) * 1000).toISOString(),
    };
  });
  if (!changed) return undefined;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.resumed', actor, data: { why, round: notice.round, deadline: notice.deadline } });
  await startNoticeRun(deps, notice);
  return notice;
}

async function wake(deps: Deps, noticeId: string): Promise<void> {
  let token: string | undefined;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    token = cur.taskToken;
    return token ? { ...cur, taskToken: undefined } : undefined;
  });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
}

/** After cases of a notice moved by hand: close it when nothing is left for its party, else let it re-decide. */
async function settleNotice(deps: Deps, noticeId: string, actor: string): Promise<boolean> {
  const cases = await casesOf(deps, noticeId);
  const waiting = cases.some((c) => CASE_AWAITING.has(c.state) || c.state === 'open' || c.state === 'needs-info' || c.state === 'paused');
  if (waiting) {
    await wake(deps, noticeId);
    return false;
  }
  let token: string | undefined;
  let changed = false;
  const notice = await updateNotice(deps, noticeId, (cur) => {
    changed = false;
    if (!['sent', 'paused', 'planned'].includes(cur.state)) return undefined;
    changed = true;
    token = cur.taskToken;
    const escalated = cases.some((c) => c.state === 'escalated');
    const cancelled = cases.every((c) => c.state === 'cancelled');
    const state: NoticeState = cancelled ? 'cancelled' : escalated ? 'escalated' : 'closed';
    return { ...cur, state, taskToken: undefined, paused: undefined };
  });
  if (!changed) return false;
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: `notice.${notice.state}`, actor, data: { reason: 'nothing left for this party' } });
  if (token) await completeQuietly(deps, token, stepFor(deps, notice));
  return true;
}

async function mustGetCase(deps: Deps, id: string): Promise<Case> {
  const c = await deps.store.getCase(id);
  if (!c) throw new NotFoundError('case', id);
  return c;
}

async function controlCase(deps: Deps, caseId: string, action: ControlAction, actor: string, reason: string): Promise<ControlResult> {
  const before = await mustGetCase(deps, caseId);
  const base = { action, target: caseId, notices: 0, cases: 0, escalatedTo: [] as string[] };
  const refuse = (to: string) => {
    throw new InvalidTransitionError('case', caseId, before.state, to);
  };
  const audit = (type: string, data: Record<string, unknown> = {}) =>
    appendEvent(deps, { campaignId: before.campaignId, caseId, noticeId: before.noticeId, type, actor, data: { reason, ...data } });

  if (action === 'pause') {
    if (!CASE_AWAITING.has(before.state) && before.state !== 'open' && before.state !== 'needs-info') refuse('paused');
    await updateCase(deps, caseId, (cur) => (cur.state === 'paused' ? undefined : { ...cur, state: 'paused', pausedFrom: cur.state }));
    await audit('case.paused', { from: before.state });
    // a notice whose every waiting case is paused stops its clock
    let notices = 0;
    if (before.noticeId) {
      const rest = (await casesOf(deps, before.noticeId)).filter((c) => CASE_AWAITING.has(c.state) || c.state === 'open');
      if (!rest.length && (await pauseNotice(deps, before.noticeId, actor, `every waiting case paused: ${reason}`))) notices++;
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
      if (notice?.state === 'paused' && (await restartNotice(deps, notice.id, actor, undefined, `case ${caseId} resumed`))) notices++;
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
  const escalatedTo = await escalateCases(deps, notice, [before], `escalated by ${actor}: ${reason}`);
  await audit('case.force-escalated', { to: escalatedTo });
  const notices = (await settleNotice(deps, notice.id, actor)) ? 1 : 0;
  return { ...base, cases: 1, notices, escalatedTo };
}

async function controlNotice(deps: Deps, noticeId: string, action: ControlAction, actor: string, reason: string): Promise<ControlResult> {
  const notice = await mustGetNotice(deps, noticeId);
  const base = { action, target: noticeId, notices: 0, cases: 0, escalatedTo: [] as string[] };
  if (action === 'pause') {
    const paused = await pauseNotice(deps, noticeId, actor, reason);
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
    await restartNotice(deps, noticeId, actor, undefined, reason);
    return { ...base, notices: 1, cases };
  }
  const open = (await casesOf(deps, noticeId)).filter((c) => CASE_AWAITING.has(c.state) || ['open', 'needs-info', 'paused'].includes(c.state));
  if (action === 'cancel') {
    if (!['planned', 'sent', 'paused', 'uncertain'].includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'cancelled');
    for (const c of open) {
      await updateCase(deps, c.id, (cur) => (CASE_FINISHED.has(cur.state) ? undefined : { ...cur, state: 'cancelled', reason: `cancelled by ${actor}: ${reason}` }));
      await appendEvent(deps, { campaignId: c.campaignId, caseId: c.id, noticeId, type: 'case.cancelled', actor, data: { reason } });
    }
    let token: string | undefined;
    const after = await updateNotice(deps, noticeId, (cur) => {
      token = cur.taskToken;
      return ['planned', 'sent', 'paused', 'uncertain'].includes(cur.state) ? { ...cur, state: 'cancelled', taskToken: undefined, paused: undefined } : undefined;
    });
    await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.cancelled', actor, data: { reason, cases: open.length } });
    if (token) await completeQuietly(deps, token, stepFor(deps, after));
    return { ...base, notices: 1, cases: open.length };
  }
  if (!['sent', 'paused'].includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'escalated');
  const escalatedTo = await escalateCases(deps, notice, open, `escalated by ${actor}: ${reason}`);
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.force-escalated', actor, data: { reason, cases: open.length, to: escalatedTo } });
  await settleNotice(deps, noticeId, actor);
  return { ...base, notices: 1, cases: open.length, escalatedTo };
}

async function controlCampaign(deps: Deps, campaignId: string, action: ControlAction, actor: string, reason: string): Promise<ControlResult> {
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
    for (const n of await allNotices()) if (await pauseNotice(deps, n.id, actor, `${PAUSE_REASON.campaign}: ${reason}`)) notices++;
    await appendEvent(deps, { campaignId, type: 'campaign.paused', actor, data: { reason, notices } });
    return { ...base, notices };
  }
  if (action === 'resume') {
    await setState(['paused'], 'running');
    let notices = 0;
    for (const n of await allNotices()) {
      // a notice paused on its own (a question to answer, a coordinator's hold) stays paused: only the
      // campaign's pause is lifted
      if (n.state === 'paused' && n.paused?.reason.startsWith(PAUSE_REASON.campaign) && (await restartNotice(deps, n.id, actor, undefined, reason))) notices++;
    }
    await appendEvent(deps, { campaignId, type: 'campaign.resumed', actor, data: { reason, notices } });
    return { ...base, notices };
  }
  if (action === 'cancel') {
    if (campaign.state === 'routing' || campaign.state === 'awaiting-approval') {
      await cancelCampaign(deps, campaignId, actor);
      return base;
    }
    await setState(['sending', 'running', 'paused', 'done'], 'cancelled');
    let notices = 0;
    let cases = 0;
    for (const n of await allNotices()) {
      if (!['planned', 'sent', 'paused', 'uncertain'].includes(n.state)) continue;
      const r = await controlNotice(deps, n.id, 'cancel', actor, reason);
      notices += r.notices;
      cases += r.cases;
    }
    await appendEvent(deps, { campaignId, type: 'campaign.cancelled', actor, data: { reason, notices, cases } });
    return { ...base, notices, cases };
  }
  if (campaign.state !== 'running' && campaign.state !== 'paused') throw new CampaignStateError(campaignId, campaign.state, 'escalate');
  let notices = 0;
  let cases = 0;
  const escalatedTo: string[] = [];
  for (const n of await allNotices()) {
    if (n.state !== 'sent' && n.state !== 'paused') continue;
    // the notices this loop starts are planned: they are not escalated again in the same pass
    const r = await controlNotice(deps, n.id, 'escalate', actor, reason);
    notices += r.notices;
    cases += r.cases;
    escalatedTo.push(...r.escalatedTo);
  }
  await appendEvent(deps, { campaignId, type: 'campaign.force-escalated', actor, data: { reason, notices, cases } });
  return { ...base, notices, cases, escalatedTo };
}

/** Pause, resume, cancel or escalate a campaign, a notice or a case, as `actor`; audited. */
export async function control(deps: Deps, id: string, action: ControlAction, actor: string, reason = 'by hand'): Promise<ControlResult> {
  const target = targetOf(id);
  if ('campaignId' in target) return controlCampaign(deps, target.campaignId, action, actor, reason);
  if ('noticeId' in target) return controlNotice(deps, target.noticeId, action, actor, reason);
  return controlCase(deps, target.caseId, action, actor, reason);
}

/**
 * Send a message in a notice's thread (same tag, same reply channel, In-Reply-To the notice) and restart its
 * clock for the action deadline. The coordinator's answer to "needs more information" resumes a notice paused
 * for it; a "still reachable" recheck reopens a closed one.
 */
export async function sendFollowup(
  deps: Deps,
  noticeId: string,
  followup: Followup,
  actor: string,
  cases?: readonly Case[],
  /** runs once the message is out, before the clock restarts (the cases it concerns change state only then) */
  afterSend?: () => Promise<void>,
): Promise<Notice> {
  let notice = await mustGetNotice(deps, noticeId);
  if (!['sent', 'paused', 'closed', 'escalated'].includes(notice.state)) throw new InvalidTransitionError('notice', noticeId, notice.state, 'follow-up');
  if (followup.kind === 'answer' && !followup.message.trim()) {
    throw new InvalidInputError('the follow-up is empty', [{ where: 'message', reason: 'write what the recipient asked for' }]);
  }
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
  const concerned = cases ?? (await casesOf(deps, noticeId)).filter((c) => c.state === 'needs-info' || CASE_AWAITING.has(c.state));
  // the number is taken before the send: two follow-ups at once get two messages, never one under two records
  let n = 0;
  notice = await updateNotice(deps, noticeId, (cur) => {
    n = (cur.followupsSent ?? 0) + 1;
    return { ...cur, followupsSent: n };
  });
  const original = await deps.store.getOutbound(`${noticeId}.notice.${notice.contactIndex ?? 0}`);
  const now = deps.clock.now();
  const deadline = new Date(now.getTime() + notice.actionDeadline * 1000).toISOString();
  await sendOutbound(deps, notice, 'followup', n, (token, messageId) =>
    renderFollowup({
      notice: { ...notice, deadline },
      campaign,
      cases: concerned,
      token,
      messageId,
      originalMessageId: original?.messageId ?? '',
      settings: deps.settings,
      followup,
      now,
    }),
  );
  await afterSend?.();
  // the questions are answered: the cases wait on their party again
  for (const c of concerned) {
    if (c.state === 'needs-info') await updateCase(deps, c.id, (cur) => (cur.state === 'needs-info' ? { ...cur, state: 'notified' } : undefined));
  }
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: 'notice.followup',
    actor,
    data: { n, kind: followup.kind, cases: concerned.length, deadline },
  });
  const restarted = await restartNotice(deps, noticeId, actor, notice.actionDeadline, followup.kind === 'answer' ? 'the coordinator answered the question' : 'still reachable after the takedown was reported');
  if (!restarted) {
    // its execution is still waiting: the deadline moves out (never in) and the execution re-decides
    await updateNotice(deps, noticeId, (cur) => (cur.state === 'sent' && (!cur.deadline || cur.deadline < deadline) ? { ...cur, deadline } : undefined));
    await wake(deps, noticeId);
  }
  return mustGetNotice(deps, noticeId);
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
