import { S3Client } from '@aws-sdk/client-s3';
import { awsDeps, awsObservability } from '../lib/adapters/aws/deps.js';
import { handleInboundMail, readInboundEnv } from '../lib/adapters/aws/inbound-mail.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

// built once per container: the client keeps its connections warm
const s3 = new S3Client({});

/** The SES receipt rule's Lambda action: each reply stored in the inbound bucket is classified and applied. */
export const handler = observedHandler('InboundMail', awsObservability(), async (event: unknown): Promise<{ outcomes: string[] }> => {
  const deps = awsDeps();
  try {
    const results = await handleInboundMail(deps, event, { s3, env: readInboundEnv() });
    return { outcomes: results.map((r) => r.outcome) };
  } catch (error) {
    // a throw makes Lambda retry the asynchronous invocation: the message stays in the bucket meanwhile
    const err = error instanceof Error ? error : new Error(String(error));
    deps.log.error('inbound mail failed', { error: err.name, message: err.message });
    throw error;
  }
});
