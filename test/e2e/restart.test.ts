import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openMessageStore } from '../../lib/local/message-store.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent, Case, Notice, Outbound } from '../../lib/core/model.js';
import {
  REPO_ROOT,
  api,
  getCampaign,
  killAllHosts,
  killHard,
  makeDataDir,
  outboxCount,
  outboxMessages,
  readClock,
  removeDataDirs,
  sleep,
  startServe,
  waitFor,
  type CampaignView,
  type OutboxMessage,
  type ServedHost,
} from './support.js';

// 24 h of domain time pass in 10 real seconds: reminders of a day's deadline come while the test waits
const FAST = 8640;
const DAY = 24 * 3600;
// the SIGKILL drill runs slower, 24 h in 24 real seconds, so that a resumed wait and a restarted one end far apart:
// the host stays dead DOWN_MS, and a wait restarted with a full SLA would end at least that long after the stored
// deadline. LATE_MS, what a resumed reminder may lag its deadline (the engine waits whole seconds, rounded up, and
// a loaded machine running the suite adds seconds more: 2.5 and 4.2 s were seen), stays well under DOWN_MS.
const RESUME_SCALE = 3600;
const DOWN_MS = 10_000;
const LATE_MS = 6000;
// how long past the last deadline the answered notices are watched for a reminder that must not come
const SETTLE_MS = 2500;

type NoticeView = CampaignView['notices'][number];

async function submitExample(host: ServedHost): Promise<string> {
  const content = readFileSync(join(REPO_ROOT, 'examples/campaign.csv'), 'utf8');
  const res = await api<{ campaign: { id: string } }>(host, '/campaigns', {
    body: { name: 'Restart drill', submitter: 'e2e', content, requireApproval: false },
  });
  expect(res.status).toBe(201);
  return res.body.campaign.id;
}

function waitAllSent(host: ServedHost, campaignId: string): Promise<CampaignView> {
  return waitFor(
    async () => {
      const view = await getCampaign(host, campaignId);
      const done = view.campaign.state === 'running' && view.notices.length > 1 && view.notices.every((n) => n.state === 'sent');
      return done ? view : undefined;
    },
    20_000,
    'every notice of the campaign to be sent',
  );
}

function openDb(dataDir: string, readonly = false): Database.Database {
  return new Database(join(dataDir, 'takedown.db'), { readonly, fileMustExist: true });
}

function storedNotices(dataDir: string): Map<string, Notice> {
  const db = openDb(dataDir, true);
  try {
    const rows = db.prepare('SELECT data FROM notices').all() as { data: string }[];
    return new Map(rows.map((r) => JSON.parse(r.data) as Notice).map((n) => [n.id, n]));
  } finally {
    db.close();
  }
}

function storedOutbound(dataDir: string, id: string): Outbound | undefined {
  const db = openDb(dataDir, true);
  try {
    const row = db.prepare('SELECT data FROM outbound WHERE id = ?').get(id) as { data: string } | undefined;
    return row && (JSON.parse(row.data) as Outbound);
  } finally {
    db.close();
  }
}

function storedEvents(dataDir: string, campaignId: string): AuditEvent[] {
  const db = openDb(dataDir, true);
  try {
    const rows = db.prepare('SELECT data FROM events WHERE campaign_id = ? ORDER BY seq').all(campaignId) as { data: string }[];
    return rows.map((r) => JSON.parse(r.data) as AuditEvent);
  } finally {
    db.close();
  }
}

/**
 * Rewrite stored records of a dead host the way a crash at some point would have left them. Each write bumps
 * the version in the column and in the JSON alike, as the store does.
 */
function rewrite(dataDir: string, edit: (db: Database.Database) => void): void {
  const db = openDb(dataDir);
  try {
    db.transaction(() => edit(db))();
  } finally {
    db.close();
  }
}

function rewriteNotice(db: Database.Database, id: string, change: (n: Notice) => Notice): void {
  const cur = JSON.parse((db.prepare('SELECT data FROM notices WHERE id = ?').get(id) as { data: string }).data) as Notice;
  const next = { ...change(cur), version: cur.version + 1 };
  const r = db.prepare('UPDATE notices SET state = ?, version = ?, data = ? WHERE id = ? AND version = ?').run(next.state, next.version, JSON.stringify(next), id, cur.version);
  expect(r.changes).toBe(1);
}

function rewriteCasesOf(db: Database.Database, noticeId: string, change: (c: Case) => Case): void {
  const rows = db.prepare('SELECT data FROM cases WHERE notice_id = ?').all(noticeId) as { data: string }[];
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    const cur = JSON.parse(row.data) as Case;
    const next = { ...change(cur), version: cur.version + 1 };
    const r = db.prepare('UPDATE cases SET state = ?, version = ?, data = ? WHERE id = ? AND version = ?').run(next.state, next.version, JSON.stringify(next), cur.id, cur.version);
    expect(r.changes).toBe(1);
  }
}

function rewriteOutbound(db: Database.Database, id: string, change: (o: Outbound) => Outbound): void {
  const cur = JSON.parse((db.prepare('SELECT data FROM outbound WHERE id = ?').get(id) as { data: string }).data) as Outbound;
  const next = { ...change(cur), version: cur.version + 1 };
  const r = db.prepare('UPDATE outbound SET version = ?, data = ? WHERE id = ? AND version = ?').run(next.version, JSON.stringify(next), id, cur.version);
  expect(r.changes).toBe(1);
}

/**
 * Every given notice was taken up again by the restarted host: its execution ran and parked a fresh task token,
 * which bumps the stored version past what the dead host left.
 */
function waitResumed(
  host: ServedHost,
  campaignId: string,
  leftBy: ReadonlyMap<string, Notice>,
  ids: readonly string[],
  settled: (n: NoticeView) => boolean = () => true,
): Promise<CampaignView> {
  return waitFor(
    async () => {
      const view = await getCampaign(host, campaignId);
      const byId = new Map(view.notices.map((n) => [n.id, n]));
      const done = ids.every((id) => {
        const n = byId.get(id);
        return n !== undefined && n.version > leftBy.get(id)!.version && settled(n);
      });
      return done ? view : undefined;
    },
    15_000,
    `the restarted host to resume every open notice (${ids.length}) and settle it`,
  );
}

function messagesOf(messages: readonly OutboxMessage[], noticeId: string): { notices: OutboxMessage[]; reminders: OutboxMessage[] } {
  const own = messages.filter((m) => m.headers.get('x-takedown-notice') === noticeId);
  return {
    notices: own.filter((m) => !/\bReminder \d+:/.test(m.headers.get('subject') ?? '')),
    reminders: own.filter((m) => /\bReminder 1:/.test(m.headers.get('subject') ?? '')),
  };
}

/** Wait until each of the notices has its first reminder in the outbox; returns the reminders by notice. */
function waitReminders(dataDir: string, notices: readonly NoticeView[], timeoutMs: number): Promise<Map<string, OutboxMessage>> {
  return waitFor(
    () => {
      const all = outboxMessages(dataDir);
      const found = new Map<string, OutboxMessage>();
      for (const n of notices) {
        const r = messagesOf(all, n.id).reminders[0];
        if (r) found.set(n.id, r);
      }
      return found.size === notices.length ? found : undefined;
    },
    timeoutMs,
    `the first reminder of ${notices.length} notices`,
  );
}

describe('the embedded host after a SIGKILL', () => {
  afterEach(async () => {
    await killAllHosts();
  });

  afterAll(async () => {
    await killAllHosts();
    removeDataDirs();
  });

  it('every open notice continues after a SIGKILL with the time it had left, and nothing is sent twice', async () => {
    // Prepare: a campaign fully sent, then the host killed mid-wait and left dead for a while
    const dataDir = makeDataDir();
    const first = await startServe({ dataDir, timeScale: RESUME_SCALE });
    const campaignId = await submitExample(first);
    const sent = await waitAllSent(first, campaignId);
    const sentSeenAt = Date.now();
    await killHard(first);

    const outboxBefore = outboxCount(dataDir);
    expect(outboxBefore).toBe(sent.notices.length);
    const leftBy = storedNotices(dataDir);
    for (const n of sent.notices) expect(leftBy.get(n.id)?.deadline).toBe(n.deadline);
    const due = sent.notices.filter((n) => n.answerDeadline === DAY);
    const later = sent.notices.filter((n) => n.answerDeadline > DAY);
    expect(due.length).toBeGreaterThanOrEqual(3);
    // the timeline the deadlines were set on: when, in real time, each notice's time runs out
    const firstClock = readClock(dataDir);
    const realDeadline = new Map(due.map((n) => [n.id, firstClock.realOf(n.deadline!)]));
    await sleep(Math.max(0, sentSeenAt + DOWN_MS - Date.now()));
    const restartedAt = Date.now();
    for (const n of due) {
      // a wait restarted with a full SLA would end this late: the test tells it from a resumed one only if it is
      // well past LATE_MS
      const waitBegan = realDeadline.get(n.id)! - (DAY * 1000) / RESUME_SCALE;
      expect(restartedAt - waitBegan, 'real ms from the start of the wait to the restart').toBeGreaterThan(LATE_MS + 2000);
    }

    // Act
    const second = await startServe({ dataDir, timeScale: RESUME_SCALE });
    const resumed = await waitResumed(second, campaignId, leftBy, sent.notices.map((n) => n.id));

    // Assess: the restart alone sent nothing and moved no deadline
    expect(outboxCount(dataDir)).toBe(outboxBefore);
    for (const n of resumed.notices) {
      expect(n.state).toBe('sent');
      expect(n.remindersSent).toBe(0);
      expect(n.deadline).toBe(leftBy.get(n.id)!.deadline);
    }
    // the restarted host's clock continues that timeline, the time spent dead included
    const clock = readClock(dataDir);
    for (const n of due) expect(Math.abs(clock.realOf(n.deadline!) - realDeadline.get(n.id)!)).toBeLessThan(50);
    const resumedAt = Date.now();
    for (const n of due) {
      // otherwise the machine was too slow for this test to tell a resumed wait from a restarted one
      expect(realDeadline.get(n.id)! - resumedAt, 'real ms left of the deadline after the restart').toBeGreaterThan(2000);
    }

    // Assess: the reminders come at the stored deadline, not a whole SLA after the restart
    const lastDeadline = Math.max(...realDeadline.values());
    const reminders = await waitReminders(dataDir, due, lastDeadline - Date.now() + LATE_MS + 4000);
    for (const n of due) {
      const arrived = reminders.get(n.id)!.mtimeMs;
      const expected = realDeadline.get(n.id)!;
      expect(arrived, `reminder of ${n.id} came before its deadline`).toBeGreaterThanOrEqual(expected - 100);
      expect(arrived - expected, `ms the reminder of ${n.id} came after its stored deadline`).toBeLessThan(LATE_MS);
      // the relay has the message before the host records it sent: give the record a moment to follow
      const record = await waitFor(() => {
        const r = storedOutbound(dataDir, `${n.id}.reminder.1`);
        return r?.state === 'sent' ? r : undefined;
      }, 5000, `the reminder of ${n.id} recorded as sent`);
      expect(record.state).toBe('sent');
      const sentDomain = Date.parse(record!.sentAt!);
      expect(sentDomain).toBeGreaterThanOrEqual(Date.parse(n.deadline!));
      expect(sentDomain - Date.parse(n.deadline!)).toBeLessThan(LATE_MS * RESUME_SCALE);
    }

    // Assess: every notice went out exactly once; a later deadline has not fired early
    const all = outboxMessages(dataDir);
    for (const n of sent.notices) expect(messagesOf(all, n.id).notices, `messages of notice ${n.id}`).toHaveLength(1);
    for (const n of due) expect(messagesOf(all, n.id).reminders).toHaveLength(1);
    const now = Date.now();
    for (const n of later) {
      if (clock.realOf(n.deadline!) > now + 500) expect(messagesOf(all, n.id).reminders, `early reminder of ${n.id}`).toHaveLength(0);
    }
  }, 75_000);

  it('an answer stored before the crash is not lost', async () => {
    // Prepare: two hosting notices answered 'actioned'; the host dies at once after the answers
    const dataDir = makeDataDir();
    const first = await startServe({ dataDir, timeScale: FAST });
    const campaignId = await submitExample(first);
    const sent = await waitAllSent(first, campaignId);
    const hosting = sent.notices.filter((n) => n.answerDeadline === DAY);
    expect(hosting.length).toBeGreaterThanOrEqual(4);
    const [answered, cutShort, ...others] = hosting as [NoticeView, NoticeView, ...NoticeView[]];
    for (const n of [answered, cutShort]) {
      const res = await api<{ applied: boolean; notice: { state: string } }>(first, `/notices/${n.id}/answers`, {
        body: { intent: 'actioned', note: 'removed the server' },
      });
      expect(res.status).toBe(200);
      expect(res.body.notice.state).toBe('closed');
    }
    await killHard(first);
    // the second answer as a crash inside recordAnswer leaves it: stored, but applied to neither cases nor notice
    rewrite(dataDir, (db) => {
      rewriteCasesOf(db, cutShort.id, (c) => ({ ...c, state: 'notified' }));
      rewriteNotice(db, cutShort.id, (n) => ({ ...n, state: 'sent', appliedAnswers: [] }));
    });
    const leftBy = storedNotices(dataDir);
    expect(leftBy.get(answered.id)?.state).toBe('closed');
    expect(leftBy.get(cutShort.id)?.state).toBe('sent');

    // Act
    const second = await startServe({ dataDir, timeScale: FAST });
    await waitResumed(second, campaignId, leftBy, others.map((n) => n.id));

    // Assess: both answers hold
    for (const n of [answered, cutShort]) {
      const res = await api<{ notice: Notice; cases: Case[] }>(second, `/notices/${n.id}`);
      expect(res.status).toBe(200);
      expect(res.body.notice.state, `state of ${n.id}`).toBe('closed');
      expect(res.body.cases.length).toBe(n.caseCount);
      expect(new Set(res.body.cases.map((c) => c.state))).toStrictEqual(new Set(['actioned']));
    }

    // Assess: the others are reminded at their deadline, the answered ones are not
    const clock = readClock(dataDir);
    const lastDeadline = Math.max(...hosting.map((n) => clock.realOf(n.deadline!)));
    await waitReminders(dataDir, others, lastDeadline - Date.now() + 8000);
    await sleep(Math.max(0, lastDeadline + SETTLE_MS - Date.now()));
    const all = outboxMessages(dataDir);
    for (const n of [answered, cutShort]) {
      expect(messagesOf(all, n.id).reminders, `reminders of the answered notice ${n.id}`).toHaveLength(0);
      expect(messagesOf(all, n.id).notices).toHaveLength(1);
      const res = await api<{ notice: Notice }>(second, `/notices/${n.id}`);
      expect(res.body.notice.state).toBe('closed');
      expect(res.body.notice.remindersSent).toBe(0);
    }
  }, 45_000);

  it('a crash between the SMTP hand-off and the sent record leaves the notice uncertain, and the restart resends the same bytes once', async () => {
    // Prepare: a campaign fully sent at real speed (no deadline comes near), then the host killed
    const dataDir = makeDataDir();
    const first = await startServe({ dataDir, timeScale: 1 });
    const campaignId = await submitExample(first);
    const sent = await waitAllSent(first, campaignId);
    await killHard(first);
    const original = outboxMessages(dataDir);
    expect(original).toHaveLength(sent.notices.length);

    // Two notices put back as a crash right after the hand-off leaves them: the outbound 'sending', the
    // notice not yet marked sent, its cases not yet notified. sendNotice writes no notice state before the
    // hand-off, so such a notice is still 'planned'; the other is put in 'sending', the state the model has
    // for that window, so both ways in are covered.
    const [planned, sending] = sent.notices as [NoticeView, NoticeView, ...NoticeView[]];
    const windowed = new Map([
      [planned.id, 'planned'],
      [sending.id, 'sending'],
    ] as const);
    const keptBytes: [string, string][] = [];
    rewrite(dataDir, (db) => {
      for (const [id, state] of windowed) {
        // in that window the part is 'sending' and its exact bytes are still kept (the masked copy replaces them
        // only once the part is recorded sent): the bytes the relay got are put back below, where they were kept
        const delivered = messagesOf(original, id).notices[0]!.raw;
        rewriteOutbound(db, `${id}.notice.0`, ({ sentAt: _s, transportId: _t, ...o }) => ({
          ...o,
          state: 'sending',
          parts: o.parts!.map(({ sentAt: _ps, transportId: _pt, maskedSha256: _m, ...p }) => {
            const rawKey = p.rawKey.replace(/\.masked\.eml$/, '.eml');
            keptBytes.push([rawKey, delivered.toString('utf8')]);
            return { ...p, state: 'sending' as const, rawKey };
          }),
        }));
        rewriteCasesOf(db, id, (c) => ({ ...c, state: 'open' }));
        rewriteNotice(db, id, ({ sentAt: _s, deadline: _d, messageId: _m, taskToken: _t, ...n }) => ({ ...n, state, tokenHash: '' }));
      }
    });
    const messages = openMessageStore({ messages: join(dataDir, 'messages') });
    for (const [key, raw] of keptBytes) await messages.put(key, raw);
    messages.close();
    const leftBy = storedNotices(dataDir);

    // Act
    const second = await startServe({ dataDir, timeScale: 1 });
    // a resent notice passes through 'uncertain' (a version bump of its own) before it is 'sent' again
    const resumed = await waitResumed(second, campaignId, leftBy, sent.notices.map((n) => n.id), (n) => n.state === 'sent');

    // Assess: sent again, recorded as uncertain once each
    for (const id of windowed.keys()) {
      const n = resumed.notices.find((x) => x.id === id)!;
      expect(n.state).toBe('sent');
      expect(n.deadline).toBeDefined();
      const res = await api<{ cases: Case[] }>(second, `/notices/${id}`);
      expect(new Set(res.body.cases.map((c) => c.state))).toStrictEqual(new Set(['notified']));
      const record = storedOutbound(dataDir, `${id}.notice.0`);
      expect(record?.state).toBe('sent');
      expect(record?.attempts).toBe(2);
    }
    const uncertain = storedEvents(dataDir, campaignId).filter((e) => e.type === 'message.uncertain');
    expect(uncertain.map((e) => e.noticeId).sort()).toStrictEqual([...windowed.keys()].sort());
    expect(uncertain.map((e) => e.data.outbound).sort()).toStrictEqual([...windowed.keys()].map((id) => `${id}.notice.0`).sort());

    // Assess: exactly one more message for each of them, byte for byte the first one; nobody else got one
    await sleep(500);
    const after = outboxMessages(dataDir);
    expect(after).toHaveLength(original.length + windowed.size);
    for (const n of sent.notices) {
      const before = messagesOf(original, n.id).notices;
      const now = messagesOf(after, n.id).notices;
      expect(before).toHaveLength(1);
      if (!windowed.has(n.id)) {
        expect(now, `messages of the untouched notice ${n.id}`).toHaveLength(1);
        continue;
      }
      expect(now, `messages of the uncertain notice ${n.id}`).toHaveLength(2);
      const resent = now.find((m) => m.file !== before[0]!.file)!;
      expect(resent.headers.get('message-id')).toBe(before[0]!.headers.get('message-id'));
      expect(resent.headers.get('message-id')).toMatch(new RegExp(`^<${n.id}\\.notice\\.0@`));
      expect(resent.raw.equals(before[0]!.raw), `the resent bytes of ${n.id} equal the first`).toBe(true);
    }
  }, 40_000);
});
