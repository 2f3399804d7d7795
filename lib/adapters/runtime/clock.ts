import type { Clock } from '../../core/ports.js';

/**
 * Domain time that may run faster than real time (the embedded host's demo and tests see days pass in
 * seconds). Domain time = anchor + (real elapsed since anchor) x scale. The anchor is kept by the host, so a
 * restarted host continues the same timeline: the time a notice had left is still what it has left.
 */
export class ScaledClock implements Clock {
  readonly scale: number;
  private readonly anchorReal: number;
  private readonly anchorDomain: number;

  constructor(opts: { scale?: number; anchorReal?: number; anchorDomain?: number; realNow?: () => number } = {}) {
    this.scale = opts.scale ?? 1;
    if (!(this.scale >= 1)) throw new RangeError('the time scale must be >= 1');
    this.realNow = opts.realNow ?? Date.now;
    this.anchorReal = opts.anchorReal ?? this.realNow();
    this.anchorDomain = opts.anchorDomain ?? this.anchorReal;
  }

  private readonly realNow: () => number;

  now(): Date {
    return new Date(this.anchorDomain + (this.realNow() - this.anchorReal) * this.scale);
  }

  engineSeconds(domainSeconds: number): number {
    return Math.max(1, Math.ceil(domainSeconds / this.scale));
  }

  /** what a host stores to continue this timeline after a restart */
  anchor(): { anchorReal: number; anchorDomain: number; scale: number } {
    return { anchorReal: this.anchorReal, anchorDomain: this.anchorDomain, scale: this.scale };
  }
}
