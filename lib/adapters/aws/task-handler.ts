import type { TaskName } from '../../core/tasks.js';
import { runTask } from '../../core/tasks.js';
import { TakedownError } from '../../core/errors.js';
import { awsDeps } from './deps.js';

/**
 * The Lambda handler of one Task state. Errors are rethrown as they are: Lambda reports the error's `name` as
 * its errorType, which is what the workflow's `ErrorEquals` matches (StaleWriteError, MailTransientError ...).
 */
export function taskHandler(name: TaskName): (event: unknown) => Promise<unknown> {
  return async (event: unknown) => {
    const deps = awsDeps();
    try {
      return await runTask(name, deps, event);
    } catch (error) {
      // the event may carry a task token or personal data: log what failed, never the input
      const err = error instanceof Error ? error : new Error(String(error));
      deps.log.error('task failed', {
        task: name,
        error: err.name,
        code: error instanceof TakedownError ? error.code : undefined,
        message: err.message,
      });
      throw error;
    }
  };
}
