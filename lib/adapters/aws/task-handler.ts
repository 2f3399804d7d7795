import type { TaskName } from '../../core/tasks.js';
import { runTask } from '../../core/tasks.js';
import { TakedownError, ThrottledError } from '../../core/errors.js';
import type { Context } from 'aws-lambda';
import { observedHandler } from '../metrics/powertools.js';
import { awsDeps, awsObservability } from './deps.js';

// what the SDK clients call throttling: DynamoDB's, Step Functions', any service's limit per second
const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'ThrottlingException', 'Throttling', 'RequestLimitExceeded', 'TooManyRequestsException', 'LimitExceededException']);

/** A vendor's throttling error as the one name the workflows retry on; anything else as it is. */
export function asWorkflowError(error: unknown): unknown {
  const name = error instanceof Error ? error.name : '';
  return THROTTLING.has(name) ? new ThrottledError(`${name}: a service asked to slow down`, { cause: error }) : error;
}

/**
 * The Lambda handler of one Task state. Errors are rethrown as they are (a service's throttling as ThrottledError):
 * Lambda reports the error's `name` as its errorType, which is what the workflow's `ErrorEquals` matches
 * (StaleWriteError, MailTransientError ...).
 */
export function taskHandler(name: TaskName): (event: unknown, context: Context) => Promise<unknown> {
  return observedHandler(name, awsObservability(), async (event: unknown) => {
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
      throw asWorkflowError(error);
    }
  });
}
