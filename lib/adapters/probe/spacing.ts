import { setTimeout as sleep } from 'node:timers/promises';

interface HostSlot {
  /** settles when the last queued probe of the host has finished */
  tail: Promise<void>;
  /** monotonic time the last probe of the host finished */
  lastEnd: number;
  pending: number;
}

/** Past this many remembered hosts, idle ones are forgotten (a campaign can name 200,000 hosts). */
const SWEEP_AT = 1000;

/**
 * Polite spacing per host: the probes of one host run one at a time, each starting at least `intervalMs` after
 * the previous one ended; probes of other hosts are not held up. Measured from the end, not the start, so a slow
 * host is never hit by overlapping probes and the gap seen at the server is never below the interval.
 */
export class HostSpacing {
  private readonly hosts = new Map<string, HostSlot>();

  constructor(
    private readonly intervalMs: number,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** Runs `work` when the host's turn comes. */
  async run<T>(host: string, work: () => Promise<T>): Promise<T> {
    if (this.intervalMs <= 0) return work();
    const key = host.toLowerCase();
    if (this.hosts.size >= SWEEP_AT) this.sweep();
    let slot = this.hosts.get(key);
    if (!slot) {
      slot = { tail: Promise.resolve(), lastEnd: Number.NEGATIVE_INFINITY, pending: 0 };
      this.hosts.set(key, slot);
    }
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const previous = slot.tail;
    slot.tail = previous.then(() => mine);
    slot.pending += 1;
    try {
      await previous;
      // timers may fire a little early against the monotonic clock: wait until the gap is really there
      for (let wait = slot.lastEnd + this.intervalMs - this.monotonic(); wait > 0; wait = slot.lastEnd + this.intervalMs - this.monotonic()) {
        await sleep(Math.ceil(wait));
      }
      return await work();
    } finally {
      slot.lastEnd = this.monotonic();
      slot.pending -= 1;
      release();
    }
  }

  private sweep(): void {
    const now = this.monotonic();
    for (const [key, slot] of this.hosts) {
      if (slot.pending === 0 && slot.lastEnd + this.intervalMs <= now) this.hosts.delete(key);
    }
  }
}
