import { awsCheckpoints, awsDeps, awsObservability } from '../lib/adapters/aws/deps.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

/** The hourly schedule: the head of every audit chain that moved goes into the Object Lock bucket. */
export const handler = observedHandler('AuditCheckpoint', awsObservability(), async (): Promise<{ checkpoint?: number; campaigns: number }> => {
  const deps = awsDeps();
  const open = awsCheckpoints();
  if (!open) throw new Error('AUDIT_KEY_ID and AUDIT_BUCKET are not set: this function has nowhere to checkpoint');
  const record = await (await open()).checkpoint('all', 'hourly');
  const result = { ...(record ? { checkpoint: record.n } : {}), campaigns: record ? Object.keys(record.campaigns).length : 0 };
  deps.log.info('audit checkpoint', result);
  return result;
});
