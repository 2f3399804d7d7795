import type { InputIssue } from '../errors.js';
import type { ExcludedItem, IntakeFormat } from '../intake/index.js';
import type { Indicator, LadderStep, Party, TLP } from '../model.js';
import type { PartyLookup } from '../ports.js';
import { buildLadder } from './ids.js';
import { strictestTlp, tlpDecision, tlpHandling, type TlpPermission } from '../tlp.js';

/**
 * The routing decision for one indicator, TLP gate included, and the plan a coordinator reads. Pure: the
 * stored path (routeCampaign) and the dry run (`takedown plan`, `POST /plans`) both decide through
 * `decideRoute`, so what the plan shows is what the campaign does.
 */

/** What the gate needs to know about the campaign. */
export interface RoutePolicy {
  /** the level of every indicator without its own marking */
  readonly campaignTlp: TLP;
  /**
   * `input`: the submitter stated the campaign's level (the source's marking of the whole file): it is gated
   * like any marking. `default`: nobody marked the material; the configured level labels the notices, and the
   * submitter, as its source, allows notifying the operators by submitting it.
   */
  readonly campaignTlpFrom: 'input' | 'default';
  readonly permission?: TlpPermission;
  /** who is asked in which order (Settings.routing); absent: the built-in order */
  readonly routing?: Parameters<typeof buildLadder>[2];
}

/** A party on the ladder the marking does not allow, and why. */
export interface BlockedParty {
  readonly party: Party;
  readonly reason: string;
}

/** Where an indicator's level came from: its own marking, the campaign's stated level, or the configured default. */
export type TlpSource = 'marking' | 'campaign' | 'default';

export type RouteDecision = (
  | {
      readonly outcome: 'notify';
      /** with its effective `tlp` and the country its network gave it */
      readonly indicator: Indicator;
      /** only the parties the marking allows, in escalation order */
      readonly ladder: LadderStep[];
      /** parties of the full ladder left out by the marking (an AMBER indicator is not escalated to a CERT) */
      readonly blocked: BlockedParty[];
    }
  | {
      readonly outcome: 'withheld';
      readonly indicator: Indicator;
      /** the full ladder, kept so a later permission can release the case */
      readonly ladder: LadderStep[];
      readonly party: Party;
      readonly reason: string;
    }
  | { readonly outcome: 'unroutable'; readonly indicator: Indicator }
) & { readonly tlpFrom: TlpSource };

/**
 * Decides one indicator: who would be asked, in what order, and whether its marking lets it go to them. The
 * indicator's level is its own marking, else the campaign's.
 */
export function decideRoute(indicator: Indicator, found: PartyLookup, policy: RoutePolicy): RouteDecision {
  const tlp = indicator.tlp ?? policy.campaignTlp;
  const tlpFrom: TlpSource = indicator.tlp ? 'marking' : policy.campaignTlpFrom === 'input' ? 'campaign' : 'default';
  const permitted = tlpFrom === 'default' || policy.permission?.notifyOperators === true;
  const routed: Indicator = { ...indicator, tlp, ...(found.country && !indicator.country ? { country: found.country } : {}) };
  const ladder = buildLadder(indicator, found, policy.routing);
  const first = ladder[0];
  if (!first) return { outcome: 'unroutable', indicator: routed, tlpFrom };
  const allowed: LadderStep[] = [];
  const blocked: BlockedParty[] = [];
  for (const step of ladder) {
    const decision = tlpDecision(tlp, step.party, permitted);
    if (decision.allowed) allowed.push(step);
    else blocked.push({ party: step.party, reason: decision.reason });
  }
  if (allowed.length === 0) return { outcome: 'withheld', indicator: routed, ladder, party: first.party, reason: blocked[0]!.reason, tlpFrom };
  return { outcome: 'notify', indicator: routed, ladder: allowed, blocked, tlpFrom };
}

/** One indicator as a recipient would receive it, with why it goes there. */
export interface PlanItem {
  readonly value: string;
  readonly kind: Indicator['kind'];
  readonly tlp: TLP;
  readonly tlpFrom: TlpSource;
  readonly origin: string;
  /** what matched the recipient: a CIDR, a domain suffix, a country */
  readonly matchedBy?: string;
  /** the recipient's role for this indicator: hosting, registrar, cert ... */
  readonly as: Party['kind'];
  /** escalation rungs its marking leaves out */
  readonly notEscalatedTo?: { party: string; reason: string }[];
  /** the parties it goes to, in order, each with its deadlines: the first gets the notice */
  readonly ladder: readonly LadderStep[];
}

export interface PlanRecipient {
  readonly party: Party;
  /** the level of the notice: the strictest of its indicators */
  readonly tlp: TLP;
  /** what the notice tells the recipient the marking allows */
  readonly handling: string;
  readonly indicators: PlanItem[];
}

export interface WithheldItem {
  readonly value: string;
  readonly tlp: TLP;
  readonly tlpFrom: TlpSource;
  readonly origin: string;
  /** who would have been asked: "name <email>" */
  readonly party: string;
  readonly reason: string;
}

/** The whole routing plan of a submission: what would be sent to whom, and everything that would not be, with why. */
export interface Plan {
  readonly campaign: {
    readonly name: string;
    readonly tlp: TLP;
    /** `input`: the submitter stated it; `default`: the configured default applied */
    readonly tlpFrom: 'input' | 'default';
    readonly tlpPermission?: TlpPermission;
    readonly format: IntakeFormat;
    readonly sourceName?: string;
  };
  readonly counts: {
    /** items read from the file that name an indicator, duplicates included */
    readonly submitted: number;
    /** unique indicators, not already open elsewhere */
    readonly accepted: number;
    readonly duplicates: number;
    readonly alreadyOpen: number;
    readonly recipients: number;
    /** indicators that would be sent to someone */
    readonly notified: number;
    readonly withheld: number;
    readonly unroutable: number;
    readonly excluded: number;
    readonly skipped: number;
  };
  readonly recipients: PlanRecipient[];
  readonly withheld: WithheldItem[];
  readonly unroutable: { value: string; origin: string }[];
  readonly excluded: ExcludedItem[];
  readonly skipped: InputIssue[];
  readonly duplicates: { origin: string; value: string; firstOrigin: string }[];
  readonly alreadyOpen: { value: string; caseId: string; campaignId: string }[];
}

/** Collects route decisions page by page (a large campaign is resolved in pages) into a Plan. */
export class PlanBuilder {
  private readonly recipients = new Map<string, { party: Party; items: PlanItem[] }>();
  private readonly withheld: WithheldItem[] = [];
  private readonly unroutable: { value: string; origin: string }[] = [];

  add(decision: RouteDecision): void {
    const ind = decision.indicator;
    const tlp = ind.tlp!;
    const { tlpFrom } = decision;
    if (decision.outcome === 'unroutable') {
      this.unroutable.push({ value: ind.value, origin: ind.origin });
      return;
    }
    if (decision.outcome === 'withheld') {
      this.withheld.push({ value: ind.value, tlp, tlpFrom, origin: ind.origin, party: `${decision.party.name} <${decision.party.email}>`, reason: decision.reason });
      return;
    }
    const party = decision.ladder[0]!.party;
    // the same key routing uses for a notice: one notice per recipient address
    const key = party.email.toLowerCase();
    let entry = this.recipients.get(key);
    if (!entry) this.recipients.set(key, (entry = { party, items: [] }));
    entry.items.push({
      value: ind.value,
      kind: ind.kind,
      tlp,
      tlpFrom,
      origin: ind.origin,
      as: party.kind,
      ladder: decision.ladder,
      ...(party.matchedBy ? { matchedBy: party.matchedBy } : {}),
      ...(decision.blocked.length
        ? { notEscalatedTo: decision.blocked.map((b) => ({ party: `${b.party.name} <${b.party.email}>`, reason: b.reason })) }
        : {}),
    });
  }

  /** The plan, recipients with the most indicators first. */
  build(head: Omit<Plan, 'recipients' | 'withheld' | 'unroutable' | 'counts'> & { counts: Pick<Plan['counts'], 'submitted' | 'accepted' | 'duplicates' | 'alreadyOpen' | 'excluded' | 'skipped'> }): Plan {
    const recipients: PlanRecipient[] = [...this.recipients.values()]
      .map(({ party, items }) => {
        const tlp = strictestTlp(items.map((i) => i.tlp))!;
        return { party, tlp, handling: tlpHandling(tlp), indicators: items };
      })
      .sort((a, b) => b.indicators.length - a.indicators.length || a.party.name.localeCompare(b.party.name));
    return {
      ...head,
      counts: {
        ...head.counts,
        recipients: recipients.length,
        notified: recipients.reduce((n, r) => n + r.indicators.length, 0),
        withheld: this.withheld.length,
        unroutable: this.unroutable.length,
      },
      recipients,
      withheld: this.withheld,
      unroutable: this.unroutable,
    };
  }
}
