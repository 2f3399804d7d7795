import type { Deps } from '../ports.js';
import type { Case, CaseState, Notice } from '../model.js';
import { caseIdFor, noticeIdFor } from '../routing/index.js';
import { groupIntoNotices, startNoticeRun } from './planning.js';
import { updateCase, updateNotice } from '../updates.js';
import { CASE_AWAITING } from '../lifecycle.js';
import { appendEvent } from '../audit/index.js';
import { completeQuietly } from '../executions.js';

/**
 * Hand cases to the next party of their ladder: new cases grouped into one notice per new recipient, each
 * started as its own execution; a case whose ladder is exhausted expires. New records are created before the
 * old ones are marked, so a crash half-way redoes the same (derived) records and nothing is lost.
 * Returns the ids of the notices started.
 */
export async function escalateCases(deps: Deps, from: Notice, cases: readonly Case[], reason: string): Promise<string[]> {
  const now = deps.clock.now().toISOString();
  const onward: Case[] = [];
  for (const c of cases) {
    const step = c.step + 1;
    const rung = c.ladder[step];
    if (!rung) continue;
    onward.push({
      id: caseIdFor(deps.ids, c.campaignId, c.indicator.value, step, c.revival ?? 0),
      campaignId: c.campaignId,
      indicator: c.indicator,
      ladder: c.ladder,
      step,
      state: 'open',
      noticeId: noticeIdFor(deps.ids, c.campaignId, rung.party.email, step, from.id),
      previousCaseId: c.id,
      ...(c.revival ? { revival: c.revival } : {}),
      updatedAt: now,
      version: 1,
    });
  }
  await deps.store.putCases(onward);
  const notices = groupIntoNotices(deps, from.campaignId, onward, from.id);
  await deps.store.putNotices(notices);
  for (const n of notices) {
    await startNoticeRun(deps, n);
  }
  for (const c of cases) {
    const to: CaseState = c.ladder[c.step + 1] ? 'escalated' : 'expired';
    await updateCase(deps, c.id, (cur) =>
      CASE_AWAITING.has(cur.state) || ['open', 'not-ours', 'needs-info', 'paused', 'disputed'].includes(cur.state)
        ? { ...cur, state: cur.state === 'not-ours' && to === 'escalated' ? 'not-ours' : to, reason: to === 'expired' ? 'ladder exhausted' : reason, pausedFrom: undefined }
        : undefined,
    );
    await appendEvent(deps, {
      campaignId: c.campaignId,
      caseId: c.id,
      noticeId: from.id,
      type: to === 'expired' ? 'case.expired' : 'case.escalated',
      actor: 'system',
      data: { reason, ...(to === 'escalated' ? { next: c.ladder[c.step + 1]!.party.id } : {}) },
    });
  }
  return notices.map((n) => n.id);
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
    const live = cur.state === 'sent' || cur.state === 'uncertain' || cur.state === 'planned';
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
