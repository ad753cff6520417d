import { test } from 'node:test';
import assert from 'node:assert/strict';
import { indexOfNewline } from '../../src/resp/newline.js';

test('indexOfNewline finds the same newline as indexOf, near and far, from any start', () => {
  // Newlines at every distance around the 32-byte loop window, and none at all.
  for (const at of [0, 1, 5, 30, 31, 32, 33, 40, 100, 5000]) {
    const b = Buffer.alloc(at + 10, 'a');
    b[at] = 10;
    b[at + 5] = 10;
    for (const from of [0, 1, at, at + 1, at + 5, at + 6]) {
      if (from > b.length) continue;
      assert.equal(indexOfNewline(b, from), b.indexOf(10, from), `newline at ${at}, from ${from}`);
    }
  }
  for (const len of [0, 1, 31, 32, 33, 64, 1000]) {
    assert.equal(indexOfNewline(Buffer.alloc(len, 'a'), 0), -1, `no newline in ${len} bytes`);
  }
});
