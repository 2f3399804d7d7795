import { AnswerIntent, type Outbound } from '../../../core/model.js';
import { partyOf, countryOf } from '../../../core/reports/index.js';
import { type ControlPreview, type ControlResult } from '../../../core/campaign/index.js';
import { WORD_VALUES, type CaseStory, type TimelineEntry } from '../../../core/audit/index.js';
import type { ReviewItem, ReviewQueue } from '../../../core/answers/index.js';
import type { ChainStatus } from './chain.js';
import { duration, href, html, when, type Html } from './html.js';
import type { Translate } from './i18n.js';
import { chainLine, controls, csrfField, flashBox, state, type ControlVerb, type PageContext } from './pages.js';

/** A story line's values with its words (an answer, a channel) in the reader's language; data stays as it is. */
function wordsIn(values: Readonly<Record<string, string | number>>, t: Translate): Record<string, string | number> {
  const out: Record<string, string | number> = { ...values };
  for (const key of WORD_VALUES) if (typeof out[key] === 'string') out[key] = t(out[key] as string);
  return out;
}

/** The raw record of one timeline entry, for the auditor: folded away under the story. */
function rawRow(e: TimelineEntry): Html {
  switch (e.kind) {
    case 'event':
      return html`<tr class="entry-event"><td>${when(e.at)}</td><td>event</td><td><strong>${e.event.type}</strong> <span class="muted">by ${e.event.actor}</span></td><td><pre class="data">${JSON.stringify(e.event.data, null, 1)}</pre></td></tr>`;
    case 'message':
      return html`<tr class="entry-message"><td>${when(e.at)}</td><td>message</td><td><strong>${e.message.kind}${e.message.n ? ` ${e.message.n}` : ''}</strong> to ${e.message.to} <span class="state">${e.message.state}</span></td><td class="mono">sha-256 ${e.message.sha256}<br>Message-ID ${e.message.messageId}${e.message.attempts > 1 ? html`<br>${e.message.attempts} hand-overs` : ''}</td></tr>`;
    case 'answer':
      return html`<tr class="entry-answer"><td>${when(e.at)}</td><td>answer</td><td><strong>${e.answer.intent}</strong> by ${e.answer.source}${e.answer.from ? html` from ${e.answer.from}` : ''}${e.answer.ticket ? html` <span class="muted">ticket ${e.answer.ticket}</span>` : ''}</td><td>${e.answer.note ?? ''}</td></tr>`;
  }
}

/** What a message is, in words. */
export const KIND_WORDS: Readonly<Record<Outbound['kind'], string>> = { notice: 'Notice', reminder: 'Reminder', followup: 'Follow-up' };

/** The messages of a case's notice, each with a link to read it as sent and to download its .eml. */
function messagesList(messages: readonly Outbound[], t: Translate): Html {
  if (!messages.length) return html`<p class="muted">${t('No message yet.')}</p>`;
  const rows = messages.flatMap((m) =>
    (m.parts?.length ? m.parts : [{ index: 1, state: m.state, sentAt: m.sentAt, bytes: 0 }]).map(
      (p) =>
        html`<tr class="message-row"><td>${t(KIND_WORDS[m.kind])}${m.n ? ` ${m.n}` : ''}${(m.parts?.length ?? 1) > 1 ? html` · ${t('part {n}', { n: p.index })}` : ''}</td><td>${m.to}</td><td>${when(p.sentAt ?? m.createdAt)}</td><td>${state(p.state, t)}</td><td>${
          p.state === 'sent' || m.state === 'sent'
            ? html`<a class="read-message" href="${href('messages', m.id)}?part=${p.index}">${t('Read as sent')}</a> · <a class="raw-message" href="${href('messages', m.id, 'raw')}?part=${p.index}" download>${t('.eml')}</a>`
            : m.notResent && p.state === 'sending'
              ? html`<span class="muted not-resent">${t('outcome unknown, not sent again: the notice had ended')}</span>`
              : html`<span class="muted">${t('not sent yet')}</span>`
        }</td></tr>`,
    ),
  );
  return html`<table class="messages"><thead><tr><th>${t('Message')}</th><th>${t('To')}</th><th>${t('When')}</th><th>${t('State')}</th><th></th></tr></thead><tbody>${rows}</tbody></table>`;
}

export interface CasePageData {
  readonly story: CaseStory;
  readonly chain: ChainStatus;
  readonly messages: readonly Outbound[];
  readonly flash?: string;
}

/** One case, told as a story: what was sent to whom, what they said, what the probes saw; the raw record folded. */
export function casePage(d: CasePageData, f: PageContext): Html {
  const t = f.t;
  const tl = d.story.timeline;
  const c = tl.case;
  const awaiting = ['open', 'notified', 'received', 'acknowledged', 'needs-info'].includes(c.state);
  const hand = controls(c.id, awaiting ? ['pause', 'escalate', 'cancel'] : c.state === 'paused' ? ['resume', 'cancel'] : [], f);
  const n = tl.notice;
  const i = c.indicator;
  const party = partyOf(c);
  const told = d.story.lines.filter((l) => !l.bookkeeping);
  const dis = d.story.disagreement;
  return html`<h1>${t('Case')} <span class="mono">${c.id}</span></h1>
${flashBox(d.flash)}
<p>${tl.campaign ? html`${t('Campaign')} <a href="${href('campaigns', c.campaignId)}">${tl.campaign.name}</a>` : html`${t('Campaign')} <span class="mono">${c.campaignId}</span>`}</p>
${dis ? html`<div class="disagreement" role="alert"><strong>${t('They disagree.')}</strong> ${t(dis.template, dis.values)}</div>` : ''}
<dl class="facts"><dt>${t('Indicator')}</dt><dd class="mono">${i.value}</dd><dt>${t('Kind')}</dt><dd>${i.kind}${i.port ? ` port ${i.port}` : ''}</dd>
<dt>${t('Country')}</dt><dd>${countryOf(c)}</dd>${i.threat ? html`<dt>${t('Threat')}</dt><dd>${i.threat}</dd>` : ''}${i.firstSeen ? html`<dt>${t('First seen')}</dt><dd>${i.firstSeen}</dd>` : ''}
${i.evidence ? html`<dt>${t('Evidence')}</dt><dd>${i.evidence}</dd>` : ''}<dt>${t('Source')}</dt><dd>${i.origin}</dd>
<dt>${t('State')}</dt><dd>${state(c.state, t)}${c.reason ? html` <span class="muted">${c.reason}</span>` : ''}</dd>
<dt>${t('Party')}</dt><dd>${party.name} &lt;${party.email}&gt; <span class="muted">(${t(party.kind)}, ${t('contact from {source}', { source: party.contactSource })})</span></dd>
${n ? html`<dt>${t('Notice')}</dt><dd><span class="mono">${n.tag}</span> ${state(n.state, t)}${n.sentAt ? html` ${t('sent {at}', { at: when(n.sentAt) })}` : ''}${n.deadline ? html`, ${t('deadline {at}', { at: when(n.deadline) })}` : ''}, ${t('reminders {sent}/{allowed}', { sent: n.remindersSent, allowed: n.remindersAllowed })}</dd>` : ''}
${c.probe ? html`<dt>${t('Last probe')}</dt><dd>${when(c.probe.at)}: ${c.probe.live ? t('live') : t('down')} (${c.probe.method}) <span class="muted">${c.probe.detail}</span></dd>` : ''}
${tl.previous ? html`<dt>${t('Escalated from')}</dt><dd><a class="mono" href="${href('cases', tl.previous.id)}">${tl.previous.id}</a> (${partyOf(tl.previous).name})</dd>` : ''}
<dt>${t('Audit')}</dt><dd class="chain">${chainLine(d.chain, t)}</dd></dl>
${hand}
<h2>${t('What happened')}</h2>
${told.length === 0 ? html`<p class="muted">${t('Nothing recorded yet.')}</p>` : html`<ol class="story">${told.map((l) => html`<li class="tone-${l.tone}" data-tone="${l.tone}"><time datetime="${l.at}">${when(l.at)}</time>${t(l.template, wordsIn(l.values, t))}</li>`)}</ol>`}
<h2>${t('Messages as sent')}</h2>
${messagesList(d.messages, t)}
<h2>${t('Ladder')}</h2>
<table class="ladder"><thead><tr><th>${t('Step')}</th><th>${t('Party')}</th><th>${t('Kind')}</th><th>${t('Contact')}</th><th>${t('Answer within')}</th><th>${t('Act within')}</th></tr></thead><tbody>
${c.ladder.map((s, k) => html`<tr${k === c.step ? html` class="current"` : ''}><td>${k === c.step ? html`<strong>${k} (${t('now')})</strong>` : k}</td><td>${s.party.name}</td><td>${t(s.party.kind)}</td><td>${s.party.email}</td><td>${duration(s.answerDeadline)}</td><td>${duration(s.actionDeadline)}</td></tr>`)}
</tbody></table>
<details class="raw"><summary>${t('The raw record ({n} entries), as the audit trail holds it', { n: tl.entries.length })}</summary>
${tl.entries.length === 0 ? '' : html`<table class="timeline"><thead><tr><th>When</th><th>What</th><th></th><th>Details</th></tr></thead><tbody>${tl.entries.map(rawRow)}</tbody></table>`}
</details>`;
}

/** One message as it was sent: its text as a mail client shows it, with the raw .eml a click away. */
export function messagePage(f: PageContext, m: Outbound, part: number, rendered: { subject: string; from: string; to: string; date?: string; text: string }): Html {
  const t = f.t;
  return html`<h1>${t(KIND_WORDS[m.kind])}${m.n ? ` ${m.n}` : ''}${(m.parts?.length ?? 1) > 1 ? ` · ${t('part {n}', { n: part })}` : ''}</h1>
<p class="muted">${t('The copy kept once it was sent: every reply and link token is masked; its sha-256 in the audit trail is of the exact bytes that went out.')}</p>
<dl class="facts"><dt>${t('Subject')}</dt><dd class="message-subject">${rendered.subject}</dd><dt>${t('From')}</dt><dd>${rendered.from}</dd><dt>${t('To')}</dt><dd>${rendered.to}</dd>${rendered.date ? html`<dt>${t('Date')}</dt><dd>${rendered.date}</dd>` : ''}<dt>sha-256</dt><dd class="mono">${m.parts?.[part - 1]?.sha256 ?? m.sha256}</dd></dl>
<p><a class="raw-message" href="${href('messages', m.id, 'raw')}?part=${part}" download>${t('Download the raw message (.eml)')}</a></p>
<pre class="message">${rendered.text}</pre>`;
}

export const ACTION_WORDS: Readonly<Record<ControlVerb, { title: string; does: string; button: string }>> = {
  escalate: { title: 'Escalate now?', does: 'The waiting cases go to the next party of their ladder at once, in a notice that names who was asked before.', button: 'Escalate' },
  pause: { title: 'Pause the clock?', does: 'No reminder and no escalation until it is resumed; the time left is kept.', button: 'Pause' },
  resume: { title: 'Resume the clock?', does: 'The clock starts again with the time it had left.', button: 'Resume' },
  cancel: { title: 'Cancel for good?', does: 'The waiting cases stop for good: nobody else is asked and nothing more is sent.', button: 'Cancel for good' },
};

/**
 * The page between a coordinator's click and the change: what it will do, to what, why (required, recorded),
 * and for an escalation over a recipient's head (acknowledged, a question open) the warning and the force box.
 */
export function confirmPage(f: PageContext, p: ControlPreview, id: string, options: { error?: string; reason?: string; back: string }): Html {
  const t = f.t;
  const w = ACTION_WORDS[p.action];
  return html`<div class="confirm"><h1>${t(w.title)}</h1>
<p><strong>${p.label}</strong> <span class="mono muted">${id}</span></p>
<p>${t(w.does)} ${t(p.cases === 1 ? '{n} case is concerned.' : '{n} cases are concerned.', { n: p.cases })}</p>
${p.nextParties.length ? html`<p>${t('Next: {parties}.', { parties: p.nextParties.join(', ') })}</p>` : ''}
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
${p.needsForce ? html`<div class="warning" role="alert"><p>${p.needsForce}.</p></div>` : ''}
<form method="post" action="${href('controls', id)}" class="confirm-form">${csrfField(f)}
<input type="hidden" name="action" value="${p.action}"><input type="hidden" name="confirm" value="yes">
<p><label for="reason">${t('Why (recorded in the audit trail)')}</label><br><textarea id="reason" name="reason" rows="3" maxlength="500" required>${options.reason ?? ''}</textarea></p>
${p.needsForce ? html`<p><label><input type="checkbox" name="force" value="yes"> ${t('Escalate anyway, over the recipient')}</label></p>` : ''}
<p><button type="submit" class="primary">${t(w.button)}</button> <a href="${options.back}" class="back">${t('Back')}</a></p>
</form></div>`;
}

/** What a control did, in a sentence for the flash line. */
export function controlDone(r: Pick<ControlResult, 'action' | 'cases' | 'notices' | 'escalatedTo'> & { skipped?: number }, t: Translate): string {
  const parts = [t(r.cases === 1 ? '{n} case' : '{n} cases', { n: r.cases }), t(r.notices === 1 ? '{n} notice' : '{n} notices', { n: r.notices })];
  const head = { escalate: t('Escalated'), pause: t('Paused'), resume: t('Resumed'), cancel: t('Cancelled') }[r.action];
  return `${head}: ${parts.join(', ')}${r.escalatedTo.length ? `; ${t('new notices {ids}', { ids: r.escalatedTo.join(', ') })}` : ''}${r.skipped ? `; ${t('{n} left alone (acknowledged or asked a question)', { n: r.skipped })}` : ''}.`;
}

/** Why an item is on the queue, for the person reading it. */
export const REASON_WORDS: Readonly<Record<ReviewItem['reason'], string>> = {
  unmatched: 'Matched no notice',
  unclear: 'Unclear answer',
  report: 'An abuse report',
  bounce: 'A bounce that could not be applied safely',
  unverified: 'Names our notice without the reply token',
  suspicious: 'Sender not authenticated or outside the contact domain',
  complaint: 'A complaint',
  'needs-info': 'The recipient asked a question',
  unauthenticated: 'A closing answer from an unauthenticated sender',
  expired: 'Came after the reply token expired',
};

function reviewRow(item: ReviewItem, f: PageContext): Html {
  const t = f.t;
  const k = item.classification;
  const id = item.id;
  const question = item.reason === 'needs-info' && item.noticeId;
  const forms = f.writable
    ? html`${question ? html`<form method="post" action="${href('notices', item.noticeId!, 'followups')}" class="answer">${csrfField(f)}<input type="hidden" name="review" value="${id}"><label>${t('Answer the question in the thread')}<br><textarea name="message" rows="3" maxlength="20000" required></textarea></label><br><button type="submit" class="primary">${t('Send the answer')}</button></form>` : ''}
<form method="post" action="${href('reviews', id, 'apply')}" class="row apply">${csrfField(f)}
<label>${t('Apply as')} <select name="intent">${AnswerIntent.options.map((o) => html`<option value="${o}"${o === 'acknowledged' ? html` selected` : ''}>${t(o)}</option>`)}</select></label>
${item.noticeId ? '' : html`<input name="noticeId" placeholder="${t('notice (TKD-…)')}" required size="22">`}
<button type="submit"${question ? '' : html` class="primary"`}>${t('Apply')}</button></form>
<form method="post" action="${href('reviews', id, 'dismiss')}" class="row dismiss">${csrfField(f)}<button type="submit">${t('Dismiss')}</button></form>`
    : '';
  const reading = k ? `${k.class}${k.class === 'human' ? `/${k.intent}` : ''}` : t('(no message: answered through the API, a link or a webhook)');
  const text = k?.class === 'human' ? k.text : undefined;
  return html`<tr class="review review-${item.reason}" data-id="${id}" data-reason="${item.reason}"><td>${when(item.receivedAt)}</td><td><strong>${t(REASON_WORDS[item.reason])}</strong>${item.why ? html`<br><span class="muted">${item.why}</span>` : ''}</td><td>${reading}${k ? html`<br><span class="muted">${k.reason}</span>` : ''}</td>
<td>${item.from ?? ''}<br><strong>${item.subject}</strong>${item.note ? html`<br><q class="their-words">${item.note.slice(0, 600)}</q>` : ''}${text ? html`<br><span class="muted">${text.slice(0, 300)}</span>` : ''}</td>
<td>${item.noticeId ? html`${item.campaignId ? html`<a class="mono" href="${href('campaigns', item.campaignId)}">${item.noticeId}</a>` : html`<span class="mono">${item.noticeId}</span>`}${item.matchedBy ? html` <span class="muted">${t('by {how}', { how: item.matchedBy })}</span>` : ''}` : html`<span class="muted">${t('none')}</span>`}</td><td>${forms}</td></tr>`;
}

/** The messages waiting for a person, with the forms each kind needs (a question gets an answer box). */
export function reviewsPage(f: PageContext, queue: ReviewQueue, options: { showResolved?: boolean; flash?: string } = {}): Html {
  const t = f.t;
  return html`<h1>${t('Review queue')}</h1>
<p class="muted">${t('Unclear and suspicious answers, questions, reports and unmatched mail: nothing here was applied on a guess.')}</p>
${flashBox(options.flash)}
${queue.open.length === 0 ? html`<p class="muted nothing-waits">${t('Nothing waits for review.')}</p>` : html`<table class="reviews"><thead><tr><th>${t('Received')}</th><th>${t('Why')}</th><th>${t('Read as')}</th><th>${t('Message')}</th><th>${t('Notice')}</th><th></th></tr></thead><tbody>${queue.open.map((item) => reviewRow(item, f))}</tbody></table>`}
<h2>${t('Decided')}</h2>
${queue.resolved.length === 0
    ? html`<p class="muted">${t('None yet.')}</p>`
    : options.showResolved
      ? html`<table class="resolved"><thead><tr><th>${t('Received')}</th><th>${t('Subject')}</th><th>${t('Decision')}</th><th>${t('By')}</th><th>${t('When')}</th></tr></thead><tbody>${queue.resolved.map(({ item, resolution: r }) => html`<tr data-action="${r.action}"><td>${when(item.receivedAt)}</td><td>${item.subject}</td><td>${t(r.action)}${r.intent ? ` (${t(r.intent)})` : ''}${r.how ? html` <span class="muted">${r.how}</span>` : ''}${r.noticeId ? html` <span class="mono">${r.noticeId}</span>` : ''}</td><td>${r.by}${r.onBehalfOf ? html` <span class="muted">(${t('for {who}', { who: r.onBehalfOf })})</span>` : ''}</td><td>${when(r.at)}</td></tr>`)}</tbody></table>`
      : html`<p>${t('{n} decided.', { n: queue.resolved.length })} <a href="/ui/reviews?resolved=1">${t('Show them')}</a></p>`}`;
}
