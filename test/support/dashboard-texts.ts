import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AnswerIntent, CampaignState, CaseState, NoticeState, PartyKind } from '../../lib/core/model.js';
import { ANSWER_WORDS, CHANNEL } from '../../lib/core/audit/index.js';
import { DOWNLOADS, STAGES } from '../../lib/adapters/http/dashboard/pages.js';
import { ACTION_WORDS, KIND_WORDS, REASON_WORDS } from '../../lib/adapters/http/dashboard/case-pages.js';

const source = (path: string) => readFileSync(fileURLToPath(new URL(`../../${path}`, import.meta.url)), 'utf8');

/** The string literals a call of `fn` takes as its first argument (both branches of a `cond ? 'a' : 'b'`). */
function literalsOf(text: string, fn: string): string[] {
  const found: string[] = [];
  const quoted = `'((?:[^'\\\\]|\\\\.)*)'|"((?:[^"\\\\]|\\\\.)*)"`;
  const call = new RegExp(`(?<![A-Za-z0-9_])${fn}\\(\\s*(?:${quoted}|[^()'"]*?\\?\\s*(?:${quoted})\\s*:\\s*(?:${quoted}))`, 'g');
  for (const m of text.matchAll(call)) for (const g of m.slice(1)) if (g !== undefined) found.push(g.replace(/\\'/g, "'").replace(/\\"/g, '"'));
  return found;
}

/** Every English text the dashboard looks up: what each of its dictionaries must hold. */
export function dashboardKeys(): string[] {
  const pages = ['pages.ts', 'case-pages.ts', 'index.ts', 'charts.ts', 'html.ts'].map((f) => source(`lib/adapters/http/dashboard/${f}`));
  const keys = new Set<string>();
  for (const text of pages) for (const fn of ['t', 'n']) for (const k of literalsOf(text, fn)) keys.add(k);
  for (const k of literalsOf(source('lib/core/audit/story.ts'), 'line')) keys.add(k);
  keys.add('{party} says it is down; the probe at {at} says it is live: {detail}');
  for (const list of [CaseState.options, NoticeState.options, CampaignState.options, PartyKind.options, AnswerIntent.options]) for (const k of list) keys.add(k);
  for (const k of ['coordinator', 'auditor', 'recipient', 'applied', 'dismissed', 'settled', 'composed', 'sending', 'sent']) keys.add(k);
  for (const [, label] of STAGES) keys.add(label);
  for (const [, label] of DOWNLOADS) keys.add(label);
  for (const w of Object.values(ACTION_WORDS)) for (const k of [w.title, w.does, w.button]) keys.add(k);
  for (const k of [...Object.values(REASON_WORDS), ...Object.values(KIND_WORDS)]) keys.add(k);
  for (const k of [...Object.values(ANSWER_WORDS), ...Object.values(CHANNEL)]) keys.add(k);
  return [...keys].sort();
}
