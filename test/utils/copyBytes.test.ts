import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyBytes } from '../../src/utils/copyBytes.js';

test('copyBytes copies a range to an offset, short (loop) and long (Buffer#copy) alike', () => {
  const src = Buffer.from(Array.from({ length: 200 }, (_, i) => i));
  for (const [start, end] of [
    [3, 8],
    [0, 32],
    [10, 43],
    [50, 200],
  ] as const) {
    const dst = Buffer.alloc(260, 0xff);
    assert.equal(copyBytes(src, start, end, dst, 7), end - start);
    assert.deepEqual(dst.subarray(7, 7 + end - start), src.subarray(start, end));
    assert.equal(dst[6], 0xff, 'nothing written before the offset');
    assert.equal(dst[7 + end - start], 0xff, 'nothing written past the range');
  }
  assert.equal(copyBytes(src, 5, 5, Buffer.alloc(1), 0), 0);
});
