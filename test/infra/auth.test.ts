import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { beforeAll, describe, expect, it } from 'vitest';
import { ROUTE_RULES } from '../../lib/adapters/http/auth.js';
import { DASHBOARD_ROUTES, HttpFront, PUBLIC_ROUTES } from '../../lib/infra/api.js';
import { OperatorPool } from '../../lib/infra/user-pool.js';

/*
 * The deployed API's front door, synthesised on its own (no bundling): a Cognito user pool whose groups are the
 * app's roles, a JWT authorizer on every route, none on the routes that authenticate themselves.
 */

type Resource = { Type: string; Properties: Record<string, any> };

let stack: Stack;
let template: Template;
let operators: OperatorPool;

beforeAll(() => {
  stack = new Stack(new App(), 'Front');
  const handler = new LambdaFunction(stack, 'Handler', { runtime: Runtime.NODEJS_22_X, handler: 'index.handler', code: Code.fromInline('exports.handler = async () => ({})') });
  operators = new OperatorPool(stack, 'Operators');
  new HttpFront(stack, 'Http', { handler, operators });
  template = Template.fromStack(stack);
});

function routes(): Resource[] {
  return Object.values(template.findResources('AWS::ApiGatewayV2::Route')) as Resource[];
}

function ref(element: unknown): { Ref: string } {
  return { Ref: stack.getLogicalId((element as { node: { defaultChild: never } }).node.defaultChild) };
}

describe('the operator user pool', () => {
  it('lets nobody sign up and asks every user for a second factor', () => {
    template.resourceCountIs('AWS::Cognito::UserPool', 1);
    template.hasResourceProperties('AWS::Cognito::UserPool', {
      AdminCreateUserConfig: { AllowAdminCreateUserOnly: true },
      MfaConfiguration: 'ON',
      EnabledMfas: ['SOFTWARE_TOKEN_MFA'],
    });
  });

  it('has one group per role of the app, coordinator and auditor', () => {
    const groups = Object.values(template.findResources('AWS::Cognito::UserPoolGroup')) as Resource[];
    expect(groups.map((g) => g.Properties.GroupName).sort()).toEqual(['auditor', 'coordinator']);
    for (const g of groups) expect(g.Properties.UserPoolId).toEqual(ref(operators.userPool));
  });

  it('has an app client without a secret, for the SRP sign-in a browser or CLI does', () => {
    template.hasResourceProperties('AWS::Cognito::UserPoolClient', {
      GenerateSecret: false,
      ExplicitAuthFlows: Match.arrayWith(['ALLOW_USER_SRP_AUTH']),
      PreventUserExistenceErrors: 'ENABLED',
    });
  });
});

describe('the HTTP API', () => {
  it('has a JWT authorizer that takes tokens of the pool\'s app client only', () => {
    template.resourceCountIs('AWS::ApiGatewayV2::Authorizer', 1);
    const [authorizer] = Object.values(template.findResources('AWS::ApiGatewayV2::Authorizer')) as Resource[];
    expect(authorizer!.Properties).toMatchObject({ AuthorizerType: 'JWT', IdentitySource: ['$request.header.Authorization'] });
    expect(authorizer!.Properties.JwtConfiguration.Audience).toEqual([ref(operators.client)]);
    expect(JSON.stringify(authorizer!.Properties.JwtConfiguration.Issuer)).toContain(ref(operators.userPool).Ref);
  });

  it('puts the authorizer on every route but the public ones', () => {
    const [authorizerId] = Object.keys(template.findResources('AWS::ApiGatewayV2::Authorizer'));
    const guarded = routes().filter((r) => r.Properties.AuthorizationType === 'JWT');
    expect(guarded.map((r) => r.Properties.RouteKey)).toEqual(['$default']);
    for (const r of guarded) expect(r.Properties.AuthorizerId).toEqual({ Ref: authorizerId });
    const open = routes().filter((r) => r.Properties.AuthorizationType !== 'JWT');
    expect(open.map((r) => r.Properties.RouteKey).sort()).toEqual(['ANY /ui', 'ANY /ui/{proxy+}', 'GET /health', 'GET /links/{token}', 'POST /links/{token}', 'POST /webhooks/answers']);
    for (const r of open) {
      expect(r.Properties.AuthorizationType).toBe('NONE');
      expect(r.Properties.AuthorizerId).toBeUndefined();
    }
  });

  it('leaves the whole dashboard to the app, which signs it in with an API key and checks each page\'s rule', () => {
    const dashboardRules = Object.keys(ROUTE_RULES).filter((key) => / \/ui(\/|$)/.test(key));
    expect(dashboardRules.length).toBeGreaterThan(0);
    // every dashboard route of the app falls under the open prefix, and nothing else does
    const open = (path: string) => DASHBOARD_ROUTES.some((r) => r.path === path || (r.path.endsWith('/{proxy+}') && path.startsWith(r.path.replace('{proxy+}', ''))));
    for (const key of dashboardRules) expect(open(key.split(' ')[1]!), key).toBe(true);
    for (const key of Object.keys(ROUTE_RULES).filter((k) => !dashboardRules.includes(k))) expect(open(key.split(' ')[1]!), key).toBe(false);
  });

  it('leaves open exactly the app\'s public routes outside the dashboard', () => {
    const appPublic = Object.entries(ROUTE_RULES)
      .filter(([key, roles]) => roles.includes('public') && !key.includes(' /ui'))
      .map(([key]) => key.replace(/:([A-Za-z]+)/g, '{$1}'));
    expect(PUBLIC_ROUTES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(appPublic.sort());
  });
});
