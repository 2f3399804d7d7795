import { AnswerIntent, type Campaign, type Case, type Notice } from '../../../core/model.js';
import type { CampaignStats, Progress, ProgressRow, DurationStats } from '../../../core/campaign/index.js';
import { countryOf, partyOf } from '../../../core/campaign/index.js';
import type { CaseTimeline, TimelineEntry } from '../../../core/audit/index.js';
import type { ReviewQueue } from '../../../core/answers/index.js';
import type { ReviewItem } from '../../../core/answers/index.js';
import type { ChainStatus } from './chain.js';
import { duration, href, html, when, type Html } from './html.js';

/** What a page needs to render forms: may it write, and the session's CSRF token. */
export interface FormContext {
  readonly writable: boolean;
  readonly csrf: string;
}

function csrfField(f: FormContext): Html {
  return html`<input type="hidden" name="_csrf" value="${f.csrf}">`;
}

/** Buttons for a coordinator's hand on the clock (pause, resume, escalate) of a campaign or a case, with a reason. */
function controls(id: string, actions: readonly ('pause' | 'resume' | 'escalate')[], f: FormContext): Html {
  if (!f.writable || actions.length === 0) return html``;
  const label = { pause: 'Pause', resume: 'Resume', escalate: 'Escalate now' } as const;
  return html`<form method="post" action="${href('controls', id)}" class="row controls">${csrfField(f)}<input name="reason" placeholder="reason (recorded)" maxlength="500" size="30">${actions.map((a) => html`<button type="submit" name="action" value="${a}">${label[a]}</button>`)}</form>`;
}

function state(s: string): Html {
  return html`<span class="state state-${s}">${s}</span>`;
}

/** The sign-in form; `error` says why the last attempt failed. */
export function loginPage(options: { error?: string; next?: string } = {}): Html {
  return html`<div class="login">
<h1>Sign in</h1>
<p class="muted">Paste an API key (<code>takedown keys create --role coordinator --name &lt;you&gt;</code>). The key is checked once; the browser keeps only a session cookie.</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="/ui/login">
<input type="hidden" name="next" value="${options.next ?? '/ui'}">
<p><label for="key">API key</label><br><input id="key" name="key" type="password" autocomplete="off" required></p>
<p><button type="submit" class="primary">Sign in</button></p>
</form></div>`;
}

/** A refusal or a failure, with its code. */
export function errorPage(status: number, code: string, message: string): Html {
  return html`<h1>${status === 403 ? 'Not allowed' : status === 404 ? 'Not found' : 'Something went wrong'}</h1><p>${message}</p><p class="muted"><code>${code}</code></p><p><a href="/ui">Back to the campaigns</a></p>`;
}

/** Every campaign, newest first. */
export function campaignsPage(campaigns: readonly Campaign[], openReviews: number): Html {
  const rows = campaigns.map(
    (c) => html`<tr><td><a href="${href('campaigns', c.id)}">${c.name}</a><br><span class="mono muted">${c.id}</span></td><td>${state(c.state)}</td><td>${c.tlp}</td><td>${when(c.createdAt)}</td><td>${c.submitter}</td><td class="num">${c.counts.indicators}</td><td class="num">${c.counts.cases}</td><td class="num">${c.counts.notices}</td></tr>`,
  );
  const waiting = campaigns.filter((c) => c.state === 'awaiting-approval').length;
  return html`<h1>Campaigns</h1>
${waiting ? html`<p class="notice-box">${waiting} campaign${waiting === 1 ? '' : 's'} await${waiting === 1 ? 's' : ''} approval of the routing plan.</p>` : ''}
<p><a href="/ui/reviews">Review queue</a>: ${openReviews} message${openReviews === 1 ? '' : 's'} waiting for a person.</p>
${campaigns.length === 0 ? html`<p class="muted">No campaigns yet.</p>` : html`<table><thead><tr><th>Campaign</th><th>State</th><th>TLP</th><th>Created</th><th>Submitter</th><th class="num">Indicators</th><th class="num">Cases</th><th class="num">Notices</th></tr></thead><tbody>${rows}</tbody></table>`}`;
}

const STAGES: readonly [keyof Progress, string][] = [
  ['identified', 'Identified'],
  ['notified', 'Notified'],
  ['acknowledged', 'Acknowledged'],
  ['actioned', 'Actioned'],
  ['verifiedDown', 'Verified down'],
  ['expired', 'Expired'],
];

function progressTable(caption: string, rows: readonly ProgressRow[], limit = 200): Html {
  const head = html`<tr><th>${caption}</th>${STAGES.map(([, label]) => html`<th class="num">${label}</th>`)}</tr>`;
  const body = rows.slice(0, limit).map((r) => html`<tr><td>${r.label}</td>${STAGES.map(([k]) => html`<td class="num">${r.progress[k]}</td>`)}</tr>`);
  return html`<table class="progress" data-by="${caption.toLowerCase()}"><thead>${head}</thead><tbody>${body}</tbody></table>${rows.length > limit ? html`<p class="muted">${rows.length - limit} more not shown.</p>` : ''}`;
}

function statsCells(s: DurationStats): Html {
  return html`<td class="num">${s.count}</td><td class="num">${duration(s.medianSeconds)}</td><td class="num">${duration(s.p90Seconds)}</td>`;
}

/** A chain status line. */
export function chainLine(chain: ChainStatus): Html {
  if (chain.state === 'intact') return html`<span class="chain-intact">Audit chain intact</span> <span class="muted">(${chain.events} events, checked ${when(chain.checkedAt)})</span>`;
  if (chain.state === 'broken') return html`<span class="chain-broken">Audit chain BROKEN</span>: ${chain.reason}${chain.eventId ? html` <code>${chain.eventId}</code>` : ''}`;
  return html`<span class="chain-not-checked">Audit chain not checked</span> <span class="muted">(${chain.reason})</span>`;
}

export interface CampaignPageData {
  readonly campaign: Campaign;
  readonly notices: readonly Notice[];
  readonly stats: CampaignStats;
  readonly chain: ChainStatus;
  readonly cases: readonly Case[];
  /** cursor of the next page of cases */
  readonly nextCases?: string;
}

const DOWNLOADS: readonly [string, string][] = [
  ['csv', 'CSV'],
  ['xlsx', 'Excel (a sheet per country)'],
  ['stix', 'STIX 2.1 bundle'],
  ['misp', 'MISP event'],
];

/** The export buttons: every role that reads a campaign may download it. */
function downloads(campaignId: string): Html {
  return html`<p class="downloads">Download one row per case: ${DOWNLOADS.map(([format, label], i) => html`${i ? ' · ' : ''}<a class="download" href="${href('campaigns', campaignId, 'export')}?format=${format}" download>${label}</a>`)}</p>`;
}

/** One campaign: its plan, progress, time to action, chain status, recipients and cases. */
export function campaignPage(d: CampaignPageData, f: FormContext): Html {
  const c = d.campaign;
  const approval =
    c.state === 'awaiting-approval'
      ? f.writable
        ? html`<div class="notice-box"><p>The routing plan below waits for approval: ${d.notices.length} notice${d.notices.length === 1 ? '' : 's'} to ${new Set(d.notices.map((n) => n.party.id)).size} recipients covering ${c.counts.cases} cases. Nothing is sent until it is approved.</p><form method="post" action="${href('campaigns', c.id, 'approval')}" class="inline">${csrfField(f)}<button type="submit" class="primary" name="approve" value="1">Approve plan</button></form></div>`
        : html`<p class="notice-box">The routing plan waits for a coordinator's approval.</p>`
      : '';
  const hand = controls(c.id, c.state === 'running' || c.state === 'sending' ? ['pause', 'escalate'] : c.state === 'paused' ? ['resume'] : [], f);
  const tta = d.stats.timeToAction;
  const notices = [...d.notices].sort((a, b) => b.caseCount - a.caseCount || a.party.name.localeCompare(b.party.name));
  return html`<h1>${c.name}</h1>
<dl class="facts"><dt>Campaign</dt><dd class="mono">${c.id}</dd><dt>State</dt><dd>${state(c.state)}</dd><dt>TLP</dt><dd>${c.tlp}</dd><dt>Submitted</dt><dd>${when(c.createdAt)} by ${c.submitter}</dd>
${c.approvedAt ? html`<dt>Approved</dt><dd>${when(c.approvedAt)} by ${c.approvedBy ?? ''}</dd>` : ''}
${c.legalBasis ? html`<dt>Legal basis</dt><dd>${c.legalBasis}</dd>` : ''}
<dt>Indicators</dt><dd>${c.counts.indicators} accepted of ${c.counts.submitted} submitted; ${c.counts.duplicates} duplicates, ${c.counts.unroutable} unroutable, ${c.counts.withheld ?? 0} withheld by TLP</dd>
<dt>Audit</dt><dd class="chain">${chainLine(d.chain)}</dd></dl>
${approval}${hand}
${downloads(c.id)}
<h2>Progress</h2>
${progressTable('Total', [{ key: 'all', label: 'All cases', progress: d.stats.progress.total }])}
<h2>By country</h2>
${progressTable('Country', d.stats.progress.byCountry)}
<h2>By provider</h2>
${progressTable('Provider', d.stats.progress.byProvider)}
<h2>Time to takedown</h2>
<p class="muted">From the notice going out to the provider saying it acted, per case.</p>
<table class="tta"><thead><tr><th>Provider</th><th class="num">Cases measured</th><th class="num">Median</th><th class="num">90th percentile</th></tr></thead>
<tbody><tr><td><strong>All providers</strong></td>${statsCells(tta.overall)}</tr>${tta.byProvider.map((p) => html`<tr><td>${p.name}</td>${statsCells(p.stats)}</tr>`)}</tbody></table>
<h2>Recipients</h2>
<table><thead><tr><th>Recipient</th><th>Kind</th><th>Contact</th><th>Country</th><th class="num">Cases</th><th>Notice</th><th>Sent</th><th>Deadline</th></tr></thead><tbody>
${notices.slice(0, 500).map((n) => html`<tr><td>${n.party.name}</td><td>${n.party.kind}</td><td>${n.party.email} <span class="muted">(${n.party.contactSource})</span></td><td>${n.party.country ?? ''}</td><td class="num">${n.caseCount}</td><td>${state(n.state)} <span class="mono muted">${n.tag}</span></td><td>${when(n.sentAt)}</td><td>${when(n.deadline)}</td></tr>`)}
</tbody></table>${notices.length > 500 ? html`<p class="muted">${notices.length - 500} more recipients not shown.</p>` : ''}
<h2>Cases</h2>
<table class="cases"><thead><tr><th>Case</th><th>Indicator</th><th>Country</th><th>Party</th><th>State</th><th>Updated</th></tr></thead><tbody>
${d.cases.map((k) => html`<tr><td><a class="mono" href="${href('cases', k.id)}">${k.id}</a></td><td class="mono">${k.indicator.value}</td><td>${countryOf(k)}</td><td>${partyOf(k).name}</td><td>${state(k.state)}</td><td>${when(k.updatedAt)}</td></tr>`)}
</tbody></table>
${d.nextCases ? html`<p><a href="${href('campaigns', c.id)}?after=${encodeURIComponent(d.nextCases)}">Next cases</a></p>` : ''}`;
}

function entryRow(e: TimelineEntry): Html {
  switch (e.kind) {
    case 'event':
      return html`<tr class="entry-event"><td>${when(e.at)}</td><td>event</td><td><strong>${e.event.type}</strong> <span class="muted">by ${e.event.actor}</span></td><td><pre class="data">${JSON.stringify(e.event.data, null, 1)}</pre></td></tr>`;
    case 'message':
      return html`<tr class="entry-message"><td>${when(e.at)}</td><td>message</td><td><strong>${e.message.kind}${e.message.n ? ` ${e.message.n}` : ''}</strong> to ${e.message.to} <span class="state">${e.message.state}</span></td><td class="mono">sha-256 ${e.message.sha256}<br>Message-ID ${e.message.messageId}${e.message.attempts > 1 ? html`<br>${e.message.attempts} hand-overs` : ''}</td></tr>`;
    case 'answer':
      return html`<tr class="entry-answer"><td>${when(e.at)}</td><td>answer</td><td><strong>${e.answer.intent}</strong> by ${e.answer.source}${e.answer.from ? html` from ${e.answer.from}` : ''}${e.answer.ticket ? html` <span class="muted">ticket ${e.answer.ticket}</span>` : ''}</td><td>${e.answer.note ?? ''}</td></tr>`;
  }
}

/** One case: the indicator, its ladder, its notice and every line of its history. */
export function casePage(t: CaseTimeline, chain: ChainStatus, f: FormContext): Html {
  const c = t.case;
  const awaiting = ['open', 'notified', 'received', 'acknowledged', 'needs-info'].includes(c.state);
  const hand = controls(c.id, awaiting ? ['pause', 'escalate'] : c.state === 'paused' ? ['resume'] : [], f);
  const n = t.notice;
  const i = c.indicator;
  return html`<h1>Case <span class="mono">${c.id}</span></h1>
<p>${t.campaign ? html`Campaign <a href="${href('campaigns', c.campaignId)}">${t.campaign.name}</a>` : html`Campaign <span class="mono">${c.campaignId}</span>`}</p>
<dl class="facts"><dt>Indicator</dt><dd class="mono">${i.value}</dd><dt>Kind</dt><dd>${i.kind}${i.port ? ` port ${i.port}` : ''}</dd>
<dt>Country</dt><dd>${countryOf(c)}</dd>${i.threat ? html`<dt>Threat</dt><dd>${i.threat}</dd>` : ''}${i.firstSeen ? html`<dt>First seen</dt><dd>${i.firstSeen}</dd>` : ''}
${i.evidence ? html`<dt>Evidence</dt><dd>${i.evidence}</dd>` : ''}<dt>Source</dt><dd>${i.origin}</dd>
<dt>State</dt><dd>${state(c.state)}${c.reason ? html` <span class="muted">${c.reason}</span>` : ''}</dd>
<dt>Party</dt><dd>${partyOf(c).name} &lt;${partyOf(c).email}&gt; <span class="muted">(${partyOf(c).kind}, contact from ${partyOf(c).contactSource})</span></dd>
${n ? html`<dt>Notice</dt><dd><span class="mono">${n.tag}</span> ${state(n.state)}${n.sentAt ? html` sent ${when(n.sentAt)}` : ''}${n.deadline ? html`, deadline ${when(n.deadline)}` : ''}, reminders ${n.remindersSent}/${n.remindersAllowed}</dd>` : ''}
${t.previous ? html`<dt>Escalated from</dt><dd><a class="mono" href="${href('cases', t.previous.id)}">${t.previous.id}</a> (${partyOf(t.previous).name})</dd>` : ''}
<dt>Audit</dt><dd class="chain">${chainLine(chain)}</dd></dl>
${hand}
<h2>Ladder</h2>
<table><thead><tr><th>Step</th><th>Party</th><th>Kind</th><th>Contact</th><th>Answer within</th><th>Act within</th></tr></thead><tbody>
${c.ladder.map((s, k) => html`<tr${k === c.step ? html` class="current"` : ''}><td>${k === c.step ? html`<strong>${k} (now)</strong>` : k}</td><td>${s.party.name}</td><td>${s.party.kind}</td><td>${s.party.email}</td><td>${duration(s.answerDeadline)}</td><td>${duration(s.actionDeadline)}</td></tr>`)}
</tbody></table>
<h2>Timeline</h2>
${t.entries.length === 0 ? html`<p class="muted">Nothing recorded yet.</p>` : html`<table class="timeline"><thead><tr><th>When</th><th>What</th><th></th><th>Details</th></tr></thead><tbody>${t.entries.map(entryRow)}</tbody></table>`}`;
}

function reviewRow(item: ReviewItem, f: FormContext): Html {
  const k = item.classification as { class: string; intent?: string; reason?: string; phrase?: string; text?: string };
  const id = item.id;
  const forms = f.writable
    ? html`<form method="post" action="${href('reviews', id, 'apply')}" class="row apply">${csrfField(f)}
<label>Apply as <select name="intent">${AnswerIntent.options.map((o) => html`<option value="${o}"${o === 'acknowledged' ? html` selected` : ''}>${o}</option>`)}</select></label>
${item.noticeId ? '' : html`<input name="noticeId" placeholder="notice (TKD-…)" required size="22">`}
<button type="submit" class="primary">Apply</button></form>
<form method="post" action="${href('reviews', id, 'dismiss')}" class="row dismiss">${csrfField(f)}<button type="submit">Dismiss</button></form>`
    : '';
  return html`<tr class="review" data-id="${id}"><td>${when(item.receivedAt)}</td><td>${item.reason}</td><td>${k.class}${k.intent ? `/${k.intent}` : ''}<br><span class="muted">${k.reason ?? ''}</span></td>
<td>${item.from ?? ''}<br><strong>${item.subject}</strong>${k.text ? html`<br><span class="muted">${k.text.slice(0, 300)}</span>` : ''}</td>
<td>${item.noticeId ? html`${item.campaignId ? html`<a class="mono" href="${href('campaigns', item.campaignId)}">${item.noticeId}</a>` : html`<span class="mono">${item.noticeId}</span>`}${item.matchedBy ? html` <span class="muted">by ${item.matchedBy}</span>` : ''}` : html`<span class="muted">none</span>`}</td><td>${forms}</td></tr>`;
}

/** The messages waiting for a person, with Apply and Dismiss for coordinators. */
export function reviewsPage(queue: ReviewQueue, f: FormContext, options: { showResolved?: boolean; flash?: string } = {}): Html {
  return html`<h1>Review queue</h1>
<p class="muted">Unclear and suspicious answers, reports and unmatched mail: nothing here was applied on a guess.</p>
${options.flash ? html`<p class="notice-box" role="status">${options.flash}</p>` : ''}
${queue.open.length === 0 ? html`<p class="muted">Nothing waits for review.</p>` : html`<table class="reviews"><thead><tr><th>Received</th><th>Why</th><th>Class</th><th>Message</th><th>Notice</th><th></th></tr></thead><tbody>${queue.open.map((item) => reviewRow(item, f))}</tbody></table>`}
<h2>Decided</h2>
${queue.resolved.length === 0
    ? html`<p class="muted">None yet.</p>`
    : options.showResolved
      ? html`<table class="resolved"><thead><tr><th>Received</th><th>Subject</th><th>Decision</th><th>By</th><th>When</th></tr></thead><tbody>${queue.resolved.map(({ item, resolution: r }) => html`<tr><td>${when(item.receivedAt)}</td><td>${item.subject}</td><td>${r.action}${r.intent ? ` as ${r.intent}` : ''}${r.noticeId ? html` on <span class="mono">${r.noticeId}</span>` : ''}</td><td>${r.by}</td><td>${when(r.at)}</td></tr>`)}</tbody></table>`
      : html`<p>${queue.resolved.length} decided. <a href="/ui/reviews?resolved=1">Show them</a></p>`}`;
}
