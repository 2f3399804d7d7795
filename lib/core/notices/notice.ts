import { AlreadyExistsError, MailRejectedError, MailTransientError, NotFoundError } from '../errors.js';
import { CASE_AWAITING, PAUSE_REASON } from '../lifecycle.js';
import type { Case, CaseState, Notice, Outbound, OutboundKind } from '../model.js';
import type { Deps, MailDraft } from '../ports.js';
import { completeQuietly, engineWait, groupIntoNotices, listAll, startNoticeRun } from '../campaign/campaign.js';
import { appendEvent } from '../audit/events.js';
import { contentTlp, renderNotice, type AnswerLinks } from './render.js';
import { issueAnswerLinks } from './links.js';
import { rememberTransportId } from './transport-ids.js';
import { caseIdFor, noticeIdFor } from '../routing/ids.js';
import { updateCase, updateNotice } from '../updates.js';

/** What a notice workflow does next; `seen` is the notice version the decision was made on. */
export type NoticeStep =
  | { next: 'wait'; seconds: number; seen: number }
  | { next: 'deadline' | 'closed' | 'escalated' | 'stopped' };

export async function mustGetNotice(deps: Deps, id: string): Promise<Notice> {
  const notice = await deps.store.getNotice(id);
  if (!notice) throw new NotFoundError('notice', id);
  return notice;
}

export function casesOf(deps: Deps, noticeId: string): Promise<Case[]> {
  return listAll((p) => deps.store.listCases({ noticeId }, p));
}

/** The next step of a notice, decided from its stored state and deadline only. */
export function stepFor(deps: Deps, notice: Notice): NoticeStep {
  switch (notice.state) {
    case 'closed':
      return { next: 'closed' };
    case 'escalated':
      return { next: 'escalated' };
    case 'paused':
    case 'cancelled':
      return { next: 'stopped' };
    case 'planned':
    case 'sending':
    case 'uncertain':
      // only SendNotice moves a notice out of these; a waiting step that finds one stops rather than loop
      // between "deadline" and a notice that is not live (a restart starts it again from SendNotice)
      return { next: 'stopped' };
    default: {
      const deadline = notice.deadline ? Date.parse(notice.deadline) : deps.clock.now().getTime();
      const remaining = (deadline - deps.clock.now().getTime()) / 1000;
      if (remaining <= 0) return { next: 'deadline' };
      return { next: 'wait', seconds: engineWait(deps, remaining), seen: notice.version };
    }
  }
}

/** What a revival notice says came back: when it was verified down, and what the probe found. */
function revivalOf(cases: readonly Case[]): { verifiedDownAt?: string; detail: string } {
  const back = cases.filter((c) => c.probe?.live);
  const first = back[0] ?? cases[0];
  const more = back.length > 1 ? ` (and ${back.length - 1} more)` : '';
  return { verifiedDownAt: first?.verifiedDownAt, detail: `${first?.probe?.detail ?? 'reachable again'}${more}` };
}

/** One-click answer links, when the host has a public URL for them to point at; none otherwise. */
async function answerLinksFor(deps: Deps, notice: Notice): Promise<AnswerLinks | undefined> {
  if (!deps.settings.publicUrl) return undefined;
  return issueAnswerLinks(deps, notice);
}

function replyDomain(deps: Deps): string {
  return deps.settings.replyMailbox.slice(deps.settings.replyMailbox.lastIndexOf('@') + 1);
}

/**
 * Send one message of a notice exactly once. The exact bytes are stored before the hand-over, so a retry
 * sends nothing when the first attempt got through, and the same bytes (same Message-ID, tag and token) when
 * the first attempt's outcome is unknown (a crash between the transport's acceptance and the "sent" record):
 * that one case is `uncertain`, recorded as such, and resolved by resending, which at worst delivers the same
 * message twice under one Message-ID.
 */
export async function sendOutbound(
  deps: Deps,
  notice: Notice,
  kind: OutboundKind,
  n: number,
  render: (token: string, messageId: string) => MailDraft | Promise<MailDraft>,
): Promise<Outbound> {
  const id = `${notice.id}.${kind}.${n}`;
  let out = await deps.store.getOutbound(id);
  if (!out) {
    const token = deps.ids.newToken();
    const messageId = `<${id}@${replyDomain(deps)}>`;
    const draft = await render(token, messageId);
    const raw = await deps.mailer.compose(draft);
    const composed: Outbound = {
      id,
      noticeId: notice.id,
      kind,
      n,
      state: 'composed',
      to: draft.to,
      from: draft.from,
      messageId,
      raw,
      sha256: deps.ids.hash(raw),
      tokenHash: deps.ids.hash(token),
      attempts: 0,
      createdAt: deps.clock.now().toISOString(),
      version: 1,
    };
    try {
      await deps.store.createOutbound(composed);
      out = composed;
    } catch (e) {
      if (!(e instanceof AlreadyExistsError)) throw e;
      out = (await deps.store.getOutbound(id))!;
    }
  }
  if (out.state === 'sent') return out;
  if (out.state === 'sending') {
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId: notice.id,
      type: 'message.uncertain',
      actor: 'system',
      data: { outbound: id, attempts: out.attempts, resolution: 'resend the same bytes' },
    });
    if (kind === 'notice') await updateNotice(deps, notice.id, (cur) => (cur.state === 'sent' ? undefined : { ...cur, state: 'uncertain' }));
  }
  const handing: Outbound = { ...out, state: 'sending', attempts: out.attempts + 1, version: out.version + 1 };
  await deps.store.saveOutbound(handing);
  let sent;
  try {
    sent = await deps.mailer.sendRaw({ from: handing.from, to: handing.to }, handing.raw);
  } catch (e) {
    if ((e instanceof MailTransientError && !e.maybeDelivered) || e instanceof MailRejectedError) {
      // the transport refused it: nothing went out, so the next attempt is a first send, not an uncertain one
      await deps.store.saveOutbound({ ...handing, state: 'composed', version: handing.version + 1 });
    }
    throw e;
  }
  const done: Outbound = {
    ...handing,
    state: 'sent',
    transportId: sent.transportId,
    sentAt: deps.clock.now().toISOString(),
    version: handing.version + 1,
  };
  await deps.store.saveOutbound(done);
  // SES rewrites the Message-ID and reports bounces and complaints by its own id: keep the way back to the notice
  // (a relay that keeps ours needs nothing: replies and reports quote the Message-ID we stored)
  if (done.transportId && done.transportId !== done.messageId) await rememberTransportId(deps, done.transportId, notice.id, id);
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'message.sent',
    actor: 'system',
    data: { outbound: id, kind, to: done.to, messageId: done.messageId, transportId: done.transportId, sha256: done.sha256, attempts: done.attempts, destination: sent.destination },
  });
  return done;
}

/** Send a notice (once), mark its cases notified, and say how long to wait for an answer. */
export async function sendNotice(deps: Deps, noticeId: string, round?: number): Promise<NoticeStep> {
  let notice = await mustGetNotice(deps, noticeId);
  if (round !== undefined && notice.round !== round) return { next: 'stopped' };
  if (!['planned', 'sending', 'uncertain'].includes(notice.state)) return stepFor(deps, notice);
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
  if (campaign.state === 'paused' && notice.state === 'planned') {
    // an escalation or a revival during a campaign's pause waits for its resume, like every other notice
    const held = await updateNotice(deps, noticeId, (cur) =>
      cur.state !== 'planned' ? undefined : { ...cur, state: 'paused', paused: { from: 'planned', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.campaign, by: 'system' } },
    );
    return stepFor(deps, held);
  }
  const cases = await casesOf(deps, noticeId);
  const previousId = notice.escalatedFrom?.[0];
  const previousNotice = previousId ? await deps.store.getNotice(previousId) : undefined;
  const now = deps.clock.now();
  const out = await sendOutbound(deps, notice, 'notice', notice.contactIndex ?? 0, async (token, messageId) =>
    renderNotice({
      notice,
      campaign,
      cases,
      token,
      messageId,
      settings: deps.settings,
      now,
      // minted once, with the bytes: a resend of the same bytes carries the same links
      links: await answerLinksFor(deps, notice),
      previous: previousNotice ? { party: previousNotice.party.name, sentAt: previousNotice.sentAt } : undefined,
      revival: notice.revivalOf ? revivalOf(cases) : undefined,
    }),
  );
  const sentAt = out.sentAt ?? now.toISOString();
  notice = await updateNotice(deps, noticeId, (cur) =>
    cur.state === 'sent'
      ? undefined
      : {
          ...cur,
          state: 'sent',
          // a resend after an uncertain hand-over keeps the first send's clock
          sentAt: cur.sentAt ?? sentAt,
          messageId: out.transportId ?? out.messageId,
          tokenHash: out.tokenHash ?? '',
          deadline: cur.deadline ?? new Date(Date.parse(sentAt) + cur.answerDeadline * 1000).toISOString(),
        },
  );
  // the cases read before the send move together; one that changed meanwhile is redone on its own
  const updatedAt = deps.clock.now().toISOString();
  const opened = cases.filter((c) => c.state === 'open');
  const stale = await deps.store.saveCases(opened.map((c) => ({ ...c, state: 'notified', updatedAt, version: c.version + 1 })));
  for (const id of stale) await updateCase(deps, id, (cur) => (cur.state === 'open' ? { ...cur, state: 'notified' } : undefined));
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: 'notice.sent',
    actor: 'system',
    data: {
      to: notice.party.email,
      party: notice.party.id,
      cases: cases.length,
      deadline: notice.deadline,
      step: notice.step,
      // the TLP gate's decision for what went out: the level the notice carries, and on whose permission if AMBER
      tlp: contentTlp(campaign, cases),
      ...(campaign.tlpPermission ? { tlpPermissionBy: campaign.tlpPermission.grantedBy } : {}),
    },
  });
  return stepFor(deps, notice);
}

/**
 * The notice workflow parks its task token on the notice. When the notice changed since the workflow decided
 * to wait (an answer arrived in between), the token is completed at once with a fresh decision.
 */
export async function awaitAnswer(deps: Deps, noticeId: string, seen: number, taskToken: string, round?: number): Promise<Record<string, never>> {
  let changed: Notice | undefined;
  let stale = false;
  await updateNotice(deps, noticeId, (n) => {
    // a run of an earlier round parks nothing: the current round's execution owns the notice
    stale = round !== undefined && n.round !== round;
    changed = stale || n.version !== seen ? n : undefined;
    return changed ? undefined : { ...n, taskToken };
  });
  if (changed) await completeQuietly(deps, taskToken, stale ? { next: 'stopped' } : stepFor(deps, changed));
  return {};
}

/**
 * A wait ended without an answer. Before the stored deadline (a slice of a long wait) wait on; at it, send the
 * next reminder or, when none is left (or the notice could not be delivered), escalate the cases still open.
 */
export async function noticeDeadline(deps: Deps, noticeId: string, undeliverable: boolean, round?: number): Promise<NoticeStep> {
  const notice = await mustGetNotice(deps, noticeId);
  if (round !== undefined && notice.round !== round) return { next: 'stopped' };
  const live = notice.state === 'sent' || (undeliverable && ['planned', 'sending', 'uncertain'].includes(notice.state));
  if (!live) return stepFor(deps, notice);
  const now = deps.clock.now();
  if (!undeliverable && notice.deadline && now.getTime() < Date.parse(notice.deadline)) return stepFor(deps, notice);

  // refused for good at the hand-over: the party's next mailbox, if it has one, before the next party
  if (undeliverable && (await rerouteToNextContact(deps, noticeId, notice.party.email.toLowerCase()))) return { next: 'stopped' };
  const all = await casesOf(deps, noticeId);
  const waiting = all.filter((c) => CASE_AWAITING.has(c.state));
  // nothing waits on this party any more (every case answered, or held by a coordinator): no reminder to send
  if (!undeliverable && waiting.length > 0 && notice.remindersSent < notice.remindersAllowed) {
    const n = notice.remindersSent + 1;
    const campaign = await deps.store.getCampaign(notice.campaignId);
    if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
    const original = await deps.store.getOutbound(`${noticeId}.notice.${notice.contactIndex ?? 0}`);
    await sendOutbound(deps, notice, 'reminder', n, async (token, messageId) =>
      renderNotice({
        notice,
        campaign,
        cases: waiting,
        token,
        messageId,
        settings: deps.settings,
        now,
        links: await answerLinksFor(deps, notice),
        reminder: { n, originalMessageId: original?.messageId ?? '' },
      }),
    );
    const updated = await updateNotice(deps, noticeId, (cur) =>
      cur.remindersSent >= n
        ? undefined
        : { ...cur, remindersSent: n, taskToken: undefined, deadline: new Date(now.getTime() + cur.answerDeadline * 1000).toISOString() },
    );
    await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.reminded', actor: 'system', data: { reminder: n, deadline: updated.deadline } });
    return stepFor(deps, updated);
  }

  const open = all.filter((c) => CASE_AWAITING.has(c.state) || c.state === 'open');
  // cases held by a coordinator (or waiting on the coordinator's answer) stay with this party: the notice waits
  // for them, paused, instead of finishing without them
  const held = all.some((c) => c.state === 'paused' || c.state === 'needs-info');
  const escalatedTo = await escalateCases(deps, notice, open, undeliverable ? 'undeliverable' : 'no action by the deadline');
  const final = await updateNotice(deps, noticeId, (cur) =>
    cur.state === 'escalated' || cur.state === 'closed' || cur.state === 'paused'
      ? undefined
      : held
        ? {
            ...cur,
            state: 'paused',
            taskToken: undefined,
            // a notice the relay refused before it ever went out is sent on resume, not waited on
            paused: { from: cur.state === 'sent' ? 'sent' : 'planned', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.heldCases, by: 'system' },
          }
        : { ...cur, state: open.length ? 'escalated' : 'closed', taskToken: undefined },
  );
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: final.state === 'paused' ? 'notice.paused' : open.length ? 'notice.escalated' : 'notice.closed',
    actor: 'system',
    data: { reason: undeliverable ? 'undeliverable' : 'deadline', cases: open.length, to: escalatedTo, ...(final.state === 'paused' ? { held: true } : {}) },
  });
  return stepFor(deps, final);
}

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
