import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerLength, writeHeader } from '../../src/resp/encode.js';

test('headerLength is the length writeHeader writes, so buffers sized by it are exact', () => {
  const out = Buffer.alloc(32);
  for (const n of [0, 1, 9, 10, 11, 99, 100, 999, 1000, 65535, 1048576, 2147483647]) {
    const end = writeHeader(out, 0, 0x2a, n);
    assert.equal(out.toString('latin1', 0, end), `*${n}\r\n`);
    assert.equal(headerLength(n), end, `n = ${n}`);
  }
});
