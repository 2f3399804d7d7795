import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The AwaitAnswer Task state of the workflows. */
export const handler = taskHandler('AwaitAnswer');
