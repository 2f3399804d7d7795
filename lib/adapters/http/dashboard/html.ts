import type { Principal } from '../../../core/access/index.js';
import { directionOf, translator, type DashboardLanguage, type Translate } from './i18n.js';

/**
 * Server-rendered HTML without a template engine: every value interpolated into `html` is escaped unless it is
 * itself `Html`. Nothing on a page comes from a CDN or an external font; there is no script.
 */

/** Markup that is already safe (built by `html`). */
export class Html {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

const ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text made safe for element content and for double- or single-quoted attributes. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => ENTITIES[ch]!);
}

function render(value: unknown): string {
  if (value instanceof Html) return value.text;
  if (value === undefined || value === null || value === false) return '';
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

/** A template whose interpolations are escaped (arrays are joined, `Html` is kept, nullish is empty). */
export function html(strings: TemplateStringsArray, ...values: unknown[]): Html {
  let out = strings[0]!;
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1]!;
  return new Html(out);
}

/** A path under the dashboard with its ids encoded. */
export function href(...parts: string[]): string {
  return `/ui${parts.map((p) => `/${encodeURIComponent(p)}`).join('')}`;
}

/** An ISO time as people read it in an audit: to the second, in UTC. */
export function when(iso: string | undefined): string {
  if (!iso) return '';
  return iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/Z$/, ' UTC');
}

/** Seconds as a short duration: `45 s`, `12 min`, `3 h 20 min`, `2 d 4 h`. */
export function duration(seconds: number | undefined): string {
  if (seconds === undefined) return '';
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.round((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.round((s % 86400) / 3600)} h`;
}

/** The response headers every dashboard page carries: no script, no framing, no caching of what it shows. */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Frame-Options': 'DENY',
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'same-origin',
  'Cache-Control': 'no-store',
};

export interface LayoutOptions {
  readonly principal?: Principal;
  /** the session's CSRF token, for the sign-out form */
  readonly csrf?: string;
  /** signed in with a session (a key sent as a bearer has nothing to sign out of) */
  readonly session?: boolean;
  /** the page's language (the browser's choice) @default en */
  readonly lang?: DashboardLanguage;
  /** what the search box holds */
  readonly query?: string;
}

/** A whole page: header with who is signed in, navigation and the search box, the body. */
export function layout(title: string, body: Html, options: LayoutOptions = {}): string {
  const p = options.principal;
  const lang = options.lang ?? 'en';
  const t: Translate = translator(lang);
  const user = p
    ? html`<span class="who">${p.name} <span class="role role-${p.role}">${t(p.role)}</span></span>${
        options.session
          ? html`<form method="post" action="/ui/logout" class="inline"><input type="hidden" name="_csrf" value="${options.csrf ?? ''}"><button type="submit" class="link">${t('Sign out')}</button></form>`
          : ''
      }`
    : '';
  const nav = p
    ? html`<nav><a href="/ui">${t('Campaigns')}</a><a href="/ui/reviews">${t('Review queue')}</a></nav><form method="get" action="/ui/search" class="search" role="search"><input type="search" name="q" value="${options.query ?? ''}" placeholder="${t('indicator, id, TKD- tag, recipient, party')}" aria-label="${t('Search')}" size="34"><button type="submit">${t('Search')}</button></form>`
    : '';
  return `<!doctype html>${html`<html lang="${lang}" dir="${directionOf(lang)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title} · Takedown</title><link rel="stylesheet" href="/ui/style.css"></head><body><header><strong class="brand">Takedown</strong>${nav}<div class="user">${user}</div></header><main>${body}</main></body></html>`.text}`;
}

/** The dashboard's one stylesheet. */
export const STYLE = `
:root { --fg: #1b1f24; --muted: #59636e; --line: #d1d9e0; --bg: #f6f8fa; --accent: #0b5cad; --ok: #1a7f37; --warn: #9a6700; --bad: #cf222e; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: #fff; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .6rem 1.2rem; background: var(--bg); border-bottom: 1px solid var(--line); }
header nav a { margin-inline-end: 1rem; color: var(--accent); text-decoration: none; }
header .user { margin-inline-start: auto; display: flex; gap: .8rem; align-items: center; }
main { padding: 1rem 1.2rem 3rem; max-width: 1200px; }
h1 { font-size: 1.4rem; margin: .2rem 0 .8rem; } h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0 1rem; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: var(--bg); font-weight: 600; } td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a { color: var(--accent); } code, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; font-size: 12.5px; word-break: break-all; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: 0 0 1rem; } dl.facts dt { color: var(--muted); }
.role { font-size: 11px; padding: 1px 6px; border-radius: 8px; background: #ddf4ff; } .role-auditor { background: #fff8c5; }
.state { font-size: 12px; padding: 1px 6px; border-radius: 8px; background: var(--bg); border: 1px solid var(--line); white-space: nowrap; }
.notice-box { padding: .7rem 1rem; border: 1px solid var(--line); border-radius: 6px; background: var(--bg); margin: .6rem 0 1rem; }
.chain-intact { color: var(--ok); } .chain-broken { color: var(--bad); font-weight: 600; } .chain-not-checked { color: var(--warn); }
.muted { color: var(--muted); } .error { color: var(--bad); }
form.inline { display: inline; margin: 0; } form.row { display: flex; gap: .4rem; align-items: center; flex-wrap: wrap; margin: .2rem 0; }
button { font: inherit; padding: .25rem .8rem; border-radius: 6px; border: 1px solid var(--line); background: #fff; cursor: pointer; }
button.primary { background: var(--accent); color: #fff; border-color: var(--accent); } button.link { border: 0; background: none; color: var(--accent); padding: 0; }
input, select { font: inherit; padding: .25rem .4rem; border: 1px solid var(--line); border-radius: 6px; }
.login { max-width: 420px; margin: 4rem auto; } .login input[type=password] { width: 100%; }
pre.data { margin: 0; white-space: pre-wrap; font-size: 12px; color: var(--muted); }
header form.search { display: flex; gap: .3rem; }
th, td { text-align: start; } td.num, th.num { text-align: end; }
.counts { font-size: 1.05rem; margin: .2rem 0 1rem; }
ol.story { list-style: none; padding: 0; margin: .3rem 0 1rem; border-inline-start: 3px solid var(--line); }
ol.story li { padding: .25rem .8rem; } ol.story time { color: var(--muted); font-variant-numeric: tabular-nums; margin-inline-end: .6rem; white-space: nowrap; }
ol.story li.tone-good { border-inline-start: 3px solid var(--ok); margin-inline-start: -3px; } ol.story li.tone-bad { border-inline-start: 3px solid var(--bad); margin-inline-start: -3px; }
ol.story li.tone-warn { border-inline-start: 3px solid var(--warn); margin-inline-start: -3px; }
details { margin: .4rem 0 1rem; } details summary { cursor: pointer; color: var(--accent); }
.disagreement { padding: .6rem 1rem; border: 1px solid var(--bad); border-radius: 6px; background: #ffebe9; margin: .6rem 0 1rem; }
.confirm { max-width: 46rem; } .confirm textarea, .answer textarea { width: 100%; font: inherit; }
.warning { padding: .6rem 1rem; border: 1px solid var(--warn); border-radius: 6px; background: #fff8c5; margin: .6rem 0; }
form.filters { display: flex; gap: .6rem; flex-wrap: wrap; align-items: end; margin: .3rem 0 .6rem; } form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); }
svg.chart { display: block; max-width: 100%; height: auto; margin: .3rem 0 1rem; } svg.chart text { font: 11px system-ui, sans-serif; fill: var(--muted); }
svg.chart .notified { stroke: var(--accent); } svg.chart .actioned { stroke: var(--warn); } svg.chart .verified { stroke: var(--ok); }
svg.chart rect.bar { fill: var(--accent); } svg.chart rect.p90 { fill: #b6d4f2; }
.legend span { margin-inline-end: 1rem; } .legend-notified { background: var(--accent); } .legend-actioned { background: var(--warn); } .legend-verified { background: var(--ok); } .legend i { display: inline-block; width: 1.4rem; height: 3px; vertical-align: middle; margin-inline-end: .3rem; }
pre.message { white-space: pre-wrap; background: var(--bg); border: 1px solid var(--line); padding: .8rem; border-radius: 6px; font-size: 12.5px; }
`;
