import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The StartNotices Task state of the workflows. */
export const handler = taskHandler('StartNotices');
