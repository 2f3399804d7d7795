import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 may grow the heap past what a full collection left live, in per cent (V8's own choice is up to 300 %
 * on a fast machine). Measured with `npm run bench` on the 20,674-indicator campaign: sending keeps under 100 MB
 * live, yet with V8's default the heap reached ~290 MB before it was collected and the process peaked at 540-560
 * MB resident; at 100 % the same run peaked at ~395 MB with sending and routing as fast as before (within the
 * run-to-run noise). The heap's limit is not touched: a large read (the status of a 200,000-case campaign) still
 * gets all the memory it needs, it is only collected sooner.
 */
export const HEAP_GROWING_PERCENT = 100;

/** Applies HEAP_GROWING_PERCENT to this process; the CLI does it first thing, and the bench as the CLI does. */
export function boundHeapGrowth(): void {
  setFlagsFromString(`--heap-growing-percent=${HEAP_GROWING_PERCENT}`);
}
