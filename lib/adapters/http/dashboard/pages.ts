import { CaseState, PartyKind, type Campaign, type Case, type Notice } from '../../../core/model.js';
import type { CampaignCounts, CampaignStats, CaseFilter, Progress, ProgressRow, DurationStats, SearchResult } from '../../../core/reports/index.js';
import { countryOf, partyOf } from '../../../core/reports/index.js';
import type { HistoryLine } from '../../../core/audit/index.js';
import type { ChainStatus } from './chain.js';
import { progressChart, timeToTakedownChart } from './charts.js';
import { duration, href, html, when, type Html } from './html.js';
import type { Translate } from './i18n.js';

/** What every page needs: may it write, the session's CSRF token, the reader's language. */
export interface PageContext {
  readonly writable: boolean;
  readonly csrf: string;
  readonly t: Translate;
}

/** The hidden field every dashboard form carries (see formOf in index.ts). */
export function csrfField(f: PageContext): Html {
  return html`<input type="hidden" name="_csrf" value="${f.csrf}">`;
}

/** A state as a badge, in the reader's language. */
export function state(s: string, t: Translate): Html {
  return html`<span class="state state-${s}" data-state="${s}">${t(s)}</span>`;
}

export type ControlVerb = 'pause' | 'resume' | 'escalate' | 'cancel';

/**
 * Buttons for a coordinator's hand on the clock of a campaign, a notice or a case. Each only asks: the next page
 * says what it will do, asks why, and does it once confirmed (see confirmPage).
 */
export function controls(id: string, actions: readonly ControlVerb[], f: PageContext): Html {
  if (!f.writable || actions.length === 0) return html``;
  const label: Record<ControlVerb, string> = { pause: f.t('Pause'), resume: f.t('Resume'), escalate: f.t('Escalate now…'), cancel: f.t('Cancel…') };
  return html`<form method="post" action="${href('controls', id)}" class="row controls">${csrfField(f)}${actions.map((a) => html`<button type="submit" name="action" value="${a}">${label[a]}</button>`)}</form>`;
}

/** The sign-in form; `error` says why the last attempt failed; `keyHint` is the command that makes a key here. */
export function loginPage(f: Pick<PageContext, 't'>, options: { error?: string; next?: string; keyHint?: string } = {}): Html {
  const t = f.t;
  const hint = options.keyHint ?? 'takedown keys create --role coordinator --name <you>';
  return html`<div class="login">
<h1>${t('Sign in')}</h1>
<p class="muted">${t('Paste an API key, made with:')} <code class="key-hint">${hint}</code>. ${t('The key is checked once; the browser keeps only a session cookie.')}</p>
${options.error ? html`<p class="error" role="alert">${options.error}</p>` : ''}
<form method="post" action="/ui/login">
<input type="hidden" name="next" value="${options.next ?? '/ui'}">
<p><label for="key">${t('API key')}</label><br><input id="key" name="key" type="password" autocomplete="off" required></p>
<p><button type="submit" class="primary">${t('Sign in')}</button></p>
</form></div>`;
}

/** A refusal or a failure, with its code. */
export function errorPage(f: Pick<PageContext, 't'>, status: number, code: string, message: string): Html {
  const t = f.t;
  const title = status === 403 ? t('Not allowed') : status === 404 ? t('Not found') : status === 409 ? t('Not possible now') : status === 400 ? t('Not accepted') : t('Something went wrong');
  return html`<h1>${title}</h1><p class="error-message">${message}</p><p class="muted"><code>${code}</code></p><p><a href="/ui">${t('Back to the campaigns')}</a></p>`;
}

/** The one line that explains a campaign's numbers, in the reader's language. */
export function countsLine(counts: CampaignCounts, t: Translate): string {
  const why = [
    counts.escalations ? t(counts.escalations === 1 ? '{n} escalation' : '{n} escalations', { n: counts.escalations }) : '',
    counts.reopened ? t('{n} reopened', { n: counts.reopened }) : '',
    counts.withheld ? t('{n} withheld', { n: counts.withheld }) : '',
  ].filter(Boolean);
  return (
    `${t(counts.indicators === 1 ? '{n} indicator' : '{n} indicators', { n: counts.indicators })}${counts.unroutable ? ` (${t('{n} unroutable', { n: counts.unroutable })})` : ''} → ` +
    `${t(counts.cases === 1 ? '{n} case' : '{n} cases', { n: counts.cases })}${why.length ? ` (${why.join(', ')})` : ''} → ${t(counts.notices === 1 ? '{n} notice' : '{n} notices', { n: counts.notices })}`
  );
}

/** Every campaign, newest first, each with the line that explains its numbers. */
export function campaignsPage(f: PageContext, campaigns: readonly { campaign: Campaign; counts: CampaignCounts }[], openReviews: number): Html {
  const t = f.t;
  const rows = campaigns.map(
    ({ campaign: c, counts }) =>
      html`<tr><td><a href="${href('campaigns', c.id)}">${c.name}</a><br><span class="mono muted">${c.id}</span></td><td>${state(c.state, t)}</td><td>${c.tlp}</td><td>${when(c.createdAt)}</td><td>${c.submitter}${c.onBehalfOf ? html` <span class="muted">(${t('for {who}', { who: c.onBehalfOf })})</span>` : ''}</td><td class="counts-line" data-counts="${counts.line}">${countsLine(counts, t)}</td></tr>`,
  );
  const waiting = campaigns.filter((c) => c.campaign.state === 'awaiting-approval').length;
  return html`<h1>${t('Campaigns')}</h1>
${waiting ? html`<p class="notice-box">${t(waiting === 1 ? '{n} campaign awaits approval of the routing plan.' : '{n} campaigns await approval of the routing plan.', { n: waiting })}</p>` : ''}
<p><a href="/ui/reviews">${t('Review queue')}</a>: ${t(openReviews === 1 ? '{n} message waiting for a person.' : '{n} messages waiting for a person.', { n: openReviews })}</p>
${campaigns.length === 0 ? html`<p class="muted">${t('No campaigns yet.')}</p>` : html`<table class="campaigns"><thead><tr><th>${t('Campaign')}</th><th>${t('State')}</th><th>TLP</th><th>${t('Created')}</th><th>${t('Submitter')}</th><th>${t('Indicators → cases → notices')}</th></tr></thead><tbody>${rows}</tbody></table>`}`;
}

export const STAGES: readonly [keyof Progress, string][] = [
  ['identified', 'Identified'],
  ['notified', 'Notified'],
  ['acknowledged', 'Acknowledged'],
  ['actioned', 'Actioned'],
  ['verifiedDown', 'Verified down'],
  ['expired', 'Expired'],
];

function progressTable(t: Translate, by: string, caption: string, rows: readonly ProgressRow[], limit = 200): Html {
  const head = html`<tr><th>${caption}</th>${STAGES.map(([, label]) => html`<th class="num">${t(label)}</th>`)}</tr>`;
  const body = rows.slice(0, limit).map((r) => html`<tr><td>${r.label}</td>${STAGES.map(([k]) => html`<td class="num">${r.progress[k]}</td>`)}</tr>`);
  return html`<table class="progress" data-by="${by}"><thead>${head}</thead><tbody>${body}</tbody></table>${rows.length > limit ? html`<p class="muted">${t('{n} more not shown.', { n: rows.length - limit })}</p>` : ''}`;
}

function statsCells(s: DurationStats): Html {
  return html`<td class="num">${s.count}</td><td class="num">${duration(s.medianSeconds)}</td><td class="num">${duration(s.p90Seconds)}</td>`;
}

/** A chain status line. */
export function chainLine(chain: ChainStatus, t: Translate): Html {
  if (chain.state === 'intact') return html`<span class="chain-intact">${t('Audit chain intact')}</span> <span class="muted">(${t('{n} events, checked {at}', { n: chain.events, at: when(chain.checkedAt) })})</span>`;
  if (chain.state === 'broken') return html`<span class="chain-broken">${t('Audit chain BROKEN')}</span>: ${chain.reason}${chain.eventId ? html` <code>${chain.eventId}</code>` : ''}`;
  return html`<span class="chain-not-checked">${t('Audit chain not checked')}</span> <span class="muted">(${chain.reason})</span>`;
}

export interface CampaignPageData {
  readonly campaign: Campaign;
  readonly notices: readonly Notice[];
  readonly stats: CampaignStats;
  readonly chain: ChainStatus;
  /** the cases shown (filtered, one page) */
  readonly cases: readonly Case[];
  /** how many cases the filter matched in all */
  readonly matched: number;
  readonly filter: CaseFilter;
  /** the values the filters offer, from every case of the campaign */
  readonly options: { readonly countries: readonly string[]; readonly providers: readonly { id: string; name: string }[] };
  /** the offset of the next page of cases */
  readonly nextOffset?: number;
  readonly now: Date;
  /** the campaign's own events told (campaignHistory) */
  readonly history: readonly HistoryLine[];
  /** what the last action did, said once after it */
  readonly flash?: string;
}

export const DOWNLOADS: readonly [string, string][] = [
  ['csv', 'CSV'],
  ['xlsx', 'Excel (a sheet per country)'],
  ['stix', 'STIX 2.1 bundle'],
  ['misp', 'MISP event'],
];

/** The export buttons: every role that reads a campaign may download it. */
function downloads(campaignId: string, t: Translate): Html {
  return html`<p class="downloads">${t('Download one row per case:')} ${DOWNLOADS.map(([format, label], i) => html`${i ? ' · ' : ''}<a class="download" href="${href('campaigns', campaignId, 'export')}?format=${format}" download>${t(label)}</a>`)}</p>`;
}

function select(name: string, label: string, current: string | undefined, options: readonly [string, string][], t: Translate): Html {
  return html`<label>${label}<select name="${name}"><option value="">${t('any')}</option>${options.map(([value, text]) => html`<option value="${value}"${value === current ? html` selected` : ''}>${text}</option>`)}</select></label>`;
}

function filterQuery(f: CaseFilter, extra: Record<string, string> = {}): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries({ ...f, ...extra })) if (v !== undefined && v !== '') params.set(k, String(v));
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** What the campaign itself went through, a line an event; the workflow's bookkeeping left to the audit trail. */
function history(lines: readonly HistoryLine[], t: Translate): Html {
  const told = lines.filter((l) => !l.bookkeeping);
  if (!told.length) return html``;
  return html`<h2>${t('History')}</h2>
<ol class="story campaign-history">${told.map((l) => html`<li class="tone-${l.tone}" data-tone="${l.tone}" data-type="${l.type}"><time datetime="${l.at}">${when(l.at)}</time>${t(l.template, l.values)}</li>`)}</ol>`;
}

/** A flash line: what the action just done did. */
export function flashBox(flash: string | undefined): Html {
  return flash ? html`<p class="notice-box flash" role="status">${flash}</p>` : html``;
}

/** One campaign: its numbers, plan, progress (tables and charts), time to takedown, chain status, recipients, cases. */
export function campaignPage(d: CampaignPageData, f: PageContext): Html {
  const t = f.t;
  const c = d.campaign;
  const approval =
    c.state === 'awaiting-approval'
      ? f.writable
        ? html`<div class="notice-box"><p>${t('The routing plan below waits for approval: {notices} notice(s) to {recipients} recipient(s) covering {cases} case(s). Nothing is sent until it is approved.', { notices: d.notices.length, recipients: new Set(d.notices.map((n) => n.party.id)).size, cases: d.stats.counts.cases })}</p><form method="post" action="${href('campaigns', c.id, 'approval')}" class="inline">${csrfField(f)}<button type="submit" class="primary" name="approve" value="1">${t('Approve plan')}</button></form></div>`
        : html`<p class="notice-box">${t("The routing plan waits for a coordinator's approval.")}</p>`
      : '';
  const hand = controls(c.id, c.state === 'running' || c.state === 'sending' ? ['pause', 'escalate', 'cancel'] : c.state === 'paused' ? ['resume', 'cancel'] : [], f);
  const tta = d.stats.timeToAction;
  const notices = [...d.notices].sort((a, b) => b.caseCount - a.caseCount || a.party.name.localeCompare(b.party.name));
  const fl = d.filter;
  return html`<h1>${c.name}</h1>
${flashBox(d.flash)}
<p class="counts" data-counts="${d.stats.counts.line}">${countsLine(d.stats.counts, t)}</p>
<dl class="facts"><dt>${t('Campaign')}</dt><dd class="mono">${c.id}</dd><dt>${t('State')}</dt><dd>${state(c.state, t)}</dd><dt>TLP</dt><dd>${c.tlp}</dd><dt>${t('Submitted')}</dt><dd>${t('{at} by {who}', { at: when(c.createdAt), who: c.submitter })}${c.onBehalfOf ? html` <span class="muted">(${t('for {who}', { who: c.onBehalfOf })})</span>` : ''}</dd>
${c.approvedAt ? html`<dt>${t('Approved')}</dt><dd>${t('{at} by {who}', { at: when(c.approvedAt), who: c.approvedBy ?? '' })}${c.approvedOnBehalfOf ? html` <span class="muted">(${t('for {who}', { who: c.approvedOnBehalfOf })})</span>` : ''}</dd>` : ''}
${c.legalBasis ? html`<dt>${t('Legal basis')}</dt><dd>${c.legalBasis}</dd>` : ''}
<dt>${t('From the file')}</dt><dd>${t('{accepted} accepted of {submitted} submitted; {duplicates} duplicates', { accepted: c.counts.indicators, submitted: c.counts.submitted, duplicates: c.counts.duplicates })}</dd>
<dt>${t('Audit')}</dt><dd class="chain">${chainLine(d.chain, t)}</dd></dl>
${approval}${hand}
${downloads(c.id, t)}
${history(d.history, t)}
<h2>${t('Progress over time')}</h2>
${progressChart(d.stats.overTime, d.stats.counts.indicators - d.stats.counts.unroutable, d.now, t)}
<h2>${t('Progress')}</h2>
<p class="muted">${t('Per indicator: an escalated indicator counts once, at the stage it has reached.')}</p>
${progressTable(t, 'total', t('Total'), [{ key: 'all', label: t('All indicators'), progress: d.stats.progress.total }])}
<h2>${t('By country')}</h2>
${progressTable(t, 'country', t('Country'), d.stats.progress.byCountry)}
<h2>${t('By provider')}</h2>
<p class="muted">${t("Per case: each provider's own cases.")}</p>
${progressTable(t, 'provider', t('Provider'), d.stats.progress.byProvider)}
<h2>${t('Time to takedown')}</h2>
<p class="muted">${t('From the notice going out to the provider saying it acted, per case.')}</p>
${timeToTakedownChart(tta, t)}
<table class="tta"><thead><tr><th>${t('Provider')}</th><th class="num">${t('Cases measured')}</th><th class="num">${t('Median')}</th><th class="num">${t('90th percentile')}</th></tr></thead>
<tbody><tr><td><strong>${t('All providers')}</strong></td>${statsCells(tta.overall)}</tr>${tta.byProvider.map((p) => html`<tr><td>${p.name}</td>${statsCells(p.stats)}</tr>`)}</tbody></table>
<h2>${t('Recipients')}</h2>
<table class="recipients"><thead><tr><th>${t('Recipient')}</th><th>${t('Kind')}</th><th>${t('Contact')}</th><th>${t('Country')}</th><th class="num">${t('Cases')}</th><th>${t('Notice')}</th><th>${t('Sent')}</th><th>${t('Deadline')}</th></tr></thead><tbody>
${notices.slice(0, 500).map((n) => html`<tr><td>${n.party.name}</td><td>${t(n.party.kind)}</td><td>${n.party.email} <span class="muted">(${n.party.contactSource})</span></td><td>${n.party.country ?? ''}</td><td class="num">${n.caseCount}</td><td>${state(n.state, t)} <span class="mono muted">${n.tag}</span></td><td>${when(n.sentAt)}</td><td>${when(n.deadline)}</td></tr>`)}
</tbody></table>${notices.length > 500 ? html`<p class="muted">${t('{n} more recipients not shown.', { n: notices.length - 500 })}</p>` : ''}
<h2 id="cases">${t('Cases')}</h2>
<form method="get" action="${href('campaigns', c.id)}#cases" class="filters">
${select('state', t('State'), fl.state, CaseState.options.map((s) => [s, t(s)]), t)}
${select('country', t('Country'), fl.country, d.options.countries.map((x) => [x, x]), t)}
${select('provider', t('Provider'), fl.provider, d.options.providers.map((p) => [p.id, p.name]), t)}
${select('kind', t('Party kind'), fl.kind, PartyKind.options.map((k) => [k, t(k)]), t)}
<button type="submit">${t('Filter')}</button>${Object.values(fl).some((v) => v !== undefined) ? html` <a href="${href('campaigns', c.id)}#cases">${t('Show all')}</a>` : ''}
</form>
<p class="muted cases-matched" data-matched="${d.matched}">${t(d.matched === 1 ? '{n} case matches.' : '{n} cases match.', { n: d.matched })}</p>
<table class="cases"><thead><tr><th>${t('Case')}</th><th>${t('Indicator')}</th><th>${t('Country')}</th><th>${t('Party')}</th><th>${t('Kind')}</th><th>${t('State')}</th><th>${t('Updated')}</th></tr></thead><tbody>
${d.cases.map((k) => html`<tr><td><a class="mono" href="${href('cases', k.id)}">${k.id}</a></td><td class="mono">${k.indicator.value}</td><td>${countryOf(k)}</td><td>${partyOf(k).name}</td><td>${t(partyOf(k).kind)}</td><td>${state(k.state, t)}</td><td>${when(k.updatedAt)}</td></tr>`)}
</tbody></table>
${d.nextOffset !== undefined ? html`<p><a href="${href('campaigns', c.id)}${filterQuery(fl, { offset: String(d.nextOffset) })}#cases">${t('Next cases')}</a></p>` : ''}`;
}

/** What a search found: cases (the indicator's story in every campaign), notices and campaigns. */
export function searchPage(f: PageContext, r: SearchResult | undefined, q: string): Html {
  const t = f.t;
  if (!r) return html`<h1>${t('Search')}</h1><p class="muted">${t('Type an indicator (as written, even defanged), a campaign, notice or case id, a TKD- tag, a recipient address or a party name.')}</p>`;
  const nothing = !r.campaigns.length && !r.notices.length && !r.cases.length;
  const readAs: Record<SearchResult['readAs'], string> = {
    campaign: t('a campaign id'),
    notice: t('a notice id or tag'),
    case: t('a case id'),
    indicator: t('the indicator {value}', { value: r.indicator ?? '' }),
    party: t('a recipient or party'),
  };
  return html`<h1>${t('Search')}: <span class="mono">${q}</span></h1>
<p class="muted read-as">${t('Read as {what}.', { what: readAs[r.readAs] })}</p>
${nothing ? html`<p class="nothing-found">${t('Nothing found.')}</p>` : ''}
${r.campaigns.length ? html`<h2>${t('Campaigns')}</h2><ul class="found-campaigns">${r.campaigns.map((c) => html`<li><a href="${href('campaigns', c.id)}">${c.name}</a> <span class="mono muted">${c.id}</span> ${state(c.state, t)}</li>`)}</ul>` : ''}
${r.cases.length ? html`<h2>${t('Cases')}</h2><table class="found-cases"><thead><tr><th>${t('Case')}</th><th>${t('Indicator')}</th><th>${t('Party')}</th><th>${t('State')}</th><th>${t('Campaign')}</th></tr></thead><tbody>${r.cases.map((k) => html`<tr><td><a class="mono" href="${href('cases', k.id)}">${k.id}</a></td><td class="mono">${k.indicator.value}</td><td>${partyOf(k).name}</td><td>${state(k.state, t)}</td><td><a class="mono" href="${href('campaigns', k.campaignId)}">${k.campaignId}</a></td></tr>`)}</tbody></table>` : ''}
${r.notices.length ? html`<h2>${t('Notices')}</h2><table class="found-notices"><thead><tr><th>${t('Notice')}</th><th>${t('Recipient')}</th><th>${t('State')}</th><th class="num">${t('Cases')}</th><th>${t('Campaign')}</th></tr></thead><tbody>${r.notices.map((n) => html`<tr><td class="mono">${n.tag}</td><td>${n.party.name} &lt;${n.party.email}&gt;</td><td>${state(n.state, t)}</td><td class="num">${n.caseCount}</td><td><a class="mono" href="${href('campaigns', n.campaignId)}">${n.campaignId}</a></td></tr>`)}</tbody></table>` : ''}
${r.truncated ? html`<p class="muted">${t('More were found than are shown; narrow the search.')}</p>` : ''}`;
}
