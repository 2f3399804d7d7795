import type { ComparisonExpr, ObjectPath, ObservationExpr } from './stix-pattern.js';

/**
 * The values a parsed STIX pattern names (`[ipv4-addr:value = '198.51.100.7']`), for the object types intake reads.
 */

/** The SCO types whose `value` the orchestrator can notify, and how normalisation should read them. */
export const SUPPORTED_OBJECT_TYPES = {
  'ipv4-addr': 'ipv4',
  'ipv6-addr': 'ipv6',
  'domain-name': 'domain',
  url: 'url',
} as const;

export type SupportedObjectType = keyof typeof SUPPORTED_OBJECT_TYPES;

/** One `<type>:value = '<text>'` comparison of a supported pattern. */
export interface PatternValue {
  readonly objectType: SupportedObjectType;
  readonly value: string;
}

export type PatternValues = { ok: true; values: PatternValue[] } | { ok: false; unsupported: string };

function pathText(path: ObjectPath): string {
  const steps = path.steps
    .map((s, i) => ('property' in s ? `${i === 0 ? '' : '.'}${/^[A-Za-z_][A-Za-z0-9_]*$/.test(s.property) ? s.property : `'${s.property}'`}` : `[${s.index}]`))
    .join('');
  return `${path.objectType}:${steps}`;
}

/**
 * The values a parsed pattern names, when the whole pattern is in the supported subset. Anything else makes the
 * whole pattern unsupported, with the first construct found: a partly understood pattern is not acted on.
 */
export function patternValues(pattern: ObservationExpr): PatternValues {
  const values: PatternValue[] = [];
  const observation = (e: ObservationExpr): string | undefined => {
    switch (e.kind) {
      case 'observation':
        return comparison(e.comparison);
      case 'and':
      case 'or':
        return observation(e.left) ?? observation(e.right);
      case 'followedby':
        return 'the FOLLOWEDBY operator';
      case 'qualified':
        return `the ${e.qualifier} qualifier`;
    }
  };
  const comparison = (e: ComparisonExpr): string | undefined => {
    switch (e.kind) {
      case 'and':
      case 'or':
        return comparison(e.left) ?? comparison(e.right);
      case 'exists':
        return 'the EXISTS operator';
      case 'test': {
        if (e.negated) return 'NOT';
        if (e.op !== '=') return `the ${e.op} operator`;
        const type = e.path.objectType;
        const step = e.path.steps[0];
        if (!(type in SUPPORTED_OBJECT_TYPES)) return `the object type ${type}`;
        if (e.path.steps.length !== 1 || !step || !('property' in step) || step.property !== 'value') {
          return `the object path ${pathText(e.path)}`;
        }
        const literal = e.values[0]!;
        if (literal.type !== 'string') return `a ${literal.type} value for ${type}:value`;
        values.push({ objectType: type as SupportedObjectType, value: literal.value });
        return undefined;
      }
    }
  };
  const unsupported = observation(pattern);
  return unsupported ? { ok: false, unsupported } : { ok: true, values };
}
