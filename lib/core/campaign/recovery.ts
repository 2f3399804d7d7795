import type { Campaign, CampaignState, Notice, NoticeState } from '../model.js';
import type { Deps, ExecutionStatus, WorkflowName } from '../ports.js';
import { backoffOver, campaignExecution, executionName, restartDue, sweeperRestart } from '../executions.js';
import { eachItem, listAll } from '../paging.js';
import { finishEscalating, finishEscalations, finishUnmasked, resendUnsent, startNoticeRun } from '../notices/index.js';
import { applyAnswer, finishAnswers } from '../answers/index.js';
import { VERIFYING, parseVerifyingMark, resumeVerification } from '../verify/index.js';
import { appendEvent } from '../audit/index.js';
import { updateCampaign, updateNotice } from '../updates.js';
import { restartReadings } from './upload.js';

const LIVE_NOTICE_STATES: readonly NoticeState[] = ['planned', 'sending', 'uncertain', 'sent'];

/** The states a campaign is held in by its own workflow: it routes, waits for approval, starts its notices. */
const HELD_BY_WORKFLOW: readonly CampaignState[] = ['routing', 'awaiting-approval', 'sending'];

/**
 * Starts a campaign's workflow again from where its records stand (its intake is done once it exists): routing
 * again lands every case where it was, building the plan again finds it built, starting notices starts each once.
 */
function restartCampaignRun(deps: Pick<Deps, 'workflows'>, campaign: Pick<Campaign, 'id' | 'round'>): Promise<void> {
  return deps.workflows.start('campaign', campaignExecution(campaign), { campaignId: campaign.id, route: {}, start: {} });
}

export interface ResumeReport {
  readonly campaigns: number;
  readonly notices: number;
  readonly answersApplied: number;
  /** notices whose verification or revival watch started again */
  readonly verifying?: number;
  /** reminders and follow-ups left unsent by a stop or a command, sent now */
  readonly messagesSent?: number;
  /** messages nothing will send whose copy a stop left unmasked, masked now (finishUnmasked) */
  readonly copiesMasked?: number;
  /** cases whose escalation a crash cut short, carried on to their next party now */
  readonly escalationsFinished?: number;
}

/**
 * After a restart of a host whose engine keeps executions in memory: apply stored answers that a crash left
 * unapplied, then start again every execution that should be running. Every workflow is re-entrant and its
 * execution name is derived, so this sends nothing twice and is harmless when nothing was lost.
 */
export async function resumeAll(deps: Deps): Promise<ResumeReport> {
  let answersApplied = 0;
  let notices = 0;
  let campaigns = 0;
  const campaignState = new Map<string, string>();
  const campaignList = await deps.store.listCampaigns();
  for (const campaign of campaignList) campaignState.set(campaign.id, campaign.state);
  // escalations a crash cut short, which no execution takes up again (a coordinator's, a "not ours" answer's)
  // those recorded first, each as it was asked for (a coordinator's at once), then any other a crash left
  let escalationsFinished = await finishEscalating(deps, 0);
  for (const campaign of campaignList) {
    if (campaign.state === 'running' || campaign.state === 'paused' || campaign.state === 'sending') escalationsFinished += await finishEscalations(deps, campaign.id);
  }
  // answers a kill left stored and not applied, with the event they lack: at a start nothing is applying one
  answersApplied += await finishAnswers(deps, 0);
  const toStart: Notice[] = [];
  // every notice's stored answers, not only a waiting notice's: an answer a crash stored and did not apply has
  // nobody to send it again when its channel refuses a repeat (a webhook's retry is a replay), and a notice that
  // stopped waiting still takes one (a late "taken down" counts where its cases now stand)
  for (const campaign of campaignList) {
    for (let notice of await listAll((p) => deps.store.listNotices({ campaignId: campaign.id }, p))) {
      for (const answer of await deps.store.listAnswers(notice.id)) {
        if (notice.appliedAnswers.includes(answer.id)) continue;
        notice = (await applyAnswer(deps, notice, answer)).notice;
        answersApplied++;
      }
      // planned notices of a campaign still waiting for approval are started by the campaign workflow
      if (notice.state === 'planned' && campaignState.get(notice.campaignId) !== 'running') continue;
      if (!LIVE_NOTICE_STATES.includes(notice.state)) continue;
      toStart.push(notice);
    }
  }
  // reminders and follow-ups a stop cut short or a command deferred, whatever became of their notices since: sent
  // before any execution starts, since a notice's execution at its deadline sends its claimed reminder too, and two
  // senders of one message each take the other's hand-over in progress for one a crash left, and send it again
  const messagesSent = await resendUnsent(deps);
  // at a start nothing is masking one
  const copiesMasked = await finishUnmasked(deps, 0);
  for (const campaign of campaignList) {
    if (HELD_BY_WORKFLOW.includes(campaign.state)) {
      await restartCampaignRun(deps, campaign);
      campaigns++;
    }
  }
  for (const notice of toStart) {
    await startNoticeRun(deps, notice);
    notices++;
  }
  return {
    campaigns,
    notices,
    answersApplied,
    verifying: await resumeVerification(deps),
    ...(messagesSent ? { messagesSent } : {}),
    ...(copiesMasked ? { copiesMasked } : {}),
    ...(escalationsFinished ? { escalationsFinished } : {}),
  };
}

/** The states a campaign leaves only by its own workflow's steps (routing, then the start of its notices). */
const WORKFLOW_MOVES: ReadonlySet<CampaignState> = new Set(['routing', 'sending']);

/**
 * What became of the workflow that should move a campaign on, while it is routing or starting its notices (else
 * undefined: a plan waiting for approval, or a campaign whose notices run on their own): a client waiting for the
 * next state is told the workflow failed, rather than wait for ever. A failed one is started again by a restart of
 * the embedded host (resumeAll) and by the sweep (on AWS and on the running embedded host) as its next round.
 */
export async function campaignWorkflow(deps: Pick<Deps, 'workflows'>, campaign: Pick<Campaign, 'id' | 'state' | 'round'>): Promise<ExecutionStatus | undefined> {
  if (!WORKFLOW_MOVES.has(campaign.state)) return undefined;
  return deps.workflows.describe('campaign', campaignExecution(campaign));
}

export interface SweepReport {
  /** campaigns held by their workflow, live notices and verifications, whose execution was asked about */
  readonly checked: number;
  /** campaign executions started again: a new round after a failed one, the same round for one never started */
  readonly campaigns: number;
  /** campaigns routing or starting their notices for longer than CAMPAIGN_RESTART_WINDOW_MS: left for a person */
  readonly staleCampaigns?: number;
  /** uploads whose reading workflow failed or never started before their campaign existed, read again (AWS) */
  readonly uploads?: number;
  /** notice executions started again: a new round after a failed one, the same round for one never started */
  readonly notices: number;
  /** verify executions started again */
  readonly verifications: number;
  /** failed executions the sweeper started last time too, left until their wait is over (RESTART_BACKOFF) */
  readonly waiting?: number;
  /** reminders and follow-ups left unsent (a function killed mid-send), sent now */
  readonly messagesSent?: number;
  /** messages nothing will send whose copy a kill left unmasked, masked now (finishUnmasked) */
  readonly copiesMasked?: number;
  /** answers a kill left stored and not applied, applied now (finishAnswers) */
  readonly answersApplied?: number;
  /** cases whose escalation a kill cut short, carried on to their next party now (finishEscalating) */
  readonly escalationsFinished?: number;
}

/**
 * The sweeper (AWS: a schedule; the running embedded host: a timer, every 15 minutes both): every campaign its
 * workflow holds (routing, awaiting approval, starting its notices), every live notice and every verification whose
 * execution is not running, because it failed (its retries ran out, it timed out, someone stopped it) or never
 * started, is started again (a campaign left for a week excepted, see CAMPAIGN_RESTART_WINDOW_MS). A failed campaign or
 * notice execution gets a new round (`round + 1`, as a coordinator's resume does: AWS keeps an execution's name
 * 90 days), so the old round's steps stop if they ever wake. Every workflow is re-entrant: nothing is sent twice.
 * Uploads and campaigns go first: a campaign that stopped while starting its notices starts them itself.
 */
export async function sweep(deps: Deps): Promise<SweepReport> {
  // the reading of an upload (AWS) needs no file here: the workflow it starts reads it
  const readings = await restartReadings(deps, CAMPAIGN_RESTART_WINDOW_MS);
  const swept = await sweepCampaigns(deps);
  let checked = readings.checked + swept.checked;
  let waiting = readings.waiting + swept.waiting;
  let notices = 0;
  let verifications = 0;
  const now = deps.clock.now();
  const campaigns = new Map<string, string | undefined>();
  const campaignState = async (id: string) => {
    if (!campaigns.has(id)) campaigns.set(id, (await deps.store.getCampaign(id))?.state);
    return campaigns.get(id);
  };
  const noticeStatus = await statusBy(deps, 'notice');
  for (const state of LIVE_NOTICE_STATES) {
    // a page at a time: the sweeper's function holds a page of a big operation's live notices, not all of them
    for await (const notice of eachItem((p) => deps.store.listNotices({ state }, p))) {
      // planned notices of a campaign not yet running wait for the campaign workflow to start them
      if (notice.state === 'planned' && (await campaignState(notice.campaignId)) !== 'running') continue;
      checked++;
      const status = await noticeStatus(executionName('notice', notice.id, notice.round));
      if (status === 'running' || status === 'succeeded') continue;
      if (status === 'absent') {
        await startNoticeRun(deps, notice);
        notices++;
        continue;
      }
      if (!restartDue(notice.restarted, notice.round, now)) {
        waiting++;
        continue;
      }
      let moved = false;
      const next = await updateNotice(deps, notice.id, (cur) => {
        moved = false;
        // someone else moved it on meanwhile (an answer, a resume): theirs is the execution that counts
        if (cur.round !== notice.round || !LIVE_NOTICE_STATES.includes(cur.state)) return undefined;
        moved = true;
        return { ...cur, round: cur.round + 1, taskToken: undefined, restarted: sweeperRestart(cur.restarted, cur.round, now) };
      });
      if (!moved) continue;
      await appendEvent(deps, { campaignId: next.campaignId, noticeId: next.id, type: 'notice.resumed', actor: 'sweeper', data: { why: 'its workflow execution had failed', round: next.round, inARow: next.restarted!.count, deadline: next.deadline } });
      await startNoticeRun(deps, next);
      notices++;
    }
  }
  const verifyStatus = await statusBy(deps, 'verify');
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords(VERIFYING, { after, limit: 1000 });
    for (const record of page.items) {
      const mark = parseVerifyingMark(record.value);
      if (!mark.execution) continue;
      checked++;
      const status = await verifyStatus(mark.execution);
      if (status === 'running' || status === 'succeeded') continue;
      // a verification the sweeper started that failed again waits, as a notice's round does (one never started
      // starts at once)
      if (status === 'failed' && mark.sweeps && mark.at && !backoffOver(mark.sweeps, mark.at, now)) {
        waiting++;
        continue;
      }
      const sweeps = (mark.sweeps ?? 0) + 1;
      const execution = `${mark.base ?? mark.execution}-s${sweeps}`;
      await deps.store.putRecord({ ...record, value: JSON.stringify({ execution, base: mark.base ?? mark.execution, sweeps, at: now.toISOString() }), version: record.version + 1 }, record.version);
      await deps.workflows.start('verify', execution, { noticeId: record.key });
      verifications++;
    }
    after = page.next;
  } while (after);
  // a reminder or follow-up whose function died between the hand-over and the record, its notice closed since
  const messagesSent = await sendUnsent(deps);
  // the copy of a message nothing will send, whose masking a kill cut short (its notice runs no step again)
  const copiesMasked = await finishUnmasked(deps);
  // an answer a kill left stored and not applied, which nobody repeats (a webhook's retry is refused as a replay)
  const answersApplied = await finishAnswers(deps);
  // an escalation a kill cut short, which nobody repeats (a coordinator's retry finds the cases escalated)
  const escalationsFinished = await finishEscalating(deps);
  return {
    checked,
    campaigns: swept.started,
    ...(swept.stale ? { staleCampaigns: swept.stale } : {}),
    ...(readings.started ? { uploads: readings.started } : {}),
    notices,
    verifications,
    ...(waiting ? { waiting } : {}),
    ...(messagesSent ? { messagesSent } : {}),
    ...(copiesMasked ? { copiesMasked } : {}),
    ...(answersApplied ? { answersApplied } : {}),
    ...(escalationsFinished ? { escalationsFinished } : {}),
  };
}

/**
 * How the sweep learns what became of a workflow's executions: from the engine's census, taken once (a few calls
 * for thousands of executions), and by a describe for a name the census does not know (started since, succeeded,
 * or never started); by a describe each on an engine without one. A name the census saw running that failed since
 * is found by the next sweep.
 */
async function statusBy(deps: Pick<Deps, 'workflows'>, workflow: WorkflowName): Promise<(name: string) => Promise<ExecutionStatus>> {
  const census = await deps.workflows.census?.(workflow);
  return async (name) => {
    if (census?.running.has(name)) return 'running';
    if (census?.failed.has(name)) return 'failed';
    return deps.workflows.describe(workflow, name);
  };
}

/**
 * How long after its submission (or approval) a campaign still routing or starting its notices is started again by
 * a sweep. Routing takes minutes: one older than this was left (its workflow failed long ago, an execution AWS no
 * longer knows, data from before the sweeper looked at campaigns), and would route and send its notices late. A
 * person decides: its progress says its workflow failed; the sweep reports it as stale.
 */
export const CAMPAIGN_RESTART_WINDOW_MS = 7 * 86_400_000;

/** The campaigns whose workflow failed or never started, started again (see sweep). */
async function sweepCampaigns(deps: Deps): Promise<{ checked: number; started: number; stale: number; waiting: number }> {
  let checked = 0;
  let started = 0;
  let stale = 0;
  let waiting = 0;
  const at = deps.clock.now();
  const now = at.getTime();
  for (const campaign of await deps.store.listCampaigns()) {
    if (!HELD_BY_WORKFLOW.includes(campaign.state)) continue;
    // a plan waiting for approval sends nothing by itself: its workflow starts again whatever its age
    if (campaign.state !== 'awaiting-approval' && now - Date.parse(campaign.approvedAt ?? campaign.createdAt) > CAMPAIGN_RESTART_WINDOW_MS) {
      stale++;
      continue;
    }
    checked++;
    const status = await deps.workflows.describe('campaign', campaignExecution(campaign));
    if (status === 'running' || status === 'succeeded') continue;
    if (status === 'absent') {
      // stored, and its start lost (a function stopped between the two): the same round, under the same name
      await restartCampaignRun(deps, campaign);
      started++;
      continue;
    }
    if (!restartDue(campaign.restarted, campaign.round ?? 1, at)) {
      waiting++;
      continue;
    }
    let moved = false;
    const next = await updateCampaign(deps, campaign.id, (cur) => {
      moved = false;
      // moved on meanwhile (another sweep, the plan approved and its notices started): nothing to start
      if ((cur.round ?? 1) !== (campaign.round ?? 1) || !HELD_BY_WORKFLOW.includes(cur.state)) return undefined;
      moved = true;
      // the failed execution's approval callback is dead: the new round's wait leaves its own
      const { approvalToken: _dead, ...kept } = cur;
      return { ...kept, round: (cur.round ?? 1) + 1, restarted: sweeperRestart(cur.restarted, cur.round ?? 1, at) };
    });
    if (!moved) continue;
    await appendEvent(deps, { campaignId: next.id, type: 'campaign.restarted', actor: 'sweeper', data: { why: 'its workflow execution had failed', state: next.state, round: next.round, inARow: next.restarted!.count } });
    await restartCampaignRun(deps, next);
    started++;
  }
  return { checked, started, stale, waiting };
}

/**
 * The reminders and follow-ups left unsent while executions run (the sweeper; the embedded host's timer): one a
 * relay refused for the moment, a function killed mid-send. A reminder of a notice whose execution runs is that
 * execution's to send (it is at its deadline step, or will be): a second sender would take its hand-over in
 * progress for one a crash left. Returns how many went out.
 */
export function sendUnsent(deps: Deps): Promise<number> {
  return resendUnsent(deps, async (out, notice) =>
    out.kind === 'reminder' && LIVE_NOTICE_STATES.includes(notice.state) && (await deps.workflows.describe('notice', executionName('notice', notice.id, notice.round))) === 'running');
}
