import type { Deps } from '../ports.js';
import { appendEvent } from './events.js';

/**
 * Workflow history as evidence. The embedded engine keeps executions in memory and AWS keeps a closed
 * execution's history 90 days; auditors read it months later. So each finished execution's event log is copied
 * into the audit trail, on the chain of the notice it ran for (the campaign's for a campaign execution).
 */

export interface ExecutionHistory {
  readonly workflow: string;
  /** the execution name: `notice-<notice>-r<round>`, `verify-<notice>-…`, `campaign-<campaign>-r<round>` */
  readonly name: string;
  readonly status: string;
  readonly startedAt: string;
  readonly endedAt: string;
  /** the engine's events in order: their type, the state they concern, when (ISO time) */
  readonly events: readonly { readonly type: string; readonly state?: string; readonly at: string }[];
}

/**
 * Events kept per execution: a ten-round notice has about 70 (AWS caps a history at 25,000); 2,000 of about 90
 * bytes stay well inside a DynamoDB item (400 KB).
 */
export const MAX_HISTORY_EVENTS = 2000;

const NOTICE_EXECUTION = /^(?:notice|verify)-(n[a-z0-9]{16})-/;
const CAMPAIGN_EXECUTION = /^campaign-(cmp_[a-z0-9]{16})-/;

/** Copy one finished execution's history into the audit trail; false when the name names nothing we store. */
export async function archiveExecution(deps: Pick<Deps, 'store' | 'ids' | 'clock'>, history: ExecutionHistory): Promise<boolean> {
  let campaignId: string | undefined;
  let noticeId: string | undefined;
  const notice = NOTICE_EXECUTION.exec(history.name)?.[1];
  if (notice) {
    campaignId = (await deps.store.getNotice(notice))?.campaignId;
    noticeId = notice;
  } else {
    campaignId = CAMPAIGN_EXECUTION.exec(history.name)?.[1];
  }
  if (!campaignId) return false;
  // `StateEntered` on the embedded engine, `TaskStateEntered`, `ChoiceStateEntered` ... on AWS
  const path = history.events.filter((e) => e.type.endsWith('StateEntered')).map((e) => e.state ?? '?');
  await appendEvent(deps, {
    campaignId,
    ...(noticeId ? { noticeId } : {}),
    type: 'workflow.history',
    actor: 'system',
    data: {
      execution: history.name,
      workflow: history.workflow,
      status: history.status,
      startedAt: history.startedAt,
      endedAt: history.endedAt,
      transitions: path.length,
      path,
      events: history.events.slice(0, MAX_HISTORY_EVENTS),
      ...(history.events.length > MAX_HISTORY_EVENTS ? { eventsOmitted: history.events.length - MAX_HISTORY_EVENTS } : {}),
    },
  });
  return true;
}
