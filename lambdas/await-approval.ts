import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The AwaitApproval Task state of the workflows. */
export const handler = taskHandler('AwaitApproval');
