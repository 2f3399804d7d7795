import type { Deps, Logger } from '../core/ports.js';
import { sendUnsent, sweep } from '../core/campaign/index.js';

/** How often the running host sends the reminders and follow-ups left unsent (a relay that refused them for now). */
export const UNSENT_INTERVAL_MS = 30_000;

/**
 * How often the running host sweeps, at the AWS sweeper's pace (SWEEP_EVERY): every execution whose retries ran out
 * (a campaign's, a notice's, a verification's) starts again as its next round. Not faster: a failure that lasts
 * (a registry down for hours, a fault in a step) costs a round, an audit event and an archived history each time
 * (and one that fails again waits longer each time, RESTART_BACKOFF).
 */
export const SWEEP_INTERVAL_MS = 15 * 60_000;

/** Work a timer runs again and again. */
export interface Pass {
  readonly name: string;
  readonly everyMs: number;
  run(): Promise<void>;
}

/**
 * Runs each pass at its own interval, one pass at a time across them all: a pass that comes due while another runs
 * waits for it, and one already waiting is not queued twice. A pass that fails is logged (its error's name, not its
 * message, which may quote a message) and runs again at its next tick. Returns what stops the timers; it awaits the
 * passes queued or under way.
 */
export function runPasses(passes: readonly Pass[], log: Pick<Logger, 'warn'>): () => Promise<void> {
  let last: Promise<void> = Promise.resolve();
  const queued = new Set<string>();
  const timers = passes.map(({ name, everyMs, run }) => {
    const timer = setInterval(() => {
      if (queued.has(name)) return;
      queued.add(name);
      last = last
        .then(run)
        .catch((e: unknown) => log.warn(`${name} failed; it runs again later`, { error: (e as Error).name }))
        .finally(() => queued.delete(name));
    }, everyMs);
    timer.unref();
    return timer;
  });
  return async () => {
    for (const timer of timers) clearInterval(timer);
    await last;
  };
}

/**
 * The running host's own recovery, as AWS schedules it: what a relay refused for now goes as soon as it takes it,
 * and a failed execution starts again without waiting for the next start. The two run one at a time, since the
 * sweep sends the messages left unsent too: two senders of one message would each take the other's hand-over in
 * progress for one a crash left, and send it again. Returns what stops both (a pass under way is awaited).
 */
export function startSweeps(deps: Deps, sweepEveryMs = SWEEP_INTERVAL_MS): () => Promise<void> {
  return runPasses(
    [
      { name: 'sending the messages left unsent', everyMs: UNSENT_INTERVAL_MS, run: async () => void (await sendUnsent(deps)) },
      {
        name: 'the sweep',
        everyMs: sweepEveryMs,
        run: async () => {
          const report = await sweep(deps);
          if (report.campaigns || report.uploads || report.notices || report.verifications || report.messagesSent || report.copiesMasked || report.answersApplied || report.escalationsFinished || report.waiting) deps.log.info('swept', { ...report });
          if (report.staleCampaigns) deps.log.warn('campaigns whose workflow stopped long ago are left for a person (takedown status)', { campaigns: report.staleCampaigns });
        },
      },
    ],
    deps.log,
  );
}
