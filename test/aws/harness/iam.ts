import type { DeployedTemplate } from './template.js';

/** One IAM statement, its intrinsics resolved. */
export interface Statement {
  readonly Sid?: string;
  readonly Effect: 'Allow' | 'Deny';
  readonly Action?: string | string[];
  readonly NotAction?: string | string[];
  readonly Resource?: string | string[];
  readonly NotResource?: string | string[];
  readonly Condition?: Record<string, Record<string, string | string[] | boolean>>;
  readonly Principal?: unknown;
}

/** The values of the condition keys a request carries (aws:SourceArn, kms:EncryptionContext:purpose ...). */
export type ConditionContext = Readonly<Record<string, string | readonly string[] | undefined>>;

// what the AWS managed policies the template names allow (only those the stack uses)
const MANAGED: Readonly<Record<string, Statement[]>> = {
  'service-role/AWSLambdaBasicExecutionRole': [{ Effect: 'Allow', Action: ['logs:CreateLogGroup', 'logs:CreateLogStream', 'logs:PutLogEvents'], Resource: '*' }],
};

const list = (v: string | string[] | undefined): string[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** IAM's wildcard match: `*` any run of characters, `?` one character. */
export function globMatch(pattern: string, value: string, ignoreCase = false): boolean {
  const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, ignoreCase ? 'is' : 's');
  return re.test(value);
}

function conditionHolds(operator: string, key: string, expected: string | string[] | boolean, context: ConditionContext): boolean {
  let op = operator;
  let quantifier: 'ForAllValues' | 'ForAnyValue' | undefined;
  const q = /^(ForAllValues|ForAnyValue):(.+)$/.exec(op);
  if (q) {
    quantifier = q[1] as 'ForAllValues' | 'ForAnyValue';
    op = q[2]!;
  }
  const ifExists = op.endsWith('IfExists');
  if (ifExists) op = op.slice(0, -'IfExists'.length);
  const present = context[key.toLowerCase()];
  const wanted = (Array.isArray(expected) ? expected : [expected]).map(String);
  if (op === 'Null') return (present === undefined) === (String(expected) === 'true');
  if (present === undefined) return ifExists || quantifier === 'ForAllValues';
  const values = Array.isArray(present) ? (present as string[]) : [present as string];
  const one = (value: string): boolean => {
    switch (op) {
      case 'StringEquals':
      case 'ArnEquals':
        return wanted.includes(value);
      case 'StringEqualsIgnoreCase':
        return wanted.some((w) => w.toLowerCase() === value.toLowerCase());
      case 'StringNotEquals':
      case 'ArnNotEquals':
        return !wanted.includes(value);
      case 'StringLike':
      case 'ArnLike':
        return wanted.some((w) => globMatch(w, value));
      case 'StringNotLike':
      case 'ArnNotLike':
        return !wanted.some((w) => globMatch(w, value));
      case 'Bool':
        return wanted.includes(value);
      default:
        throw new Error(`the harness does not evaluate the IAM condition operator ${operator}`);
    }
  };
  if (quantifier === 'ForAllValues') return values.every(one);
  return values.some(one);
}

/** Whether one statement applies to an action on a resource in a context. */
export function statementMatches(s: Statement, action: string, resource: string, context: ConditionContext): boolean {
  const actionHit = s.Action !== undefined ? list(s.Action).some((a) => globMatch(a, action, true)) : !list(s.NotAction).some((a) => globMatch(a, action, true));
  if (!actionHit) return false;
  const resourceHit = s.Resource !== undefined ? list(s.Resource).some((r) => globMatch(r, resource)) : !list(s.NotResource).some((r) => globMatch(r, resource));
  if (!resourceHit) return false;
  for (const [operator, keys] of Object.entries(s.Condition ?? {})) {
    for (const [key, expected] of Object.entries(keys)) if (!conditionHolds(operator, key, expected, context)) return false;
  }
  return true;
}

/** The identity policies of the template's roles, resolved, and the decision IAM would make for a request. */
export class IamPolicies {
  private readonly byRole = new Map<string, Statement[]>();

  constructor(private readonly template: DeployedTemplate) {
    for (const [id, role] of template.ofType('AWS::IAM::Role')) {
      const statements: Statement[] = [];
      for (const policy of role.Properties?.Policies ?? []) statements.push(...(template.resolveAny(policy.PolicyDocument) as { Statement: Statement[] }).Statement);
      for (const arn of template.resolveAny(role.Properties?.ManagedPolicyArns ?? []) as string[]) {
        const name = arn.replace(/^arn:[^:]+:iam::aws:policy\//, '');
        statements.push(...(MANAGED[name] ?? []));
      }
      this.byRole.set(id, statements);
    }
    for (const [, policy] of template.ofType('AWS::IAM::Policy')) {
      const doc = template.resolveAny(policy.Properties!.PolicyDocument) as { Statement: Statement[] };
      for (const role of policy.Properties!.Roles as { Ref: string }[]) this.byRole.get(role.Ref)?.push(...doc.Statement);
    }
  }

  /** Every statement attached to a role (by logical id). */
  statements(roleId: string): readonly Statement[] {
    return this.byRole.get(roleId) ?? [];
  }

  /** IAM's decision: an explicit Deny wins, else an Allow is needed. */
  allows(roleId: string, action: string, resource: string, context: ConditionContext = {}): boolean {
    const statements = this.statements(roleId);
    if (statements.some((s) => s.Effect === 'Deny' && statementMatches(s, action, resource, context))) return false;
    return statements.some((s) => s.Effect === 'Allow' && statementMatches(s, action, resource, context));
  }
}

/** Whether a resource policy (a bucket policy, a topic policy, a key policy) allows a service principal an action. */
export function resourcePolicyAllows(document: { Statement: Statement[] }, principal: { Service?: string; AWS?: string }, action: string, resource: string, context: ConditionContext): boolean {
  const principalHit = (s: Statement): boolean => {
    const p = s.Principal as { Service?: string | string[]; AWS?: string | string[] } | string | undefined;
    if (p === '*') return true;
    if (!p || typeof p !== 'object') return false;
    if (principal.Service && list(p.Service).includes(principal.Service)) return true;
    if (principal.AWS && list(p.AWS).some((a) => a === principal.AWS || a === '*')) return true;
    return false;
  };
  const matching = (effect: 'Allow' | 'Deny') => document.Statement.filter((s) => s.Effect === effect && principalHit(s) && statementMatches(s, action, resource, context));
  if (matching('Deny').length > 0) return false;
  return matching('Allow').length > 0;
}
