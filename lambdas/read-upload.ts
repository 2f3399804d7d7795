import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The ReadUpload Task state of the campaign workflow: a page of an uploaded file's indicators per step. */
export const handler = taskHandler('ReadUpload');
