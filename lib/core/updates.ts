import { NotFoundError, StaleWriteError } from './errors.js';
import type { Campaign, Case, Notice } from './model.js';
import type { Deps } from './ports.js';

/**
 * Read-modify-write under the store's version check, retried when someone saved in between. `change` sees the
 * record as stored on every attempt and returns undefined when there is nothing to change (the stored record
 * is returned as it is). It may throw to refuse the change.
 */
async function update<T extends { version: number }>(
  what: string,
  id: string,
  get: (id: string) => Promise<T | undefined>,
  save: (record: T) => Promise<void>,
  change: (current: T) => T | undefined,
  stamp: (record: T) => T = (r) => r,
): Promise<T> {
  for (;;) {
    const current = await get(id);
    if (!current) throw new NotFoundError(what, id);
    const next = change(current);
    if (!next) return current;
    const saved = stamp({ ...next, version: current.version + 1 });
    try {
      await save(saved);
      return saved;
    } catch (e) {
      if (!(e instanceof StaleWriteError)) throw e;
    }
  }
}

/** Change a campaign; a change of its state checkpoints the heads of its audit chains (when the host keeps checkpoints). */
export async function updateCampaign(deps: Deps, id: string, change: (c: Campaign) => Campaign | undefined): Promise<Campaign> {
  let before: Campaign['state'] | undefined;
  const saved = await update('campaign', id, (i) => deps.store.getCampaign(i), (c) => deps.store.saveCampaign(c), (c) => {
    before = c.state;
    return change(c);
  });
  if (deps.checkpoints && saved.state !== before) {
    try {
      await deps.checkpoints.campaignChanged(id, `campaign ${before} -> ${saved.state}`);
    } catch (e) {
      // the state change stands; the next checkpoint (hourly at the latest) records the heads instead
      deps.log.error('the audit checkpoint failed', { campaignId: id, error: (e as Error).name });
    }
  }
  return saved;
}

export function updateNotice(deps: Deps, id: string, change: (n: Notice) => Notice | undefined): Promise<Notice> {
  const stamp = (n: Notice) => ({ ...n, updatedAt: deps.clock.now().toISOString() });
  return update('notice', id, (i) => deps.store.getNotice(i), (n) => deps.store.saveNotice(n), change, stamp);
}

export function updateCase(deps: Deps, id: string, change: (c: Case) => Case | undefined): Promise<Case> {
  const stamp = (c: Case) => ({ ...c, updatedAt: deps.clock.now().toISOString() });
  return update('case', id, (i) => deps.store.getCase(i), (c) => deps.store.saveCase(c), change, stamp);
}
