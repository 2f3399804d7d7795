import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Answer, AuditEvent, Campaign, Case, Notice, NoticeState, Outbound } from '../../lib/core/model.js';
import type { Delivered, GivenAnswer } from './recipients.js';
import type { RelayLogLine } from './relay.js';

/**
 * What the chaos run checks once the host is stopped, from three sources that do not share a lie: the mail the
 * relay's capture actually received, the store, and the audit trail. Each figure is a count of violations of the
 * promise (0 is the only good value), with examples to start an investigation from.
 */

// mirrors lib/core/lifecycle.ts (read, not imported: the checks should not trust the code they check)
const FINISHED = new Set(['actioned', 'verified-down', 'not-ours', 'disputed', 'cancelled', 'escalated', 'expired']);
const NOTIFIED = new Set(['notified', 'received', 'acknowledged', 'needs-info']);
const LIVE_NOTICE = new Set<NoticeState>(['planned', 'sending', 'uncertain', 'sent']);
const CLOSING = new Set(['notice.closed', 'notice.escalated', 'notice.exhausted', 'notice.cancelled']);

export interface Figure {
  readonly count: number;
  /** a few of them, to start from */
  readonly examples: string[];
}

export interface Findings {
  readonly lostMessages: Figure;
  readonly lostNotices: Figure;
  readonly lostAnswers: Figure;
  readonly unexplainedDuplicates: Figure;
  readonly stuckOutbound: Figure;
  readonly stuckNotices: Figure;
  readonly offTransport: Figure;
  readonly sendsAfterClose: Figure;
  readonly twoHands: Figure;
  /** a notice's caseCount against the cases that name it */
  readonly countMismatches: Figure;
}

export interface StoreCounts {
  readonly campaigns: number;
  readonly campaignsDone: number;
  readonly notices: number;
  readonly noticesByState: Record<string, number>;
  readonly cases: number;
  readonly casesByState: Record<string, number>;
  /** outbound messages by kind (a message in several parts counts once) */
  readonly messages: Record<string, number>;
  readonly answersStored: number;
  readonly reviews: number;
  readonly uncertain: number;
  readonly duplicatesExplained: number;
  readonly events: number;
}

export interface CheckInput {
  readonly dataDir: string;
  readonly delivered: readonly Delivered[];
  readonly relayLog: readonly RelayLogLine[];
  readonly ledger: readonly GivenAnswer[];
  /** indicators seen with two cases not finished at once, in the snapshots taken during the run */
  readonly twoHandsSeen: ReadonlyMap<string, string>;
  /** real ms of every SIGKILL of a host */
  readonly kills: readonly number[];
}

function figure(items: readonly string[]): Figure {
  return { count: items.length, examples: items.slice(0, 5) };
}

function rows<T>(db: Database.Database, sql: string): T[] {
  return (db.prepare(sql).all() as { data: string }[]).map((r) => JSON.parse(r.data) as T);
}

/** The data directory's domain clock: real ms to domain ms, one line however often the host restarted. */
function domainOf(dataDir: string): (realMs: number) => number {
  const c = JSON.parse(readFileSync(join(dataDir, 'clock.json'), 'utf8')) as { anchorReal: number; anchorDomain: number; scale: number };
  return (real) => c.anchorDomain + (real - c.anchorReal) * c.scale;
}

/** Everything the run checks; the store is read directly, the host being stopped. */
export function check(input: CheckInput): { findings: Findings; counts: StoreCounts } {
  const db = new Database(join(input.dataDir, 'takedown.db'), { readonly: true, fileMustExist: true });
  try {
    return checkDb(db, input);
  } finally {
    db.close();
  }
}

function checkDb(db: Database.Database, input: CheckInput): { findings: Findings; counts: StoreCounts } {
  const campaigns = rows<Campaign>(db, 'SELECT data FROM campaigns');
  const notices = new Map(rows<Notice>(db, 'SELECT data FROM notices').map((n) => [n.id, n]));
  const cases = rows<Case>(db, 'SELECT data FROM cases');
  const outbound = rows<Outbound>(db, 'SELECT data FROM outbound');
  const answers = new Map(rows<Answer>(db, 'SELECT data FROM answers').map((a) => [a.id, a]));
  const events = rows<AuditEvent>(db, 'SELECT data FROM events ORDER BY seq');
  const unsent = new Set((db.prepare("SELECT key FROM records WHERE kind = 'unsent'").all() as { key: string }[]).map((r) => r.key));
  const reviews = (db.prepare('SELECT count(*) AS n FROM reviews').get() as { n: number }).n;
  const toDomain = domainOf(input.dataDir);

  const casesOf = new Map<string, Case[]>();
  for (const c of cases) if (c.noticeId) casesOf.set(c.noticeId, [...(casesOf.get(c.noticeId) ?? []), c]);
  const eventsOf = new Map<string, AuditEvent[]>();
  for (const e of events) if (e.noticeId) eventsOf.set(e.noticeId, [...(eventsOf.get(e.noticeId) ?? []), e]);

  // delivered mail by Message-ID
  const deliveries = new Map<string, Delivered[]>();
  for (const d of input.delivered) deliveries.set(d.messageId, [...(deliveries.get(d.messageId) ?? []), d]);

  // lost messages: recorded sent, never delivered (or delivered with other bytes than recorded)
  const lostMessages: string[] = [];
  for (const o of outbound) {
    for (const p of o.parts ?? []) {
      if (p.state !== 'sent') continue;
      const got = deliveries.get(p.messageId) ?? [];
      if (!got.length) lostMessages.push(`${o.id} part ${p.index} (${p.messageId}) recorded sent, never delivered`);
      else if (!got.some((d) => d.sha256 === p.sha256)) lostMessages.push(`${o.id} part ${p.index} delivered with other bytes than recorded`);
    }
  }

  // lost notices: its cases say it was received, and nothing of the notice ever arrived
  const lostNotices: string[] = [];
  const deliveredNotices = new Set(input.delivered.filter((d) => d.kind === 'notice').map((d) => d.noticeId));
  const deliveredAny = new Set(input.delivered.map((d) => d.noticeId));
  for (const n of notices.values()) {
    const claimed = (casesOf.get(n.id) ?? []).filter((c) => NOTIFIED.has(c.state));
    if ((claimed.length || n.sentAt) && !deliveredNotices.has(n.id) && !deliveredAny.has(n.id)) {
      lostNotices.push(`${n.id} (${n.state}, ${claimed.length} cases ${claimed[0]?.state ?? ''}) was never delivered`);
    }
  }

  // lost answers: given (taken by the host: a 250, a 2xx, an exit 0) and not stored, or stored and not applied
  const lostAnswers: string[] = [];
  const bounced = new Set(events.filter((e) => e.type === 'mail.bounce').map((e) => e.noticeId));
  for (const g of input.ledger) {
    if (g.channel === 'bounce') {
      if (!bounced.has(g.noticeId)) lostAnswers.push(`the bounce of ${g.noticeId} left no mail.bounce`);
      continue;
    }
    const stored = g.answerId ? answers.get(g.answerId) : [...answers.values()].find((a) => a.noticeId === g.noticeId && a.note === g.note);
    if (!stored) {
      lostAnswers.push(`${g.channel} ${g.intent} for ${g.noticeId} (${g.answerId ?? g.note}) is not stored`);
      continue;
    }
    if (!notices.get(stored.noticeId)?.appliedAnswers.includes(stored.id)) lostAnswers.push(`${g.channel} ${g.intent} ${stored.id} is stored but not applied`);
  }

  // duplicates: one Message-ID delivered twice must carry the same bytes and an uncertain hand-over to explain it
  const uncertain = new Map<string, number>();
  for (const e of events) {
    if (e.type !== 'message.uncertain') continue;
    const key = `${String(e.data.outbound)}#${String(e.data.part ?? 1)}`;
    uncertain.set(key, (uncertain.get(key) ?? 0) + 1);
  }
  const partOf = new Map<string, string>();
  for (const o of outbound) for (const p of o.parts ?? []) partOf.set(p.messageId, `${o.id}#${p.index}`);
  // the relay's deliveries of each Message-ID, in order: whether the sender could know it had been delivered
  const relayDeliveries = new Map<string, RelayLogLine[]>();
  for (const line of input.relayLog) if (line.delivered && line.messageId) relayDeliveries.set(line.messageId, [...(relayDeliveries.get(line.messageId) ?? []), line]);
  const unexplained: string[] = [];
  let explained = 0;
  for (const [messageId, got] of deliveries) {
    if (got.length < 2) continue;
    if (new Set(got.map((d) => d.sha256)).size > 1) {
      unexplained.push(`${messageId} delivered ${got.length} times with different bytes`);
      continue;
    }
    const key = partOf.get(messageId);
    const recorded = key ? (uncertain.get(key) ?? 0) : 0;
    // a resend is honest only when the outcome of the delivery before it was unknown to the sender: the relay cut
    // the connection before its 250, or the host was killed after handing it over and before its record (a kill
    // during the transaction counts: the relay may take the whole message and answer a socket that is gone)
    const lines = (relayDeliveries.get(messageId) ?? []).sort((a, b) => a.at - b.at);
    let causes = 0;
    for (let i = 1; i < lines.length; i++) {
      const before = lines[i - 1]!;
      if (before.fault === 'drop-after-data' || input.kills.some((k) => k > before.at && k < lines[i]!.at)) causes++;
    }
    const extra = got.length - 1;
    const allowed = Math.min(recorded, causes);
    explained += Math.min(extra, allowed);
    if (extra > allowed) unexplained.push(`${messageId} delivered ${got.length} times; ${recorded} uncertain hand-over(s) recorded, ${causes} with a cause (a cut before the 250, a kill between the hand-over and the record)`);
  }

  // the executions the host's last stop interrupted: every live notice should have had one
  const interrupted = new Set(events.filter((e) => e.type === 'workflow.history' && e.data.status === 'interrupted').map((e) => String(e.data.execution)));
  const stuckNotices: string[] = [];
  for (const n of notices.values()) {
    if (!LIVE_NOTICE.has(n.state)) continue;
    const campaign = campaigns.find((c) => c.id === n.campaignId);
    if (n.state === 'planned' && campaign?.state !== 'running') continue;
    if (!interrupted.has(`notice-${n.id}-r${n.round}`)) stuckNotices.push(`${n.id} is ${n.state} (round ${n.round}) with no execution at the end`);
  }
  const notResentEvents = new Set(events.filter((e) => e.type === 'message.not-resent').map((e) => String(e.data.outbound)));
  const stuckOutbound: string[] = [];
  for (const o of outbound) {
    if (o.state === 'sent') continue;
    const n = notices.get(o.noticeId);
    const ownRun = n && LIVE_NOTICE.has(n.state) && interrupted.has(`notice-${n.id}-r${n.round}`);
    if (unsent.has(o.id)) continue;
    // a live notice's own workflow sends its notice and reminders (the same record, found again)
    if (ownRun && o.kind !== 'followup') continue;
    // a notice that ended before its message was handed over (cancelled, escalated on a bounce) has nothing to send;
    // one handed over with an unknown outcome (sending) is settled only once its notice's send step has recorded it
    // left unresent: without that mark nothing will ever resolve it
    if (o.kind === 'notice' && n && !LIVE_NOTICE.has(n.state) && o.state === 'composed') continue;
    if (o.kind === 'notice' && n && !LIVE_NOTICE.has(n.state) && o.state === 'sending' && o.notResent && notResentEvents.has(o.id)) continue;
    stuckOutbound.push(`${o.id} is ${o.state} with no workflow to send it and no unsent mark (notice ${n?.state ?? 'missing'})`);
  }

  // mail that reached the embedded outbox of some host instead of the configured relay
  const outbox = join(input.dataDir, 'outbox');
  const offTransport = existsSync(outbox) ? readdirSync(outbox).filter((f) => f.endsWith('.eml') && !f.startsWith('.')).map((f) => `outbox/${f}`) : [];

  // sends after close: a message claimed (composed) while its notice was closed, and handed over
  const coordinatorFollowups = new Set(events.filter((e) => e.type === 'notice.followup').map((e) => `${e.noticeId}.followup.${String(e.data.n)}`));
  const firstHandOver = new Map<string, number>();
  for (const line of input.relayLog) {
    if (!line.from) continue;
    const seen = firstHandOver.get(line.from);
    if (seen === undefined || line.at < seen) firstHandOver.set(line.from, line.at);
  }
  const sendsAfterClose: string[] = [];
  for (const o of outbound) {
    if (!o.envelopeFrom || coordinatorFollowups.has(o.id)) continue;
    const handed = firstHandOver.get(o.envelopeFrom);
    if (handed === undefined) continue;
    const claimedAt = Date.parse(o.createdAt);
    const closedAt = closedAtTime(eventsOf.get(o.noticeId) ?? [], claimedAt);
    if (closedAt !== undefined && toDomain(handed) > closedAt) {
      sendsAfterClose.push(`${o.id} composed at ${o.createdAt}, after its notice closed at ${new Date(closedAt).toISOString()}, and handed over`);
    }
  }

  // two parties' hands: an indicator with two cases not finished, at the end or in a snapshot during the run
  const twoHands = new Map(input.twoHandsSeen);
  const byValue = new Map<string, Case[]>();
  for (const c of cases) byValue.set(c.indicator.value, [...(byValue.get(c.indicator.value) ?? []), c]);
  for (const [value, list] of byValue) {
    const open = list.filter((c) => !FINISHED.has(c.state));
    if (open.length > 1) twoHands.set(value, `at the end: ${open.map((c) => `${c.id} ${c.state} step ${c.step}`).join(', ')}`);
  }

  const countMismatches: string[] = [];
  for (const n of notices.values()) {
    const actual = (casesOf.get(n.id) ?? []).length;
    if (actual !== n.caseCount) countMismatches.push(`${n.id} (${n.state}) counts ${n.caseCount} cases, ${actual} name it`);
  }

  const tally = <T>(items: readonly T[], key: (t: T) => string) => items.reduce<Record<string, number>>((acc, t) => ({ ...acc, [key(t)]: (acc[key(t)] ?? 0) + 1 }), {});
  return {
    findings: {
      lostMessages: figure(lostMessages),
      lostNotices: figure(lostNotices),
      lostAnswers: figure(lostAnswers),
      unexplainedDuplicates: figure(unexplained),
      stuckOutbound: figure(stuckOutbound),
      stuckNotices: figure(stuckNotices),
      offTransport: figure(offTransport),
      sendsAfterClose: figure(sendsAfterClose),
      twoHands: figure([...twoHands].map(([v, why]) => `${v}: ${why}`)),
      countMismatches: figure(countMismatches),
    },
    counts: {
      campaigns: campaigns.length,
      campaignsDone: campaigns.filter((c) => c.state === 'done').length,
      notices: notices.size,
      noticesByState: tally([...notices.values()], (n) => n.state),
      cases: cases.length,
      casesByState: tally(cases, (c) => c.state),
      messages: tally(outbound, (o) => o.kind),
      answersStored: answers.size,
      reviews,
      uncertain: [...uncertain.values()].reduce((a, b) => a + b, 0),
      duplicatesExplained: explained,
      events: events.length,
    },
  };
}

/** When the notice was closed (escalated, exhausted, cancelled) at `at`, the domain time it closed; else undefined. */
function closedAtTime(events: readonly AuditEvent[], at: number): number | undefined {
  let closedAt: number | undefined;
  for (const e of events) {
    const t = Date.parse(e.at);
    if (t >= at) break;
    if (CLOSING.has(e.type)) closedAt ??= t;
    // a notice reopened (a case found still reachable, a question answered after it closed) is open again
    else if (e.type === 'notice.resumed' || e.type === 'notice.sent') closedAt = undefined;
  }
  return closedAt;
}
