import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  arrayBodyStart,
  integerReply,
  ReplyProtocolError,
  ReplyScanner,
  splitArrayReply,
} from '../../src/resp/ReplyScanner.js';

const REPLIES = [
  '+OK\r\n',
  '-ERR wrong\r\n',
  ':-42\r\n',
  '$5\r\nhe\r\nl\r\n',
  '$0\r\n\r\n',
  '$-1\r\n',
  '*-1\r\n',
  '*0\r\n',
  '*3\r\n$1\r\na\r\n*2\r\n:1\r\n$-1\r\n+x\r\n',
  '%1\r\n+k\r\n*1\r\n_\r\n',
  '~2\r\n#t\r\n,1.5\r\n',
  '|1\r\n+a\r\n+b\r\n:7\r\n',
  '=7\r\ntxt:abc\r\n',
  '(12345678901234567890\r\n',
  '*2\r\n$10\r\n0123456789\r\n*0\r\n',
  '*12\r\n' + ':1\r\n'.repeat(12),
];

function boundaries(chunks: Buffer[]): number[] {
  const sc = new ReplyScanner();
  const ends: number[] = [];
  let offset = 0;
  for (const c of chunks) {
    let pos = 0;
    for (;;) {
      const end = sc.scan(c, pos);
      if (end < 0) break;
      ends.push(offset + end);
      pos = end;
    }
    offset += c.length;
  }
  return ends;
}

test('finds the end of every reply type, RESP2 and RESP3', () => {
  const stream = Buffer.from(REPLIES.join(''));
  const expected: number[] = [];
  let at = 0;
  for (const r of REPLIES) expected.push((at += Buffer.byteLength(r)));
  assert.deepEqual(boundaries([stream]), expected);
});

test('boundaries do not depend on how the stream is chunked', () => {
  const stream = Buffer.from(REPLIES.join(''));
  const expected = boundaries([stream]);
  for (let i = 1; i < stream.length; i++) {
    assert.deepEqual(boundaries([stream.subarray(0, i), stream.subarray(i)]), expected, `split at ${i}`);
  }
  assert.deepEqual(boundaries([...stream].map((b) => Buffer.from([b]))), expected);
});

test('rejects bytes that cannot start a reply', () => {
  assert.throws(() => new ReplyScanner().scan(Buffer.from('hello\r\n'), 0), ReplyProtocolError);
  assert.throws(() => new ReplyScanner().scan(Buffer.from('$3\r\rabc\r\n'), 0), ReplyProtocolError);
  assert.throws(() => new ReplyScanner().scan(Buffer.from('*1x\r\n'), 0), ReplyProtocolError);
});

test('splits array replies into element views and reads integers', () => {
  const parts = splitArrayReply(Buffer.from('*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:2\r\n'))!;
  assert.deepEqual(parts.map(String), ['$1\r\na\r\n', '$-1\r\n', '*1\r\n:2\r\n']);
  assert.equal(splitArrayReply(Buffer.from('-ERR x\r\n')), null);
  assert.deepEqual(splitArrayReply(Buffer.from('*0\r\n')), []);
  assert.deepEqual(splitArrayReply(Buffer.from('*-1\r\n')), []);
  const int = (s: string, at = 0): number => {
    const b = Buffer.from(s);
    return integerReply(b, at, b.length);
  };
  assert.equal(int(':17\r\n'), 17);
  assert.equal(int(':-3\r\n'), -3);
  assert.equal(int('+OK\r\n:42\r\n', 5), 42);
  for (const bad of ['+OK\r\n', ':\r\n', ':-\r\n', ':1x\r\n', ':12'])
    assert.ok(Number.isNaN(int(bad)), JSON.stringify(bad));
});

test('finds where the elements of an array reply of n elements start, in place', () => {
  const b = Buffer.from('+OK\r\n*12\r\n$1\r\na\r\n');
  assert.equal(arrayBodyStart(b, 5, b.length, 12), 10);
  assert.equal(arrayBodyStart(b, 5, b.length, 2), -1, 'another count');
  assert.equal(arrayBodyStart(b, 0, b.length, 12), -1, 'not an array');
  const cut = Buffer.from('*3\r');
  assert.equal(arrayBodyStart(cut, 0, cut.length, 3), -1, 'header cut short');
});
