import type { ExcludedItem, ItemSink } from './common.js';
import type { Indicator, TLP } from '../model.js';
import { TLP_ORDER, stricterTlp } from '../tlp.js';
import { CompactStringMap } from './compact-map.js';
import type { InputIssue } from '../errors.js';
import { SourceChangedError } from './readers.js';
import type { IntakeSummary } from './common.js';

/**
 * What the two readings of a file do with each item: the first checks and keeps a compact map of unique values,
 * the second hands the unique indicators out in batches. A small file is read once: its first reading keeps the
 * unique indicators too, and they are handed out from memory (fromKept) instead of from a second reading.
 */

export const IGNORE: ItemSink = { indicator: () => undefined, issue: () => undefined, excluded: () => undefined };

/** A TLP as a small number (0: none), to keep it beside a value's place in one number. */
const tlpCode = (tlp: TLP | undefined): number => (tlp ? TLP_ORDER.indexOf(tlp) + 1 : 0);

const tlpOf = (code: number): TLP | undefined => (code === 0 ? undefined : TLP_ORDER[code - 1]);

const TLP_SLOTS = 8;

/**
 * A copy of a string that holds nothing else alive. V8 cuts a string of 13 or more characters out of a larger one
 * as a view of it: a duplicate's value kept from a CSV field would keep its whole 64 KB piece of the file.
 */
const detach = (s: string): string => (s.length < 13 ? s : (JSON.parse(JSON.stringify(s)) as string));

/**
 * The first reading: checks every item and keeps, per unique value, only its place among the unique values and
 * the marking it will be handled under (one number, in a map off the JS heap), and everything that is listed.
 */
export class Check implements ItemSink {
  readonly places = new CompactStringMap();
  unique = 0;
  readonly duplicates: { origin: string; value: string; place: number }[] = [];
  readonly issues: InputIssue[] = [];
  readonly excludedItems: ExcludedItem[] = [];
  /** each unique indicator as first read, by place, while the file is small enough to keep them (see keepUpTo) */
  private keptItems: Indicator[] | undefined;

  /** `keepUpTo`: keep the unique indicators until there are more than this many (0: keep none) */
  constructor(
    private readonly fallbackTlp: TLP | undefined,
    private readonly keepUpTo = 0,
  ) {
    if (keepUpTo > 0) this.keptItems = [];
  }

  /** The unique indicators by place, when every one was kept. */
  get kept(): readonly Indicator[] | undefined {
    return this.keptItems;
  }

  /** Keeps no indicators from now on (the file is too big for them): it will be read a second time. */
  forget(): void {
    this.keptItems = undefined;
  }

  indicator(indicator: Indicator): void {
    const code = this.places.get(indicator.value);
    if (code === undefined) {
      this.places.set(indicator.value, this.unique * TLP_SLOTS + tlpCode(indicator.tlp));
      this.unique++;
      if (this.keptItems) {
        if (this.keptItems.length < this.keepUpTo) this.keptItems.push(indicator);
        else this.forget();
      }
      return;
    }
    const place = Math.floor(code / TLP_SLOTS);
    const kept = tlpOf(code % TLP_SLOTS);
    this.duplicates.push({ origin: detach(indicator.origin), value: detach(indicator.value), place });
    // the same value marked twice is handled under the stricter marking: never the looser of two sources
    if (kept !== indicator.tlp && (kept || indicator.tlp)) {
      const a = kept ?? this.fallbackTlp;
      const b = indicator.tlp ?? this.fallbackTlp;
      const tlp = a && b ? stricterTlp(a, b) : (a ?? b)!;
      this.places.set(indicator.value, place * TLP_SLOTS + tlpCode(tlp));
    }
  }

  issue(issue: InputIssue): void {
    this.issues.push(issue);
  }

  excluded(item: ExcludedItem): void {
    this.excludedItems.push(item);
  }
}

/**
 * The second reading: hands out each unique value where it first occurs, under the marking the first reading
 * settled on, and learns where each duplicate's first occurrence was. Anything the first reading did not see
 * means the file changed.
 */
export class Emit implements ItemSink {
  private next = 0;
  private pending: Indicator[] = [];
  /** per place, the duplicates whose first occurrence it is */
  private readonly firstOf = new Map<number, number[]>();
  private readonly firstOrigins: string[] = [];

  constructor(private readonly check: Check) {
    check.duplicates.forEach((d, i) => {
      const list = this.firstOf.get(d.place);
      if (list) list.push(i);
      else this.firstOf.set(d.place, [i]);
    });
  }

  indicator(indicator: Indicator): void {
    const code = this.check.places.get(indicator.value);
    if (code === undefined) throw new SourceChangedError();
    const place = Math.floor(code / TLP_SLOTS);
    if (place < this.next) return;
    if (place > this.next) throw new SourceChangedError();
    this.next++;
    for (const i of this.firstOf.get(place) ?? []) this.firstOrigins[i] = indicator.origin;
    const tlp = tlpOf(code % TLP_SLOTS);
    this.pending.push(tlp === indicator.tlp ? indicator : { ...indicator, tlp });
  }

  issue(): void {}

  excluded(): void {}

  take(min: number): Indicator[] | undefined {
    if (this.pending.length === 0 || this.pending.length < min) return undefined;
    const out = this.pending;
    this.pending = [];
    return out;
  }

  complete(): boolean {
    return this.next === this.check.unique;
  }

  duplicates(): IntakeSummary['duplicates'] {
    return this.check.duplicates.map((d, i) => ({ origin: d.origin, value: d.value, firstOrigin: this.firstOrigins[i]! }));
  }
}

/**
 * What Emit hands out, from the indicators the first reading kept, without reading the file again: each unique
 * indicator under the marking the reading settled on, in source order, and where each duplicate first occurred.
 */
export function fromKept(check: Check, kept: readonly Indicator[]): { indicators: Indicator[]; duplicates: IntakeSummary['duplicates'] } {
  const indicators = kept.map((indicator) => {
    const tlp = tlpOf(check.places.get(indicator.value)! % TLP_SLOTS);
    return tlp === indicator.tlp ? indicator : { ...indicator, tlp };
  });
  const duplicates = check.duplicates.map((d) => ({ origin: d.origin, value: d.value, firstOrigin: kept[d.place]!.origin }));
  return { indicators, duplicates };
}
