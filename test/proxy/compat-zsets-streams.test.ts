/**
 * Compatibility, part 3: sorted sets and streams. Every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal.
 * Keys are picked so that each family lands on both backends; multi-key commands use {tags}.
 */
import { test, describe } from 'node:test';
import {
  compatSuite,
  equalBy,
  err,
  pairsOf,
  picks,
  plain,
  shape,
  tagged,
  type Plain,
  type Step,
} from '../helpers/compat.js';
import { keyOn } from '../helpers/proxy.js';
import type { Arg } from '../helpers/redis.js';

const compat = compatSuite();
const { same, assertKeyspaceSpread } = compat;

/** Equal after `mask` rewrites the fields that depend on the clock (idle times). */
const masked = (mask: (r: Plain) => Plain, ...cmd: Arg[]): Step => ({
  cmd,
  check: equalBy((r) => mask(plain(r))),
});
/** XPENDING's extended form: [id, consumer, idle ms, deliveries] per entry. */
const noIdle = (r: Plain): Plain =>
  Array.isArray(r) ? r.map((e) => (Array.isArray(e) ? [e[0]!, e[1]!, 0, e[3]!] : e)) : r;
/** XINFO CONSUMERS: a flat map per consumer; drop its clock fields. */
const noClock = (r: Plain): Plain =>
  Array.isArray(r)
    ? r.map((c) =>
        Array.isArray(c) ? c.map((v, i) => (i > 0 && /idle|inactive/.test(String(c[i - 1])) ? 0 : v)) : c,
      )
    : r;

// ---------------------------------------------------------------- sorted sets

describe('sorted sets', () => {
  const [z, zl, zr] = [keyOn('zset', 0), keyOn('zset-lex', 1), keyOn('zset-rand', 1)];
  const t = tagged('ztag', 1);

  test('ZADD options, ZRANGE forms, ranks, scores, counts', async () => {
    await same([
      ['ZADD', z, 1, 'a', 2, 'b', 3, 'c'],
      ['ZADD', z, 'NX', 10, 'a', 4, 'd'],
      ['ZADD', z, 'XX', 'CH', 5, 'a', 9, 'nope'],
      ['ZADD', z, 'GT', 'CH', 1, 'b'],
      ['ZADD', z, 'LT', 'CH', 1, 'b'],
      ['ZADD', z, 'INCR', 2, 'c'],
      ['ZADD', z, 'XX', 'INCR', 1, 'nope'],
      err('ZADD', z, 'NX', 'XX', 1, 'a'),
      err('ZADD', z, 'GT', 'LT', 1, 'a'),
      err('ZADD', z, 'abc', 'a'),
      ['ZADD', zl, 0, 'a', 0, 'b', 0, 'c', 0, 'd', 0, 'e'],
      ['ZRANGE', z, 0, -1, 'WITHSCORES'],
      ['ZRANGE', z, '(1', 5, 'BYSCORE'],
      ['ZRANGE', z, '+inf', '-inf', 'BYSCORE', 'REV', 'LIMIT', 0, 2, 'WITHSCORES'],
      ['ZRANGE', zl, '[b', '(d', 'BYLEX'],
      ['ZRANGE', zl, '+', '-', 'BYLEX', 'REV', 'LIMIT', 1, 2],
      err('ZRANGE', zl, 'b', 'd', 'BYLEX'),
      ['ZRANGEBYSCORE', z, '-inf', '+inf', 'WITHSCORES'],
      ['ZREVRANGE', z, 0, 1],
      ['ZRANGEBYLEX', zl, '-', '+', 'LIMIT', 0, 3],
      ['ZRANK', z, 'c'],
      ['ZRANK', z, 'nope'],
      ['ZREVRANK', z, 'c'],
      ['ZSCORE', z, 'a'],
      ['ZSCORE', z, 'nope'],
      ['ZMSCORE', z, 'a', 'nope', 'c'],
      ['ZINCRBY', z, '1.5', 'a'],
      ['ZINCRBY', z, 1, 'new'],
      err('ZINCRBY', z, 'x', 'a'),
      ['ZCARD', z],
      ['ZCOUNT', z, 1, 5],
      ['ZCOUNT', z, '(1', '+inf'],
      ['ZLEXCOUNT', zl, '-', '+'],
      ['ZLEXCOUNT', zl, '[b', '[d'],
      ['ZSCAN', z, 0],
      ['ZSCAN', z, 0, 'MATCH', '*', 'COUNT', 100],
    ]);
  });

  test('ZREM, ZREMRANGEBY*, ZPOPMIN/MAX', async () => {
    await same([
      ['ZREM', z, 'a', 'nope'],
      ['ZREMRANGEBYSCORE', z, '-inf', 1],
      ['ZREMRANGEBYRANK', z, 0, 0],
      ['ZREMRANGEBYLEX', zl, '[a', '[b'],
      ['ZRANGE', zl, 0, -1],
      ['ZRANGE', z, 0, -1, 'WITHSCORES'],
      ['ZPOPMIN', z],
      ['ZPOPMAX', z, 2],
      ['ZPOPMIN', keyOn('zset-missing', 0)],
      ['ZPOPMAX', keyOn('zset-missing', 1), 3],
    ]);
  });

  test('ZUNIONSTORE, ZINTERSTORE, ZDIFF, ZRANGESTORE, ZMPOP on same-tag keys', async () => {
    await same([
      ['ZADD', t('1'), 1, 'a', 2, 'b', 3, 'c'],
      ['ZADD', t('2'), 10, 'b', 20, 'c', 30, 'd'],
      ['ZUNIONSTORE', t('u'), 2, t('1'), t('2'), 'WEIGHTS', 1, 2, 'AGGREGATE', 'MAX'],
      ['ZRANGE', t('u'), 0, -1, 'WITHSCORES'],
      ['ZINTERSTORE', t('i'), 2, t('1'), t('2')],
      ['ZRANGE', t('i'), 0, -1, 'WITHSCORES'],
      ['ZINTERSTORE', t('i2'), 2, t('1'), t('2'), 'AGGREGATE', 'MIN'],
      ['ZRANGE', t('i2'), 0, -1, 'WITHSCORES'],
      ['ZDIFF', 2, t('1'), t('2'), 'WITHSCORES'],
      ['ZDIFFSTORE', t('d'), 2, t('2'), t('1')],
      ['ZUNION', 2, t('1'), t('2'), 'WITHSCORES'],
      ['ZINTER', 2, t('1'), t('2')],
      ['ZINTERCARD', 2, t('1'), t('2')],
      ['ZRANGESTORE', t('r'), t('2'), 1, -1],
      ['ZRANGE', t('r'), 0, -1, 'WITHSCORES'],
      ['ZRANGESTORE', t('r2'), t('2'), '(10', '+inf', 'BYSCORE', 'LIMIT', 0, 1],
      ['ZRANGE', t('r2'), 0, -1, 'WITHSCORES'],
      ['ZMPOP', 2, t('missing'), t('1'), 'MIN', 'COUNT', 2],
      ['ZMPOP', 1, t('missing'), 'MAX'],
    ]);
  });

  test('ZRANDMEMBER: members and scores of the set only', async () => {
    const scores: Record<string, string> = { a: '1', b: '2', c: '3', d: '4', e: '5' };
    const names = Object.keys(scores);
    await same([
      ['ZADD', zr, ...Object.entries(scores).flatMap(([m, sc]) => [sc, m])],
      shape(picks(names), 'ZRANDMEMBER', zr),
      shape(picks(names, 3), 'ZRANDMEMBER', zr, 3),
      shape(picks(names, -8), 'ZRANDMEMBER', zr, -8),
      shape(pairsOf(scores, 2), 'ZRANDMEMBER', zr, 2, 'WITHSCORES'),
      ['ZRANDMEMBER', keyOn('zset-missing', 0), 2],
    ]);
  });
});

// ---------------------------------------------------------------- streams

describe('streams', () => {
  const s = keyOn('stream', 1);
  const t = tagged('streamtag', 0);

  test('XADD with explicit ids, XLEN, XRANGE, XREVRANGE, XREAD without BLOCK', async () => {
    await same([
      ['XADD', s, '1-1', 'f', 'v'],
      ['XADD', s, '1-2', 'f2', 'v2', 'a', 'b'],
      ['XADD', s, '2-0', 'x', 'y'],
      err('XADD', s, '1-5', 'f', 'v'),
      err('XADD', s, 'not-an-id', 'f', 'v'),
      ['XADD', s, '2-*', 'k', 'v'],
      ['XADD', s, 'MAXLEN', 100, '3-0', 'k', 'v'],
      ['XADD', keyOn('stream-missing', 0), 'NOMKSTREAM', '1-1', 'f', 'v'],
      ['XLEN', s],
      ['XLEN', keyOn('stream-missing', 0)],
      ['XRANGE', s, '-', '+'],
      ['XRANGE', s, '1-2', '+', 'COUNT', 2],
      ['XRANGE', s, '(1-1', 2],
      ['XREVRANGE', s, '+', '-', 'COUNT', 2],
      ['XREVRANGE', s, '2', '1'],
      ['XREAD', 'COUNT', 2, 'STREAMS', s, 0],
      ['XREAD', 'STREAMS', s, '2-0'],
      ['XREAD', 'STREAMS', s, '$'],
      ['XADD', t('a'), '5-0', 'n', 1],
      ['XADD', t('b'), '6-0', 'n', 2],
      ['XREAD', 'STREAMS', t('a'), t('b'), 0, 0],
    ]);
  });

  test('consumer groups: XGROUP CREATE, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM', async () => {
    await same([
      ['XGROUP', 'CREATE', s, 'g', 0],
      err('XGROUP', 'CREATE', s, 'g', 0),
      ['XGROUP', 'CREATE', keyOn('stream-new', 1), 'g', '$', 'MKSTREAM'],
      err('XGROUP', 'CREATE', keyOn('stream-missing', 1), 'g', '$'),
      ['XGROUP', 'CREATECONSUMER', s, 'g', 'c9'],
      ['XREADGROUP', 'GROUP', 'g', 'c1', 'COUNT', 2, 'STREAMS', s, '>'],
      ['XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', s, '>'],
      ['XREADGROUP', 'GROUP', 'g', 'c1', 'STREAMS', s, 0],
      ['XREADGROUP', 'GROUP', 'g', 'c2', 'STREAMS', s, '>'],
      err('XREADGROUP', 'GROUP', 'nogroup', 'c1', 'STREAMS', s, '>'),
      ['XPENDING', s, 'g'],
      masked(noIdle, 'XPENDING', s, 'g', '-', '+', 10),
      masked(noIdle, 'XPENDING', s, 'g', '-', '+', 10, 'c1'),
      ['XACK', s, 'g', '1-1', '9-9'],
      ['XCLAIM', s, 'g', 'c3', 0, '1-2'],
      ['XCLAIM', s, 'g', 'c3', 0, '2-0', 'JUSTID'],
      ['XAUTOCLAIM', s, 'g', 'c4', 0, '0-0', 'COUNT', 2],
      ['XAUTOCLAIM', s, 'g', 'c5', 0, '0-0', 'JUSTID'],
      ['XPENDING', s, 'g'],
      ['XINFO', 'GROUPS', s],
      masked(noClock, 'XINFO', 'CONSUMERS', s, 'g'),
    ]);
  });

  test('XDEL, XTRIM, XINFO STREAM', async () => {
    await same([
      ['XINFO', 'STREAM', s],
      ['XDEL', s, '1-1', '9-9'],
      ['XTRIM', s, 'MAXLEN', 3],
      ['XTRIM', s, 'MINID', '2-1'],
      ['XLEN', s],
      ['XRANGE', s, '-', '+'],
      ['XINFO', 'STREAM', s],
      err('XINFO', 'STREAM', keyOn('stream-missing', 0)),
      ['SET', t('str'), 'x'],
      err('XADD', t('str'), '1-1', 'f', 'v'),
      err('XRANGE', s, 'x', '+'),
    ]);
  });
});

test('the families above spread their keys over both backends, each key on its slot owner', async () => {
  await assertKeyspaceSpread();
});
