import { awsDeps, awsObservability } from '../lib/adapters/aws/deps.js';
import { archiveAwsExecution } from '../lib/adapters/aws/execution-history.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

/** EventBridge: a workflow execution ended; its history goes into the audit trail. */
export const handler = observedHandler('ExecutionHistory', awsObservability(), async (event: unknown): Promise<void> => {
  await archiveAwsExecution(awsDeps(), event);
});
