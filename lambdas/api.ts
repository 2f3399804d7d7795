import { handle } from 'hono/aws-lambda';
import { awsDeps } from '../lib/adapters/aws/deps.js';
import { createApp } from '../lib/adapters/http/app.js';
import { apiKeyPrincipals, firstPrincipal, jwtClaimsPrincipals } from '../lib/adapters/http/auth.js';

// built at init, once per container: every request reuses the app and its SDK clients
// API Gateway's JWT authorizer (a Cognito user pool) verified the caller: its groups are the roles. The dashboard's
// paths bypass the authorizer (lib/infra/api.ts): there an API key sign-in and its session cookie are the proof
const deps = awsDeps();
const app = createApp(deps, { principals: firstPrincipal(jwtClaimsPrincipals(), apiKeyPrincipals(deps.store)) });

/** The HTTP API (API Gateway HTTP API, payload format 2.0): API, webhooks, signed links. */
export const handler = handle(app);
