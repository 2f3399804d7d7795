import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The BuildNotices Task state of the workflows. */
export const handler = taskHandler('BuildNotices');
