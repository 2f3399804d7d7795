import type Database from 'better-sqlite3';
import { AlreadyExistsError } from '../../core/errors.js';
import { caseChain, chainSlotTaken } from '../../core/audit/index.js';
import type { AuditEvent } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { parseRow, parseRows, type DataRow } from './schema.js';

/** The Store methods for the audit trail: its events and their hash chains. */
export type AuditMethods = Pick<Store, 'appendEvent' | 'chainHead' | 'listChain' | 'listChains' | 'listEvents'> &
  Required<Pick<Store, 'listChainHeads' | 'appendEvents'>> & {
    /** commits the appends still waiting for their turn (before the database is closed) */
    flush(): void;
  };

/** The audit trail in the `events` table: append order by rowid, each event in its slot of its chain. */
export function sqliteAudit(db: Database.Database): AuditMethods {
  const stmt = {
    insertEvent: db.prepare<[string, string, string | null, string | null, string, number, string]>(
      'INSERT OR IGNORE INTO events (id, campaign_id, case_id, notice_id, chain, chain_seq, data) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
    chainSlot: db.prepare<[string, number], { taken: number }>(
      'SELECT 1 AS taken FROM events WHERE chain = ? AND chain_seq = ?',
    ),
    chainHead: db.prepare<[string], DataRow>(
      'SELECT data FROM events WHERE chain = ? ORDER BY chain_seq DESC LIMIT 1',
    ),
    // LIMIT -1: no limit
    chainEvents: db.prepare<[string, number], DataRow>(
      'SELECT data FROM events WHERE chain = ? ORDER BY chain_seq LIMIT ?',
    ),
    // one read for a campaign's checkpoint: the last slot of each chain, its hash straight from the stored JSON
    chainHeads: db.prepare<[string], { chain: string; seq: number; hash: string | null }>(
      `SELECT e.chain AS chain, e.chain_seq AS seq, json_extract(e.data, '$.hash') AS hash FROM events e
       JOIN (SELECT chain, MAX(chain_seq) AS last FROM events WHERE campaign_id = ? AND chain IS NOT NULL GROUP BY chain) h
         ON e.chain = h.chain AND e.chain_seq = h.last
       ORDER BY e.chain`,
    ),
    chainsOfCampaign: db.prepare<[string], { chain: string }>(
      'SELECT DISTINCT chain FROM events WHERE campaign_id = ? AND chain IS NOT NULL ORDER BY chain',
    ),
    eventsByCampaign: db.prepare<[string], DataRow>('SELECT data FROM events WHERE campaign_id = ? ORDER BY seq'),
    // a case's events are its chain (chainOf); an event from before the chains has none and is found by case_id
    eventsByCase: db.prepare<[string, string], DataRow>(
      `SELECT data FROM (
         SELECT seq, data FROM events WHERE chain = ?
         UNION ALL
         SELECT seq, data FROM events WHERE chain IS NULL AND case_id = ?
       ) ORDER BY seq`,
    ),
    eventsByNotice: db.prepare<[string], DataRow>('SELECT data FROM events WHERE notice_id = ? ORDER BY seq'),
  };

  const insert = (event: AuditEvent): void => {
    const result = stmt.insertEvent.run(event.id, event.campaignId, event.caseId ?? null, event.noticeId ?? null, event.chain, event.seq, JSON.stringify(event));
    if (result.changes > 0) return;
    // the audit trail is append-only: a taken slot or an id seen before is never overwritten
    if (stmt.chainSlot.get(event.chain, event.seq)) throw chainSlotTaken(event.chain, event.seq);
    throw new AlreadyExistsError('event', event.id);
  };
  // a batch commits once; a taken slot throws inside the transaction, which rolls every event of it back
  const insertAll = db.transaction((events: readonly AuditEvent[]) => {
    for (const event of events) insert(event);
  });

  // Group commit: the appends made while one is waiting commit together, on the next turn of the event loop. A
  // running campaign's executions append concurrently, and each commit writes every page it touched to the log
  // (6 B-trees per event), so a shared commit costs little more than one event's. Each append keeps its own
  // outcome: INSERT OR IGNORE refuses a taken slot without failing the others; any other error fails them all.
  let waiting: { event: AuditEvent; settle: (error?: unknown) => void }[] = [];
  const insertEach = db.transaction((batch: readonly { event: AuditEvent }[]) =>
    batch.map(({ event }) => {
      try {
        insert(event);
        return undefined;
      } catch (e) {
        if (e instanceof AlreadyExistsError) return e;
        throw e;
      }
    }),
  );
  const flush = (): void => {
    const batch = waiting;
    waiting = [];
    if (!batch.length) return;
    let outcomes: (AlreadyExistsError | undefined)[];
    try {
      outcomes = insertEach(batch);
    } catch (e) {
      for (const w of batch) w.settle(e);
      return;
    }
    batch.forEach((w, i) => w.settle(outcomes[i]));
  };

  return {
    appendEvent(event) {
      return new Promise<void>((resolve, reject) => {
        if (!waiting.length) setImmediate(flush);
        waiting.push({ event, settle: (error) => (error === undefined ? resolve() : reject(error)) });
      });
    },

    flush,

    async appendEvents(events) {
      insertAll(events);
    },

    async chainHead(chain) {
      return parseRow<AuditEvent>(stmt.chainHead.get(chain));
    },

    async listChain(chain, options) {
      return parseRows<AuditEvent>(stmt.chainEvents.all(chain, options?.limit ?? -1));
    },

    async listChainHeads(campaignId) {
      return stmt.chainHeads.all(campaignId).map((r) => ({ chain: r.chain, seq: r.seq, hash: String(r.hash ?? '') }));
    },

    async listChains(campaignId) {
      return stmt.chainsOfCampaign.all(campaignId).map((row) => row.chain);
    },

    async listEvents(by) {
      const rows =
        'campaignId' in by
          ? stmt.eventsByCampaign.all(by.campaignId)
          : 'caseId' in by
            ? stmt.eventsByCase.all(caseChain(by.caseId), by.caseId)
            : stmt.eventsByNotice.all(by.noticeId);
      return parseRows<AuditEvent>(rows);
    },
  };
}
