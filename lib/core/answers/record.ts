import { z } from 'zod';
import { CASE_FINISHED, canMoveCase } from '../lifecycle.js';
import { AnswerIntent, AnswerSource, actorFields, type ActorLike, type Answer, type CaseState, type Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { InvalidInputError } from '../errors.js';
import { casesOf, mustGetNotice } from '../notices/index.js';
import { appendEvent } from '../audit/index.js';
import { updateCase } from '../updates.js';
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
  const fresh = await deps.store.putAnswer(answer);
  if (fresh) {
    const recorder = recordedBy === undefined ? undefined : actorFields(recordedBy);
    await appendEvent(deps, {
      campaignId: notice.campaignId,
      noticeId,
      type: 'answer.received',
      actor: recorder?.actor ?? input.from ?? input.source,
      data: {
        answer: answer.id,
        intent: answer.intent,
        source: answer.source,
        cases: answer.caseIds?.length ?? 'all',
        ticket: answer.ticket,
        ...(recorder && input.from && input.from !== recorder.actor ? { from: input.from } : {}),
        ...recorder?.data,
      },
    });
  }
  return applyAnswer(deps, notice, fresh ? answer : ((await deps.store.listAnswers(noticeId)).find((a) => a.id === answer.id) ?? answer));
}

/** Apply a stored answer to its notice's cases (once) and wake the notice workflow. */
export async function applyAnswer(deps: Deps, notice: Notice, answer: Answer): Promise<AnswerResult> {
  if (notice.appliedAnswers.includes(answer.id)) return { answer, applied: false, notice };
  const to = STATE_FOR_INTENT[answer.intent];
  const cases = await casesOf(deps, notice.id);
  const wanted = answer.caseIds ? new Set(answer.caseIds) : undefined;
  const targets = cases.filter((c) => !wanted || wanted.has(c.id));
  const moved: string[] = [];
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
