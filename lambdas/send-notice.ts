import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The SendNotice Task state of the workflows. */
export const handler = taskHandler('SendNotice');
