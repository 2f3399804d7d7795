import { z } from 'zod';
import { InvalidInputError } from '../errors.js';
import { type Indicator, type LadderStep, type Party, PartyKind, type RoutingPolicy, type RoutingRule } from '../model.js';
import type { PartyLookup } from '../ports.js';

/**
 * The routing policy: per indicator kind, and optionally per threat, country or provider, which parties get a
 * case and in which order they are escalated to, each step with the one schema the escalation work uses:
 * `{party, answerDeadline, actionDeadline, reminders}`. Rules are tried in order; the first that matches gives
 * the ladder; the last rule must match everything, so no indicator is left without a ladder by the policy.
 * A party the resolver could not find is skipped: the ladder closes up.
 */

const HOUR = 3600;
const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: HOUR, d: 24 * HOUR, w: 7 * 24 * HOUR };

/** Seconds from `90`, `"90s"`, `"45m"`, `"24h"`, `"3d"` or `"1w"`. */
export const Duration = z.union([
  z.number().int().positive(),
  z.string().transform((text, ctx) => {
    const m = /^\s*(\d+)\s*([smhdw])\s*$/i.exec(text);
    if (!m || Number(m[1]) <= 0) {
      ctx.addIssue({ code: 'custom', message: 'a duration like 90m, 24h, 3d or a number of seconds' });
      return z.NEVER;
    }
    return Number(m[1]) * UNITS[m[2]!.toLowerCase()]!;
  }),
]);

/** How long each kind of party gets when a step does not say. */
export const KIND_DEADLINES: Readonly<Record<PartyKind, Omit<LadderStep, 'party'>>> = {
  hosting: { answerDeadline: 24 * HOUR, actionDeadline: 72 * HOUR, reminders: 1 },
  registrar: { answerDeadline: 48 * HOUR, actionDeadline: 96 * HOUR, reminders: 1 },
  registry: { answerDeadline: 48 * HOUR, actionDeadline: 96 * HOUR, reminders: 1 },
  upstream: { answerDeadline: 48 * HOUR, actionDeadline: 96 * HOUR, reminders: 1 },
  cert: { answerDeadline: 72 * HOUR, actionDeadline: 120 * HOUR, reminders: 1 },
};

const StepInput = z.strictObject({
  party: PartyKind,
  answerDeadline: Duration.optional(),
  actionDeadline: Duration.optional(),
  reminders: z.number().int().min(0).max(10).optional(),
});

const KindMatch = z.enum(['ip', 'ipv4', 'ipv6', 'domain', 'url']);
const list = <T extends z.ZodType>(item: T) => z.union([item, z.array(item).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.output<T>[]);

const When = z.strictObject({
  /** `ip` is ipv4 or ipv6 */
  kind: list(KindMatch).optional(),
  /** the host of the indicator (a URL's host may be either) */
  host: z.enum(['ip', 'domain']).optional(),
  /** words of the source's threat label: `c2` matches "C2 server" */
  threat: list(z.string().trim().min(1).max(100)).optional(),
  /** the indicator's country, or its hosting network's */
  country: list(z.string().regex(/^[A-Za-z]{2}$/, 'a two-letter ISO 3166 country code').transform((c) => c.toUpperCase())).optional(),
  /** a hosting or upstream party by id, name, mailbox domain or AS number (`AS64500`) */
  provider: list(z.string().trim().min(1).max(200)).optional(),
});

const Rule = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  when: When.optional(),
  ladder: z.array(StepInput).min(1).max(6),
});

/** The policy file's schema (YAML or JSON once parsed); its output is the canonical policy. */
export const RoutingPolicyFile = z
  .strictObject({
    rules: z.array(Rule).min(1),
  })
  .superRefine((policy, ctx) => {
    policy.rules.forEach((rule, i) => {
      const seen = new Set<string>();
      rule.ladder.forEach((step, j) => {
        if (seen.has(step.party)) ctx.addIssue({ code: 'custom', path: ['rules', i, 'ladder', j, 'party'], message: `${step.party} appears twice in this ladder` });
        seen.add(step.party);
      });
    });
    const last = policy.rules[policy.rules.length - 1];
    if (last?.when && Object.values(last.when).some((v) => v !== undefined)) {
      ctx.addIssue({ code: 'custom', path: ['rules', policy.rules.length - 1, 'when'], message: 'the last rule must have no conditions, so that every indicator gets a ladder' });
    }
  })
  .transform((policy) => ({
    rules: policy.rules.map((rule) => ({
      ...(rule.name ? { name: rule.name } : {}),
      when: rule.when ?? {},
      ladder: rule.ladder.map((s) => ({
        party: s.party,
        answerDeadline: s.answerDeadline ?? KIND_DEADLINES[s.party].answerDeadline,
        actionDeadline: s.actionDeadline ?? KIND_DEADLINES[s.party].actionDeadline,
        reminders: s.reminders ?? KIND_DEADLINES[s.party].reminders,
      })),
    })),
  }));
export type { RoutingPolicy, RoutingRule } from '../model.js';

/**
 * The built-in policy: whoever runs the infrastructure first, then who can cut it off, then the national CERT.
 * A URL: hosting network (the page comes down), registrar (the name goes), CERT. An address: hosting network,
 * the network announcing it (upstream), CERT. A domain: registrar first, since the name is the indicator.
 */
export const DEFAULT_ROUTING_POLICY: RoutingPolicy = RoutingPolicyFile.parse({
  rules: [
    {
      name: 'URL (phishing page, malware download, C2 path)',
      when: { kind: 'url' },
      ladder: [
        { party: 'hosting', answerDeadline: '24h' },
        { party: 'registrar', answerDeadline: '48h' },
        { party: 'cert', answerDeadline: '72h' },
      ],
    },
    {
      name: 'IP address (C2 server, scanner, proxy)',
      when: { kind: 'ip' },
      ladder: [
        { party: 'hosting', answerDeadline: '24h' },
        { party: 'upstream', answerDeadline: '48h' },
        { party: 'cert', answerDeadline: '72h' },
      ],
    },
    {
      name: 'domain name',
      when: { kind: 'domain' },
      ladder: [
        { party: 'registrar', answerDeadline: '48h' },
        { party: 'hosting', answerDeadline: '24h' },
        { party: 'cert', answerDeadline: '72h' },
      ],
    },
    {
      name: 'anything else',
      ladder: [{ party: 'hosting' }, { party: 'registrar' }, { party: 'cert' }],
    },
  ],
});

/** Validates a parsed policy file; InvalidInputError names each bad field's path. */
export function parseRoutingPolicy(data: unknown): RoutingPolicy {
  if (data === null || data === undefined) throw new InvalidInputError('the routing policy is empty', [{ where: 'file', reason: 'empty' }]);
  const parsed = RoutingPolicyFile.safeParse(data);
  if (!parsed.success) {
    throw new InvalidInputError(
      'the routing policy has invalid entries',
      parsed.error.issues.map((i) => ({ where: i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '') || 'file', reason: i.message })),
    );
  }
  return parsed.data;
}

function partyOf(found: PartyLookup, kind: PartyKind): Party | undefined {
  return found[kind];
}

function words(text: string): string[] {
  return text.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

function providerMatches(needle: string, found: PartyLookup): boolean {
  const n = needle.toLowerCase();
  const parties = [found.hosting, found.upstream, found.registrar].filter((p): p is Party => p !== undefined);
  if (found.asn && n === found.asn.toLowerCase()) return true;
  return parties.some((p) => p.id.toLowerCase() === n || p.name.toLowerCase() === n || p.email.toLowerCase().endsWith(`@${n}`));
}

/** Whether a rule's conditions all hold for the indicator and what was found for it. */
export function ruleMatches(rule: RoutingRule, indicator: Indicator, found: PartyLookup): boolean {
  const w = rule.when;
  if (w.kind && !w.kind.some((k) => k === indicator.kind || (k === 'ip' && (indicator.kind === 'ipv4' || indicator.kind === 'ipv6')))) return false;
  if (w.host && (w.host === 'domain') !== (indicator.hostKind === 'domain')) return false;
  if (w.threat) {
    const have = words(indicator.threat ?? '');
    if (!w.threat.some((t) => words(t).every((x) => have.includes(x)))) return false;
  }
  if (w.country) {
    const country = (indicator.country ?? found.country)?.toUpperCase();
    if (!country || !w.country.includes(country)) return false;
  }
  if (w.provider && !w.provider.some((p) => providerMatches(p, found))) return false;
  return true;
}

/** The rule the policy applies to an indicator (the last rule matches everything). */
export function ruleFor(policy: RoutingPolicy, indicator: Indicator, found: PartyLookup): RoutingRule {
  return policy.rules.find((r) => ruleMatches(r, indicator, found)) ?? policy.rules[policy.rules.length - 1]!;
}

/**
 * The ladder of one indicator under a policy: the rule's steps whose party was found, one rung per recipient
 * (a CERT that is also the registrar is not asked twice). Empty when nobody was found: the indicator is
 * unroutable.
 */
export function ladderFor(policy: RoutingPolicy, indicator: Indicator, found: PartyLookup): LadderStep[] {
  const rule = ruleFor(policy, indicator, found);
  const seen = new Set<string>();
  const ladder: LadderStep[] = [];
  for (const step of rule.ladder) {
    const party = partyOf(found, step.party);
    if (!party) continue;
    const key = party.email.toLowerCase();
    if (seen.has(key)) continue;
    seen.add(key);
    ladder.push({ party, answerDeadline: step.answerDeadline, actionDeadline: step.actionDeadline, reminders: step.reminders });
  }
  return ladder;
}
