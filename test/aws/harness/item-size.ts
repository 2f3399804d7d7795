import type { AttributeValue } from '@aws-sdk/client-dynamodb';

/**
 * The size DynamoDB counts for an item (its 400 KB limit, its read and write units): every attribute's name and
 * value, UTF-8 bytes for strings, about one byte per two digits for numbers, 3 bytes of overhead per list or map
 * and 1 per element. Within a few bytes of the service's own figure for the items this project writes.
 */
export function dynamoItemSize(item: Record<string, AttributeValue>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) size += Buffer.byteLength(name, 'utf8') + valueSize(value);
  return size;
}

function valueSize(v: AttributeValue): number {
  if (v.S !== undefined) return Buffer.byteLength(v.S, 'utf8');
  if (v.N !== undefined) return Math.ceil(v.N.replace(/^-|\.|^0+/g, '').length / 2) + 1;
  if (v.B !== undefined) return v.B.length;
  if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
  if (v.SS !== undefined) return v.SS.reduce((n, s) => n + Buffer.byteLength(s, 'utf8'), 0);
  if (v.NS !== undefined) return v.NS.reduce((n, s) => n + Math.ceil(s.length / 2) + 1, 0);
  if (v.L !== undefined) return 3 + v.L.reduce((n, e) => n + 1 + valueSize(e), 0);
  if (v.M !== undefined) return 3 + Object.entries(v.M).reduce((n, [k, e]) => n + 1 + Buffer.byteLength(k, 'utf8') + valueSize(e), 0);
  return 0;
}

/** A global secondary index as the harness bills it: its key attributes and what it projects. */
export interface IndexDesign {
  readonly keys: readonly string[];
  readonly projection: 'ALL' | 'KEYS_ONLY' | 'INCLUDE';
  readonly include: readonly string[];
}

/**
 * The write units one write of an item costs its indexes, by DynamoDB's rules for a global secondary index:
 * - an item in the index neither before nor after costs nothing;
 * - an item coming into it (or leaving it) costs one write of its entry;
 * - an item whose index key changes costs two (the old entry deleted, the new one put);
 * - an item whose key stays costs one if an attribute the index projects changed, nothing otherwise.
 * An entry is the table's key, the index's key and the projected attributes: 1 unit per KB of it.
 */
export function indexWriteUnits(
  before: Record<string, AttributeValue> | undefined,
  after: Record<string, AttributeValue> | undefined,
  tableKeys: readonly string[],
  indexes: readonly IndexDesign[],
): number {
  const units = (entry: Record<string, AttributeValue>) => Math.max(1, Math.ceil(dynamoItemSize(entry) / 1024));
  let total = 0;
  for (const index of indexes) {
    const b = indexEntry(before, tableKeys, index);
    const a = indexEntry(after, tableKeys, index);
    if (b === undefined && a === undefined) continue;
    if (b === undefined || a === undefined) total += units((b ?? a)!);
    else if (index.keys.some((k) => JSON.stringify(b[k]) !== JSON.stringify(a[k]))) total += units(b) + units(a);
    else if (JSON.stringify(sorted(b)) !== JSON.stringify(sorted(a))) total += Math.max(units(b), units(a));
  }
  return total;
}

/** What `index` holds of `item`: undefined when the item lacks one of the index's key attributes. */
function indexEntry(item: Record<string, AttributeValue> | undefined, tableKeys: readonly string[], index: IndexDesign): Record<string, AttributeValue> | undefined {
  if (item === undefined || index.keys.some((k) => item[k] === undefined)) return undefined;
  if (index.projection === 'ALL') return item;
  const names = [...tableKeys, ...index.keys, ...(index.projection === 'INCLUDE' ? index.include : [])];
  return Object.fromEntries(names.filter((n) => item[n] !== undefined).map((n) => [n, item[n]!]));
}

function sorted(entry: Record<string, AttributeValue>): [string, AttributeValue][] {
  return Object.entries(entry).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0));
}
