import type { QueuedReview } from '../../core/ports.js';
import type { Store } from '../../core/ports.js';
import { createItem, queryPage, type Table } from './access.js';
import { REVIEWS, reviewKeys } from './keys.js';

/** The Store methods for the review queue. */
export type ReviewMethods = Pick<Store, 'putReview' | 'listReviews'>;

/** The review queue on the single table: one gsi1 partition in arrival order. */
export function dynamoReviews(table: Table): ReviewMethods {
  return {
    async putReview(item) {
      return createItem(table, { ...reviewKeys(item), data: JSON.stringify(item) });
    },

    async listReviews(page) {
      return queryPage<QueuedReview>(table, 'gsi1', REVIEWS, page);
    },
  };
}
