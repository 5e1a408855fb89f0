/**
 * Upper bounds of the latency histograms' buckets, in seconds: from half a
 * millisecond (a memory bus) to ten seconds (a node far behind).
 */
export const LATENCY_BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;

/**
 * Latencies seen since the last take(), counted in the histograms' buckets:
 * bounded whatever the traffic. take() gives a quantile of them, interpolated
 * within its bucket as Prometheus's histogram_quantile() does, and starts over.
 */
export class LatencyWindow {
  private counts = new Array<number>(LATENCY_BUCKETS_SECONDS.length + 1).fill(0);
  private total = 0;

  observe(seconds: number): void {
    let i = 0;
    while (i < LATENCY_BUCKETS_SECONDS.length && seconds > LATENCY_BUCKETS_SECONDS[i]!) i++;
    this.counts[i]!++;
    this.total++;
  }

  /** The `q` quantile (0..1) of what was observed, in seconds, or null if nothing was; then forget it all. */
  take(q: number): number | null {
    const { counts, total } = this;
    this.counts = new Array<number>(counts.length).fill(0);
    this.total = 0;
    if (total === 0) return null;
    const rank = q * total;
    let below = 0;
    for (let i = 0; i < counts.length; i++) {
      const count = counts[i]!;
      if (below + count >= rank && count > 0) {
        const lower = i === 0 ? 0 : LATENCY_BUCKETS_SECONDS[i - 1]!;
        // Past the last bucket there is no upper bound: say its lower one, as Prometheus does.
        if (i === LATENCY_BUCKETS_SECONDS.length) return lower;
        const upper = LATENCY_BUCKETS_SECONDS[i]!;
        return lower + ((upper - lower) * (rank - below)) / count;
      }
      below += count;
    }
    return LATENCY_BUCKETS_SECONDS.at(-1)!;
  }
}
