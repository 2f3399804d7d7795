import { awsDeps } from '../lib/adapters/aws/deps.js';
import { sweep, type SweepReport } from '../lib/core/campaign/index.js';

/** The sweeper's schedule: every live notice and verification whose execution failed starts again. */
export async function handler(): Promise<SweepReport> {
  const deps = awsDeps();
  const report = await sweep(deps);
  deps.log.info('sweep', { ...report });
  return report;
}
