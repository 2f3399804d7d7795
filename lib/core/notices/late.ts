import type { Answer, Case, Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { appendEvent } from '../audit/index.js';
import { CASE_AWAITING } from '../lifecycle.js';
import { updateCase, updateNotice } from '../updates.js';
import { settleNotice } from './clock.js';
import { sendOutbound } from './sending/outbound.js';
import { casesOf } from './records.js';
import { renderResolved } from './render/render-resolved.js';
import { noticeOutboundId } from './sending/resend.js';
import { keptIfRefusedForNow } from './followup.js';

/**
 * Late answers count. A party that says it took something down after its case went on to the next party (a hoster
 * answering a day late) still has the best news a case can get: the case, where it now stands, is marked actioned
 * on its word, the party it went to is told it need do nothing, and that notice closes if nothing else is open on
 * it. The case escalated away stays escalated (that is what happened); its successor carries the outcome.
 */

const STILL_WITH_ITS_PARTY = new Set<Case['state']>([...CASE_AWAITING, 'open', 'needs-info', 'paused', 'disputed']);

/** The case an escalated case now stands as: its onward case, followed through later escalations. */
async function whereItStands(deps: Deps, c: Case): Promise<Case | undefined> {
  let current: Case | undefined = c;
  for (let hops = 0; current?.onward && hops < 10; hops++) {
    const next: Case | undefined = await deps.store.getCase(current.onward);
    if (!next) return undefined;
    if (next.state !== 'escalated' && !(next.state === 'not-ours' && next.onward)) return next;
    current = next;
  }
  return undefined;
}

/**
 * A party's "taken down" for cases of its notice that had already gone on: each one's current case is actioned on
 * its word. Returns the notices whose cases it actioned (their verification is the caller's to start).
 */
export async function lateTakedown(deps: Deps, from: Notice, escalated: readonly Case[], answer: Pick<Answer, 'id' | 'from' | 'source'>): Promise<Notice[]> {
  const touched = new Map<string, Case[]>();
  for (const c of escalated) {
    const live = await whereItStands(deps, c);
    if (!live || !live.noticeId) continue;
    let moved = false;
    await updateCase(deps, live.id, (cur) => {
      moved = STILL_WITH_ITS_PARTY.has(cur.state);
      return moved ? { ...cur, state: 'actioned', reason: `taken down by ${from.party.name}, who was asked first (a late answer)`.slice(0, 500), pausedFrom: undefined } : undefined;
    });
    await appendEvent(deps, {
      campaignId: c.campaignId,
      caseId: c.id,
      noticeId: from.id,
      type: 'case.late-answer',
      actor: answer.from ?? answer.source,
      data: { answer: answer.id, intent: 'actioned', now: live.id, applied: moved },
    });
    if (!moved) continue;
    await appendEvent(deps, {
      campaignId: live.campaignId,
      caseId: live.id,
      noticeId: live.noticeId,
      type: 'case.resolved-upstream',
      actor: answer.from ?? answer.source,
      data: { by: from.party.id, notice: from.id, answer: answer.id },
    });
    touched.set(live.noticeId, [...(touched.get(live.noticeId) ?? []), live]);
  }
  const notices: Notice[] = [];
  for (const [noticeId, cases] of touched) {
    const notice = await deps.store.getNotice(noticeId);
    if (!notice) continue;
    notices.push(notice);
    // a notice not sent yet (still gathering) just sends without them; one that went out is told
    if (notice.sentAt) await tellResolved(deps, notice, from, cases);
    await settleNotice(deps, noticeId, 'system');
  }
  return notices;
}

/** "Resolved by the party asked first: nothing needed from you", in the notice's thread and language. */
async function tellResolved(deps: Deps, notice: Notice, from: Notice, cases: readonly Case[]): Promise<void> {
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!campaign) return;
  let n = 0;
  // claimed with its number while the notice still waits on its party: one that closed meanwhile is told nothing
  const numbered = await updateNotice(deps, notice.id, (cur) => {
    n = ['sent', 'paused', 'uncertain'].includes(cur.state) ? (cur.followupsSent ?? 0) + 1 : 0;
    return n ? { ...cur, followupsSent: n } : undefined;
  });
  if (!n) return;
  const original = await deps.store.getOutbound(noticeOutboundId(numbered));
  await keptIfRefusedForNow(deps, () =>
    sendOutbound(deps, numbered, {
      kind: 'followup',
      n,
      cases,
      render: (message) =>
        renderResolved({ notice: numbered, campaign, cases: message.cases, token: message.token, messageId: message.messageId, originalMessageId: original?.messageId ?? '', settings: deps.settings, by: from.party.name }),
    }),
  );
  await appendEvent(deps, { campaignId: notice.campaignId, noticeId: notice.id, type: 'notice.resolved-upstream', actor: 'system', data: { n, by: from.party.id, cases: cases.length } });
}

/** Escalated cases of a notice, for a late "taken down". */
export async function escalatedCasesOf(deps: Deps, noticeId: string, only?: ReadonlySet<string>): Promise<Case[]> {
  return (await casesOf(deps, noticeId)).filter((c) => c.onward && (c.state === 'escalated' || c.state === 'not-ours') && (!only || only.has(c.id)));
}
