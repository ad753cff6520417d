import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mergeRuntime, Runtime } from '../../src/proxy/Runtime.js';

test('the runtime of several workers sums their heaps, memory and collections, and averages the GC share', () => {
  const r = new Runtime();
  const one = r.toJson();
  r.close();
  const a = { ...one, heap: { ...one.heap, inuse: 10, sys: 40 }, general: { ...one.general, sys: 100 } };
  const b = { ...one, heap: { ...one.heap, inuse: 30, sys: 60 }, general: { ...one.general, sys: 200 } };
  a.gc = { num: 5, num_major: 1, cpu_fraction: 0.01, total_pausems: 7 };
  b.gc = { num: 9, num_major: 2, cpu_fraction: 0.03, total_pausems: 11 };
  const m = mergeRuntime([a, b]);
  assert.equal(m.num_procs, 2);
  assert.equal(m.heap.inuse, 40);
  assert.equal(m.heap.sys, 100);
  assert.equal(m.general.sys, 300);
  assert.deepEqual(
    { ...m.gc, cpu_fraction: Number(m.gc.cpu_fraction.toFixed(6)) },
    {
      num: 14,
      num_major: 3,
      cpu_fraction: 0.02,
      total_pausems: 18,
    },
  );
});
