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

/** Every item of a paged store listing, in order, with one page in memory at a time. */
export async function* eachItem<T>(list: (page: PageRequest) => Promise<Page<T>>, limit = 1000): AsyncGenerator<T> {
  let after: string | undefined;
  do {
    const page = await list({ after, limit });
    yield* page.items;
    after = page.next;
  } while (after);
}
