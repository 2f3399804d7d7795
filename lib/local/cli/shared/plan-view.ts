import type { LadderStep } from '../../../core/model.js';
import { humanDuration } from '../../../core/notices/index.js';
import type { Plan, PlanItem } from '../../../core/routing/index.js';
import { summary, table } from './terminal.js';

/** Why a recipient gets an indicator, in words: the rule that matched it. */
export function ruleText(item: Pick<PlanItem, 'as' | 'matchedBy'>): string {
  const by = item.matchedBy ?? '?';
  switch (item.as) {
    case 'hosting':
      return `hosting network ${by}`;
    case 'registrar':
      return `registrar for ${by}`;
    case 'registry':
      return `registry for ${by}`;
    case 'upstream':
      return `upstream ${by}`;
    case 'cert':
      return `national CERT of ${by}`;
  }
}

function more(total: number, shown: number): string[] {
  return total > shown ? [`   ... and ${total - shown} more (--json lists every one)`] : [];
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `   ${l}`)
    .join('\n');
}

/**
 * The plan as a coordinator reads it: the campaign's marking and permission, one block per recipient with each
 * indicator and why it goes there, then everything that would not go out, with why. `limit` caps the lines of
 * each list (0: no cap).
 */
export function planText(plan: Plan, limit = 20): string {
  const cap = <T>(list: readonly T[]): T[] => (limit > 0 ? list.slice(0, limit) : [...list]);
  const c = plan.counts;
  const p = plan.campaign.tlpPermission;
  const out: string[] = [];
  out.push(`Routing plan for "${plan.campaign.name}" (dry run: nothing was stored or sent)`, '');
  out.push(
    summary([
      ['source', `${plan.campaign.format}${plan.campaign.sourceName ? ` (${plan.campaign.sourceName})` : ''}`],
      ['campaign TLP', `TLP:${plan.campaign.tlp}${plan.campaign.tlpFrom === 'default' ? ' (the configured default for unmarked material, which you send as its source; --tlp states the source\'s marking)' : ' (stated for the whole file)'}`],
      ['AMBER permission', p ? `notify the infrastructure's operators, granted by ${p.grantedBy} at ${p.grantedAt}` : 'none: what the source marked AMBER or AMBER+STRICT (in the file, or with --tlp) is withheld; --allow-amber records one'],
      ['read', `${c.submitted} indicators: ${c.accepted} accepted, ${c.duplicates} duplicates in the file, ${c.alreadyOpen} already open elsewhere`],
      ['would notify', `${c.notified} indicators to ${c.recipients} recipients`],
      ['not sent', `${c.withheld} withheld by TLP, ${c.unroutable} unroutable, ${c.excluded} excluded, ${c.skipped} skipped as invalid`],
    ]),
  );
  if (plan.recipients.length > 0) {
    out.push('', 'Recipients:', '');
    out.push(
      table(
        ['recipient', 'contact', 'kind', 'contact from', 'indicators', 'notice TLP'],
        cap(plan.recipients).map((r) => [r.party.name, r.party.email, r.party.kind, r.party.contactSource, r.indicators.length, `TLP:${r.tlp}`]),
      ),
    );
    out.push(...more(plan.recipients.length, cap(plan.recipients).length));
    for (const r of cap(plan.recipients)) {
      const n = r.indicators.length;
      out.push('', `${r.party.name} <${r.party.email}>: ${n} indicator${n === 1 ? '' : 's'}, contact from ${r.party.contactSource}, notice TLP:${r.tlp}`);
      out.push(`   ${r.handling}`);
      const rows = cap(r.indicators).map((i) => [
        i.value,
        i.kind,
        `TLP:${i.tlp} (${i.tlpFrom})`,
        ruleText(i),
        i.origin,
        ladderText(i.ladder) + (i.notEscalatedTo ? `; not escalated to ${i.notEscalatedTo.map((n) => n.party).join(', ')}` : ''),
      ]);
      out.push(indent(table(['indicator', 'kind', 'marking', 'why this recipient', 'from', 'ladder: party (contact from), answer / act deadlines'], rows)));
      out.push(...more(r.indicators.length, rows.length));
    }
  }
  if (plan.withheld.length > 0) {
    out.push('', `Withheld by TLP (${plan.withheld.length}): kept as cases, in no notice`, '');
    out.push(indent(table(['indicator', 'marking', 'would go to', 'why', 'from'], cap(plan.withheld).map((w) => [w.value, `TLP:${w.tlp} (${w.tlpFrom})`, w.party, w.reason, w.origin]))));
    out.push(...more(plan.withheld.length, cap(plan.withheld).length));
  }
  if (plan.unroutable.length > 0) {
    out.push('', `Unroutable (${plan.unroutable.length}): nobody found who can act on them`, '');
    out.push(indent(table(['indicator', 'from'], cap(plan.unroutable).map((u) => [u.value, u.origin]))));
    out.push(...more(plan.unroutable.length, cap(plan.unroutable).length));
  }
  if (plan.excluded.length > 0) {
    out.push('', `Excluded (${plan.excluded.length}): in the file, not notified`, '');
    out.push(indent(table(['where', 'why', 'indicator'], cap(plan.excluded).map((e) => [e.where, e.reason, e.value ?? '']))));
    out.push(...more(plan.excluded.length, cap(plan.excluded).length));
  }
  if (plan.skipped.length > 0) {
    out.push('', `Skipped as invalid (${plan.skipped.length}):`, '');
    out.push(indent(table(['where', 'why'], cap(plan.skipped).map((s) => [s.where, s.reason]))));
    out.push(...more(plan.skipped.length, cap(plan.skipped).length));
  }
  if (plan.alreadyOpen.length > 0) {
    out.push('', `Already open in other campaigns (${plan.alreadyOpen.length}):`, '');
    out.push(indent(table(['indicator', 'campaign', 'case'], cap(plan.alreadyOpen).map((a) => [a.value, a.campaignId, a.caseId]))));
    out.push(...more(plan.alreadyOpen.length, cap(plan.alreadyOpen).length));
  }
  return out.join('\n');
}

/** Each rung as `1. hosting abuse@… (directory) 24 hours/72 hours`, joined by arrows. */
function ladderText(ladder: readonly LadderStep[]): string {
  return ladder
    .map((s, n) => `${n + 1}. ${s.party.kind} ${s.party.email} (${s.party.contactSource}) ${humanDuration(s.answerDeadline)}/${humanDuration(s.actionDeadline)}`)
    .join(' -> ');
}
