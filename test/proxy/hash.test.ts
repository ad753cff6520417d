import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, slotOf, slotOfRange } from '../../src/proxy/hash.js';
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

/** The tag rule written the plain way, on the key's own bytes. */
function referenceSlot(key: Buffer): number {
  const open = key.indexOf(0x7b);
  const close = open < 0 ? -1 : key.indexOf(0x7d, open + 1);
  const hashed = close < 0 ? key : key.subarray(open + 1, close);
  return (zlibCrc32(hashed) >>> 0) % 1024;
}

test('a key range finds its tag wherever the braces fall, and never reads past its ends', () => {
  // Bytes next to '{' (0x7b) in value, and 0x00/0xff, around the braces: the word-wide search
  // for '{' must neither miss one nor see one that is not there.
  const filler = [0x61, 0x7a, 0x7c, 0xfb, 0x3b, 0x00, 0xff, 0x01, 0xfd];
  let checked = 0;
  for (let len = 0; len <= 14; len++) {
    for (let open = -1; open < len; open++) {
      for (let close = -1; close < len; close++) {
        if (close === open && close >= 0) continue;
        const key = Buffer.alloc(len);
        for (let i = 0; i < len; i++) key[i] = filler[(i * 5 + len + open + 9) % filler.length]!;
        if (open >= 0) key[open] = 0x7b;
        if (close >= 0) key[close] = 0x7d;
        // Braces just outside the range belong to other bytes of the chunk.
        for (const pad of [0, 1, 2, 3]) {
          const chunk = Buffer.concat([Buffer.alloc(pad, 0x7b), key, Buffer.from('{x}')]);
          assert.equal(
            slotOfRange(chunk, pad, pad + len),
            referenceSlot(key),
            `${key.toString('hex')} at ${pad}`,
          );
          checked++;
        }
      }
    }
  }
  assert.ok(checked > 4000);
});
