import { handle } from 'hono/aws-lambda';
import { awsDeps, awsObservability, awsRuntimeSettings } from '../lib/adapters/aws/deps.js';
import { createApp } from '../lib/adapters/http/app.js';
import { apiKeyPrincipals, firstPrincipal, jwtClaimsPrincipals } from '../lib/adapters/http/auth.js';
import { observedHandler } from '../lib/adapters/metrics/powertools.js';

// built at init, once per container: every request reuses the app and its SDK clients
// API Gateway's JWT authorizer (a Cognito user pool) verified the caller: its groups are the roles. The dashboard's
// paths bypass the authorizer (lib/infra/api.ts): there an API key sign-in and its session cookie are the proof
const deps = awsDeps();
const settings = awsRuntimeSettings();
const app = createApp(deps, { principals: firstPrincipal(jwtClaimsPrincipals(), apiKeyPrincipals(deps.store)), settings: 'stored' });
const hono = handle(app);

/** The HTTP API (API Gateway HTTP API, payload format 2.0): API, webhooks, signed links. */
export const handler = observedHandler('Api', awsObservability(), async (event: Parameters<typeof hono>[0], context: Parameters<typeof hono>[1]) => {
  // a dry run (POST /plans) routes with the directory and policy a coordinator stored; nothing else routes here
  if ((event as { rawPath?: string }).rawPath === '/plans') await settings.refresh();
  return hono(event, context);
});
