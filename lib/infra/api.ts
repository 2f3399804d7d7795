import { HttpApi, HttpStage } from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

export interface HttpFrontProps {
  /** the function that serves every path (the Hono app does the routing) */
  readonly handler: IFunction;
  /**
   * Requests per second the stage accepts, and the burst above that, before answering 429.
   * @default 50 per second, bursts of 100
   */
  readonly throttle?: { readonly rateLimit: number; readonly burstLimit: number };
}

/** The HTTP API in front of the API Lambda: one `$default` route to one function. */
export class HttpFront extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;

  constructor(scope: Construct, id: string, props: HttpFrontProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'HttpApi', {
      description: 'Takedown orchestrator: API, webhooks, signed links',
      defaultIntegration: new HttpLambdaIntegration('App', props.handler),
      // the app has no roles of its own yet (API keys and a JWT authorizer come with the roles work): until then
      // every request must be SigV4-signed by an IAM principal of the account, so a deployed API is never open
      defaultAuthorizer: new HttpIamAuthorizer(),
      createDefaultStage: false,
    });
    // the throttle keeps a flood from turning into a Lambda bill
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
    });
  }

  /** The API's base URL, ending in `/`. */
  get url(): string {
    return this.stage.url;
  }
}
