import { taskHandler } from '../lib/adapters/aws/task-handler.js';

/** The RouteCampaign Task state of the workflows. */
export const handler = taskHandler('RouteCampaign');
