import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addInto, BUCKETS, bucketOf, bucketTop, percentile } from '../../src/proxy/LatencyHistogram.js';

test('latency buckets are exact below 16 µs and at most 6.25% wide above, up to the last', () => {
  for (let v = 0; v < 16; v++) assert.equal(bucketTop(bucketOf(v)), v);
  let last = -1;
  for (let v = 16; v < 2 ** 31; v = Math.ceil(v * 1.01)) {
    const i = bucketOf(v);
    assert.ok(i >= last && i < BUCKETS, `bucket of ${v}`);
    const top = bucketTop(i);
    assert.ok(top >= v && top - v <= v / 16, `${v} -> top ${top}`);
    last = i;
  }
  assert.equal(bucketOf(10 * 2 ** 31), BUCKETS - 1, 'longer latencies go in the last bucket');
  assert.equal(bucketOf(-5), 0);
  assert.equal(bucketOf(2.4), 2, 'fractions of a µs round');
});

test('percentiles are the top of the bucket that reaches the rank; histograms add up', () => {
  const h = new Uint32Array(BUCKETS);
  assert.equal(percentile(h, 50), 0, 'nothing recorded');
  for (let v = 1; v <= 1000; v++) h[bucketOf(v)]!++;
  const p50 = percentile(h, 50);
  const p99 = percentile(h, 99);
  assert.ok(p50 >= 500 && p50 <= 500 * 1.0625, `p50 ${p50}`);
  assert.ok(p99 >= 990 && p99 <= 990 * 1.0625, `p99 ${p99}`);
  assert.equal(percentile(h, 100), bucketTop(bucketOf(1000)));
  const sum: number[] = [];
  addInto(sum, h);
  addInto(sum, h);
  for (let v = 1; v <= 1000; v++) h[bucketOf(v + 1000)]!++;
  assert.equal(percentile(sum, 50), p50, 'two equal histograms keep their percentiles');
  assert.ok(percentile(h, 50) >= 1000, 'the upper half moved up');
});
