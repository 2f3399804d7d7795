import { z } from 'zod';
import type { Case, Notice } from '../../model.js';
import type { Deps, RenderJob } from '../../ports.js';
import { contentTlp, renderNotice } from '../render/render.js';
import { MailRejectedError, MailTransientError, NotFoundError, SendingHaltedError, StaleWriteError } from '../../errors.js';
import { markUnmasked, maskUnresent, sendOutbound, UNMASKED_AFTER_MS, UNMASKED_KIND } from './outbound.js';
import type { RenderContext } from './compose.js';
import { holdForRefusal, noticeMessageNumber, noticeOutboundId } from './resend.js';
import { settleCampaign } from '../settle.js';
import { refusalOf } from './halt.js';
import { appendEvent } from '../../audit/index.js';
import { updateCase, updateNotice } from '../../updates.js';
import { stepFor, type NoticeStep } from '../step.js';
import { casesOf, mustGetNotice } from '../records.js';
import { CASE_AWAITING, CASE_FINISHED, PAUSE_REASON } from '../../lifecycle.js';
import { pauseNotice } from '../clock.js';
import { completeQuietly } from '../../executions.js';
import { engineWait } from '../../executions.js';
import { templateSet } from '../render/templates.js';
import { eachItem } from '../../paging.js';

/** What a revival notice says came back: when it was verified down, and what the probe found. */
function revivalOf(cases: readonly Case[]): { verifiedDownAt?: string; detail: string } {
  const back = cases.filter((c) => c.probe?.live);
  const first = back[0] ?? cases[0];
  const more = back.length > 1 ? ` (and ${back.length - 1} more)` : '';
  return { verifiedDownAt: first?.verifiedDownAt, detail: `${first?.probe?.detail ?? 'reachable again'}${more}` };
}

/** Who was asked before an escalation notice, every party of the notices it gathered, and when the first was sent. */
async function previousParties(deps: Deps, notice: Notice): Promise<{ party: string; sentAt?: string } | undefined> {
  if (!notice.escalatedFrom?.length) return undefined;
  const earlier = (await Promise.all(notice.escalatedFrom.map((id) => deps.store.getNotice(id)))).filter((n): n is Notice => !!n);
  if (!earlier.length) return undefined;
  const names = [...new Set(earlier.map((n) => n.party.name))];
  const sentAt = earlier.map((n) => n.sentAt).filter((t): t is string => !!t).sort()[0];
  return { party: names.join(', '), ...(sentAt ? { sentAt } : {}) };
}

/** A server refused a notice's message by policy, or for a size no smaller part got under: held for a person. */
export async function holdRefused(deps: Deps, noticeId: string, error: MailRejectedError): Promise<Notice> {
  return holdForRefusal(deps, noticeId, refusalOf(deps, error));
}

/**
 * A notice in one of these does not send its message again: an answer closed it, a coordinator cancelled it, it
 * moved on to the next party. (A later "still reachable" may put it back to 'sent', a follow-up, never a resend.)
 */
const NOTICE_ENDED: ReadonlySet<Notice['state']> = new Set(['closed', 'cancelled', 'escalated', 'exhausted']);

/**
 * A notice that ended (an answer closed it, a coordinator cancelled it), or that an answer paused to resume as
 * sent, while its message's hand-over had an unknown outcome: the resend that outcome calls for would be a send
 * after the close, so none is made, and the message says so (notResent) rather than read 'sending' for ever. Only
 * the notice's own send step does this, and nothing else sends that message, so no hand-over of it can be in
 * flight. Whether it arrived stays unknown: an answer that later proves it (provenDelivered) still records it sent.
 * Its copy is then masked (maskUnresent): the working tokens of a message nothing will send do not stay at rest.
 */
async function leaveUnresent(deps: Deps, notice: Notice): Promise<void> {
  let logged = false;
  for (let attempt = 0; attempt < 3; attempt++) {
    const out = await deps.store.getOutbound(noticeOutboundId(notice));
    // composed and never handed over (a part not yet sent, a send deferred), for a notice that ended: nothing will
    // send it, and its copy holds working tokens
    if (out?.state === 'composed' && NOTICE_ENDED.has(notice.state)) return maskUnresent(deps, out.id);
    if (!out || out.state !== 'sending') return;
    // marked before (a retry, or a crash before its copy was masked)
    if (out.notResent) return maskUnresent(deps, out.id);
    if (!logged) {
      const sending = (out.parts ?? []).filter((p) => p.state === 'sending').map((p) => p.index);
      // the event first: a crash in between repeats it rather than loses it
      await appendEvent(deps, {
        campaignId: notice.campaignId,
        noticeId: notice.id,
        type: 'message.not-resent',
        actor: 'system',
        data: { outbound: out.id, kind: out.kind, to: out.to, ...(sending.length ? { parts: sending } : {}), attempts: out.attempts, noticeState: notice.state },
      });
      logged = true;
    }
    try {
      // marked before the mark: a kill between the two leaves the copy to the sweep, not to a step that never comes
      await markUnmasked(deps, out);
      await deps.store.saveOutbound({ ...out, notResent: { at: deps.clock.now().toISOString(), noticeState: notice.state }, version: out.version + 1 });
      return maskUnresent(deps, out.id);
    } catch (e) {
      // saved in between (a proof of delivery): read it again, and mark it only if it is still unknown
      if (!(e instanceof StaleWriteError)) throw e;
    }
  }
}

/**
 * The sweep's and every start's part of leaveUnresent: each message a kill left between its mark (UNMASKED_KIND,
 * older than UNMASKED_AFTER_MS, or any at a start) and the end of its masking is marked unresent, if it was not yet,
 * and masked. A notice that ended runs no step of its own again, so nothing else would. Returns how many it settled;
 * one still to mask (a proof of delivery kept racing it, a failure) stays for the next pass.
 */
export async function finishUnmasked(deps: Deps, olderThanMs = UNMASKED_AFTER_MS): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - olderThanMs).toISOString();
  let settled = 0;
  for await (const record of eachItem((page) => deps.store.listRecords(UNMASKED_KIND, page), 500)) {
    const key = record.key;
    // a step that marked it may be masking it now
    if ((UnmaskedMark.safeParse(JSON.parse(record.value)).data?.at ?? '') > before) continue;
    try {
      const out = await deps.store.getOutbound(key);
      const notice = out && (await deps.store.getNotice(out.noticeId));
      const ended = !!notice && (NOTICE_ENDED.has(notice.state) || (notice.state === 'paused' && notice.paused?.from === 'sent'));
      // the message its notice stands on is the step's to leave; an earlier one (the notice moved on) is masked once marked
      if (ended && noticeOutboundId(notice) === key) await leaveUnresent(deps, notice);
      else if (out?.notResent) await maskUnresent(deps, key);
      // the masking removes the record once it holds; a message that is no masking's to do drops it here
      const now = await deps.store.getOutbound(key);
      const toMask = now && now.state !== 'sent' && (now.notResent || (now.state === 'composed' && ended)) && now.parts?.some((p) => p.state !== 'sent' && !p.maskedSha256);
      if (toMask) continue;
      await deps.store.deleteRecord(UNMASKED_KIND, key);
      settled++;
    } catch (e) {
      deps.log.warn('could not mask the copy of a message nothing will send; it stays for the next pass', { outbound: key, error: (e as Error).name });
    }
  }
  return settled;
}

const UnmaskedMark = z.object({ at: z.string() });

/** Send a notice (once), mark its cases notified, and say how long to wait for an answer. */
export async function sendNotice(deps: Deps, noticeId: string, round?: number): Promise<NoticeStep> {
  let notice = await mustGetNotice(deps, noticeId);
  if (round !== undefined && notice.round !== round) return { next: 'stopped' };
  if (!['planned', 'sending', 'uncertain'].includes(notice.state)) {
    if (NOTICE_ENDED.has(notice.state) || (notice.state === 'paused' && notice.paused?.from === 'sent')) await leaveUnresent(deps, notice);
    return stepFor(deps, notice);
  }
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!campaign) throw new NotFoundError('campaign', notice.campaignId);
  if (campaign.state === 'paused' && notice.state === 'planned') {
    // an escalation or a revival during a campaign's pause waits for its resume, like every other notice
    const held = await updateNotice(deps, noticeId, (cur) =>
      cur.state !== 'planned' ? undefined : { ...cur, state: 'paused', paused: { from: 'planned', remainingSeconds: cur.answerDeadline, reason: PAUSE_REASON.campaign, by: 'system' } },
    );
    return stepFor(deps, held);
  }
  if (notice.gathering) {
    // an escalation notice takes other escalations' cases until its window ends; then it closes, and sends the
    // cases of the escalations that joined it (escalateCases moves a late one's cases to the next notice)
    const wait = notice.notBefore ? (Date.parse(notice.notBefore) - deps.clock.now().getTime()) / 1000 : 0;
    if (wait > 0) return { next: 'hold', seconds: engineWait(deps, wait) };
    notice = await updateNotice(deps, noticeId, (cur) => (cur.gathering ? { ...cur, gathering: undefined } : undefined));
  }
  // claim, then send: a coordinator's pause or cancel that got there first stops the send, one that comes later finds
  // the notice sending (and waits for it: the send was claimed before); a new round (a reroute) owns it instead
  let claimed = false;
  notice = await updateNotice(deps, noticeId, (cur) => {
    claimed = ['planned', 'sending', 'uncertain'].includes(cur.state) && cur.round === notice.round && !cur.gathering;
    return claimed && cur.state === 'planned' ? { ...cur, state: 'sending' } : undefined;
  });
  if (!claimed) return notice.round === (round ?? notice.round) ? stepFor(deps, notice) : { next: 'stopped' };
  const joined = notice.escalatedFrom ? new Set(notice.escalatedFrom) : undefined;
  const carried = (await casesOf(deps, noticeId)).filter((c) => !joined || !c.escalatedFrom || joined.has(c.escalatedFrom));
  // a case finished since it was planned into this notice (a late 'taken down' from the party asked first, a cancel)
  // is not asked about again; a message already composed goes as it is (a resend carries the same bytes)
  const composed = await deps.store.getOutbound(noticeOutboundId(notice));
  const cases = composed ? carried : carried.filter((c) => !CASE_FINISHED.has(c.state));
  if (!cases.length) {
    // nothing to say (an escalation notice nobody joined, or whose cases were all settled meanwhile): it ends here
    // rather than send an empty notice
    const closed = await updateNotice(deps, noticeId, (cur) => (cur.state === 'planned' || cur.state === 'sending' ? { ...cur, state: 'closed' } : undefined));
    if (closed.state === 'closed') await appendEvent(deps, { campaignId: notice.campaignId, noticeId, type: 'notice.closed', actor: 'system', data: { reason: carried.length ? 'every case settled before it went out' : 'no case to send' } });
    if (closed.state === 'closed' && carried.length) await settleCampaign(deps, notice.campaignId);
    return stepFor(deps, closed);
  }
  const previous = await previousParties(deps, notice);
  const now = deps.clock.now();
  const templates = templateSet(deps.templates);
  const revival = notice.revivalOf ? revivalOf(cases) : undefined;
  // the first notices are most of what a campaign sends: rendered and composed on a compose thread when the host has them
  const job = (message: RenderContext): RenderJob => ({ ...message, notice, campaign, settings: deps.settings, now, previous, revival });
  let out;
  try {
    out = await sendOutbound(deps, notice, {
      kind: 'notice',
      n: noticeMessageNumber(notice),
      ...(notice.messageLimit ? { limit: notice.messageLimit } : {}),
      cases,
      links: true,
      render: (message) => renderNotice({ ...job(message), templates }),
      job,
    });
  } catch (e) {
    if (e instanceof MailRejectedError && e.scope !== 'recipient') return stepFor(deps, await holdRefused(deps, noticeId, e));
    // nothing went out (refused for now, or sending is halted): the claim is given back while the workflow waits to
    // try again, so the notice reads as planned and a coordinator may still pause or cancel it meanwhile
    if ((e instanceof MailTransientError && !e.maybeDelivered) || e instanceof SendingHaltedError) {
      await updateNotice(deps, noticeId, (cur) => (cur.state === 'sending' ? { ...cur, state: 'planned' } : undefined));
    }
    throw e;
  }
  const sentAt = out.sentAt ?? now.toISOString();
  // the cases first, then the notice: a notice recorded sent is one whose cases are marked (a crash in between is
  // redone by the retry, which finds the notice not yet sent), so a case still open in a notice that went out is one
  // it did not carry, and an escalation that comes late moves it on (escalate.ts, join)
  const updatedAt = deps.clock.now().toISOString();
  const opened = cases.filter((c) => c.state === 'open');
  const stale = await deps.store.saveCases(opened.map((c) => ({ ...c, state: 'notified', updatedAt, version: c.version + 1 })));
  for (const id of stale) await updateCase(deps, id, (cur) => (cur.state === 'open' ? { ...cur, state: 'notified' } : undefined));
  notice = await updateNotice(deps, noticeId, (cur) =>
    !['planned', 'sending', 'uncertain'].includes(cur.state) || cur.round !== notice.round
      ? undefined
      : {
          ...cur,
          state: 'sent',
          // a resend after an uncertain hand-over keeps the first send's clock
          sentAt: cur.sentAt ?? sentAt,
          messageId: out.transportId ?? out.messageId,
          tokenHash: out.tokenHash ?? '',
          deadline: cur.deadline ?? new Date(Date.parse(sentAt) + cur.answerDeadline * 1000).toISOString(),
          // what went out, whatever the escalations that joined it counted
          caseCount: carried.length,
        },
  );
  await appendEvent(deps, {
    campaignId: notice.campaignId,
    noticeId,
    type: 'notice.sent',
    actor: 'system',
    data: {
      to: notice.party.email,
      party: notice.party.id,
      cases: cases.length,
      ...((out.parts?.length ?? 1) > 1 ? { parts: out.parts!.length } : {}),
      deadline: notice.deadline,
      step: notice.step,
      // the TLP gate's decision for what went out: the level the notice carries, and on whose permission if AMBER
      tlp: contentTlp(campaign, cases),
      ...(campaign.tlpPermission ? { tlpPermissionBy: campaign.tlpPermission.grantedBy } : {}),
    },
  });
  return followCampaign(deps, notice);
}

/**
 * A campaign paused or cancelled while one of its notices was being sent skipped it (a claimed send goes): the
 * notice follows its campaign once it is out, rather than wait and remind through the pause, or live on in a
 * cancelled campaign.
 */
async function followCampaign(deps: Deps, notice: Notice): Promise<NoticeStep> {
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (campaign?.state === 'paused') return stepFor(deps, (await pauseNotice(deps, notice.id, 'system', `${PAUSE_REASON.campaign}: it was out when the campaign paused`)) ?? notice);
  if (campaign?.state !== 'cancelled') return stepFor(deps, notice);
  const reason = 'the campaign was cancelled while this notice was being sent';
  for (const c of await casesOf(deps, notice.id)) {
    let moved = false;
    await updateCase(deps, c.id, (cur) => ((moved = CASE_AWAITING.has(cur.state) || ['open', 'needs-info', 'paused'].includes(cur.state)) ? { ...cur, state: 'cancelled', reason } : undefined));
    if (moved) await appendEvent(deps, { campaignId: c.campaignId, caseId: c.id, noticeId: notice.id, type: 'case.cancelled', actor: 'system', data: { reason } });
  }
  let token: string | undefined;
  let changed = false;
  const after = await updateNotice(deps, notice.id, (cur) => {
    changed = cur.state === 'sent';
    token = cur.taskToken;
    return changed ? { ...cur, state: 'cancelled', taskToken: undefined } : undefined;
  });
  if (changed) await appendEvent(deps, { campaignId: notice.campaignId, noticeId: notice.id, type: 'notice.cancelled', actor: 'system', data: { reason } });
  if (token) await completeQuietly(deps, token, stepFor(deps, after));
  return stepFor(deps, after);
}
