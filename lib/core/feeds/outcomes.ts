import { AlreadyExistsError, StaleWriteError } from '../errors.js';
import type { CaseState } from '../model.js';
import type { Deps, StoredRecord } from '../ports.js';
import { appendEvent } from '../audit/index.js';
import { campaignExport, indicatorOutcomes, type IndicatorOutcome } from '../reports/index.js';
import { notifiedTag, stateTag } from '../reports/index.js';

/**
 * A campaign's outcome written back to where its indicators came from: each source attribute (a MISP attribute,
 * named by the `attribute <uuid>` origin the MISP intake gives an indicator) gets a tag with its takedown state,
 * a tag per kind of party that was sent a notice, and, once verified down, an expiration sighting. Only what
 * changed since the last sync is sent (what was sent is kept in the store), so a sync can run after every event.
 */

/** Where outcomes are written back: one MISP instance (lib/adapters/misp/outcomes.ts). */
export interface OutcomeTarget {
  /** the target's name in the sync records and the audit trail (its host), never a credential */
  readonly name: string;
  attachTag(attributeUuid: string, tag: string): Promise<void>;
  removeTag(attributeUuid: string, tag: string): Promise<void>;
  /** says the indicator stopped being live at `at` (ISO): a MISP expiration sighting */
  addExpirationSighting(attributeUuid: string, at: string): Promise<void>;
}

export interface SyncReport {
  readonly target: string;
  /** source attributes found in the campaign */
  readonly attributes: number;
  /** attributes with something new sent */
  readonly changed: number;
  readonly tagsAttached: number;
  readonly tagsRemoved: number;
  readonly sightings: number;
  /** attributes the target refused, with why (the next sync tries them again) */
  readonly failed: readonly { readonly attribute: string; readonly reason: string }[];
}

const SYNC_KIND = 'outcome-sync';
const ORIGIN = /^attribute ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\b/i;

interface Synced {
  state?: CaseState;
  notified: string[];
  /** the verifiedDownAt a sighting was sent for (a takedown that came back and went down again gets another) */
  sightedFor?: string;
}

interface Wanted {
  readonly state: CaseState;
  readonly notified: readonly string[];
  readonly verifiedDownAt?: string;
}

/** The outcome of a source attribute: one indicator, or two (a MISP `domain|ip`), which must all be down to be down. */
function wantedOf(outcomes: readonly IndicatorOutcome[]): Wanted {
  const down = outcomes.every((o) => o.state === 'verified-down');
  const state = down ? 'verified-down' : outcomes.find((o) => o.state !== 'verified-down')!.state;
  const notified = [...new Set(outcomes.flatMap((o) => o.notified))];
  const at = outcomes.map((o) => o.verifiedDownAt).filter((v): v is string => v !== undefined).sort();
  return { state, notified, ...(down && at.length ? { verifiedDownAt: at[at.length - 1] } : {}) };
}

/** The source attributes of a campaign's indicators and what each should say now. */
export function attributeOutcomes(outcomes: readonly IndicatorOutcome[]): Map<string, Wanted> {
  const byAttribute = new Map<string, IndicatorOutcome[]>();
  for (const o of outcomes) {
    const uuid = ORIGIN.exec(o.origin)?.[1]?.toLowerCase();
    if (!uuid) continue;
    const g = byAttribute.get(uuid);
    if (g) g.push(o);
    else byAttribute.set(uuid, [o]);
  }
  return new Map([...byAttribute].map(([uuid, g]) => [uuid, wantedOf(g)]));
}

/**
 * Send what changed in a campaign's outcome to `target`. An attribute the target refuses is listed in the report
 * and tried again at the next sync; the rest go on. Appends an `outcome.shared` event when anything was sent.
 */
export async function syncOutcomes(deps: Pick<Deps, 'store' | 'clock' | 'ids'>, campaignId: string, target: OutcomeTarget, options: { actor: string; onProgress?: (done: number, total: number) => void }): Promise<SyncReport> {
  const data = await campaignExport(deps, campaignId);
  const wanted = attributeOutcomes(indicatorOutcomes(data.rows));
  let changed = 0;
  let tagsAttached = 0;
  let tagsRemoved = 0;
  let sightings = 0;
  const failed: { attribute: string; reason: string }[] = [];
  let done = 0;
  for (const [uuid, want] of wanted) {
    options.onProgress?.(done++, wanted.size);
    // nothing happened to it yet: no news to share
    if (want.state === 'open' && want.notified.length === 0) continue;
    const key = `${campaignId}|${target.name}|${uuid}`;
    const stored = await deps.store.getRecord(SYNC_KIND, key);
    const was: Synced = stored ? (JSON.parse(stored.value) as Synced) : { notified: [] };
    const stateChanges = was.state !== want.state;
    const newKinds = want.notified.filter((k) => !was.notified.includes(k));
    const sighting = want.verifiedDownAt !== undefined && was.sightedFor !== want.verifiedDownAt;
    if (!stateChanges && !newKinds.length && !sighting) continue;
    const now: Synced = { state: want.state, notified: [...was.notified, ...newKinds], ...(sighting ? { sightedFor: want.verifiedDownAt } : was.sightedFor ? { sightedFor: was.sightedFor } : {}) };
    // claimed before it is sent: of two syncs at once (the host's and `misp sync`), one sends, so no sighting is doubled
    const claimed: StoredRecord = { kind: SYNC_KIND, key, value: JSON.stringify(now), version: (stored?.version ?? 0) + 1 };
    try {
      await deps.store.putRecord(claimed, stored ? stored.version : 'absent');
    } catch (e) {
      if (e instanceof AlreadyExistsError || e instanceof StaleWriteError) continue;
      throw e;
    }
    try {
      if (stateChanges) {
        if (was.state) {
          await target.removeTag(uuid, stateTag(was.state));
          tagsRemoved++;
        }
        await target.attachTag(uuid, stateTag(want.state));
        tagsAttached++;
      }
      for (const kind of newKinds) {
        await target.attachTag(uuid, notifiedTag(kind));
        tagsAttached++;
      }
      if (sighting) {
        await target.addExpirationSighting(uuid, want.verifiedDownAt!);
        sightings++;
      }
      changed++;
    } catch (e) {
      failed.push({ attribute: uuid, reason: (e as Error).message.slice(0, 300) });
      // given back, so the next sync sends it all again (tags are idempotent; a sighting failed is not sent)
      await deps.store.putRecord({ ...claimed, value: stored?.value ?? JSON.stringify({ notified: [] }), version: claimed.version + 1 }, claimed.version).catch(() => undefined);
    }
  }
  options.onProgress?.(wanted.size, wanted.size);
  const report: SyncReport = { target: target.name, attributes: wanted.size, changed, tagsAttached, tagsRemoved, sightings, failed };
  if (changed > 0 || failed.length > 0) {
    await appendEvent(deps, {
      campaignId,
      type: 'outcome.shared',
      actor: options.actor,
      data: { target: target.name, attributes: wanted.size, changed, tagsAttached, tagsRemoved, sightings, failed: failed.slice(0, 50) },
    });
  }
  return report;
}
