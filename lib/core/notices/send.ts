import type { Case, Notice, Outbound, OutboundKind } from '../model.js';
import type { Deps, MailDraft } from '../ports.js';
import { contentTlp, renderNotice, type AnswerLinks } from './render/render.js';
import { issueAnswerLinks } from './links.js';
import { AlreadyExistsError, MailRejectedError, MailTransientError, NotFoundError } from '../errors.js';
import { appendEvent } from '../audit/index.js';
import { updateCase, updateNotice } from '../updates.js';
import { rememberTransportId } from './transport-ids.js';
import { stepFor, type NoticeStep } from './step.js';
import { casesOf, mustGetNotice } from './records.js';
import { PAUSE_REASON } from '../lifecycle.js';
import { templateSet } from './render/templates.js';

/** What a revival notice says came back: when it was verified down, and what the probe found. */
function revivalOf(cases: readonly Case[]): { verifiedDownAt?: string; detail: string } {
  const back = cases.filter((c) => c.probe?.live);
  const first = back[0] ?? cases[0];
  const more = back.length > 1 ? ` (and ${back.length - 1} more)` : '';
  return { verifiedDownAt: first?.verifiedDownAt, detail: `${first?.probe?.detail ?? 'reachable again'}${more}` };
}

/** One-click answer links, when the host has a public URL for them to point at; none otherwise. */
export async function answerLinksFor(deps: Deps, notice: Notice): Promise<AnswerLinks | undefined> {
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
      templates: templateSet(deps.templates),
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
