import { describe, expect, it } from 'vitest';
import { eachItem, listAll } from '../../lib/core/paging.js';
import type { Page, PageRequest } from '../../lib/core/ports.js';

/** A listing of `count` items, `limit` a page, that records each page asked for. */
function listing(count: number) {
  const items = Array.from({ length: count }, (_, i) => `item-${String(i).padStart(3, '0')}`);
  const asked: PageRequest[] = [];
  const list = async (page: PageRequest): Promise<Page<string>> => {
    asked.push(page);
    const from = page.after === undefined ? 0 : items.indexOf(page.after) + 1;
    const slice = items.slice(from, from + (page.limit ?? 1000));
    return { items: slice, ...(from + slice.length < items.length ? { next: slice.at(-1)! } : {}) };
  };
  return { items, asked, list };
}

describe('eachItem', () => {
  it('gives every item in order, asking for a page only once the one before is used up', async () => {
    const l = listing(7);
    const seen: string[] = [];
    for await (const item of eachItem(l.list, 3)) {
      seen.push(item);
      // one page in memory at a time: the next is asked for when this one is done
      expect(l.asked).toHaveLength(Math.floor((seen.length - 1) / 3) + 1);
    }
    expect(seen).toEqual(l.items);
    expect(l.asked.map((p) => p.after ?? null)).toEqual([null, 'item-002', 'item-005']);
    expect(await listAll(listing(7).list, 3)).toEqual(seen);
  });

  it('gives nothing for an empty listing, after one request', async () => {
    const l = listing(0);
    const seen: string[] = [];
    for await (const item of eachItem(l.list)) seen.push(item);
    expect([seen, l.asked.length]).toEqual([[], 1]);
  });
});
