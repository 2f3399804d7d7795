import { taskHandler } from '../lib/adapters/aws/task-handler.js';

export const handler = taskHandler('VerifyNotice');
