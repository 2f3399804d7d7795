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

export function updateCampaign(deps: Deps, id: string, change: (c: Campaign) => Campaign | undefined): Promise<Campaign> {
  return update('campaign', id, (i) => deps.store.getCampaign(i), (c) => deps.store.saveCampaign(c), change);
}

export function updateNotice(deps: Deps, id: string, change: (n: Notice) => Notice | undefined): Promise<Notice> {
  const stamp = (n: Notice) => ({ ...n, updatedAt: deps.clock.now().toISOString() });
  return update('notice', id, (i) => deps.store.getNotice(i), (n) => deps.store.saveNotice(n), change, stamp);
}

export function updateCase(deps: Deps, id: string, change: (c: Case) => Case | undefined): Promise<Case> {
  const stamp = (c: Case) => ({ ...c, updatedAt: deps.clock.now().toISOString() });
  return update('case', id, (i) => deps.store.getCase(i), (c) => deps.store.saveCase(c), change, stamp);
}
