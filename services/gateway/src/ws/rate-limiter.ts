/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerSec`. One per
 * client; take() is O(1) and allocates nothing.
 */
export class RateLimiter {
  private tokens: number;
  private last: number;

  constructor(
    private readonly ratePerSec: number,
    private readonly burst: number,
    private readonly now: () => number = monotonicNow,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Take one token; false when the bucket is empty. */
  take(): boolean {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** The default clock, shared by every limiter (a closure per limiter would be memory per client). */
function monotonicNow(): number {
  return performance.now();
}
