/**
 * Latency histogram in microseconds with log buckets 1 % wide (so percentiles are
 * within 1 %), from 1 µs to about 100 s; small enough to send between processes
 * and merge. The maximum is kept exactly.
 */
const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
const BUCKETS = Math.ceil(Math.log(1e8) / LOG_GROWTH) + 1;

/** Non-empty buckets as [index, count] pairs, and the exact maximum: what crosses process boundaries. */
export interface HistogramData {
  readonly buckets: Array<[number, number]>;
  readonly maxUs: number;
}

export class Histogram {
  private readonly counts = new Float64Array(BUCKETS);
  count = 0;
  maxUs = 0;

  record(us: number): void {
    const index = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.floor(Math.log(us) / LOG_GROWTH));
    this.counts[index]! += 1;
    this.count += 1;
    if (us > this.maxUs) this.maxUs = us;
  }

  add(data: HistogramData): void {
    for (const [index, count] of data.buckets) {
      this.counts[index]! += count;
      this.count += count;
    }
    if (data.maxUs > this.maxUs) this.maxUs = data.maxUs;
  }

  /** The latency below which `p` percent of the samples fall, in µs (the bucket's middle; max for 100). */
  percentile(p: number): number {
    if (this.count === 0) return NaN;
    if (p >= 100) return this.maxUs;
    const rank = Math.ceil((p / 100) * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(this.maxUs, GROWTH ** (i + 0.5));
    }
    return this.maxUs;
  }

  toData(): HistogramData {
    const buckets: Array<[number, number]> = [];
    this.counts.forEach((count, index) => {
      if (count > 0) buckets.push([index, count]);
    });
    return { buckets, maxUs: this.maxUs };
  }
}
