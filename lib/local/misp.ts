import { readFileSync } from 'node:fs';
import type { AuditEvent } from '../core/model.js';
import type { Deps, Logger } from '../core/ports.js';
import { campaignOrigin, syncOutcomes } from '../core/feeds/index.js';
import { MispClient } from '../adapters/misp/client.js';
import { mispOutcomeTarget } from '../adapters/misp/source.js';

/**
 * The embedded host's MISP wiring: a client from the configuration (the key from the environment, a private CA
 * from a file), and the automatic write-back of outcomes to the instance a campaign was read from.
 */

/** What the host knows of its MISP instance. */
export interface MispSettings {
  readonly url: string;
  readonly key: string;
  readonly caFile?: string;
}

/** A client for the configured instance. */
export function mispClient(settings: MispSettings): MispClient {
  return new MispClient({ url: settings.url, key: settings.key, ...(settings.caFile ? { ca: readFileSync(settings.caFile, 'utf8') } : {}) });
}

/** The same instance, whatever trailing slash either URL has. */
export function sameInstance(a: string, b: string): boolean {
  return a.replace(/\/+$/, '').toLowerCase() === b.replace(/\/+$/, '').toLowerCase();
}

// the events after which a campaign's outcome may have changed (outcome.shared itself is not one: no loop)
const CHANGES = /^(case\.|notice\.sent$|answer\.received$|campaign\.planned$)/;
// several events in a row (a notice's cases moving together) make one sync
const SETTLE_MS = 300;

/**
 * An audit-event observer that writes a campaign's outcome back to the configured MISP instance shortly after
 * it changes, for campaigns read from that instance; one sync at a time per campaign. A failure is logged and
 * the next change tries again (a sync sends only what the instance has not got yet).
 */
export function autoSyncToMisp(deps: Deps, settings: MispSettings, log: Logger): { observe(event: AuditEvent): void; drain(): Promise<void> } {
  const target = mispOutcomeTarget(mispClient(settings));
  const timers = new Map<string, NodeJS.Timeout>();
  const running = new Map<string, Promise<void>>();
  let closed = false;

  const sync = async (campaignId: string): Promise<void> => {
    const origin = await campaignOrigin(deps, campaignId);
    if (origin?.kind !== 'misp' || !sameInstance(origin.url, settings.url)) return;
    try {
      const report = await syncOutcomes(deps, campaignId, target, { actor: 'misp-sync' });
      if (report.changed) log.info('outcome shared with MISP', { campaignId, target: report.target, changed: report.changed, sightings: report.sightings });
      if (report.failed.length) log.warn('MISP refused some outcomes', { campaignId, target: report.target, failed: report.failed.length, first: report.failed[0]?.reason });
    } catch (e) {
      log.warn('MISP sync failed; the next change tries again', { campaignId, error: (e as Error).message.slice(0, 300) });
    }
  };

  const run = (campaignId: string) => {
    timers.delete(campaignId);
    const next = (running.get(campaignId) ?? Promise.resolve()).then(() => sync(campaignId));
    running.set(campaignId, next);
    void next.finally(() => {
      if (running.get(campaignId) === next) running.delete(campaignId);
    });
  };

  return {
    observe(event) {
      if (closed || !CHANGES.test(event.type) || timers.has(event.campaignId)) return;
      timers.set(event.campaignId, setTimeout(() => run(event.campaignId), SETTLE_MS));
    },
    async drain() {
      closed = true;
      // what was about to be sent is sent now, not lost with the process
      for (const [campaignId, timer] of [...timers]) {
        clearTimeout(timer);
        run(campaignId);
      }
      await Promise.all(running.values());
    },
  };
}
