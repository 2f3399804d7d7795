import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteCommand, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CryptoIds } from '../../lib/adapters/runtime/ids.js';
import { SqliteStore } from '../../lib/adapters/sqlite/store.sqlite.js';
import { verifyCampaign, verifyChain } from '../../lib/core/audit/verifier.js';
import { appendEvent } from '../../lib/core/audit/events.js';
import type { AuditEvent } from '../../lib/core/model.js';
import type { Store } from '../../lib/core/ports.js';
import { useDynalite } from '../support/dynalite.js';

/*
 * Someone with write access to the database edits the audit trail behind the application's back: the stored
 * JSON of one event changed by one byte, one event deleted, the data of two events swapped. Each must show up in
 * verifyCampaign as the first broken link, on each adapter, edited the way that store is edited by hand.
 */

/** Raw access to the stored events, past the Store port. */
interface Tamper {
  readData(event: AuditEvent): Promise<string>;
  writeData(event: AuditEvent, data: string): Promise<void>;
  remove(event: AuditEvent): Promise<void>;
}

interface Subject {
  readonly store: Store;
  readonly tamper: Tamper;
  close(): Promise<void>;
}

const T0 = Date.parse('2025-03-01T08:00:00.000Z');

/** A campaign's trail: its own chain, three case chains and a notice chain, appended as the commands append. */
async function recordTrail(store: Store): Promise<AuditEvent[]> {
  let minutes = 0;
  const deps = { store, ids: new CryptoIds(), clock: { now: () => new Date(T0 + minutes++ * 60_000), engineSeconds: (s: number) => s } };
  const events: AuditEvent[] = [];
  const add = async (input: { caseId?: string; noticeId?: string; type: string }) => {
    events.push(await appendEvent(deps, { campaignId: 'cmp_t', actor: 'system', data: { step: events.length, text: 'évidence ✓' }, ...input }));
  };
  await add({ type: 'campaign.submitted' });
  for (const caseId of ['case_1', 'case_2', 'case_3']) await add({ caseId, type: 'case.withheld' });
  await add({ type: 'campaign.planned' });
  await add({ noticeId: 'ntc_1', type: 'message.sent' });
  for (const caseId of ['case_1', 'case_2', 'case_3', 'case_1', 'case_1']) await add({ caseId, noticeId: 'ntc_1', type: 'case.escalated' });
  await add({ noticeId: 'ntc_1', type: 'answer.applied' });
  return events;
}

/** The stored JSON with one byte of the event's type changed (still valid JSON: a letter for a letter). */
function flipOneByte(data: string): string {
  const at = data.indexOf('"type":"') + '"type":"'.length + 1;
  return data.slice(0, at) + String.fromCharCode(data.charCodeAt(at) ^ 1) + data.slice(at + 1);
}

function tamperSuite(name: string, make: () => Promise<Subject>): void {
  describe(`verifyCampaign on ${name}`, () => {
    let subject: Subject;
    let events: AuditEvent[];
    const ofChain = (chain: string) => events.filter((e) => e.chain === chain);

    beforeEach(async () => {
      subject = await make();
      events = await recordTrail(subject.store);
    });

    afterEach(async () => {
      await subject.close();
    });

    it('verifies the untouched trail: five chains, every event, every link', async () => {
      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report).toMatchObject({ ok: true, chains: 5, events: events.length, brokenChains: 0 });
      const caseChain = ofChain('case:case_1');
      expect(report.heads['case:case_1']).toStrictEqual({ seq: caseChain.length - 1, hash: caseChain.at(-1)!.hash });
    });

    it('finds one byte flipped in the stored JSON of one event', async () => {
      const target = ofChain('case:case_1')[1]!;
      await subject.tamper.writeData(target, flipOneByte(await subject.tamper.readData(target)));

      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report.ok).toBe(false);
      expect(report.broken).toMatchObject({ chain: 'case:case_1', seq: 1, eventId: target.id, kind: 'hash-mismatch' });
      // one case's chain status, as a case page shows it: only the altered chain is broken
      expect((await verifyChain({ store: subject.store }, 'cmp_t', 'case:case_1')).broken).toMatchObject({ kind: 'hash-mismatch', seq: 1 });
      expect(await verifyChain({ store: subject.store }, 'cmp_t', 'case:case_2')).toMatchObject({ ok: true, chains: 1, events: 2 });
    });

    it('finds one event deleted from the middle of its chain', async () => {
      const [, target, next] = ofChain('case:case_1');
      await subject.tamper.remove(target!);

      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report.broken).toMatchObject({ chain: 'case:case_1', seq: 1, eventId: next!.id, kind: 'missing-seq' });
    });

    it('finds the data of two events of a chain swapped between their rows', async () => {
      const [first, second] = ofChain('case:case_2');
      const [a, b] = [await subject.tamper.readData(first!), await subject.tamper.readData(second!)];
      await subject.tamper.writeData(first!, b);
      await subject.tamper.writeData(second!, a);

      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report.broken).toMatchObject({ chain: 'case:case_2', seq: 0, eventId: second!.id, kind: 'reordered' });
    });

    it('finds the deleted campaign root before anything else, and every chain anchored to it broken', async () => {
      await subject.tamper.remove(events[0]!);

      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report.broken).toMatchObject({ chain: 'campaign:cmp_t', seq: 0, kind: 'missing-seq' });
      expect(report.brokenChains).toBe(5);
    });

    it('reports a stored event that is no longer JSON as unreadable instead of failing', async () => {
      const target = ofChain('notice:ntc_1')[0]!;
      await subject.tamper.writeData(target, (await subject.tamper.readData(target)).slice(0, -1));

      const report = await verifyCampaign({ store: subject.store }, 'cmp_t');

      expect(report.broken).toMatchObject({ chain: 'notice:ntc_1', kind: 'unreadable' });
    });
  });
}

tamperSuite('sqlite, edited with the sqlite library', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'takedown-audit-'));
  const file = join(dir, 'state.db');
  const store = new SqliteStore(file);
  // a second connection, as a person with the file would open it
  const db = new Database(file);
  return {
    store,
    tamper: {
      async readData(event) {
        return db.prepare<[string], { data: string }>('SELECT data FROM events WHERE id = ?').get(event.id)!.data;
      },
      async writeData(event, data) {
        // the row keeps its slot (chain, chain_seq): only what it says changes
        db.prepare('UPDATE events SET data = ? WHERE chain = ? AND chain_seq = ?').run(data, event.chain, event.seq);
      },
      async remove(event) {
        db.prepare('DELETE FROM events WHERE id = ?').run(event.id);
      },
    },
    async close() {
      db.close();
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});

const dynalite = useDynalite();

tamperSuite('DynamoDB (dynalite), edited with the AWS SDK', async () => {
  const { tableName, doc, store } = await dynalite.freshTable('takedown-audit');
  const key = (event: AuditEvent) => ({ pk: `CHAIN#${event.chain}`, sk: String(event.seq).padStart(10, '0') });
  return {
    store,
    tamper: {
      async readData(event) {
        const { Item } = await doc.send(new GetCommand({ TableName: tableName, Key: key(event), ConsistentRead: true }));
        return String(Item!['data']);
      },
      async writeData(event, data) {
        await doc.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(event),
            UpdateExpression: 'SET #data = :data',
            ExpressionAttributeNames: { '#data': 'data' },
            ExpressionAttributeValues: { ':data': data },
          }),
        );
      },
      async remove(event) {
        await doc.send(new DeleteCommand({ TableName: tableName, Key: key(event) }));
      },
    },
    async close() {
      store.close();
    },
  };
});
