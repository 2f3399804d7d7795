import { handle } from 'hono/aws-lambda';
import { awsDeps } from '../lib/adapters/aws/deps.js';
import { createApp } from '../lib/adapters/http/app.js';

// built at init, once per container: every request reuses the app and its SDK clients
const app = createApp(awsDeps());

/** The HTTP API (API Gateway HTTP API, payload format 2.0): API, webhooks, signed links. */
export const handler = handle(app);
