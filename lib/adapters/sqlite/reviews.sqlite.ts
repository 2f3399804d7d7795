import type Database from 'better-sqlite3';
import type { QueuedReview } from '../../core/ports.js';
import type { Store } from '../../core/ports.js';
import { decodeCursor, pageLimit, toPage, type KeyedRow } from './schema.js';

/** The Store methods for the review queue. */
export type ReviewMethods = Pick<Store, 'putReview' | 'listReviews'>;

/** The review queue in the `reviews` table, in arrival order (sort_key = receivedAt#id). */
export function sqliteReviews(db: Database.Database): ReviewMethods {
  const stmt = {
    insertReview: db.prepare<[string, string, string]>(
      'INSERT OR IGNORE INTO reviews (id, sort_key, data) VALUES (?, ?, ?)',
    ),
    listReviews: db.prepare<[string, number], KeyedRow>(
      'SELECT sort_key AS key, data FROM reviews WHERE sort_key > ? ORDER BY sort_key LIMIT ?',
    ),
  };

  return {
    async putReview(item) {
      return stmt.insertReview.run(item.id, `${item.receivedAt}#${item.id}`, JSON.stringify(item)).changes > 0;
    },

    async listReviews(page) {
      const limit = pageLimit(page);
      const after = page?.after === undefined ? '' : decodeCursor(page.after, 'string');
      return toPage<QueuedReview>(stmt.listReviews.all(after, limit + 1), limit);
    },
  };
}
