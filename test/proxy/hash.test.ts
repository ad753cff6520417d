import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, slotOf } from '../../src/proxy/hash.js';
import { crc32 as zlibCrc32 } from 'node:zlib';

// The tag rule of Codis's mapper_test.go: which bytes of the key are hashed.
const CASES: [string, string][] = [
  ['{abc}', 'abc'],
  ['{{{abc1}abc2}', '{{abc1'],
  ['abc1{abc2{abc3}', 'abc2{abc3'],
  ['{{{{abc', '{{{{abc'],
  ['{{{{abc}', '{{{abc'],
  ['{{}{{abc', '{'],
  ['abc}{abc', 'abc}{abc'],
  ['abc}{123}456', '123'],
  ['123{abc}456', 'abc'],
  ['123{456}', '456'],
  ['{}abc', ''],
  ['abc{}123', ''],
];

test('crc32 is the IEEE CRC-32 (same as zlib)', () => {
  for (const s of ['', 'a', 'abc', 'hello world', '\x00\xff binary']) {
    const b = Buffer.from(s, 'latin1');
    assert.equal(crc32(b), zlibCrc32(b) >>> 0, s);
  }
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
});

test('crc32 of any range (every length and start, 4 bytes at a time and the rest) matches zlib', () => {
  const b = Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 151 + 17) & 0xff));
  for (let start = 0; start < 8; start++) {
    for (let end = start; end <= b.length; end++) {
      assert.equal(crc32(b, start, end), zlibCrc32(b.subarray(start, end)) >>> 0, `[${start}, ${end})`);
    }
  }
});

test('hash tags follow the Codis rule, empty tag hashes the empty string', () => {
  for (const [key, hashed] of CASES) {
    assert.equal(slotOf(key), (zlibCrc32(Buffer.from(hashed)) >>> 0) % 1024, `${key} hashes ${hashed}`);
  }
  assert.equal(slotOf('{}abc'), 0);
  assert.equal(slotOf(''), 0);
});

test('keys sharing a tag share a slot, binary keys hash their bytes', () => {
  assert.equal(slotOf('user:{42}:name'), slotOf('user:{42}:email'));
  const bin = Buffer.from([0xff, 0x00, 0x7b, 0x01, 0x7d]);
  assert.equal(slotOf(bin), (zlibCrc32(Buffer.from([0x01])) >>> 0) % 1024);
});

test('the slot is crc32 mod 1024 for keys whose CRC has its top bit set and for those that do not', () => {
  let high = 0;
  for (let i = 0; i < 4000; i++) {
    const key = Buffer.from(`key:${i * 7919}`);
    const crc = zlibCrc32(key) >>> 0;
    if (crc >= 0x80000000) high++;
    assert.equal(slotOf(key), crc % 1024, key.toString());
  }
  assert.ok(high > 1000 && high < 3000, `${high} of 4000 keys had the top bit set`);
});
