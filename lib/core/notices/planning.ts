import type { Deps } from '../ports.js';
import type { Case, Notice } from '../model.js';
import { executionName } from '../executions.js';
import { tagOf } from '../routing/index.js';

/**
 * Aggregation: one notice per recipient for the cases of one ladder step, and the start of its execution.
 */

/** Start a notice's execution for its current round; the round travels in the input so a stale run stops. */
export function startNoticeRun(deps: Pick<Deps, 'workflows'>, notice: Pick<Notice, 'id' | 'round'>): Promise<void> {
  return deps.workflows.start('notice', executionName('notice', notice.id, notice.round), { noticeId: notice.id, round: notice.round });
}

/** One notice per recipient for the given cases (all of one ladder step), counted from the cases. */
export function groupIntoNotices(deps: Deps, campaignId: string, cases: readonly Case[], escalatedFrom?: string): Notice[] {
  const grouper = new NoticeGrouper(deps, campaignId, escalatedFrom);
  for (const c of cases) grouper.add(c);
  return grouper.notices();
}

/** Groups cases into notices as they come, keeping per notice only what the notice needs, not its cases. */
export class NoticeGrouper {
  private readonly groups = new Map<string, { party: Notice['party']; step: number; count: number; answer: number; action: number; reminders: number }>();

  constructor(
    private readonly deps: Pick<Deps, 'clock'>,
    private readonly campaignId: string,
    private readonly escalatedFrom?: string,
  ) {}

  add(c: Case): void {
    if (!c.noticeId) return;
    const rung = c.ladder[c.step]!;
    const group = this.groups.get(c.noticeId);
    if (!group) {
      this.groups.set(c.noticeId, { party: rung.party, step: c.step, count: 1, answer: rung.answerDeadline, action: rung.actionDeadline, reminders: rung.reminders });
      return;
    }
    // one recipient may hold several networks: it gets the shortest deadline among them
    group.count++;
    group.answer = Math.min(group.answer, rung.answerDeadline);
    group.action = Math.min(group.action, rung.actionDeadline);
    group.reminders = Math.min(group.reminders, rung.reminders);
  }

  notices(): Notice[] {
    const now = this.deps.clock.now().toISOString();
    return [...this.groups.entries()].map(([id, g]) => ({
      id,
      campaignId: this.campaignId,
      party: g.party,
      step: g.step,
      round: 1,
      state: 'planned',
      tag: tagOf(id),
      tokenHash: '',
      caseCount: g.count,
      ...(this.escalatedFrom ? { escalatedFrom: [this.escalatedFrom] } : {}),
      answerDeadline: g.answer,
      actionDeadline: g.action,
      remindersAllowed: g.reminders,
      remindersSent: 0,
      appliedAnswers: [],
      updatedAt: now,
      version: 1,
    }) satisfies Notice);
  }
}
