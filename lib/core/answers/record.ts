import { z } from 'zod';
import { CASE_FINISHED, canMoveCase } from '../lifecycle.js';
import { AnswerIntent, AnswerSource, actorFields, type ActorLike, type Answer, type CaseState, type Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { InvalidInputError } from '../errors.js';
import { casesOf, mustGetNotice } from '../notices/index.js';
import { appendEvent, type NewAuditEvent } from '../audit/index.js';
import { updateCase } from '../updates.js';
import { eachItem } from '../paging.js';
import { escalatedCasesOf, lateTakedown, noticeAnswered } from '../notices/index.js';
import { queueForReview, settleQuestions } from './review.js';
import { startVerification } from '../verify/index.js';

/** An answer as the API, the CLI and the mail reader hand it in. */
export const AnswerInput = z
  .object({
    intent: AnswerIntent,
    source: AnswerSource.default('api'),
    /** the cases it speaks of; all open cases of the notice when absent */
    caseIds: z.array(z.string().min(1).max(64)).min(1).max(10_000).optional(),
    from: z.string().max(320).optional(),
    note: z.string().max(2000).optional(),
    ticket: z.string().max(200).optional(),
    /** an idempotency key: the same answer submitted twice is applied once */
    answerId: z.string().regex(/^[A-Za-z0-9._:-]{1,100}$/).optional(),
  })
  .strict();

export type AnswerInput = z.input<typeof AnswerInput>;

const STATE_FOR_INTENT: Readonly<Record<AnswerIntent, CaseState>> = {
  received: 'received',
  acknowledged: 'acknowledged',
  actioned: 'actioned',
  'not-ours': 'not-ours',
  'needs-info': 'needs-info',
  disputed: 'disputed',
};

/** Answers after which a question the recipient asked is no longer open. */
const SETTLES_QUESTION: ReadonlySet<AnswerIntent> = new Set(['acknowledged', 'actioned', 'not-ours', 'disputed']);

export interface AnswerResult {
  readonly answer: Answer;
  /** false when this answer had been applied before (a repeated submission) */
  readonly applied: boolean;
  readonly notice: Notice;
}

/**
 * Every way of answering (reply, webhook, link, API, CLI) ends here: store the answer, apply it to the cases,
 * and complete the waiting workflow at once. Safe to repeat: an answer id is applied once. `recordedBy` is the
 * principal who entered it by hand (a coordinator's key, the CLI's user): the audit actor, where `from` is only
 * whose answer it is; absent for the recipients' own channels, which authenticate themselves.
 */
export async function recordAnswer(deps: Deps, noticeId: string, raw: AnswerInput, recordedBy?: ActorLike): Promise<AnswerResult> {
  const parsed = AnswerInput.safeParse(raw);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the answer is not valid',
      parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(body)', reason: i.message })),
    );
  }
  const input = parsed.data;
  const notice = await mustGetNotice(deps, noticeId);
  const cases = await casesOf(deps, noticeId);
  if (input.caseIds) {
    const own = new Set(cases.map((c) => c.id));
    const foreign = input.caseIds.filter((id) => !own.has(id));
    if (foreign.length) {
      throw new InvalidInputError('some cases are not part of this notice', foreign.slice(0, 20).map((id) => ({ where: `caseIds: ${id}`, reason: 'not in this notice' })));
    }
  }
  const answer: Answer = {
    id: input.answerId ? `${noticeId}:${input.answerId}` : deps.ids.newId('a'),
    noticeId,
    intent: input.intent,
    source: input.source,
    caseIds: input.caseIds,
    from: input.from,
    note: input.note,
    ticket: input.ticket,
    receivedAt: deps.clock.now().toISOString(),
  };
  // kept until the answer is applied: a process killed in between leaves it to the sweep (finishAnswers), since
  // nobody may repeat it (a webhook's retry is refused as a replay)
  await markUnapplied(deps, answer);
  const fresh = await deps.store.putAnswer(answer);
  const stored = fresh ? answer : ((await deps.store.listAnswers(noticeId)).find((a) => a.id === answer.id) ?? answer);
  // stored before, not applied: a kill may have come before its event (a delivery racing this one, after it)
  if (fresh || (!notice.appliedAnswers.includes(stored.id) && !(await receivedRecorded(deps, stored)))) {
    await appendEvent(deps, receivedEvent(notice, stored, recordedBy === undefined ? undefined : actorFields(recordedBy)));
  }
  const result = await applyAnswer(deps, notice, stored, { beforeMoving: (ids) => markUnapplied(deps, stored, ids) });
  await deps.store.deleteRecord(UNAPPLIED_KIND, answer.id);
  return result;
}

/**
 * Records an answer as not yet applied; `moving` names the cases its application is about to move. Stamped now, not
 * with the answer's receipt: a repeat of an old answer is being applied now, and the sweep waits for it.
 */
function markUnapplied(deps: Deps, answer: Answer, moving?: readonly string[]): Promise<void> {
  const value = { noticeId: answer.noticeId, at: deps.clock.now().toISOString(), ...(moving ? { moving } : {}) };
  return deps.store.putRecord({ kind: UNAPPLIED_KIND, key: answer.id, value: JSON.stringify(value), version: 1 });
}

/** How an answer's application is told what a kill cut short (see finishAnswers). */
export interface ApplyOptions {
  /** called with the cases about to move, before the first moves */
  readonly beforeMoving?: (ids: readonly string[]) => Promise<void>;
  /**
   * the cases an application a kill cut short was moving: the ones now in the answer's state count as moved by it,
   * and what follows a move (the notice's clock, an escalation, a verification) is done again, idempotently
   */
  readonly resume?: readonly string[];
}

/**
 * The records of the answers stored and not yet applied, kept from before the answer's record until it is applied:
 * a kill in between leaves one, and the sweep applies the answer (finishAnswers).
 */
export const UNAPPLIED_KIND = 'unapplied';

/** How long an answer's application may take before the sweep takes it over: longer than any function that records one runs. */
export const UNAPPLIED_AFTER_MS = 10 * 60_000;

/** The event that says an answer was received: `recorder` is whoever entered it by hand, `from` whose answer it is. */
function receivedEvent(notice: Notice, answer: Answer, recorder?: ReturnType<typeof actorFields>): NewAuditEvent {
  return {
    campaignId: notice.campaignId,
    noticeId: notice.id,
    type: 'answer.received',
    actor: recorder?.actor ?? answer.from ?? answer.source,
    data: {
      answer: answer.id,
      intent: answer.intent,
      source: answer.source,
      cases: answer.caseIds?.length ?? 'all',
      ticket: answer.ticket,
      ...(recorder && answer.from && answer.from !== recorder.actor ? { from: answer.from } : {}),
      ...recorder?.data,
    },
  };
}

async function receivedRecorded(deps: Deps, answer: Answer): Promise<boolean> {
  return (await deps.store.listEvents({ noticeId: answer.noticeId })).some((e) => e.type === 'answer.received' && e.data?.answer === answer.id);
}

/**
 * The sweep's part of recordAnswer: each answer a kill left stored and not applied (UNAPPLIED_KIND, older than
 * UNAPPLIED_AFTER_MS, or any at a start, when nothing is applying one) gets the event it lacks and is applied; on
 * AWS nothing else would. Returns how many it applied; one that fails stays for the next sweep.
 */
export async function finishAnswers(deps: Deps, olderThanMs = UNAPPLIED_AFTER_MS): Promise<number> {
  const before = new Date(deps.clock.now().getTime() - olderThanMs).toISOString();
  let applied = 0;
  for await (const record of eachItem((page) => deps.store.listRecords(UNAPPLIED_KIND, page), 500)) {
    const mark = UnappliedMark.safeParse(JSON.parse(record.value));
    if (mark.success && mark.data.at > before) continue;
    try {
      const notice = mark.success ? await deps.store.getNotice(mark.data.noticeId) : undefined;
      const answer = notice && (await deps.store.listAnswers(notice.id)).find((a) => a.id === record.key);
      if (notice && answer) {
        // who entered it by hand, if anyone, went with the process: the event names whose answer it is
        if (!(await receivedRecorded(deps, answer))) await appendEvent(deps, receivedEvent(notice, answer));
        // its application may have begun: what it moved counts, and what follows a move is done again
        if ((await applyAnswer(deps, notice, answer, { resume: mark.success ? (mark.data.moving ?? []) : [] })).applied) applied++;
      }
      await deps.store.deleteRecord(UNAPPLIED_KIND, record.key);
    } catch (e) {
      deps.log.warn('could not apply an answer a kill left stored; it stays for the next sweep', { answer: record.key, error: (e as Error).name });
    }
  }
  return applied;
}

const UnappliedMark = z.object({ noticeId: z.string().min(1), at: z.string(), moving: z.array(z.string()).optional() });

/** Apply a stored answer to its notice's cases (once) and wake the notice workflow. */
export async function applyAnswer(deps: Deps, notice: Notice, answer: Answer, options: ApplyOptions = {}): Promise<AnswerResult> {
  if (notice.appliedAnswers.includes(answer.id) && !options.resume) return { answer, applied: false, notice };
  const to = STATE_FOR_INTENT[answer.intent];
  const cases = await casesOf(deps, notice.id);
  const wanted = answer.caseIds ? new Set(answer.caseIds) : undefined;
  const targets = cases.filter((c) => !wanted || wanted.has(c.id));
  const moving = targets.filter((c) => c.state !== to && !CASE_FINISHED.has(c.state) && canMoveCase(c.state, to)).map((c) => c.id);
  if (moving.length) await options.beforeMoving?.(moving);
  // moved by the application a kill cut short: they are in the answer's state now
  const moved: string[] = targets.filter((c) => c.state === to && options.resume?.includes(c.id)).map((c) => c.id);
  for (const c of targets) {
    const after = await updateCase(deps, c.id, (cur) =>
      cur.state !== to && !CASE_FINISHED.has(cur.state) && canMoveCase(cur.state, to) ? { ...cur, state: to } : undefined,
    );
    if (after.state === to && c.state !== to) moved.push(c.id);
  }
  // what the answer did to the cases is the answers context's to say; what that does to the notice's clock, the
  // notice context decides (notices/answered.ts)
  const updated = await noticeAnswered(deps, notice, { answerId: answer.id, intent: answer.intent, movedTo: to, moved, cases, by: answer.from ?? answer.source });
  if (to === 'needs-info' && moved.length) {
    await queueForReview(deps, {
      id: `r_${deps.ids.hash(`needs-info:${answer.id}`).slice(0, 32)}`,
      reason: 'needs-info',
      receivedAt: answer.receivedAt,
      noticeId: notice.id,
      campaignId: notice.campaignId,
      from: answer.from?.slice(0, 320),
      subject: `[${notice.tag}] ${notice.party.name} asks for more information`,
      note: answer.note,
      rawSha256: '',
    });
  }
  // the recipient answered again: a question it asked earlier no longer waits for anyone
  if (SETTLES_QUESTION.has(answer.intent)) {
    await settleQuestions(deps, notice.id, { by: answer.from ?? answer.source, how: `the recipient's answer: ${answer.intent} (${answer.source})`, answerId: answer.id });
  }
  if (to === 'actioned' && moved.length) await startVerification(deps, updated, answer.id);
  // a "taken down" for cases that had already gone on to the next party counts where they now stand
  if (to === 'actioned') {
    const late = await escalatedCasesOf(deps, notice.id, wanted);
    if (late.length) for (const resolved of await lateTakedown(deps, notice, late, answer)) await startVerification(deps, resolved, answer.id);
  }
  return { answer, applied: true, notice: updated };
}
