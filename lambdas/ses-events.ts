import { awsDeps, awsObservability } from '../lib/adapters/aws/deps.js';
import { handleSesEvents } from '../lib/adapters/aws/ses-events.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

/** SES bounce and complaint events (configuration set -> SNS): matched to their notice by SES's message id. */
export const handler = observedHandler('SesEvents', awsObservability(), async (event: unknown): Promise<{ outcomes: string[] }> => {
  const deps = awsDeps();
  try {
    const results = await handleSesEvents(deps, event);
    return { outcomes: results.map((r) => r.outcome) };
  } catch (error) {
    // SNS retries a failed invocation; an event handled before is recognised and not applied twice
    const err = error instanceof Error ? error : new Error(String(error));
    deps.log.error('SES event failed', { error: err.name, message: err.message });
    throw error;
  }
});
