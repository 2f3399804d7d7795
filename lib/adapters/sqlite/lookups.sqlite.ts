import type Database from 'better-sqlite3';
import type { ContactOverride } from '../../core/model.js';
import type { CachedLookup, Store } from '../../core/ports.js';
import { parseRow, parseRows, type DataRow } from './schema.js';

/** Range entries read per probe: nested ranges are few; a miss past them costs a refetch, never a wrong answer. */
const RANGE_PROBE = 32;

/** The Store methods for where contacts come from: the registry lookup cache and the contact overrides. */
export type LookupMethods = Pick<
  Store,
  'putLookup' | 'getLookup' | 'findRangeLookup' | 'putContactOverride' | 'listContactOverrides'
>;

/** The lookup cache (by key, and by range) and the contact overrides, in `lookups` and `contact_overrides`. */
export function sqliteLookups(db: Database.Database): LookupMethods {
  const stmt = {
    putLookup: db.prepare<[string, string, string | null, string | null, string, string]>(
      'INSERT OR REPLACE INTO lookups (kind, key, range_start, range_end, expires_at, data) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    getLookup: db.prepare<[string, string, string], DataRow>(
      'SELECT data FROM lookups WHERE kind = ? AND key = ? AND expires_at > ?',
    ),
    rangeLookups: db.prepare<
      [string, string, number],
      { range_start: string; range_end: string; expires_at: string; data: string }
    >(
      `SELECT range_start, range_end, expires_at, data FROM lookups
         WHERE kind = ? AND range_start IS NOT NULL AND range_start <= ? ORDER BY range_start DESC, range_end ASC LIMIT ?`,
    ),
    putOverride: db.prepare<[string, string]>('INSERT OR REPLACE INTO contact_overrides (target, data) VALUES (?, ?)'),
    listOverrides: db.prepare<[], DataRow>('SELECT data FROM contact_overrides ORDER BY target'),
  };

  return {
    async putLookup(entry) {
      stmt.putLookup.run(
        entry.kind,
        entry.key,
        entry.rangeStart ?? null,
        entry.rangeEnd ?? null,
        entry.expiresAt,
        JSON.stringify(entry),
      );
    },

    async getLookup(kind, key, now) {
      return parseRow<CachedLookup>(stmt.getLookup.get(kind, key, now));
    },

    async findRangeLookup(kind, key, now) {
      // by start descending, the first range that still covers the key is the narrowest (ranges nest or are disjoint)
      for (const row of stmt.rangeLookups.all(kind, key, RANGE_PROBE)) {
        if (row.range_end >= key && row.expires_at > now) return JSON.parse(row.data) as CachedLookup;
      }
      return undefined;
    },

    async putContactOverride(override) {
      stmt.putOverride.run(override.target, JSON.stringify(override));
    },

    async listContactOverrides() {
      return parseRows<ContactOverride>(stmt.listOverrides.all());
    },
  };
}
