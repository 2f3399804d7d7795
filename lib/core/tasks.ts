import { z } from 'zod';
import { InvalidInputError } from './errors.js';
import type { Deps } from './ports.js';
import { awaitApproval } from './campaign/index.js';
import { buildNotices } from './campaign/index.js';
import { routeCampaign } from './campaign/index.js';
import { startNotices } from './campaign/index.js';
import { readUploadStep, UploadCursor } from './campaign/index.js';
import { awaitAnswer, noticeDeadline } from './notices/index.js';
import { sendNotice } from './notices/index.js';
import { verifyNotice } from './verify/index.js';

/**
 * The work behind every Task state of the workflows, one entry per function. The Lambdas (AWS host) and the
 * local engine's task overrides (embedded host) both call `runTask`, so the two hosts run the same code.
 */
const Cursor = z.object({ cursor: z.string().optional(), done: z.boolean().optional() }).passthrough();
/** The notice round an execution runs for (its name carries it too) */
const Round = z.number().int().min(1);
const WaitPayload = z.object({ seconds: z.number().int().positive(), taskToken: z.string().min(1) });

export const TASKS = {
  ReadUpload: {
    input: z.object({ campaignId: z.string().min(1), upload: z.string().min(1), intake: UploadCursor.default({ unique: 0, fresh: 0, done: false, refused: false }) }),
    run: (deps: Deps, i: { campaignId: string; upload: string; intake: UploadCursor }) => readUploadStep(deps, i.campaignId, i.upload, i.intake),
  },
  RouteCampaign: {
    input: z.object({ campaignId: z.string().min(1), route: Cursor.default({}) }),
    run: (deps: Deps, i: { campaignId: string; route: { cursor?: string } }) => routeCampaign(deps, i.campaignId, i.route.cursor),
  },
  BuildNotices: {
    input: z.object({ campaignId: z.string().min(1) }),
    run: (deps: Deps, i: { campaignId: string }) => buildNotices(deps, i.campaignId),
  },
  AwaitApproval: {
    input: WaitPayload.extend({ campaignId: z.string().min(1) }),
    run: (deps: Deps, i: { campaignId: string; taskToken: string }) => awaitApproval(deps, i.campaignId, i.taskToken),
  },
  StartNotices: {
    input: z.object({ campaignId: z.string().min(1), start: Cursor.default({}) }),
    run: (deps: Deps, i: { campaignId: string; start: { cursor?: string } }) => startNotices(deps, i.campaignId, i.start.cursor),
  },
  SendNotice: {
    input: z.object({ noticeId: z.string().min(1), round: Round }),
    run: (deps: Deps, i: { noticeId: string; round: number }) => sendNotice(deps, i.noticeId, i.round),
  },
  AwaitAnswer: {
    input: WaitPayload.extend({ noticeId: z.string().min(1), seen: z.number().int(), round: Round }),
    run: (deps: Deps, i: { noticeId: string; seen: number; taskToken: string; round: number }) =>
      awaitAnswer(deps, i.noticeId, i.seen, i.taskToken, i.round),
  },
  NoticeDeadline: {
    input: z.object({ noticeId: z.string().min(1), undeliverable: z.boolean().default(false), round: Round }),
    run: (deps: Deps, i: { noticeId: string; undeliverable: boolean; round: number }) => noticeDeadline(deps, i.noticeId, i.undeliverable, i.round),
  },
  VerifyNotice: {
    input: z.object({ noticeId: z.string().min(1) }),
    run: (deps: Deps, i: { noticeId: string }) => verifyNotice(deps, i.noticeId),
  },
} as const;

export type TaskName = keyof typeof TASKS;

export const TASK_NAMES = Object.keys(TASKS) as TaskName[];

/** The ASL placeholder that names each task's function: `${SendNoticeFunctionArn}` -> SendNotice. */
export function placeholderOf(task: TaskName): string {
  return `${task}FunctionArn`;
}

/** Validate a task's input and run it; a malformed input is an InvalidInputError (a bug in the workflow). */
export async function runTask(name: TaskName, deps: Deps, event: unknown): Promise<unknown> {
  const task = TASKS[name];
  const parsed = task.input.safeParse(event);
  if (!parsed.success) {
    throw new InvalidInputError(
      `task ${name} got a malformed input`,
      parsed.error.issues.map((i) => ({ where: i.path.join('.') || '(input)', reason: i.message })),
    );
  }
  return (task.run as (d: Deps, i: unknown) => Promise<unknown>)(deps, parsed.data);
}
