import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { AccountRecovery, Mfa, UserPool, type UserPoolClient } from 'aws-cdk-lib/aws-cognito';
import { Construct } from 'constructs';
import { KeyRole } from '../core/access/index.js';
import { acknowledge } from './nag.js';

export interface OperatorPoolProps {
  /**
   * What happens to the users when the stack goes: an operation's coordinators and auditors outlive a redeploy.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The people who use the deployed API: a Cognito user pool whose groups are the roles (`coordinator`,
 * `auditor`; the same names as the embedded host's API key roles), and one app client whose tokens the HTTP
 * API's JWT authorizer accepts. Nobody signs up: an administrator adds users and puts each in a group.
 */
export class OperatorPool extends Construct {
  readonly userPool: UserPool;
  readonly client: UserPoolClient;

  constructor(scope: Construct, id: string, props: OperatorPoolProps = {}) {
    super(scope, id);
    this.userPool = new UserPool(this, 'UserPool', {
      selfSignUpEnabled: false,
      signInAliases: { email: true },
      // people who can send takedown notices in an operation's name sign in with a second factor
      mfa: Mfa.REQUIRED,
      mfaSecondFactor: { otp: true, sms: false },
      passwordPolicy: { minLength: 14, requireDigits: true, requireLowercase: true, requireUppercase: true, requireSymbols: true },
      accountRecovery: AccountRecovery.EMAIL_ONLY,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    acknowledge(this.userPool, 'AwsSolutions-COG8', 'the Plus feature plan (threat protection) is a per-user cost; nobody signs up, an administrator adds each operator, and every sign-in needs a second factor');
    for (const role of KeyRole.options) {
      this.userPool.addGroup(`${role[0]!.toUpperCase()}${role.slice(1)}Group`, {
        groupName: role,
        description: role === 'coordinator' ? 'submit, approve, pause, cancel, answer: everything' : 'read-only: every campaign, case, message and audit record',
      });
    }
    this.client = this.userPool.addClient('AppClient', {
      authFlows: { userSrp: true },
      generateSecret: false,
      preventUserExistenceErrors: true,
      accessTokenValidity: Duration.hours(1),
      idTokenValidity: Duration.hours(1),
      refreshTokenValidity: Duration.hours(12),
    });
  }
}
