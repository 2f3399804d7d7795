import type { Deps } from '../core/ports.js';
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

/**
 * The running host's own recovery, as AWS schedules it: what a relay refused for now goes as soon as it takes it,
 * and a failed execution starts again without waiting for the next start. Returns what stops both (a pass under
 * way is awaited).
 */
export function startSweeps(deps: Deps, sweepEveryMs = SWEEP_INTERVAL_MS): () => Promise<void> {
  // one pass at a time, since the sweep sends the messages left unsent too: two senders of one message would each
  // take the other's hand-over in progress for one a crash left, and send it again
  let last: Promise<void> = Promise.resolve();
  const queued = new Set<string>();
  const every = (ms: number, name: string, pass: () => Promise<void>): NodeJS.Timeout => {
    const timer = setInterval(() => {
      if (queued.has(name)) return;
      queued.add(name);
      last = last
        .then(pass)
        .catch((e: unknown) => deps.log.warn(`${name} failed; it runs again later`, { error: (e as Error).name }))
        .finally(() => queued.delete(name));
    }, ms);
    timer.unref();
    return timer;
  };
  const timers = [
    every(UNSENT_INTERVAL_MS, 'sending the messages left unsent', async () => void (await sendUnsent(deps))),
    every(sweepEveryMs, 'the sweep', async () => {
      const report = await sweep(deps);
      if (report.campaigns || report.uploads || report.notices || report.verifications || report.messagesSent || report.waiting) deps.log.info('swept', { ...report });
      if (report.staleCampaigns) deps.log.warn('campaigns whose workflow stopped long ago are left for a person (takedown status)', { campaigns: report.staleCampaigns });
    }),
  ];
  return async () => {
    for (const timer of timers) clearInterval(timer);
    await last;
  };
}
