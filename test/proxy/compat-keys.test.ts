/**
 * Compatibility, part 4: keys and expiry, scripting, and error replies. Every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal.
 * Keys are picked so that each family lands on both backends; multi-key commands use {tags}.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { compatSuite, err, near, tagged } from '../helpers/compat.js';
import { keyOn } from '../helpers/proxy.js';
import { RedisError } from '../helpers/redis.js';
import type { Reply } from '../helpers/resp-client.js';

const compat = compatSuite();
const { same, assertKeyspaceSpread } = compat;

const sha1 = (s: string) => createHash('sha1').update(s).digest('hex');

// ---------------------------------------------------------------- keys and expiry

describe('keys and expiry', () => {
  const k = (name: string, b: number) => keyOn(`key-${name}`, b);
  const t = tagged('keytag', 1);

  test('EXISTS, TYPE, OBJECT ENCODING, TOUCH, UNLINK', async () => {
    await same([
      ['SET', k('s', 0), 'v'],
      ['SET', k('int', 1), 12345],
      ['SET', k('raw', 0), 'x'.repeat(100)],
      ['RPUSH', k('l', 1), 'a', 'b'],
      ['HSET', k('h', 0), 'f', 'v'],
      ['SADD', k('set', 1), 'm'],
      ['SADD', k('iset', 0), 1, 2],
      ['ZADD', k('z', 0), 1, 'm'],
      ['XADD', k('x', 1), '1-1', 'f', 'v'],
      ...['s', 'l', 'h', 'set', 'z', 'x', 'missing'].map((n) => ['TYPE', k(n, n.length % 2)]),
      ...['s', 'int', 'raw', 'l', 'h', 'set', 'iset', 'z'].map((n) => [
        'OBJECT',
        'ENCODING',
        k(n, n.length % 2),
      ]),
      ['OBJECT', 'ENCODING', k('missing', 0)],
      err('OBJECT', 'FREQ', k('s', 0)),
      ['EXISTS', k('s', 0)],
      ['EXISTS', k('missing', 1)],
      ['TOUCH', k('s', 0), k('l', 1), k('missing', 1)],
      ['UNLINK', k('s', 0), k('missing', 0)],
      ['EXISTS', k('s', 0)],
      ['SET', '', 'empty key'],
      ['GET', ''],
      ['SET', Buffer.from([0, 1, 0xff, 0x7b]), Buffer.from([0xfe, 0, 0x0d, 0x0a])],
      ['GET', Buffer.from([0, 1, 0xff, 0x7b])],
    ]);
  });

  test('EXPIRE with NX/XX/GT/LT, PEXPIRE, EXPIREAT, TTL, PTTL, PERSIST, EXPIRETIME', async () => {
    const [e0, e1] = [k('e', 0), k('e', 1)];
    await same([
      ['SET', e0, 'v'],
      ['SET', e1, 'v'],
      ['EXPIRE', e0, 100, 'NX'],
      ['EXPIRE', e0, 200, 'NX'],
      ['EXPIRE', e0, 50, 'XX'],
      ['EXPIRE', e0, 40, 'GT'],
      ['EXPIRE', e0, 60, 'GT'],
      ['EXPIRE', e0, 10, 'LT'],
      ['EXPIRE', e1, 100, 'XX'],
      near(1, 'TTL', e0),
      near(1000, 'PTTL', e0),
      ['PEXPIRE', e1, 100_000],
      ['PEXPIRE', e1, 200_000, 'GT'],
      near(1000, 'PTTL', e1),
      ['PERSIST', e1],
      ['PERSIST', e1],
      ['TTL', e1],
      ['TTL', k('missing', 1)],
      ['PTTL', k('missing', 0)],
      ['EXPIRETIME', e1],
      ['EXPIRETIME', k('missing', 0)],
      ['EXPIREAT', e1, 4102444800],
      ['EXPIRETIME', e1],
      ['PEXPIRETIME', e1],
      near(2, 'TTL', e1),
      ['PEXPIREAT', e1, 4102444800123],
      ['PEXPIRETIME', e1],
      ['EXPIRE', e0, 1000],
      near(1, 'EXPIRETIME', e0),
      ['EXPIREAT', e0, 1],
      ['EXISTS', e0],
      ['GET', e0],
      err('EXPIRE', e1, 'abc'),
      err('EXPIRE', e1, 10, 'NX', 'XX'),
      err('EXPIRE', e1, 10, 'BOGUS'),
    ]);
  });

  test('RENAME, RENAMENX and COPY on same-tag keys', async () => {
    await same([
      ['SET', t('a'), 1],
      ['RENAME', t('a'), t('b')],
      ['GET', t('b')],
      err('RENAME', t('a'), t('c')),
      ['SET', t('c'), 'x'],
      ['RENAMENX', t('b'), t('c')],
      ['RENAMENX', t('b'), t('d')],
      ['COPY', t('d'), t('e')],
      ['COPY', t('d'), t('e')],
      ['SET', t('d'), 2],
      ['COPY', t('d'), t('e'), 'REPLACE'],
      ['GET', t('e')],
      ['COPY', t('missing'), t('f')],
      ['RPUSH', t('l'), 'x', 'y'],
      ['RENAME', t('l'), t('l2')],
      ['LRANGE', t('l2'), 0, -1],
      ['EXISTS', t('l')],
    ]);
  });

  test('MOVE between databases, and SELECT to find the key there', async () => {
    const [m0, m1] = [k('move', 0), k('move', 1)];
    await same([
      ['SET', m0, 'v0'],
      ['PEXPIRE', m0, 100_000],
      ['RPUSH', m1, 'a', 'b'],
      ['MOVE', m0, 3],
      ['MOVE', m1, 3],
      ['EXISTS', m0, m1],
      ['MOVE', m0, 3],
      ['SET', m1, 'in db 0'],
      ['SELECT', 3],
      ['GET', m0],
      ['PERSIST', m0],
      ['LRANGE', m1, 0, -1],
      ['MOVE', m1, 0],
      err('MOVE', m0, 3),
      err('MOVE', m0, 16),
      err('MOVE', m0, 'x'),
      err('MOVE', m0),
      ['DEL', m0, m1],
      ['SELECT', 0],
      ['GET', m1],
      ['DEL', m1],
    ]);
  });

  test('DUMP and RESTORE (RESTORE is forwarded as a single-key write)', async () => {
    const [src, dst] = [k('dump', 0), k('restore', 1)];
    await same([
      ['HSET', src, 'f1', 'v1', 'f2', 'v2'],
      ['DUMP', src],
      ['DUMP', k('missing', 0)],
    ]);
    const dump = (await compat.direct.call('DUMP', src)) as Buffer;
    await same([
      ['RESTORE', dst, 0, dump],
      ['HGETALL', dst],
      err('RESTORE', dst, 0, dump),
      ['RESTORE', dst, 100_000, dump, 'REPLACE'],
      near(1000, 'PTTL', dst),
      err('RESTORE', k('restore2', 0), 0, Buffer.from('not a dump')),
    ]);
  });

  test('SORT and SORT_RO', async () => {
    const [nums, words] = [k('sort-n', 0), k('sort-w', 1)];
    await same([
      ['RPUSH', nums, 3, 1, 2, 10],
      ['RPUSH', words, 'b', 'a', 'c'],
      ['SORT', nums],
      ['SORT', nums, 'DESC', 'LIMIT', 0, 2],
      ['SORT', nums, 'BY', 'nosort'],
      ['SORT', words, 'ALPHA'],
      ['SORT', words, 'ALPHA', 'DESC', 'LIMIT', 1, 5],
      err('SORT', words),
      ['SADD', t('ss'), 5, 3, 9],
      ['SORT', t('ss'), 'STORE', t('sorted')],
      ['LRANGE', t('sorted'), 0, -1],
      ['SORT_RO', nums, 'DESC'],
      ['SORT_RO', words, 'ALPHA', 'LIMIT', 1, 2],
      err('SORT_RO', nums, 'STORE', t('x')),
    ]);
  });
});

// ---------------------------------------------------------------- scripting

describe('scripting', () => {
  const [s0, s1] = [keyOn('script', 0), keyOn('script', 1)];
  const t = tagged('scripttag', 0);
  const SET = "return redis.call('SET', KEYS[1], ARGV[1])";
  const GET = "return redis.call('GET', KEYS[1])";

  test('EVAL, EVALSHA, EVAL_RO with KEYS', async () => {
    await same([
      ['EVAL', SET, 1, s0, 'v0'],
      ['EVAL', SET, 1, s1, 'v1'],
      ['EVAL', GET, 1, s0],
      ['EVAL', GET, 1, s1],
      ['EVAL', "return {KEYS[1], ARGV[1], 3, redis.call('INCR', KEYS[2])}", 2, t('a'), t('b'), 'x'],
      ['EVAL', "return {1, 'two', {3, 'four'}, redis.status_reply('FINE'), false, 2.9}", 0],
      ['EVAL', "return {1, redis.error_reply('INNER nested error'), 3}", 1, s0],
      err('EVAL', "return redis.error_reply('MYERR custom')", 1, s1),
      ['EVALSHA', sha1(GET), 1, s0],
      ['EVALSHA', sha1(GET), 1, s1],
      err('EVALSHA', 'f'.repeat(40), 1, s0),
      ['EVAL_RO', GET, 1, s0],
      ['EVALSHA_RO', sha1(GET), 1, s1],
      err('EVAL_RO', SET, 1, s0, 'x'),
      err('EVAL', "return redis.call('LPUSH', KEYS[1], 'x')", 1, s0),
      err('EVAL', 'this is not lua', 0),
    ]);
  });

  test('SCRIPT LOAD/EXISTS/FLUSH and FUNCTION LOAD/LIST/DELETE answer as Redis; FCALL runs on every group', async () => {
    const lib = [
      '#!lua name=compat',
      "redis.register_function('cset', function(keys, args) return redis.call('SET', keys[1], args[1]) end)",
      "redis.register_function{function_name='cget', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}",
    ].join('\n');
    await same([
      ['SCRIPT', 'FLUSH'],
      err('EVALSHA', sha1(GET), 1, s0),
      ['SCRIPT', 'EXISTS', sha1(GET), sha1(SET)],
      ['SCRIPT', 'LOAD', GET],
      ['SCRIPT', 'EXISTS', sha1(GET), sha1(SET)],
      ['EVALSHA', sha1(GET), 1, s0],
      ['EVALSHA', sha1(GET), 1, s1],
      ['SCRIPT', 'FLUSH', 'ASYNC'],
      ['SCRIPT', 'EXISTS', sha1(GET)],
      err('SCRIPT', 'LOAD', 'not lua'),
      err('SCRIPT', 'EXISTS'),
    ]);
    // Nothing runs: every server says NOTBUSY, as one would.
    await same([err('SCRIPT', 'KILL'), err('FUNCTION', 'KILL')]);
    await same([err('FCALL', 'cset', 1, s0, 'x'), err('FCALL_RO', 'cget', 1, s1)]);
    // Loaded through the proxy, the library is on every group: FCALL works whichever has the key.
    await same([
      ['FUNCTION', 'LOAD', lib],
      err('FUNCTION', 'LOAD', lib),
      ['FUNCTION', 'LOAD', 'REPLACE', lib],
      err('FUNCTION', 'LOAD', 'not a library'),
      ['FCALL', 'cset', 1, s0, 'f0'],
      ['FCALL', 'cset', 1, s1, 'f1'],
      ['FCALL_RO', 'cget', 1, s0],
      ['FCALL_RO', 'cget', 1, s1],
      err('FCALL_RO', 'cset', 1, s0, 'x'),
      err('FCALL', 'nosuch', 1, s0),
    ]);
    // Each server lists a library's functions in its own hash order: compared as sets.
    const [listed] = (await compat.viaProxy.call('FUNCTION', 'LIST', 'LIBRARYNAME', 'comp*')) as Reply[][];
    assert.equal(String(listed![1]), 'compat');
    const names = (listed![5] as Reply[][]).map((f) => String(f[1]));
    assert.deepEqual(names.sort(), ['cget', 'cset']);
    // DUMP reads one group; RESTORE after a FLUSH puts the library back on every group.
    const proxy = compat.viaProxy;
    const dump = (await proxy.call('FUNCTION', 'DUMP')) as Buffer;
    assert.equal(await proxy.call('FUNCTION', 'FLUSH'), 'OK');
    assert.ok((await proxy.call('FCALL', 'cset', 1, s0, 'gone')) instanceof RedisError);
    assert.equal(await proxy.call('FUNCTION', 'RESTORE', dump), 'OK');
    assert.equal(await proxy.call('FCALL', 'cset', 1, s0, 'f0'), 'OK');
    assert.equal(await proxy.call('FCALL', 'cset', 1, s1, 'f1'), 'OK');
    await same([
      ['FUNCTION', 'DELETE', 'compat'],
      err('FUNCTION', 'DELETE', 'compat'),
      err('FCALL', 'cset', 1, s1, 'x'),
      ['FUNCTION', 'FLUSH'],
      ['FUNCTION', 'LIST'],
    ]);
    for (const s of compat.servers) assert.deepEqual(await s.call('FUNCTION', 'LIST'), [], s.addr);
  });
});

// ---------------------------------------------------------------- error replies

describe('error replies', () => {
  const [str, list] = [keyOn('err-str', 0), keyOn('err-list', 1)];

  test('WRONGTYPE, wrong arity and syntax errors pass through unchanged', async () => {
    await same([
      ['SET', str, 'not a number'],
      ['RPUSH', list, 'a'],
      err('GET'),
      err('SET', str),
      err('GET', str, 'extra'),
      err('HSET', str),
      err('HSET', list, 'f', 'v', 'f2'),
      err('SET', str, 'v', 'NX', 'XX'),
      err('SET', str, 'v', 'EX', 'soon'),
      err('SET', str, 'v', 'EX', 0),
      err('SET', str, 'v', 'EX', 10, 'PX', 10),
      err('LPUSH', str, 'x'),
      err('GET', list),
      err('HGET', str, 'f'),
      err('ZADD', list, 1, 'a'),
      err('XADD', list, '1-1', 'f', 'v'),
      err('INCR', str),
      err('INCRBYFLOAT', str, 1),
      err('GETRANGE', str, 'a', 'b'),
      err('SETRANGE', str, -1, 'x'),
      err('LINDEX', list, 'x'),
      err('LRANGE', str, 0, -1),
      err('OBJECT', 'NOSUCH', str),
      err('NOSUCHCOMMAND', str, 'x'),
      err('get'),
      ['GET', str],
    ]);
  });

  test('bad numkeys arguments get the same error as from Redis', async () => {
    await same([
      err('EVAL', 'return 1', -1),
      err('EVAL', 'return 1', 5, str),
      err('EVAL', 'return 1', 'x'),
      err('SINTERCARD', 3, str),
      err('SINTERCARD', 0, str),
      err('ZINTERSTORE', keyOn('err-dst', 0), 'abc', str),
      err('ZUNION', 3, str),
      err('LMPOP', 3, str, 'LEFT'),
      err('ZMPOP', 0, str, 'MIN'),
    ]);
  });

  test('unknown command and unknown subcommand errors read as Redis writes them', async () => {
    const long = 'x'.repeat(100);
    await same([
      err('NOSUCHCOMMAND', long, long, long),
      err('NOSUCHCOMMAND', 1, 2, 3, 4, 5, 6, 7, 8, 9),
      err('NOSUCHCOMMAND', 'a\r\nb'),
      err('OBJECT', 'NOSUCH\r\nX', str),
      err('CLIENT', 'NOSUCH'),
      err('CLIENT', 'nosuch', 'x'),
      // Redis cuts the name it quotes at 128 bytes.
      err('CLIENT', long + long),
      err('OBJECT', long + long, str),
      err('COMMAND', long + long),
    ]);
  });
});

test('the families above spread their keys over both backends, each key on its slot owner', async () => {
  await assertKeyspaceSpread();
});
