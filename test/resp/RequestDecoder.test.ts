import { test } from 'node:test';
import assert from 'node:assert/strict';
import { splitMultiBulk, type RawCommand } from '../../src/resp/RawCommand.js';
import { ProtocolError, RequestDecoder } from '../../src/resp/RequestDecoder.js';

function decodeAll(chunks: Buffer[], dec = new RequestDecoder()): { args: string[]; raw: string }[] {
  const out: { args: string[]; raw: string }[] = [];
  const sink = {
    onRequest: (cmd: RawCommand) => {
      const args = cmd.args().map(String);
      // A request that kept only the command's bytes rebuilds the same arguments from them.
      assert.deepEqual(splitMultiBulk(cmd.data, cmd.start).map(String), args);
      out.push({ args, raw: cmd.data.toString('latin1', cmd.start, cmd.end) });
    },
  };
  for (const c of chunks) dec.feed(c, sink);
  return out;
}

const PIPE = Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\na\r\n*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$0\r\n\r\nPING\r\n');

test('decodes multi-bulk and inline commands with the raw bytes of each', () => {
  const got = decodeAll([PIPE]);
  assert.deepEqual(
    got.map((r) => r.args),
    [['GET', 'a'], ['SET', 'b', ''], ['PING']],
  );
  assert.equal(got[0]!.raw, '*2\r\n$3\r\nGET\r\n$1\r\na\r\n');
  assert.equal(got[2]!.raw, '*1\r\n$4\r\nPING\r\n');
});

test('gives the same result however the stream is split', () => {
  const whole = decodeAll([PIPE]);
  for (let i = 1; i < PIPE.length; i++) {
    assert.deepEqual(decodeAll([PIPE.subarray(0, i), PIPE.subarray(i)]), whole, `split at ${i}`);
  }
  const bytes = [...PIPE].map((b) => Buffer.from([b]));
  assert.deepEqual(decodeAll(bytes), whole);
  // Headers of several digits, split inside them too.
  const long = Buffer.from(`*3\r\n$3\r\nSET\r\n$12\r\nkey:00000001\r\n$100\r\n${'v'.repeat(100)}\r\n`);
  const [set] = decodeAll([long]);
  assert.deepEqual(set!.args, ['SET', 'key:00000001', 'v'.repeat(100)]);
  for (let i = 1; i < long.length; i++) {
    assert.deepEqual(decodeAll([long.subarray(0, i), long.subarray(i)]), [set], `split at ${i}`);
  }
});

test('arguments are views of the received chunk, not copies', () => {
  const chunk = Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\nhello\r\n');
  let key: Buffer | undefined;
  new RequestDecoder().feed(chunk, { onRequest: (cmd) => (key = cmd.args()[1]) });
  assert.equal(key!.buffer, chunk.buffer);
});

test('inline commands split on blanks and honour quotes', () => {
  const got = decodeAll([Buffer.from('set  k "a b\\x41\\n"\r\n\r\nget \'x y\'\n')]);
  assert.deepEqual(
    got.map((r) => r.args),
    [
      ['set', 'k', 'a bA\n'],
      ['get', 'x y'],
    ],
  );
});

test('skips empty multi-bulks as Redis does', () => {
  assert.deepEqual(
    decodeAll([Buffer.from('*0\r\n*-1\r\n*1\r\n$4\r\nPING\r\n')]).map((r) => r.args),
    [['PING']],
  );
});

test('malformed input raises a ProtocolError with a reason', () => {
  const bad: [string, RegExp][] = [
    ['*abc\r\n', /invalid multibulk length/],
    ['*2\r\n+GET\r\n', /expected '\$', got '\+'/],
    ['*1\r\n$x\r\n', /invalid bulk length/],
    ['*1\r\n$-1\r\n', /invalid bulk length/],
    // Redis refuses these (and drops the connection): they must not reach a shared backend.
    ['*2\r\n$3\r\nGET\r\n$03\r\nfoo\r\n', /invalid bulk length/],
    ['*1\r\n$-0\r\n', /invalid bulk length/],
    ['*1\r\n$+4\r\nPING\r\n', /invalid bulk length/],
    ['*02\r\n$3\r\nGET\r\n$3\r\nfoo\r\n', /invalid multibulk length/],
    ['*-0\r\n', /invalid multibulk length/],
    ['*1\r\n$3\r\nGETXX', /CRLF/],
    ['*1\r\n$4x\r\nPING\r\n', /invalid bulk length/],
    ['*1\r\n$4\rxPING\r\n', /invalid bulk length/],
    ['*1\r\n$12345678901234567\r\n', /invalid bulk length/],
    ['*1x\r\n$4\r\nPING\r\n', /invalid multibulk length/],
    ['*9999999\r\n', /invalid multibulk length/],
    ['set "unterminated\r\n', /unbalanced quotes/],
  ];
  for (const [input, re] of bad) {
    assert.throws(
      () => decodeAll([Buffer.from(input)]),
      (e: unknown) => e instanceof ProtocolError && re.test(e.message),
      input,
    );
  }
});

test('enforces the maximum request size even before the request is complete', () => {
  const dec = new RequestDecoder({ maxElements: 1024, maxBulk: 1 << 20, maxRequest: 1000 });
  assert.throws(() => decodeAll([Buffer.from('*2\r\n$3\r\nSET\r\n$5000\r\nabc')], dec), /request too large/);
  const dec2 = new RequestDecoder({ maxElements: 1024, maxBulk: 100, maxRequest: 1 << 20 });
  assert.throws(() => decodeAll([Buffer.from('*2\r\n$3\r\nSET\r\n$101\r\n')], dec2), /invalid bulk length/);
  assert.throws(() => decodeAll([Buffer.alloc(70 * 1024, 0x61)]), /too big inline request/);
});

test('a large value arriving in many chunks is gathered as it comes, not held as the chunks', () => {
  const value = Buffer.alloc(3 * 1024 * 1024, 0x78);
  value.write('end', value.length - 3);
  const msg = Buffer.concat([
    Buffer.from(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${value.length}\r\n`),
    value,
    Buffer.from('\r\n'),
  ]);
  const dec = new RequestDecoder();
  let got: Buffer[] = [];
  // Every chunk arrives in the same buffer, overwritten by the next one: a decoder that kept
  // the chunks (to join them at the end, at twice the request's size) would decode garbage.
  const scratch = Buffer.alloc(65536);
  for (let i = 0; i < msg.length; i += scratch.length) {
    const n = msg.copy(scratch, 0, i, i + scratch.length);
    dec.feed(scratch.subarray(0, n), { onRequest: (cmd) => (got = cmd.args()) });
    if (got.length === 0) assert.equal(dec.buffered, i + n);
    scratch.fill(0x3f);
  }
  assert.equal(got.length, 3);
  assert.equal(got[1]!.toString(), 'k');
  assert.ok(got[2]!.equals(value));
  assert.equal(dec.buffered, 0);
});

test('big requests between small ones decode the same however the stream is split', () => {
  const big = (n: number, fill: number) => Buffer.alloc(n, fill).toString('latin1');
  const stream = Buffer.from(
    '*2\r\n$3\r\nGET\r\n$1\r\na\r\n' +
      `*3\r\n$3\r\nSET\r\n$1\r\nb\r\n$100000\r\n${big(100000, 0x62)}\r\n` +
      `*7\r\n$4\r\nMSET\r\n$1\r\nc\r\n$70000\r\n${big(70000, 0x63)}\r\n$1\r\nd\r\n$300000\r\n` +
      `${big(300000, 0x64)}\r\n$1\r\ne\r\n$1\r\n!\r\n` +
      'PING\r\n' +
      `*2\r\n$4\r\nECHO\r\n$65536\r\n${big(65536, 0x65)}\r\n`,
    'latin1',
  );
  const whole = decodeAll([stream]);
  assert.deepEqual(
    whole.map((r) => r.args.map((a) => (a.length > 8 ? `${a[0]}×${a.length}` : a))),
    [
      ['GET', 'a'],
      ['SET', 'b', 'b×100000'],
      ['MSET', 'c', 'c×70000', 'd', 'd×300000', 'e', '!'],
      ['PING'],
      ['ECHO', 'e×65536'],
    ],
  );
  // Chunk sizes from a fixed pseudo-random sequence, small and large, so that chunks end
  // inside headers, values and the CRLF after them.
  let seed = 7;
  for (let round = 0; round < 20; round++) {
    const chunks: Buffer[] = [];
    for (let at = 0; at < stream.length;) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const n = 1 + (seed % (round % 2 === 0 ? 200 : 150000));
      chunks.push(Buffer.from(stream.subarray(at, at + n)));
      at += n;
    }
    assert.deepEqual(decodeAll(chunks), whole, `round ${round}`);
  }
});
