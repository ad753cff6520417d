/**
 * Per-command latency histograms, for INFO's Latencystats. The buckets are log-linear, as in an
 * HDR histogram: one per microsecond below 16 µs, then 16 per power of two (at most 6.25%
 * apart). Recording a latency is a few integer operations and one counter bump, so every
 * command is recorded.
 */

/** Buckets for 0 µs up to 2^31 µs (about 36 minutes); longer latencies go in the last one. */
export const BUCKETS = 448;
const MAX = 2 ** 31 - 1;

/** The bucket of a latency in µs. */
export function bucketOf(usecs: number): number {
  const v = usecs >= MAX ? MAX : usecs > 0 ? Math.round(usecs) : 0;
  if (v < 16) return v;
  const e = 31 - Math.clz32(v);
  return 16 + ((e - 4) << 4) + ((v >>> (e - 4)) - 16);
}

/** The largest latency in bucket `i`, as HDR reports a percentile. */
export function bucketTop(i: number): number {
  if (i < 16) return i;
  const e = ((i - 16) >> 4) + 4;
  const lower = (16 + ((i - 16) & 15)) * 2 ** (e - 4);
  return lower + 2 ** (e - 4) - 1;
}

/** The latency (µs) at or under which `p` percent of the recorded ones are; 0 when none are. */
export function percentile(h: ArrayLike<number>, p: number): number {
  let total = 0;
  for (let i = 0; i < h.length; i++) total += h[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < h.length; i++) {
    seen += h[i]!;
    if (seen >= rank) return bucketTop(i);
  }
  return bucketTop(h.length - 1);
}

/** Adds histogram `h` into `sum` (a cluster's workers' histograms into one). */
export function addInto(sum: number[], h: ArrayLike<number>): void {
  for (let i = 0; i < h.length; i++) sum[i] = (sum[i] ?? 0) + h[i]!;
}
