import { z } from 'zod';
import { Refusal } from './messages.js';

/**
 * The sweeper's last start of a failed execution (a campaign's, an upload's reading, a notice's): the round it
 * started, how many rounds it started in a row, when. That round failing too waits longer (restartDue, executions.ts).
 */
export const SweeperRestart = z.object({ round: z.number().int().min(1), count: z.number().int().min(1), at: z.string() });
export type SweeperRestart = z.infer<typeof SweeperRestart>;

export { Outbound, OutboundKind, OutboundPart, Refusal } from './messages.js';

/**
 * The domain model. Times are ISO-8601 UTC strings (they sort as text and read well in an audit);
 * durations are whole seconds of domain time (the clock port scales them on the embedded host).
 */

export const TLP = z.enum(['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED']);
export type TLP = z.infer<typeof TLP>;

export const IndicatorKind = z.enum(['ipv4', 'ipv6', 'domain', 'url']);
export type IndicatorKind = z.infer<typeof IndicatorKind>;

/**
 * Who made a change: the authenticated principal (an API key's name, a user pool user, the CLI's own user), and
 * whom they said they acted for. The free text is recorded beside the principal, never in its place: a caller
 * can claim to act for anyone, not to be anyone.
 */
export interface Actor {
  readonly name: string;
  readonly onBehalfOf?: string;
}

/** What the commands take as who acted: a principal's name, or an Actor with whom it acted for. */
export type ActorLike = string | Actor;

/** The Actor of a name or an Actor; an on-behalf-of that only repeats the name is dropped. */
export function actorOf(by: ActorLike): Actor {
  if (typeof by === 'string') return { name: by };
  const on = by.onBehalfOf?.trim().slice(0, 200);
  return on && on !== by.name ? { name: by.name, onBehalfOf: on } : { name: by.name };
}

/** The audit fields of an actor: the event's `actor` is the principal; whom it acted for goes into its data. */
export function actorFields(by: ActorLike): { readonly actor: string; readonly data: { readonly onBehalfOf?: string } } {
  const a = actorOf(by);
  return { actor: a.name, data: a.onBehalfOf ? { onBehalfOf: a.onBehalfOf } : {} };
}

/** ISO 3166-1 alpha-2, upper case. */
export const CountryCode = z
  .string()
  .regex(/^[A-Za-z]{2}$/, 'a two-letter ISO 3166 country code')
  .transform((c) => c.toUpperCase());

/** One piece of malicious infrastructure in canonical form (see normalise.ts). */
export const Indicator = z.object({
  /** canonical value: the deduplication key */
  value: z.string().min(1),
  kind: IndicatorKind,
  /** for a URL: its host (a domain or an IP in canonical form); for a domain or IP: the value itself */
  host: z.string().min(1),
  /** the kind of `host` */
  hostKind: z.enum(['ipv4', 'ipv6', 'domain']),
  port: z.number().int().min(1).max(65535).optional(),
  country: z.string().length(2).optional(),
  firstSeen: z.string().optional(),
  evidence: z.string().max(4000).optional(),
  /** what the source said it is (c2, phishing, malware, ...), free text */
  threat: z.string().max(100).optional(),
  /** the text as submitted (may be defanged) */
  raw: z.string(),
  /** where it came from in the source: "line 12", a STIX id, a MISP uuid */
  origin: z.string(),
  /** its own TLP marking from the source; absent: the campaign's level applies (see tlp.ts) */
  tlp: TLP.optional(),
});
export type Indicator = z.infer<typeof Indicator>;

export const PartyKind = z.enum(['hosting', 'registrar', 'registry', 'cert', 'upstream']);
export type PartyKind = z.infer<typeof PartyKind>;

export const ContactSource = z.enum(['directory', 'override', 'rdap', 'security.txt', 'abuse@']);
export type ContactSource = z.infer<typeof ContactSource>;

/** Someone who can act on an indicator, with the contact used to reach them. */
export const Party = z.object({
  /** stable id, e.g. "hosting:198.51.100.0/24" or "cert:KE" */
  id: z.string().min(1),
  kind: PartyKind,
  name: z.string().min(1),
  country: z.string().length(2).optional(),
  email: z.string().email(),
  contactSource: ContactSource,
  /** what matched: a CIDR, a domain suffix, a country */
  matchedBy: z.string().optional(),
  /** a telephone number of the contact, when the source gives one (RDAP registrar abuse contacts do) */
  phone: z.string().max(100).optional(),
  /** the RDAP answer the contact was read from (URL, time, SHA-256 of its canonical JSON), for the audit trail */
  evidence: z.object({ url: z.string().max(2000), fetchedAt: z.string(), sha256: z.string().regex(/^[0-9a-f]{64}$/) }).optional(),
  /** other mailboxes of the party, tried in order when a notice to `email` bounces for good (a directory setting) */
  fallbackEmails: z.array(z.string().email()).max(5).optional(),
  /** the language notices to this party are written in (BCP 47 primary tag, `fr`), from the directory; else its country's */
  language: z.string().regex(/^[a-z]{2,3}$/, 'a BCP 47 primary language tag, lower case').optional(),
  /** send notices as an ARF feedback report (RFC 5965, `Feedback-Type: xarf`) for the party's ticket system */
  arf: z.boolean().optional(),
  /** other domains the party answers from (a hosted ticket system), from the directory; see senderFits */
  answerDomains: z.array(z.string().min(1).max(253)).max(20).optional(),
});
export type Party = z.infer<typeof Party>;

/**
 * A coordinator's correction of a contact: wins over the directory file and RDAP from then on. `target` is a
 * canonical CIDR (a hosting network), a domain (its registrar, for names at or under it) or a party id.
 */
export const ContactOverride = z.object({
  target: z.string().min(1).max(300),
  targetKind: z.enum(['network', 'domain', 'party']),
  email: z.string().email(),
  name: z.string().max(200).optional(),
  note: z.string().max(500).optional(),
  by: z.string().min(1).max(200),
  at: z.string(),
});
export type ContactOverride = z.infer<typeof ContactOverride>;

/** One rung of an indicator's routing ladder. */
export const LadderStep = z.object({
  party: Party,
  /** seconds the party has to answer before a reminder, then escalation */
  answerDeadline: z.number().int().positive(),
  /** seconds the party has to act once it acknowledged */
  actionDeadline: z.number().int().positive(),
  /** reminders sent before escalating */
  reminders: z.number().int().min(0).max(10),
});
export type LadderStep = z.infer<typeof LadderStep>;

/**
 * The routing policy, as routing/policy.ts compiles it from its file: rules tried in order, the first that matches
 * an indicator gives its ladder of party kinds with their deadlines (seconds); the last rule matches everything.
 */
export interface RoutingPolicy {
  readonly rules: readonly RoutingRule[];
}

export interface RoutingRule {
  readonly name?: string;
  readonly when: {
    /** `ip` is ipv4 or ipv6 */
    readonly kind?: readonly ('ip' | 'ipv4' | 'ipv6' | 'domain' | 'url')[];
    readonly host?: 'ip' | 'domain';
    readonly threat?: readonly string[];
    readonly country?: readonly string[];
    readonly provider?: readonly string[];
  };
  readonly ladder: readonly { readonly party: PartyKind; readonly answerDeadline: number; readonly actionDeadline: number; readonly reminders: number }[];
}

export const CampaignState = z.enum([
  'routing',
  'awaiting-approval',
  'sending',
  'running',
  'paused',
  'cancelled',
  'done',
]);
export type CampaignState = z.infer<typeof CampaignState>;

export const SourceFormat = z.enum(['list', 'csv', 'stix', 'misp']);
export type SourceFormat = z.infer<typeof SourceFormat>;

/** One submission by a coordinator. */
export const Campaign = z.object({
  id: z.string(),
  name: z.string().min(1).max(200),
  tlp: TLP,
  /**
   * `input`: the submitter stated the level (the source's marking of the file: gated like any marking);
   * `default`: the configured level of unmarked material. Absent on campaigns stored before: `default`.
   */
  tlpFrom: z.enum(['input', 'default']).optional(),
  legalBasis: z.string().max(500).optional(),
  /** who submitted it: the authenticated principal (an API key's or a user's name, the CLI's user) */
  submitter: z.string().min(1).max(200),
  /** whom the submitter said they acted for (free text, recorded beside the principal, never instead of it) */
  onBehalfOf: z.string().max(200).optional(),
  source: z.object({ format: SourceFormat, name: z.string().max(300).optional() }),
  requireApproval: z.boolean(),
  /** the source's permission to notify the operators of AMBER / AMBER+STRICT infrastructure, and who granted it */
  tlpPermission: z
    .object({ notifyOperators: z.literal(true), grantedBy: z.string().min(1).max(200), grantedAt: z.string() })
    .optional(),
  state: CampaignState,
  createdAt: z.string(),
  approvedAt: z.string().optional(),
  approvedBy: z.string().optional(),
  /** whom the approver said they acted for */
  approvedOnBehalfOf: z.string().max(200).optional(),
  counts: z.object({
    submitted: z.number().int(),
    indicators: z.number().int(),
    duplicates: z.number().int(),
    unroutable: z.number().int(),
    cases: z.number().int(),
    notices: z.number().int(),
    /** first-rung cases the TLP gate kept back */
    withheld: z.number().int().optional(),
    /** items of the file not notified: expired, unsupported, not meant for detection */
    excluded: z.number().int().optional(),
    /** items with errors left out at the coordinator's request (skip invalid) */
    skipped: z.number().int().optional(),
  }),
  /** false: actioned cases are not probed (a probe can tip off the operator); absent means probes on */
  probes: z.boolean().optional(),
  /** the campaign workflow's approval callback, while it waits */
  approvalToken: z.string().optional(),
  /**
   * the round of the campaign's workflow execution (its name ends `-r<round>`): absent is 1; the sweeper starts
   * a failed one again as the next round (AWS keeps an execution's name 90 days)
   */
  round: z.number().int().min(1).optional(),
  /** the sweeper's last start of a failed round */
  restarted: SweeperRestart.optional(),
  version: z.number().int().min(1),
});
export type Campaign = z.infer<typeof Campaign>;

/** An accepted indicator of a campaign, before it is routed into cases. */
export const CampaignIndicator = z.object({
  campaignId: z.string(),
  /** position in the source, 0-based: the paging key */
  seq: z.number().int().min(0),
  indicator: Indicator,
});
export type CampaignIndicator = z.infer<typeof CampaignIndicator>;

/**
 * A case's lifecycle. Later work adds behaviour, not states.
 * open -> notified -> received -> acknowledged -> actioned -> verified-down, with the side exits below.
 */
export const CaseState = z.enum([
  'open',
  'withheld',
  'notified',
  'received',
  'acknowledged',
  'actioned',
  'verified-down',
  'not-ours',
  'needs-info',
  'disputed',
  'paused',
  'cancelled',
  'escalated',
  'expired',
]);
export type CaseState = z.infer<typeof CaseState>;

/** One indicator against one party (one rung of its ladder), followed to closure. */
export const Case = z.object({
  id: z.string(),
  campaignId: z.string(),
  indicator: Indicator,
  ladder: z.array(LadderStep).min(1),
  /** index into `ladder` of the party this case is against */
  step: z.number().int().min(0),
  state: CaseState,
  /** the notice that carries this case to its party, once planned */
  noticeId: z.string().optional(),
  /** the case this one escalated from */
  previousCaseId: z.string().optional(),
  /** the notice that case was in: an escalation notice sends the cases of the notices that joined it */
  escalatedFrom: z.string().optional(),
  /** the case it was handed on to, once claimed for escalation (so a retry finishes the hand-over it began) */
  onward: z.string().optional(),
  /** why it is withheld, expired, unroutable ... */
  reason: z.string().optional(),
  /** how many times it came back after a verified takedown (0 or absent: never); part of derived ids after one */
  revival: z.number().int().min(0).optional(),
  /** the state a pause interrupted, to resume to */
  pausedFrom: z.string().optional(),
  /** the last probe of the indicator, when verification ran */
  probe: z
    .object({
      verdict: z.string(),
      live: z.boolean(),
      detail: z.string().max(500),
      at: z.string(),
      method: z.string(),
      /** probes that proved nothing either way so far */
      tries: z.number().int().min(1).optional(),
    })
    .optional(),
  verifiedDownAt: z.string().optional(),
  /** revival checks done since `verifiedDownAt` (an index into the configured intervals) */
  watched: z.number().int().min(0).optional(),
  updatedAt: z.string(),
  version: z.number().int().min(1),
});
export type Case = z.infer<typeof Case>;

export const NoticeState = z.enum([
  'planned',
  'sending',
  'uncertain',
  'sent',
  'closed',
  'escalated',
  /** its open cases had no party left on their ladders: they expired, nobody else was asked */
  'exhausted',
  'paused',
  'cancelled',
]);
export type NoticeState = z.infer<typeof NoticeState>;

/** One message to one recipient covering one or more cases; sent exactly once. */
export const Notice = z.object({
  id: z.string(),
  campaignId: z.string(),
  party: Party,
  /** ladder step of every case it carries */
  step: z.number().int().min(0),
  /** 1 for the first run; a revival or a second round gets a new one (execution names include it) */
  round: z.number().int().min(1),
  /** the sweeper's last start of a failed round */
  restarted: SweeperRestart.optional(),
  state: NoticeState,
  /** `TKD-<id>`: in the subject, matched on replies */
  tag: z.string(),
  /** sha-256 of the reply token; the token itself is only in the sent message */
  tokenHash: z.string(),
  caseCount: z.number().int().min(0),
  /** the notices this one escalated from, when it is an escalation: every one whose cases it carries */
  escalatedFrom: z.array(z.string()).optional(),
  /** an escalation notice still taking the cases of other escalations to the same party (see escalateCases) */
  gathering: z.boolean().optional(),
  /** not sent before this time: the end of its gathering window */
  notBefore: z.string().optional(),
  answerDeadline: z.number().int().positive(),
  actionDeadline: z.number().int().positive(),
  remindersAllowed: z.number().int().min(0),
  remindersSent: z.number().int().min(0),
  /** absolute time the current wait ends (answer, or action after an acknowledgement) */
  deadline: z.string().optional(),
  sentAt: z.string().optional(),
  messageId: z.string().optional(),
  /** answers already applied (so a replay after a crash applies nothing twice) */
  appliedAnswers: z.array(z.string()).default([]),
  /** the notice workflow's callback while it waits for an answer */
  taskToken: z.string().optional(),
  /** while paused: the state to resume to, the domain seconds the clock had left, and why */
  paused: z
    .object({ from: z.string(), remainingSeconds: z.number().min(0), reason: z.string().max(300), by: z.string().max(200) })
    .optional(),
  /** follow-up messages sent in this notice's thread (a coordinator's answer, a "still reachable" notice) */
  followupsSent: z.number().int().min(0).optional(),
  /** set on a notice that reopens cases which came back after a verified takedown */
  revivalOf: z.string().optional(),
  /** which of the party's mailboxes it goes to: 0 the first, one more for each that bounced for good */
  contactIndex: z.number().int().min(0).optional(),
  /** the last refusal of one of its messages, as the server worded it (shown by status and the dashboard) */
  refusal: Refusal.optional(),
  /** times it was sent again in smaller parts after a server on the way refused it for its size */
  resends: z.number().int().min(0).optional(),
  /** the size limit its messages are composed under, when a server on the way said it takes less */
  messageLimit: z.number().int().positive().optional(),
  /** the reminder claimed for sending (its number), until it is recorded sent */
  reminding: z.number().int().min(1).optional(),
  updatedAt: z.string(),
  version: z.number().int().min(1),
});
export type Notice = z.infer<typeof Notice>;

export const AnswerIntent = z.enum(['received', 'acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed']);
export type AnswerIntent = z.infer<typeof AnswerIntent>;

export const AnswerSource = z.enum(['mail', 'webhook', 'link', 'api', 'manual']);
export type AnswerSource = z.infer<typeof AnswerSource>;

/** An answer from a recipient, applied to the open cases of its notice. */
export const Answer = z.object({
  id: z.string(),
  noticeId: z.string(),
  intent: AnswerIntent,
  source: AnswerSource,
  /** subset of the notice's cases it speaks of; all open ones when absent */
  caseIds: z.array(z.string()).optional(),
  from: z.string().optional(),
  note: z.string().max(2000).optional(),
  /** the recipient's own ticket number, when they gave one */
  ticket: z.string().max(200).optional(),
  receivedAt: z.string(),
});
export type Answer = z.infer<typeof Answer>;

/** An append-only audit record of a change, one link of a hash chain (see events.ts). */
export const AuditEvent = z.object({
  id: z.string(),
  campaignId: z.string(),
  caseId: z.string().optional(),
  noticeId: z.string().optional(),
  type: z.string(),
  actor: z.string(),
  at: z.string(),
  data: z.record(z.string(), z.unknown()),
  /** `case:<id>`, else `notice:<id>`, else `campaign:<id>` */
  chain: z.string(),
  /** its place in the chain, from 0 */
  seq: z.number().int().min(0),
  /** hash of the chain's previous event; at seq 0 the campaign chain's first event's, or 64 zeros for that one */
  prev: z.string(),
  /** sha-256 (hex) of the RFC 8785 canonical JSON of the event without `hash` and `mac` */
  hash: z.string(),
  /**
   * `hmac-sha256:<key id>:<hex>`, the MAC of `hash` under the audit key, which the store never holds: whoever can
   * write the store can re-hash a chain, not re-MAC it. Absent on events written before the trail was keyed.
   */
  mac: z.string().optional(),
});
export type AuditEvent = z.infer<typeof AuditEvent>;
