import { summary, table } from '../../lib/local/cli/shared/terminal.js';
import type { ChaosReport } from './run.js';

/** How a chaos run is told: its figures and the table of invariants, each of which must be 0. */

/** The figures that must be 0, in the order they are printed. */
export const INVARIANTS: readonly [keyof ChaosReport['findings'], string][] = [
  ['lostMessages', 'lost messages (recorded sent, never delivered)'],
  ['lostNotices', 'lost notices (cases notified, notice never delivered)'],
  ['lostAnswers', 'lost answers (given, not stored or not applied)'],
  ['unexplainedDuplicates', 'unexplained duplicates'],
  ['stuckOutbound', 'stuck messages (unsent, nothing to send them)'],
  ['stuckNotices', 'stuck notices (live, no execution after settling)'],
  ['offTransport', 'mail off the configured transport'],
  ['sendsAfterClose', 'sends after close'],
  ['twoHands', 'cases in two parties\' hands'],
  ['countMismatches', 'notice case counts that do not add up'],
];

/** The report as people read it: what was done, then every invariant with its figure. */
export function reportText(r: ChaosReport): string {
  const faults = Object.entries(r.relay.faults).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ');
  const channels = Object.entries(r.answersByChannel).map(([k, n]) => `${k} ${n}`).join(', ');
  const commands = Object.entries(r.commands).map(([k, n]) => `${k} ${n}`).join(', ');
  const messages = Object.entries(r.counts.messages).map(([k, n]) => `${k} ${n}`).join(', ');
  const lines = [
    summary([
      ['seed', r.seed],
      ['time', `${r.seconds.toFixed(0)} s${r.settled ? '' : ' (did not settle: open work reported)'}`],
      ['campaigns', `${r.counts.campaigns} (${r.counts.campaignsDone} done)`],
      ['notices', `${r.counts.notices} (${Object.entries(r.counts.noticesByState).map(([k, n]) => `${k} ${n}`).join(', ')})`],
      ['cases', `${r.counts.cases} (${Object.entries(r.counts.casesByState).map(([k, n]) => `${k} ${n}`).join(', ')})`],
      ['messages', `${messages}; ${r.delivered} deliveries, ${r.counts.duplicatesExplained} of them explained resends of ${r.counts.uncertain} uncertain hand-overs`],
      ['relay', `${r.relay.transactions} transactions on ${r.relay.connections} connections, ${r.relay.delivered} delivered`],
      ['faults', faults || 'none'],
      ['kills', `${r.kills} SIGKILLs of takedown serve${r.unexpectedExits ? `, ${r.unexpectedExits} exits on its own` : ''}`],
      ['answers', channels || 'none'],
      ['commands', commands || 'none'],
      ['answers stored', `${r.counts.answersStored}; review queue ${r.counts.reviews}`],
      ['audit events', r.counts.events],
      ['data', r.runDir],
    ]),
    '',
    table(
      ['invariant', 'figure', 'first example'],
      [
        ...INVARIANTS.map(([key, label]) => [label, String(r.findings[key].count), r.findings[key].examples[0] ?? '']),
        ['audit verify', r.audit.valid ? 'valid' : 'BROKEN', r.audit.valid ? '' : r.audit.output.split('\n').slice(-1)[0] ?? ''],
      ],
    ),
  ];
  if (r.refusedAnswers.length) lines.push('', `answers the recipients gave up on: ${r.refusedAnswers.slice(0, 5).join('; ')}`);
  return lines.join('\n');
}

/** Whether every invariant held. */
export function kept(r: ChaosReport): boolean {
  return INVARIANTS.every(([key]) => r.findings[key].count === 0) && r.audit.valid;
}
