import { awsDeps, awsObservability } from '../lib/adapters/aws/deps.js';
import { sweep, type SweepReport } from '../lib/core/campaign/index.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

/** The sweeper's schedule: every campaign held by its workflow, live notice and verification whose execution failed starts again. */
export const handler = observedHandler('Sweeper', awsObservability(), async (): Promise<SweepReport> => {
  const deps = awsDeps();
  const report = await sweep(deps);
  deps.log.info('sweep', { ...report });
  if (report.staleCampaigns) deps.log.warn('campaigns whose workflow stopped long ago are left for a person (GET /campaigns/{id}/progress)', { campaigns: report.staleCampaigns });
  return report;
});
