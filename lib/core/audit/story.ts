import type { AuditEvent } from '../model.js';
import type { Deps } from '../ports.js';
import { caseTimeline, type CaseTimeline, type TimelineEntry } from './timeline.js';
import { campaignChain, GENESIS_TYPE } from './events.js';

/**
 * A case's history told in sentences: "Notice sent to X", "Auto-reply received, ticket 4711", "Escalated to KE
 * CERT: no answer by …", "Refused by the recipient's server: 550 5.1.1 …". Each line is a template in English
 * with named values, so a reader in another language gets the same line translated (the dashboard's i18n keys
 * are these templates) and the values are never translated. The raw event stays beside it for the auditor.
 */

/** How a line reads at a glance: good news, bad news, something to watch, or plain record. */
export type StoryTone = 'good' | 'bad' | 'warn' | 'info';

/** The values that are words, not data: a reader's language translates them (ANSWER_WORDS, CHANNEL); every other value is shown as it is. */
export const WORD_VALUES: readonly string[] = ['answer', 'how'];

/** One line of a case's story: an English template with `{name}` slots, and the values that fill them. */
export interface StoryLine {
  readonly template: string;
  readonly values: Readonly<Record<string, string | number>>;
  readonly tone: StoryTone;
  /** a workflow's own bookkeeping (its execution history): folded away with the raw data, not part of the story */
  readonly bookkeeping?: boolean;
}

/** What the story needs to name parties: their names by party id (from the case's ladder). */
export interface StoryNames {
  readonly party: (id: string | undefined) => string | undefined;
}

/** Fill a template's `{name}` slots with its values (a slot without a value stays as written). */
export function fillTemplate(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{([a-zA-Z]+)\}/g, (slot, name: string) => (values[name] === undefined ? slot : String(values[name])));
}

/** A line as English text. */
export function sentence(line: StoryLine): string {
  return fillTemplate(line.template, line.values);
}

const text = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const time = (v: unknown): string => text(v).replace('T', ' ').replace(/\.\d+Z$/, 'Z').replace(/:\d\dZ$/, ' UTC').replace(/Z$/, ' UTC');

function refusalText(r: unknown): string {
  if (!r || typeof r !== 'object') return '';
  const x = r as { code?: number; enhanced?: string; text?: string };
  return [x.code, x.enhanced, x.text].filter((p) => p !== undefined && p !== '').join(' ');
}

/** The words an answer line names its answer with (the `answer` value: a reader's dashboard translates it). */
export const ANSWER_WORDS: Readonly<Record<string, string>> = {
  received: 'Automatic receipt',
  acknowledged: 'Acknowledged',
  actioned: 'Taken down',
  'not-ours': 'Not ours',
  'needs-info': 'Question asked',
  disputed: 'Disputed',
};

/** The words an answer line names its channel with (the `how` value, translated like `answer`). */
export const CHANNEL: Readonly<Record<string, string>> = { mail: 'by mail', webhook: 'by webhook', link: 'by link', api: 'through the API', manual: 'entered by hand' };

function line(template: string, values: Record<string, string | number>, tone: StoryTone = 'info', bookkeeping = false): StoryLine {
  return { template, values, tone, ...(bookkeeping ? { bookkeeping } : {}) };
}

function eventLine(e: AuditEvent, names: StoryNames): StoryLine {
  const d = e.data;
  const by = e.actor;
  const party = (id: unknown) => names.party(text(id)) ?? text(id);
  switch (e.type) {
    case 'campaign.submitted':
      return line('Campaign submitted by {by}', { by });
    case 'campaign.approved':
      return line('Routing plan approved by {by}', { by }, 'good');
    case 'campaign.planned':
      return line('Routing plan built: {cases} case(s) in {notices} notice(s), {unroutable} indicator(s) unroutable', { cases: text(d.cases), notices: text(d.notices), unroutable: text(d.unroutable) });
    case 'campaign.running':
      return line('Sending started: {notices} notice(s)', { notices: text(d.notices) });
    case 'campaign.paused':
      return line('Campaign paused by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'campaign.resumed':
      return line('Campaign resumed by {by}: {reason}', { by, reason: text(d.reason) });
    case 'campaign.cancelled':
      if (!text(d.reason)) return line('Campaign cancelled by {by}', { by }, 'bad');
      return line('Campaign cancelled by {by}: {reason}', { by, reason: text(d.reason) }, 'bad');
    case 'campaign.force-escalated':
      return line('Every open case escalated at once by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'campaign.restarted':
      return line('Its workflow had failed; the sweeper started it again as round {round}', { round: text(d.round) }, 'warn');
    case 'campaign.done':
      return line('Campaign done: every case settled', {}, 'good');
    case 'campaign.reopened':
      return line('Campaign reopened: {reason}', { reason: text(d.reason) }, 'warn');
    case 'case.withheld':
      return line('Withheld by the TLP gate: {reason}', { reason: text(d.reason) }, 'warn');
    case 'notice.sent':
      return d.deadline
        ? line('Notice sent to {party} <{to}>, {cases} case(s); answer due {deadline}', { party: party(d.party), to: text(d.to), cases: text(d.cases), deadline: time(d.deadline) })
        : line('Notice sent to {party} <{to}>, {cases} case(s)', { party: party(d.party), to: text(d.to), cases: text(d.cases) });
    case 'message.sent':
      return line('Accepted by the mail server for {to}', { to: text(d.to) }, 'info', true);
    case 'message.refused': {
      const r = d.refusal as { scope?: string } | undefined;
      const words = refusalText(d.refusal);
      if (r?.scope === 'sender') return line('Refused by our own relay or account: {refusal}', { refusal: words }, 'bad');
      if (r?.scope === 'policy') return line("Refused by the recipient's server by policy: {refusal}", { refusal: words }, 'bad');
      return line("Refused by the recipient's server: {refusal}", { refusal: words }, 'bad');
    }
    case 'message.uncertain':
      return line('The mail server may not have taken the message; the same bytes are sent again', {}, 'warn');
    case 'message.not-resent':
      return line('Whether the mail server took the message is not known; it is not sent again, since the notice had ended', {}, 'warn');
    case 'message.resized':
      return line('The message was too large for the server and is sent in smaller parts', {}, 'warn');
    case 'sending.halted':
      return line('Sending halted: {refusal}', { refusal: refusalText(d.refusal) }, 'bad');
    case 'sending.resumed':
      return line('Sending resumed after the halt', {}, 'good');
    case 'notice.held':
      return line('Notice held for a person: {reason}', { reason: text(d.reason) }, 'bad');
    case 'notice.rerouted':
      return line('Mailbox {from} bounced; the notice goes to {to}', { from: text(d.from), to: text(d.to) }, 'warn');
    case 'notice.reminded':
      return line('Reminder {n} sent; answer now due {deadline}', { n: text(d.reminder), deadline: time(d.deadline) }, 'warn');
    case 'notice.followup':
      return text(d.kind) === 'answer'
        ? line('{by} answered the question in the thread; act by {deadline}', { by, deadline: time(d.deadline) })
        : line('Told the recipient it is still reachable; act by {deadline}', { deadline: time(d.deadline) }, 'warn');
    case 'notice.paused':
      return line('Clock paused by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'notice.resumed':
      return line('Clock started again by {by}: {why}', { by, why: text(d.why) });
    case 'notice.closed':
      return line('Notice closed: nothing left for this party', {}, 'good');
    case 'notice.escalated':
      return line('Notice escalated: its open cases went to the next party', {}, 'warn');
    case 'notice.exhausted':
      return line('Notice exhausted: nobody is left on the ladder', {}, 'bad');
    case 'notice.cancelled':
      return line('Notice cancelled by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'notice.force-escalated':
      return line('Escalated by hand by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'mail.received': {
      if (text(d.class) === 'auto-reply') return line('Auto-reply received', {}, 'info', true);
      if (text(d.class) === 'bounce') return line('Delivery report received', {}, 'warn', true);
      return line('Reply received ({reading})', { reading: text(d.reason) }, 'info', true);
    }
    case 'mail.review':
      return line('A message went to the review queue: {why}', { why: text(d.why) }, 'warn');
    case 'mail.bounce':
      return line('Bounced: {reason}', { reason: text(d.reason ?? d.status) }, 'bad');
    case 'contact.undeliverable':
      return line('The contact cannot be reached: {reason}', { reason: text(d.reason ?? d.status) }, 'bad');
    case 'answer.received':
    case 'answer.applied':
      // told once, by the answer's own entry
      return line('Answer recorded ({intent})', { intent: text(d.intent) }, 'info', true);
    case 'review.applied':
      return line('{by} read a message on the review queue as "{intent}"', { by, intent: text(d.intent) });
    case 'review.dismissed':
      return line('{by} dismissed a message on the review queue', { by });
    case 'case.escalated':
      return d.next
        ? line('Escalated to {party}: {reason}', { party: party(d.next), reason: text(d.reason) }, 'warn')
        : line('Escalated: {reason}', { reason: text(d.reason) }, 'warn');
    case 'case.expired':
      return line('Expired: nobody is left on the ladder ({reason})', { reason: text(d.reason) }, 'bad');
    case 'case.force-escalated':
      return line('Escalated by hand by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'case.paused':
      return line('Case paused by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'case.resumed':
      return line('Case resumed by {by}: {reason}', { by, reason: text(d.reason) });
    case 'case.cancelled':
      return line('Case cancelled by {by}: {reason}', { by, reason: text(d.reason) }, 'warn');
    case 'probe.result':
      return d.live === true
        ? line('Probe ({method}): still live, {detail}', { method: text(d.method), detail: text(d.detail) }, 'bad')
        : d.conclusive === false
          ? line('Probe ({method}) proved nothing: {detail}', { method: text(d.method), detail: text(d.detail) }, 'warn')
          : line('Probe ({method}): down, {detail}', { method: text(d.method), detail: text(d.detail) }, 'good');
    case 'case.verified-down':
      return line('Verified down: {detail}', { detail: text(d.detail) }, 'good');
    case 'case.unverified':
      return line('Could not be verified: {detail}', { detail: text(d.detail ?? d.reason) }, 'warn');
    case 'case.still-reachable':
      return line('Still reachable after the takedown was reported: {detail}', { detail: text(d.detail) }, 'bad');
    case 'case.revived':
      return line('Came back after the verified takedown; reopened with {party}', { party: party(d.to) }, 'bad');
    case 'verify.skipped':
      return line('Not probed: {reason}', { reason: text(d.reason) });
    case 'workflow.history':
      return line('Workflow {name} ended {status}', { name: text(d.name), status: text(d.status) }, 'info', true);
    case 'routing.sources':
      return line('Contacts found for {parties} part(ies)', { parties: Array.isArray(d.parties) ? d.parties.length : 0 }, 'info', true);
    default:
      return line('{type} by {by}', { type: e.type, by }, 'info', true);
  }
}

/** The line of one timeline entry. */
export function storyLine(entry: TimelineEntry, names: StoryNames): StoryLine {
  switch (entry.kind) {
    case 'event':
      return eventLine(entry.event, names);
    case 'message': {
      const m = entry.message;
      const values = { n: m.n, to: m.to };
      if (m.state !== 'sent') {
        if (m.kind === 'reminder') return line('Reminder {n} to {to} composed, not yet accepted by a mail server', values, 'warn');
        if (m.kind === 'followup') return line('Follow-up {n} to {to} composed, not yet accepted by a mail server', values, 'warn');
        return line('Notice to {to} composed, not yet accepted by a mail server', values, 'warn');
      }
      // told by the notice's own event (sent, reminded, followed up); the message itself is listed beside the story
      if (m.kind === 'reminder') return line('Reminder {n} sent to {to}', values, 'info', true);
      if (m.kind === 'followup') return line('Follow-up {n} sent to {to}', values, 'info', true);
      return line('Notice sent to {to}', values, 'info', true);
    }
    case 'answer': {
      const a = entry.answer;
      const word = ANSWER_WORDS[a.intent] ?? a.intent;
      const how = CHANNEL[a.source] ?? a.source;
      const tone: StoryTone = a.intent === 'actioned' ? 'good' : a.intent === 'disputed' || a.intent === 'not-ours' ? 'warn' : a.intent === 'needs-info' ? 'warn' : 'info';
      if (a.intent === 'received' && a.source === 'mail') {
        return a.ticket ? line('Auto-reply received, ticket {ticket}', { ticket: a.ticket }) : line('Auto-reply received', {});
      }
      const values: Record<string, string> = { answer: word, how, from: a.from ?? '' };
      if (a.ticket) values.ticket = a.ticket;
      if (a.from && a.ticket) return line('{answer} {how}, from {from}, ticket {ticket}', values, tone);
      if (a.from) return line('{answer} {how}, from {from}', values, tone);
      if (a.ticket) return line('{answer} {how}, ticket {ticket}', values, tone);
      return line('{answer} {how}', values, tone);
    }
  }
}

/**
 * Where the parties' word and the probes disagree: the party said it took the case down (or it was verified and
 * the latest probe finds it live again), or the party says it is not malicious while the probe keeps finding it.
 */
export interface Disagreement {
  readonly template: string;
  readonly values: Readonly<Record<string, string>>;
}

/**
 * The disagreement of a case between what its party said and what the last probe saw, if there is one: the party
 * said it took it down (`saidDown`: an answer "taken down" on its notice) and the latest probe finds it live.
 */
export function disagreementOf(
  c: { readonly state: string; readonly probe?: { readonly live: boolean; readonly detail: string; readonly at: string } },
  saidDown: boolean,
  party: string,
): Disagreement | undefined {
  if (!c.probe?.live || !saidDown || c.state === 'verified-down' || c.state === 'escalated' || c.state === 'expired') return undefined;
  return { template: '{party} says it is down; the probe at {at} says it is live: {detail}', values: { party, at: time(c.probe.at), detail: c.probe.detail } };
}

/** The English of an answer intent, as the story names it. */
export function answerWord(intent: string): string {
  return ANSWER_WORDS[intent] ?? intent;
}

/** One told line of a case's story, with when it happened and the entry it tells. */
export interface ToldLine extends StoryLine {
  readonly at: string;
  readonly text: string;
  readonly entry: TimelineEntry;
}

/** A case's timeline told: every entry's line, and the disagreement between its party and the probes, if any. */
export interface CaseStory {
  readonly timeline: CaseTimeline;
  readonly lines: readonly ToldLine[];
  readonly disagreement?: Disagreement;
}

/** The names of a case's parties by id, from its ladder (and the case it escalated from). */
export function namesOf(t: Pick<CaseTimeline, 'case' | 'previous'>): StoryNames {
  const names = new Map<string, string>();
  for (const k of [t.previous, t.case]) for (const rung of k?.ladder ?? []) names.set(rung.party.id, rung.party.name);
  return { party: (id) => (id ? names.get(id) : undefined) };
}

/** A case's history told in sentences (see storyLine), and what its party and the probes disagree on. */
export async function caseStory(deps: Pick<Deps, 'store'>, caseId: string): Promise<CaseStory> {
  const timeline = await caseTimeline(deps, caseId);
  const names = namesOf(timeline);
  const lines = timeline.entries.map((entry) => {
    const l = storyLine(entry, names);
    return { ...l, at: entry.at, text: sentence(l), entry };
  });
  const c = timeline.case;
  const saidDown = timeline.entries.some((e) => e.kind === 'answer' && e.answer.intent === 'actioned' && (!e.answer.caseIds || e.answer.caseIds.includes(c.id)));
  const party = (c.ladder[c.step] ?? c.ladder[0]!).party.name;
  const disagreement = disagreementOf(c, saidDown, party);
  return { timeline, lines, ...(disagreement ? { disagreement } : {}) };
}

/** One line of a campaign's own history, with when it happened and the event it tells. */
export interface HistoryLine extends StoryLine {
  readonly at: string;
  readonly type: string;
  readonly actor: string;
  readonly text: string;
}

/**
 * A campaign's own history told in sentences: its chain's events (submitted, planned, approved, paused, its
 * workflow started again by the sweeper, done ...), not its cases' and notices', which each case's story tells.
 * A read of one chain, whatever the campaign's size: tens of events, the largest its workflow's archived execution
 * histories and the list of the parties routing found (bookkeeping, told but marked).
 */
export async function campaignHistory(deps: Pick<Deps, 'store'>, campaignId: string): Promise<HistoryLine[]> {
  const events = await deps.store.listChain(campaignChain(campaignId));
  const names: StoryNames = { party: () => undefined };
  return events
    .filter((e) => e.type !== GENESIS_TYPE)
    .map((e) => {
      const l = eventLine(e, names);
      return { ...l, at: e.at, type: e.type, actor: e.actor, text: sentence(l) };
    });
}
