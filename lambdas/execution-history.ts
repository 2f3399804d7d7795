import { awsDeps } from '../lib/adapters/aws/deps.js';
import { archiveAwsExecution } from '../lib/adapters/aws/execution-history.js';

/** EventBridge: a workflow execution ended; its history goes into the audit trail. */
export const handler = async (event: unknown): Promise<void> => {
  await archiveAwsExecution(awsDeps(), event);
};
