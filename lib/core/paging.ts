import type { Page, PageRequest } from './ports.js';

/**
 * Paging through the store's listings.
 */

/** Every page of a paged store listing, in order. */
export async function listAll<T>(list: (page: PageRequest) => Promise<Page<T>>, limit = 1000): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  do {
    const page = await list({ after, limit });
    out.push(...page.items);
    after = page.next;
  } while (after);
  return out;
}
