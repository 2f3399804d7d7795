import { Stack, Token, Validations } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';

/**
 * Records that a cdk-nag AwsSolutions finding on `scope` (and everything under it) was looked at and is accepted,
 * with the reason; test/infra/nag.test.ts fails on any finding not acknowledged so.
 */
export function acknowledge(scope: IConstruct, rule: string, reason: string): void {
  Validations.of(scope).acknowledge({ id: `AwsSolutions::${rule}`, reason });
}

/** How cdk-nag spells an ARN of `stack` in a finding id: an unresolved partition, region or account as `<AWS::…>`. */
export function nagArn(stack: Stack, service: string, resource: string): string {
  const part = (value: string, pseudo: string) => (Token.isUnresolved(value) ? `<AWS::${pseudo}>` : value);
  return `arn:${part(stack.partition, 'Partition')}:${service}:${part(stack.region, 'Region')}:${part(stack.account, 'AccountId')}:${resource}`;
}
