import { RemovalPolicy } from 'aws-cdk-lib';
import { Effect, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Construct } from 'constructs';

/** The encryption context lib/adapters/secrets/kms.ts binds into every sealed recipient secret. */
export const RECIPIENT_SECRET_CONTEXT = { purpose: 'takedown-recipient-secret' } as const;

export interface WebhookSecretsKeyProps {
  /**
   * What happens to the key when the stack goes: without it no sealed secret opens again.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The KMS key recipients' webhook secrets are sealed under (TAKEDOWN_KMS_KEY_ID). Rotated yearly by KMS. The key
 * policy is the account's default (IAM decides): the functions get only what `grantOpen` and `grantSeal` give
 * them, each bound to the recipient-secret encryption context, so a blob sealed for anything else does not open.
 */
export class WebhookSecretsKey extends Construct {
  readonly key: Key;

  constructor(scope: Construct, id: string, props: WebhookSecretsKeyProps = {}) {
    super(scope, id);
    this.key = new Key(this, 'Key', {
      description: 'Takedown orchestrator: seals recipients\' webhook secrets',
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
  }

  /** Lets a function open (Decrypt) recipient secrets, and nothing else sealed under the key. */
  grantOpen(fn: IFunction): void {
    this.grant(fn, 'kms:Decrypt');
  }

  /** Lets a function seal (Encrypt) recipient secrets. */
  grantSeal(fn: IFunction): void {
    this.grant(fn, 'kms:Encrypt');
  }

  private grant(fn: IFunction, action: string): void {
    fn.addToRolePolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: [action],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:EncryptionContext:purpose': RECIPIENT_SECRET_CONTEXT.purpose } },
      }),
    );
  }
}
