import type { Deps } from '../ports.js';
import type { Notice } from '../model.js';
import { engineWait } from '../executions.js';

/**
 * The next step of a notice workflow, decided from the stored notice alone.
 */

/** What a notice workflow does next; `seen` is the notice version the decision was made on. */
export type NoticeStep =
  | { next: 'wait'; seconds: number; seen: number }
  /** an escalation notice still gathering: SendNotice again after `seconds` */
  | { next: 'hold'; seconds: number }
  | { next: 'deadline' | 'closed' | 'escalated' | 'exhausted' | 'stopped' };

/** The next step of a notice, decided from its stored state and deadline only. */
export function stepFor(deps: Deps, notice: Notice): NoticeStep {
  switch (notice.state) {
    case 'closed':
      return { next: 'closed' };
    case 'escalated':
      return { next: 'escalated' };
    case 'exhausted':
      return { next: 'exhausted' };
    case 'paused':
    case 'cancelled':
      return { next: 'stopped' };
    case 'planned':
    case 'sending':
    case 'uncertain':
      // only SendNotice moves a notice out of these; a waiting step that finds one stops rather than loop
      // between "deadline" and a notice that is not live (a restart starts it again from SendNotice)
      return { next: 'stopped' };
    default: {
      const deadline = notice.deadline ? Date.parse(notice.deadline) : deps.clock.now().getTime();
      const remaining = (deadline - deps.clock.now().getTime()) / 1000;
      if (remaining <= 0) return { next: 'deadline' };
      return { next: 'wait', seconds: engineWait(deps, remaining), seen: notice.version };
    }
  }
}
