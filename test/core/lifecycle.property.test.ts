import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { recordAnswer } from '../../lib/core/answers/index.js';
import { approveCampaign, control, resumeAll, submitCampaign, type ControlAction } from '../../lib/core/campaign/index.js';
import { buildNotices } from '../../lib/core/campaign/plan.js';
import { routeCampaign } from '../../lib/core/campaign/route.js';
import { MailRejectedError, MailTransientError, SendingHaltedError, StaleWriteError, TakedownError, TaskTokenExpiredError } from '../../lib/core/errors.js';
import { CASE_FINISHED } from '../../lib/core/lifecycle.js';
import type { AnswerIntent, AuditEvent, Case, Notice } from '../../lib/core/model.js';
import { awaitAnswer, noticeDeadline, sendFollowup, sendNotice } from '../../lib/core/notices/index.js';
import type { NoticeStep } from '../../lib/core/notices/step.js';
import type { Deps, ExecutionStatus, Ids, MailDraft, Mailer, MessageStore, SentMail, Store, WorkflowName, Workflows } from '../../lib/core/ports.js';
import { DirectoryResolver, loadDirectory } from '../../lib/adapters/directory/directory.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { silentLogger } from '../../lib/adapters/runtime/logger.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { fileTemplateSource } from '../../lib/adapters/templates/templates.fs.js';
import { useDynalite } from '../support/dynalite.js';

/*
 * The lifecycle under random interleavings: answers of every intent, deadlines passing, a coordinator's pause,
 * resume, cancel and escalate on campaigns, notices and cases, questions answered, a relay that refuses or drops, and
 * crashes at any write followed by a restart (resumeAll), on both stores. The core is called directly, with a clock
 * the test moves, a mailer that records every composition and hand-over, and a small engine that runs each notice
 * execution the way workflows/notice.asl.json does (send, wait with a token, deadline, undeliverable). After every
 * step:
 *  - an indicator is in one party's hands at a time: at most one of its cases is not finished;
 *  - no message is composed for a notice after it closed, unless it was claimed before (a reminder's claim);
 *  - every event stands for a change: no case escalated, expired or cancelled twice, no notice closed twice;
 *  - a notice counts the cases that name it, and every answer stored is applied;
 *  - a Message-ID handed over twice has an uncertain hand-over recorded to explain it.
 * Ids follow from a counter and the clock moves only when told, so a failure replays: its seed and shrunk steps are
 * printed with the notices, cases and events it left. TAKEDOWN_PROPERTY_SEED=<n> explores another seed.
 */

const T0 = Date.parse('2026-03-02T08:00:00.000Z');
const HOUR = 3_600_000;

const DIRECTORY = `networks:
  - { cidr: 192.0.2.0/25, name: Alpha Hosting (example), abuse: abuse@alpha.example, country: KE }
  - { cidr: 192.0.2.128/25, name: Beta Hosting (example), abuse: abuse@beta.example, country: KE }
registrars:
  - { suffix: example, name: Example Registrar, abuse: abuse@registrar.example, country: KE }
certs:
  - { country: KE, name: KE CERT (example), abuse: incident@cert-ke.example }
`;
const CSV = ['indicator,type,country,evidence', '192.0.2.10,ip,KE,c2', '192.0.2.11,ip,KE,c2', '192.0.2.200,ip,KE,c2', '192.0.2.201,ip,KE,c2', 'phish-a.example,domain,KE,phishing', 'phish-b.example,domain,KE,phishing'].join('\n');

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** Ids that follow from a counter: a failing interleaving replays exactly, and shrinks. */
class CountingIds implements Ids {
  private n = 0;
  private next(length: number): string {
    let x = ++this.n;
    let out = '';
    for (let i = 0; i < length; i++) {
      out = ALPHABET[x % 32] + out;
      x = Math.floor(x / 32);
    }
    return out;
  }
  newId(prefix: string): string {
    return `${prefix}${this.next(16)}`;
  }
  derive(prefix: string, ...parts: string[]): string {
    const digest = createHash('sha256').update(parts.join('\u0000')).digest();
    let out = '';
    for (let i = 0; i < 16; i++) out += ALPHABET[digest[i]! % 32];
    return `${prefix}${out}`;
  }
  newToken(): string {
    return this.next(32);
  }
  hash(value: string): string {
    return createHash('sha256').update(value).digest('hex');
  }
  tokenMatches(token: string, hash: string): boolean {
    return this.hash(token) === hash;
  }
}

/** A process dying: every call after the chosen one fails, as the store, the mailer and the engine are gone. */
class CrashError extends Error {
  constructor() {
    super('the process died');
    this.name = 'CrashError';
  }
}

const CLOSED_NOTICE = new Set(['closed', 'escalated', 'exhausted', 'cancelled']);

/** Records every composition (and whether its notice had closed) and every hand-over; fails as told. */
class RecordingMailer implements Mailer {
  readonly handedOver = new Map<string, number>();
  readonly violations: string[] = [];
  mode: 'ok' | 'refuse' | 'drop' = 'ok';
  /** a coordinator's follow-ups under way: composed on purpose, whatever the notice's state */
  coordinator = 0;
  constructor(private readonly store: () => Store) {}

  async compose(draft: MailDraft): Promise<string> {
    const m = /^<(n[0-9a-z]{16})\.(notice|reminder|followup)\.(\d+)(?:\.p\d+)?@/.exec(draft.messageId);
    if (m) {
      const notice = await this.store().getNotice(m[1]!);
      const claimed = m[2] === 'reminder' && notice?.reminding === Number(m[3]);
      if (notice && CLOSED_NOTICE.has(notice.state) && !claimed && !(m[2] === 'followup' && this.coordinator > 0)) {
        this.violations.push(`${draft.messageId} composed while its notice was ${notice.state}`);
      }
    }
    return [`Message-ID: ${draft.messageId}`, `To: ${draft.to}`, `Reply-To: ${draft.replyTo}`, `Subject: ${draft.subject}`, '', draft.text, ''].join('\r\n');
  }

  async sendRaw(_envelope: { from: string; to: string }, raw: string): Promise<SentMail> {
    if (this.mode === 'refuse') throw new MailTransientError('the relay answered 451');
    const id = /^Message-ID: (\S+)/m.exec(raw)![1]!;
    this.handedOver.set(id, (this.handedOver.get(id) ?? 0) + 1);
    if (this.mode === 'drop') throw new MailTransientError('the connection dropped before the 250', { maybeDelivered: true });
    return { transportId: id, destination: 'recorded' };
  }
}

class MemoryMessages implements MessageStore {
  readonly data = new Map<string, string>();
  async put(key: string, raw: string): Promise<void> {
    this.data.set(key, raw);
  }
  async get(key: string): Promise<string | undefined> {
    return this.data.get(key);
  }
  async delete(key: string): Promise<void> {
    this.data.delete(key);
  }
}

interface Execution {
  readonly noticeId: string;
  readonly round: number;
  /** one step at a time, as an engine runs an execution */
  busy?: boolean;
  at: 'send' | 'waiting' | 'holding' | 'deadline' | 'undeliverable' | 'ended';
  until?: number;
  token?: string;
  woken?: NoticeStep;
}

/** The notice workflow (workflows/notice.asl.json) as a loop the test steps: executions live in memory only. */
class Engine implements Workflows {
  readonly executions = new Map<string, Execution>();
  private tokens = 0;
  constructor(private readonly deps: () => Deps) {}

  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void> {
    if (workflow !== 'notice' || this.executions.has(name)) return;
    this.executions.set(name, { noticeId: String(input.noticeId), round: Number(input.round), at: 'send' });
  }

  async succeed(token: string, output: Record<string, unknown>): Promise<void> {
    const e = [...this.executions.values()].find((x) => x.at === 'waiting' && x.token === token);
    if (!e) throw new TaskTokenExpiredError();
    e.token = undefined;
    e.woken = output as NoticeStep;
  }

  async describe(_workflow: WorkflowName, name: string): Promise<ExecutionStatus> {
    const e = this.executions.get(name);
    return !e ? 'absent' : e.at === 'ended' ? 'succeeded' : 'running';
  }

  /** Runs every execution until each waits (for a token, a deadline, a retry) or ends. */
  async tick(): Promise<void> {
    for (let pass = 0; pass < 8; pass++) {
      let moved = false;
      for (const e of [...this.executions.values()]) if (await this.run(e)) moved = true;
      if (!moved) return;
    }
  }

  /** The waiting execution of a notice's round is woken by its timer now (a slice of a long wait ends), if it waits. */
  fire(noticeId: string, round: number, undeliverable: boolean): void {
    const e = this.executions.get(`notice-${noticeId}-r${round}`);
    if (e?.at === 'waiting' && !e.busy) Object.assign(e, undeliverable ? { at: 'undeliverable' } : { until: this.deps().clock.now().getTime() });
  }

  private async run(e: Execution): Promise<boolean> {
    if (e.busy) return false;
    e.busy = true;
    try {
      return await this.step(e);
    } finally {
      e.busy = false;
    }
  }

  private async step(e: Execution): Promise<boolean> {
    const deps = this.deps();
    const now = () => deps.clock.now().getTime();
    let moved = false;
    for (let i = 0; i < 12; i++) {
      let step: NoticeStep;
      try {
        if (e.at === 'send') step = await sendNotice(deps, e.noticeId, e.round);
        else if (e.at === 'deadline') step = await noticeDeadline(deps, e.noticeId, false, e.round);
        else if (e.at === 'undeliverable') step = await noticeDeadline(deps, e.noticeId, true, e.round);
        else if (e.at === 'waiting' && e.woken) {
          step = e.woken;
          e.woken = undefined;
        } else if (e.at === 'waiting' && now() >= e.until!) step = { next: 'deadline' };
        else if (e.at === 'holding' && now() >= e.until!) {
          e.at = 'send';
          continue;
        } else return moved;
      } catch (err) {
        // the Catch on MailRejectedError; the retries (and SendLater, DeadlineLater) on the transient ones
        if (err instanceof MailRejectedError && e.at !== 'undeliverable') {
          e.at = 'undeliverable';
          moved = true;
          continue;
        }
        if (err instanceof MailTransientError || err instanceof SendingHaltedError || err instanceof StaleWriteError) return moved;
        throw err;
      }
      moved = true;
      if (step.next === 'wait') {
        const token = `t${++this.tokens}`;
        Object.assign(e, { at: 'waiting', until: now() + step.seconds * 1000, token });
        await awaitAnswer(deps, e.noticeId, step.seen, token, e.round).catch((err: unknown) => {
          if (!(err instanceof StaleWriteError)) throw err;
        });
      } else if (step.next === 'hold') Object.assign(e, { at: 'holding', until: now() + step.seconds * 1000 });
      else if (step.next === 'deadline') e.at = 'deadline';
      else {
        e.at = 'ended';
        return true;
      }
    }
    return moved;
  }
}

/** The store of a process that dies at its `after`-th write: that write and every call after it fail. */
function dying<T extends object>(target: T, budget: { left: number }, writes: RegExp): T {
  return new Proxy(target, {
    get(t, prop, receiver) {
      const value = Reflect.get(t, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (budget.left <= 0) return Promise.reject(new CrashError());
        if (writes.test(String(prop)) && --budget.left <= 0) return Promise.reject(new CrashError());
        return (value as (...a: unknown[]) => unknown).apply(t, args);
      };
    },
  });
}

type Action =
  | { t: 'tick' }
  | { t: 'advance'; hours: number }
  | { t: 'answer'; k: number; intent: AnswerIntent; one: boolean }
  | { t: 'control'; on: 'campaign' | 'notice' | 'case'; k: number; action: ControlAction }
  | { t: 'deadline'; k: number; undeliverable: boolean }
  | { t: 'followup'; k: number }
  | { t: 'relay'; mode: 'ok' | 'refuse' | 'drop' }
  | { t: 'crash'; writes: number; during: Action }
  | { t: 'both'; a: Action; b: Action }
  | { t: 'restart' };

const INTENTS: AnswerIntent[] = ['received', 'acknowledged', 'actioned', 'not-ours', 'needs-info', 'disputed'];
const simple: fc.Arbitrary<Action> = fc.oneof(
  { weight: 3, arbitrary: fc.constant<Action>({ t: 'tick' }) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 60 }).map<Action>((hours) => ({ t: 'advance', hours })) },
  { weight: 5, arbitrary: fc.record({ k: fc.nat(20), intent: fc.constantFrom(...INTENTS), one: fc.boolean() }).map<Action>((a) => ({ t: 'answer', ...a })) },
  {
    weight: 3,
    arbitrary: fc
      .record({ on: fc.constantFrom('campaign' as const, 'notice' as const, 'case' as const), k: fc.nat(20), action: fc.constantFrom<ControlAction>('pause', 'resume', 'cancel', 'escalate') })
      .map<Action>((a) => ({ t: 'control', ...a })),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.nat(20), undeliverable: fc.boolean() }).map<Action>((a) => ({ t: 'deadline', ...a })) },
  { weight: 1, arbitrary: fc.nat(20).map<Action>((k) => ({ t: 'followup', k })) },
  { weight: 1, arbitrary: fc.constantFrom<Action>({ t: 'relay', mode: 'ok' }, { t: 'relay', mode: 'refuse' }, { t: 'relay', mode: 'drop' }) },
  { weight: 1, arbitrary: fc.constant<Action>({ t: 'restart' }) },
);
// a restart is a new process: the one before it is gone, so it never runs alongside anything
const alongside = simple.filter((a) => a.t !== 'restart');
const action: fc.Arbitrary<Action> = fc.oneof(
  { weight: 6, arbitrary: simple },
  { weight: 2, arbitrary: fc.record({ writes: fc.integer({ min: 1, max: 25 }), during: simple }).map<Action>((a) => ({ t: 'crash', ...a })) },
  // two hands at once (an answer while the deadline step runs, a coordinator's pause while a reminder goes out):
  // they meet at every await, as requests and executions do in one host
  { weight: 2, arbitrary: fc.record({ a: alongside, b: alongside }).map<Action>((x) => ({ t: 'both', ...x })) },
);

/** One world: a campaign of six indicators sent to two hosting networks and a registrar, the CERT after them. */
class World {
  readonly ids = new CountingIds();
  realNow = T0;
  readonly clock = new ScaledClock({ anchorReal: T0, anchorDomain: T0, realNow: () => this.realNow });
  readonly mailer: RecordingMailer;
  readonly messages = new MemoryMessages();
  engine: Engine;
  deps: Deps;
  campaignId = '';
  readonly log: string[] = [];

  constructor(
    private readonly store: Store,
    parties: DirectoryResolver,
  ) {
    this.mailer = new RecordingMailer(() => this.deps.store);
    this.engine = new Engine(() => this.deps);
    this.deps = {
      store,
      workflows: this.engine,
      mailer: this.mailer,
      parties,
      clock: this.clock,
      ids: this.ids,
      log: silentLogger,
      templates: fileTemplateSource(),
      messages: this.messages,
      settings: { replyMailbox: 'takedown@reply.example', fromAddress: 'takedown@reply.example', senderName: 'Property test', pageSize: 100 },
    };
  }

  async setUp(): Promise<void> {
    const { campaign } = await submitCampaign(this.deps, { name: 'Property', submitter: 't', content: CSV, requireApproval: true, tlp: 'GREEN' });
    this.campaignId = campaign.id;
    await routeCampaign(this.deps, campaign.id);
    await buildNotices(this.deps, campaign.id);
    await approveCampaign(this.deps, campaign.id, 't');
    for (const n of await this.notices()) await this.engine.start('notice', `notice-${n.id}-r${n.round}`, { noticeId: n.id, round: n.round });
    await this.engine.tick();
  }

  async notices(): Promise<Notice[]> {
    return (await this.store.listNotices({ campaignId: this.campaignId }, { limit: 1000 })).items.sort((a, b) => a.id.localeCompare(b.id));
  }

  async cases(): Promise<Case[]> {
    return (await this.store.listCases({ campaignId: this.campaignId }, { limit: 1000 })).items.sort((a, b) => a.id.localeCompare(b.id));
  }

  /** Runs one action; a refusal the command is right to make (a state that does not allow it) is no failure. */
  async act(a: Action, n: number): Promise<void> {
    this.log.push(JSON.stringify(a));
    if (a.t === 'crash') {
      const budget = { left: a.writes };
      const alive = this.deps;
      const writes = /^(put|save|create|append|delete)/;
      const dyingStore = dying(this.store, budget, writes);
      const dyingMessages = dying(this.messages, budget, /^(put|delete)/);
      const dyingMailer: Mailer = {
        compose: (d) => this.mailer.compose(d),
        sendRaw: async (e, raw) => {
          if (budget.left <= 0) throw new CrashError();
          const sent = await this.mailer.sendRaw(e, raw);
          // the process may die right after the relay's 250, before anything is recorded
          if (--budget.left <= 0) throw new CrashError();
          return sent;
        },
      };
      this.deps = { ...alive, store: dyingStore, messages: dyingMessages, mailer: dyingMailer };
      try {
        await this.act(a.during, n).catch((e: unknown) => {
          if (!(e instanceof CrashError) && !(e instanceof Error && e.cause instanceof CrashError)) throw e;
        });
        await this.engine.tick().catch((e: unknown) => {
          if (!(e instanceof CrashError)) throw e;
        });
      } finally {
        this.deps = alive;
      }
      return this.restart();
    }
    if (a.t === 'restart') return this.restart();
    if (a.t === 'both') {
      await Promise.all([this.act(a.a, n), this.act(a.b, n + 0.5)]);
      return;
    }
    if (a.t === 'tick') return this.engine.tick();
    if (a.t === 'advance') {
      this.realNow += a.hours * HOUR;
      return this.engine.tick();
    }
    if (a.t === 'relay') {
      this.mailer.mode = a.mode;
      return;
    }
    const notices = await this.notices();
    const notice = notices[a.k % notices.length]!;
    try {
      if (a.t === 'answer') {
        const cases = (await this.cases()).filter((c) => c.noticeId === notice.id);
        await recordAnswer(this.deps, notice.id, { intent: a.intent, source: 'api', answerId: `p${n}`, ...(a.one && cases[0] ? { caseIds: [cases[0].id] } : {}) });
      } else if (a.t === 'control') {
        const cases = await this.cases();
        const id = a.on === 'campaign' ? this.campaignId : a.on === 'notice' ? notice.id : cases[a.k % cases.length]!.id;
        await control(this.deps, id, a.action, 'coordinator', 'property test');
      } else if (a.t === 'deadline') {
        // the execution's timer fires (or the relay refused it for good): the engine runs the step, once at a time
        this.engine.fire(notice.id, notice.round, a.undeliverable);
      } else if (a.t === 'followup') {
        this.mailer.coordinator++;
        try {
          await sendFollowup(this.deps, notice.id, { kind: 'answer', message: 'Here is what you asked for.', by: 'coordinator' }, 'coordinator');
        } finally {
          this.mailer.coordinator--;
        }
      }
    } catch (e) {
      // a refusal the state calls for, or a write that lost a race (the caller, a person or a client, tries again)
      if (!(e instanceof TakedownError) || (e.code === 'MESSAGE.LOST')) throw e;
    }
    await this.engine.tick();
  }

  /** A new process: the executions are gone; the host resumes from the store. */
  async restart(): Promise<void> {
    this.engine = new Engine(() => this.deps);
    this.deps = { ...this.deps, workflows: this.engine };
    await resumeAll(this.deps);
    await this.engine.tick();
  }

  /** The notices, cases and events, to read a failure by. */
  async dump(): Promise<string> {
    const lines = ['notices:'];
    for (const n of await this.notices()) lines.push(`  ${n.id} ${n.state} r${n.round} step ${n.step} ${n.party.email} caseCount ${n.caseCount} from [${(n.escalatedFrom ?? []).join(' ')}]${n.gathering ? ' gathering' : ''}`);
    lines.push('cases:');
    for (const c of await this.cases()) lines.push(`  ${c.id} ${c.indicator.value} step ${c.step} ${c.state} notice ${c.noticeId}${c.onward ? ` onward ${c.onward}` : ''}${c.escalatedFrom ? ` from ${c.escalatedFrom}` : ''}`);
    lines.push('events:');
    for (const e of await this.store.listEvents({ campaignId: this.campaignId })) {
      if (e.type === 'workflow.history' || e.type === 'audit.genesis') continue;
      lines.push(`  ${e.at.slice(5, 16)} ${e.type} ${e.noticeId ?? ''} ${e.caseId ?? ''} ${JSON.stringify(e.data).slice(0, 120)}`);
    }
    return lines.join('\n');
  }

  /** Every property; a list of what broke. */
  async broken(): Promise<string[]> {
    const out = [...this.mailer.violations];
    const cases = await this.cases();
    const notices = await this.notices();
    const events: AuditEvent[] = await this.store.listEvents({ campaignId: this.campaignId });
    const byValue = new Map<string, Case[]>();
    for (const c of cases) byValue.set(c.indicator.value, [...(byValue.get(c.indicator.value) ?? []), c]);
    for (const [value, list] of byValue) {
      const open = list.filter((c) => !CASE_FINISHED.has(c.state));
      if (open.length > 1) out.push(`${value} is in ${open.length} parties' hands: ${open.map((c) => `${c.id} ${c.state}`).join(', ')}`);
    }
    const caseById = new Map(cases.map((c) => [c.id, c]));
    for (const [type, states] of [
      ['case.escalated', ['escalated', 'not-ours']],
      ['case.expired', ['expired']],
      ['case.cancelled', ['cancelled']],
    ] as const) {
      const seen = new Map<string, number>();
      for (const e of events) if (e.type === type && e.caseId) seen.set(e.caseId, (seen.get(e.caseId) ?? 0) + 1);
      for (const [id, count] of seen) {
        const c = caseById.get(id);
        if (count > 1) out.push(`${type} recorded ${count} times for ${id}`);
        if (c && !(states as readonly string[]).includes(c.state)) out.push(`${type} recorded for ${id}, which is ${c.state}`);
      }
    }
    const closing = new Set(['notice.closed', 'notice.escalated', 'notice.exhausted', 'notice.cancelled']);
    const reopening = new Set(['notice.resumed', 'notice.sent', 'notice.rerouted']);
    const last = new Map<string, string>();
    for (const e of events) {
      if (!e.noticeId || e.caseId) continue;
      if (closing.has(e.type)) {
        if (last.has(e.noticeId)) out.push(`${e.noticeId}: ${e.type} after ${last.get(e.noticeId)} with nothing reopening it`);
        last.set(e.noticeId, e.type);
      } else if (reopening.has(e.type)) last.delete(e.noticeId);
    }
    for (const n of notices) {
      const named = cases.filter((c) => c.noticeId === n.id).length;
      if (named !== n.caseCount) out.push(`${n.id} (${n.state}) counts ${n.caseCount} cases; ${named} name it`);
      for (const a of await this.store.listAnswers(n.id)) if (!n.appliedAnswers.includes(a.id)) out.push(`answer ${a.id} is stored but not applied to ${n.id} (${n.state})`);
    }
    const uncertain = new Map<string, number>();
    for (const e of events) if (e.type === 'message.uncertain') uncertain.set(String(e.data.outbound), (uncertain.get(String(e.data.outbound)) ?? 0) + 1);
    for (const [messageId, count] of this.mailer.handedOver) {
      const outbound = /^<([^@]+?)(?:\.p\d+)?@/.exec(messageId)![1]!;
      if (count > 1 + (uncertain.get(outbound) ?? 0)) out.push(`${messageId} handed over ${count} times, ${uncertain.get(outbound) ?? 0} uncertain`);
    }
    return out;
  }
}

async function playOut(makeStore: () => Promise<{ store: Store; close(): Promise<void> }>, parties: DirectoryResolver, actions: readonly Action[]): Promise<void> {
  const { store, close } = await makeStore();
  const world = new World(store, parties);
  try {
    await world.setUp();
    expect(await world.broken()).toEqual([]);
    for (const [n, a] of actions.entries()) {
      await world.act(a, n);
      const broken = await world.broken();
      if (broken.length) throw new Error(`after ${world.log.length} steps:\n  ${world.log.join('\n  ')}\nbroken:\n  ${broken.join('\n  ')}\n${await world.dump()}`);
    }
  } finally {
    await close();
  }
}

const dir = mkdtempSync(join(tmpdir(), 'takedown-property-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function parties(): Promise<DirectoryResolver> {
  writeFileSync(join(dir, 'directory.yaml'), DIRECTORY);
  return new DirectoryResolver(await loadDirectory(join(dir, 'directory.yaml')));
}

const SEED = Number(process.env.TAKEDOWN_PROPERTY_SEED ?? 20_261_206);

describe('the lifecycle under random interleavings, on SQLite', () => {
  it('keeps one party per indicator, sends nothing after a close, records only changes, and adds up', async () => {
    const resolver = await parties();
    let n = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 30 }), (actions) =>
        playOut(async () => {
          const store = new SqliteStore(join(dir, `p${++n}.db`));
          return { store, close: async () => store.close() };
        }, resolver, actions),
      ),
      { numRuns: 100, seed: SEED, endOnFailure: false },
    );
  }, 60_000);
});

describe('the lifecycle under random interleavings, on DynamoDB (dynalite)', () => {
  const dynamo = useDynalite();
  it('keeps one party per indicator, sends nothing after a close, records only changes, and adds up', async () => {
    const resolver = await parties();
    await fc.assert(
      fc.asyncProperty(fc.array(action, { minLength: 4, maxLength: 20 }), (actions) =>
        playOut(async () => {
          const { store } = await dynamo.freshTable('property');
          return { store, close: async () => undefined };
        }, resolver, actions),
      ),
      { numRuns: 8, seed: SEED, endOnFailure: false },
    );
  }, 90_000);
});
