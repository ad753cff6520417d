/**
 * Compatibility, part 2: lists, hashes and sets. Every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal.
 * Keys are picked so that each family lands on both backends; multi-key commands use {tags}.
 */
import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import {
  compatSuite,
  equalBy,
  err,
  pairsOf,
  picks,
  shape,
  show,
  sorted,
  tagged,
  type Step,
} from '../helpers/compat.js';
import { keyOn } from '../helpers/proxy.js';
import { RedisError, type Arg, type Reply } from '../helpers/redis.js';

const compat = compatSuite();
const { same, assertKeyspaceSpread } = compat;

/** SSCAN/HSCAN on a hashtable: cursor 0 and the elements, order ignored. */
const scanAll = (...cmd: Arg[]): Step => ({
  cmd,
  check: equalBy((r: Reply) =>
    Array.isArray(r) && Array.isArray(r[1]) ? [show(r[0]!), r[1].map(show).sort()] : show(r),
  ),
});

// ---------------------------------------------------------------- lists

describe('lists', () => {
  const [l, l2] = [keyOn('list', 0), keyOn('list', 1)];
  const t = tagged('listtag', 1);

  test('push, pop with count, range, index, set, insert, rem, trim, pos', async () => {
    await same([
      ['RPUSH', l, 'a', 'b', 'c', 'd', 'e'],
      ['LPUSH', l, 'z', 'y'],
      ['LRANGE', l, 0, -1],
      ['LPOP', l],
      ['LPOP', l, 2],
      ['RPOP', l],
      ['RPOP', l, 2],
      ['LRANGE', l, 0, -1],
      ['LLEN', l],
      ['LPOP', keyOn('list-missing', 0)],
      ['LPOP', keyOn('list-missing', 1), 2],
      ['RPUSH', l2, 'a', 'b', 'a', 'c', 'a', 'd'],
      ['LINDEX', l2, 0],
      ['LINDEX', l2, -1],
      ['LINDEX', l2, 100],
      ['LSET', l2, 1, 'B'],
      err('LSET', l2, 100, 'x'),
      err('LSET', keyOn('list-missing', 0), 0, 'x'),
      ['LINSERT', l2, 'BEFORE', 'c', 'X'],
      ['LINSERT', l2, 'AFTER', 'nope', 'Y'],
      ['LPOS', l2, 'a'],
      ['LPOS', l2, 'a', 'RANK', -1],
      ['LPOS', l2, 'a', 'COUNT', 0],
      ['LPOS', l2, 'a', 'COUNT', 2, 'MAXLEN', 3],
      ['LPOS', l2, 'nope'],
      ['LREM', l2, 1, 'a'],
      ['LREM', l2, -1, 'a'],
      ['LRANGE', l2, 0, -1],
      ['LTRIM', l2, 1, -2],
      ['LRANGE', l2, 0, -1],
      ['LRANGE', l2, -100, 100],
      ['LPUSHX', keyOn('list-missing', 1), 'x'],
      ['RPUSHX', l2, 'tail'],
      ['LRANGE', l2, 0, -1],
    ]);
  });

  test('LMOVE, RPOPLPUSH, LMPOP on same-tag keys', async () => {
    await same([
      ['RPUSH', t('a'), 1, 2, 3, 4, 5],
      ['LMOVE', t('a'), t('b'), 'LEFT', 'RIGHT'],
      ['LMOVE', t('a'), t('b'), 'RIGHT', 'LEFT'],
      ['RPOPLPUSH', t('a'), t('b')],
      ['LRANGE', t('a'), 0, -1],
      ['LRANGE', t('b'), 0, -1],
      ['LMOVE', t('missing'), t('b'), 'LEFT', 'LEFT'],
      ['LMPOP', 2, t('missing'), t('b'), 'LEFT', 'COUNT', 2],
      ['LMPOP', 2, t('a'), t('b'), 'RIGHT'],
      ['LMPOP', 1, t('missing'), 'RIGHT'],
      ['LRANGE', t('b'), 0, -1],
    ]);
  });

  test("SORT and SORT_RO: BY and GET patterns within the sorted key's {tag}, STORE", async () => {
    const o = tagged('sort-other', 1);
    await same([
      ['RPUSH', t('ids'), 3, 1, 2],
      ['MSET', t('w_1'), 30, t('w_2'), 10, t('w_3'), 20],
      ['HSET', t('o_1'), 'name', 'one'],
      ['HSET', t('o_2'), 'name', 'two'],
      ['SORT', t('ids')],
      ['SORT', t('ids'), 'DESC', 'LIMIT', 0, 2],
      ['SORT', t('ids'), 'BY', t('w_*')],
      ['SORT', t('ids'), 'BY', t('w_*'), 'GET', '#', 'GET', t('o_*->name'), 'GET', t('w_*')],
      ['SORT', t('ids'), 'BY', 'nosort', 'GET', t('w_*')],
      ['SORT_RO', t('ids'), 'BY', t('w_*'), 'DESC'],
      ['SORT', t('ids'), 'BY', t('w_*'), 'STORE', t('sorted')],
      ['LRANGE', t('sorted'), 0, -1],
      err('SORT', t('ids'), 'BY'),
    ]);
    // Patterns whose keys may hash elsewhere: the backend would read them from its own keyspace.
    for (const cmd of [
      ['SORT', t('ids'), 'BY', 'w_*'],
      ['SORT', t('ids'), 'GET', '#', 'GET', 'o_*->name'],
      ['SORT_RO', t('ids'), 'BY', o('w_*')],
      ['SORT', t('ids'), 'BY', `w_*${t('')}`],
    ]) {
      const r = await compat.viaProxy.call(...cmd);
      assert.ok(r instanceof RedisError, `${cmd.join(' ')} → ${show(r)}`);
      assert.match(
        r.message,
        /^ERR handle request, command 'SORT(_RO)?' is not allowed \(the keys its (BY|GET) pattern/,
      );
    }
    assert.deepEqual(((await compat.viaProxy.call('LRANGE', t('ids'), 0, -1)) as Reply[]).map(String), [
      '3',
      '1',
      '2',
    ]);
  });
});

// ---------------------------------------------------------------- hashes

describe('hashes', () => {
  const [h, h2] = [keyOn('hash', 0), keyOn('hash', 1)];
  const fields: Record<string, string> = {};
  for (let i = 0; i < 10; i++) fields[`f${i}`] = `v${i}`;

  test('HSET, HGET, HMGET, HGETALL, HDEL, HINCRBY*, HKEYS, HVALS, HLEN, HEXISTS, HSETNX, HSTRLEN', async () => {
    await same([
      ['HSET', h, 'f1', 'v1', 'f2', 'v2', 'f3', '3'],
      ['HSET', h, 'f1', 'v1b'],
      ['HGET', h, 'f1'],
      ['HGET', h, 'nope'],
      ['HGET', keyOn('hash-missing', 1), 'f1'],
      ['HMGET', h, 'f1', 'nope', 'f2'],
      ['HGETALL', h],
      ['HDEL', h, 'f2', 'nope'],
      ['HINCRBY', h, 'f3', 10],
      ['HINCRBY', h, 'f3', -20],
      ['HINCRBYFLOAT', h, 'fl', '2.5'],
      ['HINCRBYFLOAT', h, 'fl', '0.1'],
      err('HINCRBY', h, 'f1', 1),
      ['HKEYS', h],
      ['HVALS', h],
      ['HLEN', h],
      ['HEXISTS', h, 'f1'],
      ['HEXISTS', h, 'nope'],
      ['HSETNX', h, 'f1', 'x'],
      ['HSETNX', h, 'f9', 'y'],
      ['HSTRLEN', h, 'f1'],
      ['HSTRLEN', h, 'nope'],
      ['HMSET', h, 'a', 1, 'b', 2],
      ['HGETALL', h],
      ['HSCAN', h, 0],
      ['HSCAN', h, 0, 'MATCH', 'f*', 'COUNT', 100],
      ['HGETALL', keyOn('hash-missing', 0)],
    ]);
  });

  test('HRANDFIELD: members and values of the hash only', async () => {
    const names = Object.keys(fields);
    await same([
      ['HSET', h2, ...Object.entries(fields).flat()],
      shape(picks(names), 'HRANDFIELD', h2),
      shape(picks(names, 3), 'HRANDFIELD', h2, 3),
      shape(picks(names, 10), 'HRANDFIELD', h2, 20),
      shape(picks(names, -15), 'HRANDFIELD', h2, -15),
      shape(pairsOf(fields, 4), 'HRANDFIELD', h2, 4, 'WITHVALUES'),
      ['HRANDFIELD', keyOn('hash-missing', 1), 3],
      ['HRANDFIELD', keyOn('hash-missing', 1)],
    ]);
  });
});

// ---------------------------------------------------------------- sets

describe('sets', () => {
  const [s, ints, p] = [keyOn('set', 1), keyOn('set-int', 0), keyOn('set-pop', 0)];
  const t = tagged('settag', 0);
  const universe = ['a', 'b', 'c', 'e'];

  test('SADD, SREM, SMEMBERS, SISMEMBER, SMISMEMBER, SCARD, SRANDMEMBER, SSCAN', async () => {
    await same([
      ['SADD', s, 'a', 'b', 'c', 'd'],
      ['SADD', s, 'a', 'e'],
      ['SREM', s, 'd', 'nope'],
      sorted('SMEMBERS', s),
      ['SISMEMBER', s, 'a'],
      ['SISMEMBER', s, 'z'],
      ['SMISMEMBER', s, 'a', 'z', 'b'],
      ['SCARD', s],
      ['SCARD', keyOn('set-missing', 1)],
      shape(picks(universe), 'SRANDMEMBER', s),
      shape(picks(universe, 2), 'SRANDMEMBER', s, 2),
      shape(picks(universe, 4), 'SRANDMEMBER', s, 10),
      shape(picks(universe, -7), 'SRANDMEMBER', s, -7),
      ['SRANDMEMBER', keyOn('set-missing', 0)],
      scanAll('SSCAN', s, 0, 'COUNT', 100),
      ['SADD', ints, 3, 1, 2, 10],
      ['SMEMBERS', ints],
      ['SSCAN', ints, 0],
      ['OBJECT', 'ENCODING', ints],
    ]);
  });

  test('SINTER, SUNION, SDIFF, SINTERSTORE, SINTERCARD, SMOVE on same-tag keys', async () => {
    await same([
      ['SADD', t('1'), 'a', 'b', 'c', 'd', 'e'],
      ['SADD', t('2'), 'c', 'd', 'e', 'f'],
      ['SADD', t('3'), 'e', 'f', 'g'],
      sorted('SINTER', t('1'), t('2')),
      sorted('SINTER', t('1'), t('missing')),
      sorted('SUNION', t('1'), t('2'), t('3')),
      sorted('SDIFF', t('1'), t('2'), t('3')),
      ['SINTERSTORE', t('i'), t('1'), t('2')],
      sorted('SMEMBERS', t('i')),
      ['SUNIONSTORE', t('u'), t('1'), t('3')],
      ['SDIFFSTORE', t('d'), t('1'), t('3')],
      sorted('SMEMBERS', t('d')),
      ['SINTERCARD', 2, t('1'), t('2')],
      ['SINTERCARD', 2, t('1'), t('2'), 'LIMIT', 1],
      ['SMOVE', t('1'), t('3'), 'a'],
      ['SMOVE', t('1'), t('3'), 'zz'],
      sorted('SMEMBERS', t('3')),
      ['SISMEMBER', t('1'), 'a'],
    ]);
  });

  test('SPOP with count removes the members it returns', async () => {
    const members = Array.from({ length: 10 }, (_, i) => `m${i}`);
    await same([
      ['SADD', p, ...members],
      shape(picks(members), 'SPOP', p),
      shape(picks(members, 3), 'SPOP', p, 3),
      ['SCARD', p],
      ['SPOP', keyOn('set-missing', 1), 2],
    ]);
    const popped = ((await compat.viaProxy.call('SPOP', p, 2)) as Buffer[]).map(String);
    const left = ((await compat.viaProxy.call('SMEMBERS', p)) as Buffer[]).map(String);
    assert.equal(popped.length, 2);
    assert.equal(left.length, 4);
    for (const m of popped) assert.ok(!left.includes(m), `${m} was popped but is still a member`);
  });
});

test('the families above spread their keys over both backends, each key on its slot owner', async () => {
  await assertKeyspaceSpread();
});
