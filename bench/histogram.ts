/**
 * A latency histogram with 0.5% relative precision from 1 µs to hours, in ~4,000 counters: a
 * minutes-long run at tens of thousands of requests per second costs no more than a short one.
 * Plain data (transferable between worker threads as a Float64Array).
 */
const GROWTH = 1.005;
const LOG_GROWTH = Math.log(GROWTH);
/** Bucket i holds values (in µs) in (GROWTH^(i-1), GROWTH^i]; bucket 0 holds ≤ 1 µs. */
const BUCKETS = Math.ceil(Math.log(24 * 3600 * 1e6) / LOG_GROWTH) + 1;

export interface LatencySummary {
  count: number;
  /** Milliseconds. */
  p50: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export class Histogram {
  readonly counts: Float64Array;
  count = 0;
  sumUs = 0;
  maxUs = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(BUCKETS);
  }

  /** Records one value in milliseconds. */
  record(ms: number): void {
    const us = Math.max(ms * 1000, 0);
    const i = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[i]!++;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(o: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += o.counts[i]!;
    this.count += o.count;
    this.sumUs += o.sumUs;
    this.maxUs = Math.max(this.maxUs, o.maxUs);
  }

  /** The value (ms) at quantile q: the upper bound of its bucket, never above the true max. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(GROWTH ** i, this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.count ? this.maxUs / 1000 : NaN,
      mean: this.count ? this.sumUs / this.count / 1000 : NaN,
    };
  }

  toJSON(): HistogramData {
    return { counts: this.counts, count: this.count, sumUs: this.sumUs, maxUs: this.maxUs };
  }

  static from(d: HistogramData): Histogram {
    const h = new Histogram(d.counts);
    h.count = d.count;
    h.sumUs = d.sumUs;
    h.maxUs = d.maxUs;
    return h;
  }
}

/** What crosses a worker boundary (structured clone keeps the Float64Array). */
export interface HistogramData {
  counts: Float64Array;
  count: number;
  sumUs: number;
  maxUs: number;
}
