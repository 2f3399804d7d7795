import { readdirSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordAnswer, UNAPPLIED_KIND } from '../../lib/core/answers/index.js';
import { control, resumeAll, sendUnsent, sweep } from '../../lib/core/campaign/index.js';
import { MailTransientError } from '../../lib/core/errors.js';
import { noticeDeadline, sendFollowup, UNSENT_KIND } from '../../lib/core/notices/index.js';
import type { Deps, ExecutionStatus, Mailer, Store, WorkflowName, Workflows } from '../../lib/core/ports.js';
import { ScaledClock } from '../../lib/adapters/runtime/clock.js';
import { sentNotice, type SentNotice } from '../support/sent-notice.js';

/*
 * A host starting again after a stop cut a reminder short: the reminder was claimed and composed, its hand-over
 * refused for the moment, and the host died before the next try. At the next start two things want to send it: the
 * notice's own workflow (its deadline passed) and the pass over messages left unsent. The chaos run (npm run chaos)
 * caught them sending it side by side: the second found the first's hand-over in progress, took it for one a crash
 * had left, recorded it uncertain and sent it again.
 */

let sent: SentNotice;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The engine, as far as these tests need it: a notice execution runs the deadline step at once, not awaited. */
class EagerWorkflows implements Workflows {
  readonly running: Promise<unknown>[] = [];
  readonly started: string[] = [];
  constructor(
    private readonly deps: () => Deps,
    private readonly status: (name: string) => ExecutionStatus = () => 'absent',
  ) {}
  async start(workflow: WorkflowName, name: string, input: Record<string, unknown>): Promise<void> {
    this.started.push(name);
    if (workflow === 'notice') this.running.push(noticeDeadline(this.deps(), String(input.noticeId), false, Number(input.round)).catch((e: unknown) => e));
  }
  async succeed(): Promise<void> {}
  async describe(_workflow: WorkflowName, name: string): Promise<ExecutionStatus> {
    return this.started.includes(name) ? 'running' : this.status(name);
  }
}

/** The mailer with a hand-over that takes a while, as a relay's does. */
function slow(inner: Mailer, ms: number): Mailer {
  return { compose: (d) => inner.compose(d), sendRaw: async (e, raw) => (await sleep(ms), inner.sendRaw(e, raw)) };
}

function refusing(inner: Mailer): Mailer {
  return { compose: (d) => inner.compose(d), sendRaw: async () => Promise.reject(new MailTransientError('the relay answered 451 to DATA')) };
}

/** The notice as a stop leaves it: its deadline passed, its first reminder claimed, composed and marked unsent. */
async function cutShortReminder(): Promise<Deps> {
  const late = new ScaledClock({ anchorDomain: Date.now() + 25 * 3600_000 });
  const deps: Deps = { ...sent.deps, clock: late };
  await expect(noticeDeadline({ ...deps, mailer: refusing(sent.deps.mailer) }, sent.notice.id, false, 1)).rejects.toThrow(MailTransientError);
  const reminder = (await sent.store.getOutbound(`${sent.notice.id}.reminder.1`))!;
  expect(reminder.state).toBe('composed');
  expect(await sent.store.getRecord(UNSENT_KIND, reminder.id)).toBeDefined();
  return deps;
}

function deliveredTo(dir: string): number {
  return readdirSync(dir).filter((f) => f.endsWith('.eml')).length;
}

beforeEach(async () => {
  sent = await sentNotice();
});

afterEach(async () => {
  await sent.close();
});

describe('resumeAll', () => {
  it('sends a reminder a stop cut short once, though the notice workflow it starts wants to send it too', async () => {
    const deps = await cutShortReminder();
    const outbox = sent.outboxDir;
    const before = deliveredTo(outbox);
    let resumed!: Deps;
    const workflows = new EagerWorkflows(() => resumed);
    resumed = { ...deps, workflows, mailer: slow(sent.deps.mailer, 150) };

    await resumeAll(resumed);
    await Promise.all(workflows.running);

    expect(deliveredTo(outbox) - before).toBe(1);
    const events = await sent.store.listEvents({ noticeId: sent.notice.id });
    expect(events.filter((e) => e.type === 'message.uncertain')).toEqual([]);
    expect((await sent.store.getOutbound(`${sent.notice.id}.reminder.1`))!.state).toBe('sent');
    expect(await sent.store.getRecord(UNSENT_KIND, `${sent.notice.id}.reminder.1`)).toBeUndefined();
    const notice = (await sent.store.getNotice(sent.notice.id))!;
    expect(notice.remindersSent).toBe(1);
  });
});

/** The store of a process that dies at its n-th write: that write and every call after it fail. */
function diesAtWrite(store: Store, n: number): Store {
  let writes = 0;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (writes >= n || (/^(put|save|create|append|delete)/.test(String(prop)) && ++writes >= n)) return Promise.reject(new Error('the process died'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/** The store of a process that dies at the first write `at` picks (and at every call after it). */
function diesAt(store: Store, at: (method: string, arg: unknown) => boolean): Store {
  let dead = false;
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (dead || (/^(put|save|create|append|delete)/.test(String(prop)) && at(String(prop), args[0]))) {
          dead = true;
          return Promise.reject(new Error('the process died'));
        }
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

describe('resumeAll after a crash in an escalation nobody repeats', () => {
  it("carries a coordinator's 'escalate now' on to the next party when the host died before the onward case joined its notice", async () => {
    const [held] = (await sent.store.listCases({ noticeId: sent.notice.id })).items;
    // marked escalating (1), claim (2), its event (3), the onward notice (4), the onward case (5): the host dies
    // joining them (6)
    await expect(control({ ...sent.deps, store: diesAtWrite(sent.store, 6) }, held!.id, 'escalate', 'coordinator')).rejects.toThrow('the process died');
    const claimed = (await sent.store.getCase(held!.id))!;
    expect(claimed.state).toBe('escalated');
    const onward = (await sent.store.getCase(claimed.onward!))!;
    expect(onward.state).toBe('open');
    // the coordinator's retry is refused: the case has gone on, as far as it can tell
    await expect(control(sent.deps, held!.id, 'escalate', 'coordinator')).rejects.toThrow(/escalated/);

    const report = await resumeAll(sent.deps);

    const carried = (await sent.store.getCase(onward.id))!;
    const next = (await sent.store.getNotice(carried.noticeId!))!;
    expect(next.party.email).toBe('incident@cert-ke.example');
    expect(next.escalatedFrom).toContain(sent.notice.id);
    expect(next.caseCount).toBe((await sent.store.listCases({ noticeId: next.id })).items.length);
    expect(sent.workflows.started).toContain(`notice-${next.id}-r${next.round}`);
    expect(report.escalationsFinished).toBe(1);
    const events = await sent.store.listEvents({ caseId: held!.id });
    expect(events.filter((e) => e.type === 'case.escalated')).toHaveLength(1);
  });
});

describe('resumeAll after a crash between storing an answer and applying it', () => {
  it('applies it though its notice no longer waits: a late "taken down" to a notice that escalated', async () => {
    await control(sent.deps, sent.notice.id, 'escalate', 'coordinator');
    expect((await sent.store.getNotice(sent.notice.id))!.state).toBe('escalated');
    // marked unapplied (1), stored (2), then the host dies recording it (3): a webhook's retry is refused as a
    // replay, so nobody repeats it
    await expect(recordAnswer({ ...sent.deps, store: diesAtWrite(sent.store, 3) }, sent.notice.id, { intent: 'actioned', source: 'webhook', answerId: 'wh-1' })).rejects.toThrow('the process died');
    expect((await sent.store.listAnswers(sent.notice.id)).map((a) => a.id)).toEqual([`${sent.notice.id}:wh-1`]);

    const report = await resumeAll(sent.deps);

    expect((await sent.store.getNotice(sent.notice.id))!.appliedAnswers).toContain(`${sent.notice.id}:wh-1`);
    expect(report.answersApplied).toBe(1);
    // the trail says it was received, once, though the process died before it said so
    const received = (await sent.store.listEvents({ noticeId: sent.notice.id })).filter((e) => e.type === 'answer.received');
    expect(received.map((e) => e.data?.answer)).toEqual([`${sent.notice.id}:wh-1`]);
    expect((await sent.store.listRecords(UNAPPLIED_KIND)).items).toEqual([]);
    // the late answer counts where the cases now stand: with the CERT, which is told nothing more is needed
    const [escalated] = (await sent.store.listCases({ noticeId: sent.notice.id })).items;
    expect((await sent.store.getCase(escalated!.onward!))!.state).toBe('actioned');
  });
});

describe("a coordinator's follow-up the relay refuses for the moment", () => {
  it('is kept and sent once by the running host, rather than fail the command and be sent again by its retry', async () => {
    // found by npm run chaos: `takedown followup` answered 500 on a relay's 421 though the follow-up was recorded and
    // kept (sent at the next start, if one came); the coordinator's retry composed and sent a second one
    const before = deliveredTo(sent.outboxDir);
    const notice = await sendFollowup({ ...sent.deps, mailer: refusing(sent.deps.mailer) }, sent.notice.id, { kind: 'answer', message: 'The full URL is in the notice.', by: 'coordinator' }, 'coordinator');
    expect(notice.followupsSent).toBe(1);
    expect((await sent.store.getOutbound(`${sent.notice.id}.followup.1`))!.state).toBe('composed');
    expect(deliveredTo(sent.outboxDir)).toBe(before);

    expect(await sendUnsent(sent.deps)).toBe(1);
    expect(await sendUnsent(sent.deps)).toBe(0);

    expect(deliveredTo(sent.outboxDir) - before).toBe(1);
    expect((await sent.store.getOutbound(`${sent.notice.id}.followup.1`))!.state).toBe('sent');
  });
});

describe('sweep', () => {
  it('leaves a message left unsent to the running execution of its notice, which is sending it', async () => {
    const deps = await cutShortReminder();
    const outbox = sent.outboxDir;
    const before = deliveredTo(outbox);
    let swept!: Deps;
    // the notice's execution is running (on another function, say) and is at its deadline step right now
    const workflows = new EagerWorkflows(() => swept, (name) => (name === `notice-${sent.notice.id}-r1` ? 'running' : 'absent'));
    swept = { ...deps, workflows, mailer: slow(sent.deps.mailer, 150) };
    const own = noticeDeadline(swept, sent.notice.id, false, 1);

    await sweep(swept);
    await own;

    expect(deliveredTo(outbox) - before).toBe(1);
    const events = await sent.store.listEvents({ noticeId: sent.notice.id });
    expect(events.filter((e) => e.type === 'message.uncertain')).toEqual([]);
  });

  it('applies an answer a kill left stored once its application has had time to end, with the event it lacks', async () => {
    // marked unapplied (1), stored (2), then the process dies recording it (3): on AWS no start follows
    await expect(recordAnswer({ ...sent.deps, store: diesAtWrite(sent.store, 3) }, sent.notice.id, { intent: 'actioned', source: 'webhook', answerId: 'wh-2' })).rejects.toThrow('the process died');
    const at = (minutes: number): Deps => ({ ...sent.deps, workflows: new EagerWorkflows(() => sent.deps, () => 'running'), clock: new ScaledClock({ anchorDomain: Date.now() + minutes * 60_000 }) });
    // a sweep right after may find it being applied by the request that stored it: it waits
    expect((await sweep(at(0))).answersApplied).toBeUndefined();
    expect((await sent.store.getNotice(sent.notice.id))!.appliedAnswers).toEqual([]);
    const report = await sweep(at(11));
    expect(report.answersApplied).toBe(1);
    expect((await sent.store.getNotice(sent.notice.id))!.appliedAnswers).toEqual([`${sent.notice.id}:wh-2`]);
    expect((await sent.store.listCases({ noticeId: sent.notice.id })).items.map((c) => c.state)).toEqual(['actioned']);
    const received = (await sent.store.listEvents({ noticeId: sent.notice.id })).filter((e) => e.type === 'answer.received');
    expect(received.map((e) => e.data?.answer)).toEqual([`${sent.notice.id}:wh-2`]);
    expect((await sweep(at(30))).answersApplied).toBeUndefined();
  });

  it("carries on a coordinator's 'escalate now' a kill cut short once it has had time to end", async () => {
    const [held] = (await sent.store.listCases({ noticeId: sent.notice.id })).items;
    await expect(control({ ...sent.deps, store: diesAtWrite(sent.store, 6) }, held!.id, 'escalate', 'coordinator')).rejects.toThrow('the process died');
    const onward = (await sent.store.getCase((await sent.store.getCase(held!.id))!.onward!))!;
    const at = (minutes: number): Deps => ({ ...sent.deps, workflows: new EagerWorkflows(() => sent.deps, () => 'running'), clock: new ScaledClock({ anchorDomain: Date.now() + minutes * 60_000 }) });
    // a sweep right after may find it still under way: it waits
    expect((await sweep(at(0))).escalationsFinished).toBeUndefined();
    expect((await sent.store.getNotice(onward.noticeId!))?.escalatedFrom ?? []).not.toContain(sent.notice.id);
    expect((await sweep(at(11))).escalationsFinished).toBe(1);
    const carried = (await sent.store.getCase(onward.id))!;
    expect((await sent.store.getNotice(carried.noticeId!))!.escalatedFrom).toContain(sent.notice.id);
    expect((await sent.store.listRecords('escalating')).items).toEqual([]);
    expect((await sweep(at(30))).escalationsFinished).toBeUndefined();
  });

  it('carries on an answer whose application a kill cut short: the escalation of what was "not ours"', async () => {
    const [only] = (await sent.store.listCases({ noticeId: sent.notice.id })).items;
    // the case moved to not-ours, then the process dies as the escalation to the next party begins
    const dying = diesAt(sent.store, (method, arg) => method === 'putRecord' && (arg as { kind: string }).kind === 'escalating');
    await expect(recordAnswer({ ...sent.deps, store: dying }, sent.notice.id, { intent: 'not-ours', source: 'webhook', answerId: 'wh-3' })).rejects.toThrow('the process died');
    expect((await sent.store.getCase(only!.id))!.state).toBe('not-ours');
    const at = (minutes: number): Deps => ({ ...sent.deps, workflows: new EagerWorkflows(() => sent.deps, () => 'running'), clock: new ScaledClock({ anchorDomain: Date.now() + minutes * 60_000 }) });
    expect((await sweep(at(11))).answersApplied).toBe(1);
    // the case went on to the next party, in a notice that carries it
    const moved = (await sent.store.getCase(only!.id))!;
    const onward = (await sent.store.getCase(moved.onward!))!;
    expect((await sent.store.getNotice(onward.noticeId!))!.escalatedFrom).toContain(sent.notice.id);
    expect((await sent.store.getNotice(sent.notice.id))!.appliedAnswers).toEqual([`${sent.notice.id}:wh-3`]);
  });

  it('carries on an answer whose application a kill cut short after it was marked applied: its verification', async () => {
    const dying = diesAt(sent.store, (method, arg) => method === 'appendEvent' && (arg as { type: string }).type === 'answer.applied');
    await expect(recordAnswer({ ...sent.deps, store: dying }, sent.notice.id, { intent: 'actioned', source: 'webhook', answerId: 'wh-4' })).rejects.toThrow('the process died');
    expect((await sent.store.getNotice(sent.notice.id))!.appliedAnswers).toEqual([`${sent.notice.id}:wh-4`]);
    const at = (minutes: number): Deps => ({ ...sent.deps, workflows: new EagerWorkflows(() => sent.deps, () => 'running'), clock: new ScaledClock({ anchorDomain: Date.now() + minutes * 60_000 }) });
    await sweep(at(11));
    const events = await sent.store.listEvents({ noticeId: sent.notice.id });
    // what followed the mark is done: the trail says it was applied, once, and the verification began
    expect(events.filter((e) => e.type === 'answer.applied').map((e) => e.data?.answer)).toEqual([`${sent.notice.id}:wh-4`]);
    expect(events.some((e) => e.type.startsWith('verify.')) || (await sent.store.getRecord('verifying', sent.notice.id)) !== undefined).toBe(true);
    expect((await sent.store.listRecords(UNAPPLIED_KIND)).items).toEqual([]);
  });
});
