import type Database from 'better-sqlite3';
import { AlreadyExistsError, StaleWriteError } from '../../core/errors.js';
import type { Answer, Outbound } from '../../core/model.js';
import type { Store } from '../../core/ports.js';
import { parseRow, parseRows, type DataRow } from './schema.js';

/** The Store methods for a notice's mail: what went out and the answers that came back. */
export type MessageMethods = Pick<
  Store,
  'createOutbound' | 'getOutbound' | 'saveOutbound' | 'listOutbound' | 'putAnswer' | 'listAnswers'
>;

/** Outbound messages and answers in the `outbound` and `answers` tables, each listed per notice in time order. */
export function sqliteMessages(db: Database.Database): MessageMethods {
  const stmt = {
    insertOutbound: db.prepare<[string, string, string, number, string]>(
      'INSERT OR IGNORE INTO outbound (id, notice_id, created_at, version, data) VALUES (?, ?, ?, ?, ?)',
    ),
    getOutbound: db.prepare<[string], DataRow>('SELECT data FROM outbound WHERE id = ?'),
    // an outbound's notice and creation time never change: leaving them out of SET spares rewriting its
    // outbound_by_notice entry at each of its saves (two or more per message sent)
    updateOutbound: db.prepare<[number, string, string, number]>(
      'UPDATE outbound SET version = ?, data = ? WHERE id = ? AND version = ?',
    ),
    outboundByNotice: db.prepare<[string], DataRow>(
      'SELECT data FROM outbound WHERE notice_id = ? ORDER BY created_at, id',
    ),

    insertAnswer: db.prepare<[string, string, string, string]>(
      'INSERT OR IGNORE INTO answers (id, notice_id, received_at, data) VALUES (?, ?, ?, ?)',
    ),
    answersByNotice: db.prepare<[string], DataRow>(
      'SELECT data FROM answers WHERE notice_id = ? ORDER BY received_at, id',
    ),
  };

  return {
    async createOutbound(message) {
      const result = stmt.insertOutbound.run(
        message.id, message.noticeId, message.createdAt, message.version, JSON.stringify(message),
      );
      if (result.changes === 0) throw new AlreadyExistsError('outbound', message.id);
    },

    async getOutbound(id) {
      return parseRow<Outbound>(stmt.getOutbound.get(id));
    },

    async saveOutbound(message) {
      const result = stmt.updateOutbound.run(message.version, JSON.stringify(message), message.id, message.version - 1);
      if (result.changes === 0) throw new StaleWriteError('outbound', message.id);
    },

    async listOutbound(noticeId) {
      return parseRows<Outbound>(stmt.outboundByNotice.all(noticeId));
    },

    async putAnswer(answer) {
      const result = stmt.insertAnswer.run(answer.id, answer.noticeId, answer.receivedAt, JSON.stringify(answer));
      return result.changes > 0;
    },

    async listAnswers(noticeId) {
      return parseRows<Answer>(stmt.answersByNotice.all(noticeId));
    },
  };
}
