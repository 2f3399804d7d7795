import type Database from 'better-sqlite3';
import { AlreadyExistsError, StaleWriteError } from '../../core/errors.js';
import type { Store, StoredRecord } from '../../core/ports.js';
import { decodeCursor, pageLimit, parseRow, toPage, type DataRow, type KeyedRow } from './schema.js';

/** The Store methods for the generic records of other modules (API keys, secrets, link tokens ...). */
export type RecordMethods = Pick<Store, 'putRecord' | 'getRecord' | 'listRecords' | 'deleteRecord'>;

/** Generic records in the `records` table, opaque JSON under (kind, key). */
export function sqliteRecords(db: Database.Database): RecordMethods {
  const stmt = {
    insertRecord: db.prepare<[string, string, number, string]>(
      'INSERT OR IGNORE INTO records (kind, key, version, data) VALUES (?, ?, ?, ?)',
    ),
    replaceRecord: db.prepare<[string, string, number, string]>(
      'INSERT OR REPLACE INTO records (kind, key, version, data) VALUES (?, ?, ?, ?)',
    ),
    updateRecord: db.prepare<[number, string, string, string, number]>(
      'UPDATE records SET version = ?, data = ? WHERE kind = ? AND key = ? AND version = ?',
    ),
    getRecord: db.prepare<[string, string], DataRow>('SELECT data FROM records WHERE kind = ? AND key = ?'),
    listRecords: db.prepare<[string, string, number], KeyedRow>(
      'SELECT key, data FROM records WHERE kind = ? AND key > ? ORDER BY key LIMIT ?',
    ),
    deleteRecord: db.prepare<[string, string]>('DELETE FROM records WHERE kind = ? AND key = ?'),
  };

  return {
    async putRecord(record, expect) {
      const data = JSON.stringify(record);
      if (expect === undefined) {
        stmt.replaceRecord.run(record.kind, record.key, record.version, data);
      } else if (expect === 'absent') {
        if (stmt.insertRecord.run(record.kind, record.key, record.version, data).changes === 0) {
          throw new AlreadyExistsError('record', `${record.kind}/${record.key}`);
        }
      } else if (stmt.updateRecord.run(record.version, data, record.kind, record.key, expect).changes === 0) {
        throw new StaleWriteError('record', `${record.kind}/${record.key}`);
      }
    },

    async getRecord(kind, key) {
      return parseRow<StoredRecord>(stmt.getRecord.get(kind, key));
    },

    async listRecords(kind, page) {
      const limit = pageLimit(page);
      const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
      return toPage<StoredRecord>(stmt.listRecords.all(kind, after, limit + 1), limit);
    },

    async deleteRecord(kind, key) {
      stmt.deleteRecord.run(kind, key);
    },
  };
}
