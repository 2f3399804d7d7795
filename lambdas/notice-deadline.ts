import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The NoticeDeadline Task state of the workflows. */
export const handler = taskHandler('NoticeDeadline');
