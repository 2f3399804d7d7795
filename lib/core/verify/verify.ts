import type { Case, Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { engineWait } from '../executions.js';
import { groupIntoNotices, reopenCampaign, settleCampaign, startNoticeRun } from '../notices/index.js';
import { appendEvent } from '../audit/index.js';
import { casesOf, mustGetNotice } from '../notices/index.js';
import { probeStatus, type ProbeResult } from './probe.js';
import { noticeIdFor } from '../routing/index.js';
import { updateCase } from '../updates.js';
import { sendFollowup } from '../notices/index.js';

/**
 * Verification: a filing is not a win, a removal is. When a party says it acted, the `verify` workflow probes
 * each actioned indicator: gone -> `verified-down` with the probe as evidence; still there -> back to the party
 * with a "still reachable" follow-up citing the probe; a probe that proves nothing either way is tried again a
 * bounded number of times and never closes a case. Verified-down cases are probed again after the revival
 * intervals; one that came back is reopened at the first rung of its ladder, in a notice that says so.
 */

/** Revival checks after a verified takedown, in domain seconds from it: +1 day, +7 days. */
export const DEFAULT_REVIVAL_CHECKS: readonly number[] = [86400, 7 * 86400];

/** How long to wait before probing again after an inconclusive probe, and how many tries in all. */
export const INCONCLUSIVE_RETRY_SECONDS = 3600;
export const INCONCLUSIVE_TRIES = 3;

/** Store records (kind) marking the notices whose verification or revival watch is still going. */
/** The mark of a notice being verified (value: `{ execution }`, the name of its verify execution). */
export const VERIFYING = 'verifying';

/**
 * A verification mark's value: the execution it names (absent on marks from before the sweeper asked), and, once the
 * sweeper started it again, the first name, how many times, and when last.
 */
export function parseVerifyingMark(value: string): { execution?: string; base?: string; sweeps?: number; at?: string } {
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' ? (parsed as { execution?: string; base?: string; sweeps?: number; at?: string }) : {};
  } catch {
    return {};
  }
}

/** What the verify workflow does next. */
export type VerifyStep = { next: 'watch'; seconds: number } | { next: 'done' };

/** The verify execution of an actioned answer: one per answer, so a repeated answer starts nothing twice. */
export function verifyExecutionName(deps: Pick<Deps, 'ids'>, noticeId: string, answerKey: string): string {
  return `verify-${noticeId}-${deps.ids.hash(answerKey).slice(0, 12)}`;
}

/** Start verifying a notice's actioned cases, unless the campaign switched probes off (recorded either way). */
export async function startVerification(deps: Deps, notice: Notice, answerKey: string): Promise<boolean> {
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!deps.prober || campaign?.probes === false) {
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId: notice.id,
      type: 'verify.skipped',
      actor: 'system',
      data: { reason: campaign?.probes === false ? 'probes are off for this campaign' : 'no prober configured on this host' },
    });
    return false;
  }
  // a mark the host's restart finds without reading every case (resumeVerification); the pass that ends clears it
  // the execution's name rides along so the sweeper can ask what became of it
  const execution = verifyExecutionName(deps, notice.id, answerKey);
  await deps.store.putRecord({ kind: VERIFYING, key: notice.id, value: JSON.stringify({ execution }), version: 1 });
  await deps.workflows.start('verify', execution, { noticeId: notice.id });
  return true;
}

function revivalChecks(deps: Deps): readonly number[] {
  return deps.settings.revivalChecks ?? DEFAULT_REVIVAL_CHECKS;
}

/** When the next revival check of a verified-down case is due (ms), or undefined when none is left. */
function nextCheckAt(deps: Deps, c: Case): number | undefined {
  const checks = revivalChecks(deps);
  const done = c.watched ?? 0;
  if (c.state !== 'verified-down' || !c.verifiedDownAt || done >= checks.length) return undefined;
  return Date.parse(c.verifiedDownAt) + checks[done]! * 1000;
}

/**
 * When an actioned case is due for its probe (ms): at once when no probe proved nothing since it was actioned
 * (a probe before that, say the one that found it back, is history), later after an inconclusive one, never
 * after INCONCLUSIVE_TRIES of them (left actioned for the coordinator).
 */
function probeDueAt(c: Case, now: number): number | undefined {
  if (c.state !== 'actioned') return undefined;
  const tries = c.probe?.tries;
  if (!tries) return now;
  if (tries >= INCONCLUSIVE_TRIES) return undefined;
  return Date.parse(c.probe!.at) + INCONCLUSIVE_RETRY_SECONDS * 1000;
}

function summary(result: ProbeResult, tries?: number): NonNullable<Case['probe']> {
  return { verdict: result.verdict, live: result.live, detail: result.detail.slice(0, 500), at: result.at, method: result.method, ...(tries ? { tries } : {}) };
}

async function probeCase(deps: Deps, c: Case, phase: 'verify' | 'revival'): Promise<ProbeResult> {
  const result = await deps.prober!.probe({ indicator: c.indicator, evidenceSha256: evidenceHash(c) });
  await appendEvent(deps, {
    campaignId: c.campaignId,
    caseId: c.id,
    noticeId: c.noticeId,
    type: 'probe.result',
    actor: 'system',
    data: {
      phase,
      method: result.method,
      target: result.target,
      verdict: result.verdict,
      live: result.live,
      conclusive: result.conclusive,
      detail: result.detail,
      attempts: result.attempts,
      evidence: result.evidence,
    },
  });
  return result;
}

/** A sha-256 the evidence carries (`sha256:<hex>` anywhere in it), to compare the page with. */
function evidenceHash(c: Case): string | undefined {
  return /sha256[:=]\s*([0-9a-f]{64})/i.exec(c.indicator.evidence ?? '')?.[1]?.toLowerCase();
}

/**
 * One pass of the verify workflow over a notice: probe its actioned cases, and its verified-down cases whose
 * revival check is due; act on what was found; say when to look again.
 */
export async function verifyNotice(deps: Deps, noticeId: string): Promise<VerifyStep> {
  const notice = await mustGetNotice(deps, noticeId);
  const campaign = await deps.store.getCampaign(notice.campaignId);
  if (!deps.prober || !campaign || campaign.probes === false || campaign.state === 'cancelled') return done(deps, noticeId);
  const now = deps.clock.now().getTime();
  const stillUp: { c: Case; result: ProbeResult }[] = [];
  let verified = false;
  const revived: { c: Case; result: ProbeResult }[] = [];

  for (const c of await casesOf(deps, noticeId)) {
    if (c.state === 'actioned') {
      const due = probeDueAt(c, now);
      if (due === undefined || due > now) continue;
      const result = await probeCase(deps, c, 'verify');
      const status = probeStatus(result);
      // several verify executions may wake for one notice (one per "taken down" answer): only the one whose
      // update went in acts on it
      if (status === 'down') {
        const at = deps.clock.now().toISOString();
        const after = await updateCase(deps, c.id, (cur) =>
          cur.state === 'actioned' ? { ...cur, state: 'verified-down', probe: summary(result), verifiedDownAt: at, watched: 0 } : undefined,
        );
        if (after.verifiedDownAt !== at) continue;
        verified = true;
        await appendEvent(deps, { campaignId: c.campaignId, caseId: c.id, noticeId, type: 'case.verified-down', actor: 'system', data: { verdict: result.verdict, detail: result.detail } });
      } else if (status === 'live') {
        // the case stays actioned until the "still reachable" message is out: a failed send is retried by the
        // workflow and finds it still to do
        const after = await updateCase(deps, c.id, (cur) => (cur.state === 'actioned' ? { ...cur, probe: summary(result) } : undefined));
        if (after.state === 'actioned' && after.probe?.at === result.at) stillUp.push({ c: after, result });
      } else {
        const tries = (c.probe?.tries ?? 0) + 1;
        const after = await updateCase(deps, c.id, (cur) => (cur.state === 'actioned' ? { ...cur, probe: summary(result, tries) } : undefined));
        if (after.probe?.tries === INCONCLUSIVE_TRIES && after.probe.at === result.at) {
          await appendEvent(deps, {
            campaignId: c.campaignId,
            caseId: c.id,
            noticeId,
            type: 'case.unverified',
            actor: 'system',
            data: { tries, detail: result.detail, note: 'no probe proved it either way: left actioned for the coordinator' },
          });
        }
      }
      continue;
    }
    const due = nextCheckAt(deps, c);
    if (due === undefined || due > now) continue;
    const result = await probeCase(deps, c, 'revival');
    const status = probeStatus(result);
    if (status === 'live') revived.push({ c, result });
    // down, or nothing proven: this check is done (a failed probe is not a revival); the next one comes
    else await updateCase(deps, c.id, (cur) => (cur.state === 'verified-down' && (cur.watched ?? 0) === (c.watched ?? 0) ? { ...cur, watched: (cur.watched ?? 0) + 1, probe: summary(result) } : undefined));
  }

  if (stillUp.length) {
    await sendFollowup(
      deps,
      noticeId,
      { kind: 'still-reachable', probes: stillUp.map(({ c, result }) => ({ caseId: c.id, value: c.indicator.value, detail: result.detail, at: result.at })) },
      'system',
      stillUp.map(({ c }) => c),
      async () => {
        for (const { c, result } of stillUp) {
          const after = await updateCase(deps, c.id, (cur) => (cur.state === 'actioned' ? { ...cur, state: 'notified' } : undefined));
          if (after.state === 'notified') {
            await appendEvent(deps, { campaignId: c.campaignId, caseId: c.id, noticeId, type: 'case.still-reachable', actor: 'system', data: { detail: result.detail } });
          }
        }
      },
    );
  }
  if (revived.length) await reviveCases(deps, notice, revived);
  else if (verified) await settleCampaign(deps, notice.campaignId);
  return nextStep(deps, noticeId);
}

async function done(deps: Deps, noticeId: string): Promise<VerifyStep> {
  await deps.store.deleteRecord(VERIFYING, noticeId);
  return { next: 'done' };
}

async function nextStep(deps: Deps, noticeId: string): Promise<VerifyStep> {
  const now = deps.clock.now().getTime();
  let earliest: number | undefined;
  for (const c of await casesOf(deps, noticeId)) {
    const at = c.state === 'actioned' ? probeDueAt(c, now) : nextCheckAt(deps, c);
    if (at !== undefined && (earliest === undefined || at < earliest)) earliest = at;
  }
  if (earliest === undefined) return done(deps, noticeId);
  return { next: 'watch', seconds: engineWait(deps, Math.max(1, (earliest - now) / 1000)) };
}

/**
 * Cases that came back: each reopens at the first rung of its ladder (a new revival round, so its escalations
 * get ids of their own), grouped into one notice per recipient that says what came back and when it was down.
 */
async function reviveCases(deps: Deps, from: Notice, revived: readonly { c: Case; result: ProbeResult }[]): Promise<void> {
  const reopened: Case[] = [];
  // one notice per recipient per pass: cases of this notice that come back in a later pass get a notice of their
  // own (an id used before would find its notice finished and its execution name taken)
  const pass = deps.clock.now().toISOString();
  for (const { c, result } of revived) {
    const revival = (c.revival ?? 0) + 1;
    const rung = c.ladder[0]!;
    const noticeId = noticeIdFor(deps.ids, c.campaignId, rung.party.email, 0, `revival-${revival}:${from.id}:${pass}`);
    const after = await updateCase(deps, c.id, (cur) =>
      cur.state !== 'verified-down'
        ? undefined
        : {
            ...cur,
            state: 'open',
            step: 0,
            revival,
            noticeId,
            reason: `reachable again after a verified takedown (${cur.verifiedDownAt}): ${result.detail}`.slice(0, 500),
            probe: summary(result),
            watched: undefined,
          },
    );
    if (after.state !== 'open' || after.revival !== revival || after.noticeId !== noticeId) continue;
    reopened.push(after);
    await appendEvent(deps, {
      campaignId: c.campaignId,
      caseId: c.id,
      noticeId: from.id,
      type: 'case.revived',
      actor: 'system',
      data: { revival, verifiedDownAt: c.verifiedDownAt, detail: result.detail, to: rung.party.id, notice: noticeId },
    });
  }
  if (reopened.length) await reopenCampaign(deps, from.campaignId);
  const notices = groupIntoNotices(deps, from.campaignId, reopened).map((n) => ({ ...n, revivalOf: from.id }));
  await deps.store.putNotices(notices);
  for (const n of notices) await startNoticeRun(deps, n);
}

/**
 * After a restart of a host whose engine keeps executions in memory: start verifying again every notice whose
 * verification or revival watch had not ended (the marks startVerification leaves). Returns the notices started.
 */
export async function resumeVerification(deps: Deps): Promise<number> {
  if (!deps.prober) return 0;
  let started = 0;
  let after: string | undefined;
  do {
    const page = await deps.store.listRecords(VERIFYING, { after, limit: 1000 });
    for (const { key: noticeId, value } of page.items) {
      // under the name its mark gives (an engine that restarted knows none): the sweep, asking about that name, finds
      // it running and starts nothing beside it
      await deps.workflows.start('verify', parseVerifyingMark(value).execution ?? `verify-${noticeId}-resumed`, { noticeId });
      started++;
    }
    after = page.next;
  } while (after);
  return started;
}
