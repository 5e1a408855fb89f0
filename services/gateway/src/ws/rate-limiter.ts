/**
 * A token bucket: `burst` tokens at most, refilled at `ratePerSec`. One per
 * client and rate; take() and waitMs() are O(1) and allocate nothing.
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
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** How long until a token is there, in ms (0: now): the retry hint of a refusal. */
  waitMs(): number {
    this.refill();
    return this.tokens >= 1 ? 0 : ((1 - this.tokens) * 1000) / this.ratePerSec;
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((t - this.last) * this.ratePerSec) / 1000);
    this.last = t;
  }
}

/** The default clock, shared by every limiter (a closure per limiter would be memory per client). */
function monotonicNow(): number {
  return performance.now();
}
