import { actorOf, type ActorLike, type Notice } from '../model.js';
import type { Deps } from '../ports.js';
import { sendFollowup } from '../notices/index.js';
import { settleQuestions } from './review.js';

/**
 * The coordinator's answer to a recipient's question: sent in the notice's thread (its clock starts again), and
 * the question's item on the review queue is settled by it, so the queue never keeps a question already answered.
 */
export async function answerQuestion(deps: Deps, noticeId: string, message: string, by: ActorLike): Promise<Notice> {
  const who = actorOf(by);
  const notice = await sendFollowup(deps, noticeId, { kind: 'answer', message, by: who.name }, who);
  await settleQuestions(deps, noticeId, { by: who, how: `answered in the thread (follow-up ${notice.followupsSent ?? 1})` });
  return notice;
}
