import { RemovalPolicy } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import { HttpApi, HttpMethod, HttpNoneAuthorizer, HttpStage, LogGroupLogDestination, type IHttpRouteAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { HttpUserPoolAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';
import type { OperatorPool } from './user-pool.js';
import { acknowledge } from './nag.js';

/**
 * The routes API Gateway lets through without a token, as the app registers them: each authenticates itself
 * (a Standard Webhooks signature, a link token) or needs nothing. Everything else needs a user pool token.
 * test/infra/auth.test.ts keeps this list equal to the app's public rules (lib/adapters/http/auth.ts).
 */
export const PUBLIC_ROUTES: readonly { readonly method: 'GET' | 'POST'; readonly path: string }[] = [
  { method: 'GET', path: '/health' },
  { method: 'POST', path: '/webhooks/answers' },
  { method: 'GET', path: '/links/{token}' },
  { method: 'POST', path: '/links/{token}' },
];

/**
 * The dashboard's paths: API Gateway lets them through because the app authenticates them itself (a sign-in with
 * an API key opens a session whose cookie opens only these paths; lib/adapters/http/auth.ts). A browser holds no
 * Cognito token, so behind the JWT authorizer the dashboard could never be reached.
 */
export const DASHBOARD_ROUTES: readonly { readonly method: 'ANY'; readonly path: string }[] = [
  { method: 'ANY', path: '/ui' },
  { method: 'ANY', path: '/ui/{proxy+}' },
];

export interface HttpFrontProps {
  /** the function that serves every path (the Hono app does the routing) */
  readonly handler: IFunction;
  /** the people who may call it: a JWT authorizer of this pool guards every route but PUBLIC_ROUTES */
  readonly operators: OperatorPool;
  /**
   * Requests per second the stage accepts, and the burst above that, before answering 429.
   * @default 50 per second, bursts of 100
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
  /** @default RetentionDays.THREE_MONTHS */
  readonly accessLogRetention?: RetentionDays;
}

/** The HTTP API in front of the API Lambda: every path to one function, behind a JWT authorizer but for PUBLIC_ROUTES. */
export class HttpFront extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly authorizer: IHttpRouteAuthorizer;

  constructor(scope: Construct, id: string, props: HttpFrontProps) {
    super(scope, id);
    const integration = new HttpLambdaIntegration('App', props.handler);
    // API Gateway verifies the token (signature, issuer, audience, expiry) before the function runs; the app maps
    // the token's `cognito:groups` to its roles and checks each route's rule (lib/adapters/http/auth.ts)
    this.authorizer = new HttpUserPoolAuthorizer('Operators', props.operators.userPool, { userPoolClients: [props.operators.client] });
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Takedown orchestrator: API, webhooks, signed links',
      defaultIntegration: integration,
      defaultAuthorizer: this.authorizer,
      createDefaultStage: false,
    });
    for (const route of [...PUBLIC_ROUTES, ...DASHBOARD_ROUTES]) {
      for (const added of this.api.addRoutes({ path: route.path, methods: [HttpMethod[route.method]], integration, authorizer: new HttpNoneAuthorizer() })) {
        acknowledge(added, 'AwsSolutions-APIG4', 'the route authenticates itself (a Standard Webhooks signature, a single-use link token, a dashboard session from an API key sign-in) or serves nothing (health)');
      }
    }
    // who called what and what it answered, without bodies or headers (tokens, signatures)
    const accessLogs = new LogGroup(this, 'AccessLogs', { retention: props.accessLogRetention ?? RetentionDays.THREE_MONTHS, removalPolicy: RemovalPolicy.DESTROY });
    // the throttle keeps a flood from turning into a Lambda bill
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(accessLogs),
        format: AccessLogFormat.custom(
          JSON.stringify({
            requestId: '$context.requestId',
            ip: '$context.identity.sourceIp',
            time: '$context.requestTime',
            route: '$context.routeKey',
            path: '$context.path',
            status: '$context.status',
            latencyMs: '$context.responseLatency',
            user: '$context.authorizer.claims.sub',
            error: '$context.error.message',
            integrationError: '$context.integrationErrorMessage',
          }),
        ),
      },
    });
  }

  /** The API's base URL, ending in `/`. */
  get url(): string {
    return this.stage.url;
  }
}
