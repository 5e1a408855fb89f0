/** How often the event loop's lag is measured, in ms. */
const SAMPLE_INTERVAL_MS = 250;
/** Samples in a row under half the limit before an overloaded node says it is fine again. */
const CALM_SAMPLES = 4;

/**
 * Tells whether this node's event loop is keeping up. A timer that should fire
 * every SAMPLE_INTERVAL_MS measures how late it fires (the lag: time the loop
 * spent on other work). Past `maxLagMs` the node is overloaded, and stays so
 * until CALM_SAMPLES samples in a row come in under half of it, so it does not
 * flap. An overloaded node sheds load: it reports not ready, so the load balancer
 * and its own upgrade handler send new clients elsewhere, while the clients it
 * has keep being served.
 */
export class EventLoopMonitor {
  private timer: NodeJS.Timeout | undefined;
  private expected = 0;
  private calm = 0;
  private overloadedNow = false;
  private lastLagMs = 0;

  constructor(
    /** The lag past which the node is overloaded, in ms; 0 turns the monitor off. */
    private readonly maxLagMs: number,
    private readonly onChange: (overloaded: boolean, lagMs: number) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  start(): void {
    if (this.maxLagMs <= 0 || this.timer) return;
    this.expected = this.now() + SAMPLE_INTERVAL_MS;
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  get overloaded(): boolean {
    return this.overloadedNow;
  }

  /** The latest measured lag, in ms. */
  get lagMs(): number {
    return this.lastLagMs;
  }

  private sample(): void {
    const now = this.now();
    this.lastLagMs = Math.max(0, now - this.expected);
    this.expected = now + SAMPLE_INTERVAL_MS;
    if (this.lastLagMs > this.maxLagMs) {
      this.calm = 0;
      if (!this.overloadedNow) this.change(true);
    } else if (this.overloadedNow) {
      this.calm = this.lastLagMs < this.maxLagMs / 2 ? this.calm + 1 : 0;
      if (this.calm >= CALM_SAMPLES) this.change(false);
    }
  }

  private change(overloaded: boolean): void {
    this.overloadedNow = overloaded;
    this.onChange(overloaded, this.lastLagMs);
  }
}
