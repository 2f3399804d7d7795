import type { ProgressOverTime, TimeToAction } from '../../../core/reports/index.js';
import { duration, escapeHtml, Html, when } from './html.js';
import type { Translate } from './i18n.js';

/**
 * The campaign page's two charts, as plain SVG in the page: no script, no external file, nothing the CSP must
 * open. Colours come from the stylesheet's classes and SVG presentation attributes, never inline styles.
 */

const W = 640;
const H = 220;
const PAD = { left: 40, right: 12, top: 10, bottom: 28 };

function stepPoints(times: readonly string[], x: (t: number) => number, y: (n: number) => number, end: number): string {
  const points: string[] = [`${x(times.length ? Date.parse(times[0]!) : end).toFixed(1)},${y(0).toFixed(1)}`];
  times.forEach((t, i) => {
    const at = x(Date.parse(t));
    points.push(`${at.toFixed(1)},${y(i).toFixed(1)}`, `${at.toFixed(1)},${y(i + 1).toFixed(1)}`);
  });
  points.push(`${x(end).toFixed(1)},${y(times.length).toFixed(1)}`);
  return points.join(' ');
}

/**
 * Indicators notified, said taken down and verified down over time, as three step lines from the first notice
 * to `now`, out of `total` indicators.
 */
export function progressChart(over: ProgressOverTime, total: number, now: Date, t: Translate): Html {
  if (!over.from || total === 0) return new Html(`<p class="muted">${escapeHtml(t('Nothing sent yet: the chart starts with the first notice.'))}</p>`);
  const start = Date.parse(over.from);
  const end = Math.max(now.getTime(), start + 60_000);
  const x = (ms: number) => PAD.left + ((ms - start) / (end - start)) * (W - PAD.left - PAD.right);
  const y = (n: number) => H - PAD.bottom - (n / total) * (H - PAD.top - PAD.bottom);
  const series: [string, readonly string[], string][] = [
    ['notified', over.notified, t('notified')],
    ['actioned', over.actioned, t('said taken down')],
    ['verified', over.verifiedDown, t('verified down')],
  ];
  const lines = series.map(([cls, times, label]) => `<polyline class="${cls}" data-series="${cls}" data-count="${times.length}" fill="none" stroke-width="2" points="${stepPoints(times, x, y, end)}"><title>${escapeHtml(label)}: ${times.length}</title></polyline>`);
  const axes =
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${W - PAD.right}" y2="${y(0)}" stroke="#d1d9e0"/>` +
    `<line x1="${PAD.left}" y1="${y(0)}" x2="${PAD.left}" y2="${y(total)}" stroke="#d1d9e0"/>` +
    `<text x="${PAD.left - 6}" y="${y(total) + 4}" text-anchor="end">${total}</text><text x="${PAD.left - 6}" y="${y(0) + 4}" text-anchor="end">0</text>` +
    `<text x="${PAD.left}" y="${H - 8}">${escapeHtml(when(new Date(start).toISOString()))}</text>` +
    `<text x="${W - PAD.right}" y="${H - 8}" text-anchor="end">${escapeHtml(when(new Date(end).toISOString()))}</text>`;
  const legend = series.map(([cls, times, label]) => `<span><i class="legend-${cls}"></i>${escapeHtml(label)}: ${times.length}</span>`).join('');
  return new Html(
    `<svg class="chart progress-chart" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(t('Indicators notified, said taken down and verified down over time'))}">${axes}${lines.join('')}</svg><p class="legend">${legend}</p>`,
  );
}

/** Median (dark) and 90th percentile (light) time to takedown per provider, as horizontal bars. */
export function timeToTakedownChart(tta: TimeToAction, t: Translate): Html {
  const rows = tta.byProvider.filter((p) => p.stats.medianSeconds !== undefined).slice(0, 15);
  if (rows.length === 0) return new Html(`<p class="muted">${escapeHtml(t('No takedown measured yet.'))}</p>`);
  const max = Math.max(...rows.map((r) => r.stats.p90Seconds ?? r.stats.medianSeconds ?? 0), 1);
  const label = 190;
  const barW = W - label - 90;
  const rowH = 22;
  const height = rows.length * rowH + 8;
  const bars = rows.map((r, i) => {
    const y = 4 + i * rowH;
    const med = ((r.stats.medianSeconds ?? 0) / max) * barW;
    const p90 = ((r.stats.p90Seconds ?? 0) / max) * barW;
    const name = r.name.length > 28 ? `${r.name.slice(0, 27)}…` : r.name;
    return (
      `<g class="provider" data-provider="${escapeHtml(r.partyId)}"><text x="${label - 6}" y="${y + 14}" text-anchor="end">${escapeHtml(name)}</text>` +
      `<rect class="p90" x="${label}" y="${y + 3}" width="${p90.toFixed(1)}" height="14"><title>${escapeHtml(t('90th percentile'))}: ${escapeHtml(duration(r.stats.p90Seconds))}</title></rect>` +
      `<rect class="bar" x="${label}" y="${y + 3}" width="${Math.max(1, med).toFixed(1)}" height="14"><title>${escapeHtml(t('Median'))}: ${escapeHtml(duration(r.stats.medianSeconds))}</title></rect>` +
      `<text x="${label + Math.max(p90, med) + 6}" y="${y + 14}">${escapeHtml(duration(r.stats.medianSeconds))} (${r.stats.count})</text></g>`
    );
  });
  return new Html(`<svg class="chart tta-chart" viewBox="0 0 ${W} ${height}" width="${W}" height="${height}" role="img" aria-label="${escapeHtml(t('Time to takedown per provider'))}">${bars.join('')}</svg>`);
}
