/**
 * Compatibility, part 1: strings, bitmaps, HyperLogLog and geo. Every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal.
 * Keys are picked so that each family lands on both backends; multi-key commands use {tags}.
 */
import { test, describe } from 'node:test';
import { compatSuite, err, near, tagged } from '../helpers/compat.js';
import { keyOn } from '../helpers/proxy.js';

const compat = compatSuite();
const { same, assertKeyspaceSpread } = compat;

// ---------------------------------------------------------------- strings

describe('strings', () => {
  const [a, b, n, m] = [keyOn('str', 0), keyOn('str', 1), keyOn('num', 1), keyOn('num', 0)];
  const t = tagged('strtag', 1);

  test('SET with EX/PX/NX/XX/GET/KEEPTTL, GET, GETSET, GETDEL, GETEX', async () => {
    await same([
      ['SET', a, 'hello'],
      ['GET', a],
      ['SET', a, 'v2', 'XX', 'GET'],
      ['SET', a, 'v3', 'NX'],
      ['SET', a, 'v3', 'NX', 'GET'],
      ['SET', b, 'x', 'XX'],
      ['SET', b, 'x', 'NX'],
      ['SET', b, 'y', 'EX', 100],
      near(1, 'TTL', b),
      ['SET', b, 'z', 'KEEPTTL'],
      near(1, 'TTL', b),
      ['SET', b, 'z2'],
      ['TTL', b],
      ['SET', b, 'p', 'PX', 50_000],
      near(1000, 'PTTL', b),
      ['GET', b],
      ['GETSET', a, 'gs'],
      ['GETSET', keyOn('str-new', 1), 'first'],
      ['GETDEL', a],
      ['GETDEL', a],
      ['GET', a],
      ['SET', a, 'ex'],
      ['GETEX', a, 'EX', 200],
      near(1, 'TTL', a),
      ['GETEX', a, 'PERSIST'],
      ['TTL', a],
      ['GETEX', a, 'PX', 90_000],
      near(1000, 'PTTL', a),
      ['GETEX', keyOn('str-missing', 0)],
    ]);
  });

  test('APPEND, counters, SETRANGE/GETRANGE, STRLEN, SETNX, SETEX, PSETEX', async () => {
    await same([
      ['APPEND', a, '-more'],
      ['APPEND', keyOn('str-app', 0), 'fresh'],
      ['GET', a],
      ['SET', n, '10'],
      ['INCR', n],
      ['DECR', n],
      ['INCRBY', n, 5],
      ['DECRBY', n, 3],
      ['INCRBY', n, -100],
      ['INCR', m],
      ['INCRBYFLOAT', m, '1.5'],
      ['INCRBYFLOAT', m, '-0.25'],
      ['INCRBYFLOAT', m, '1e2'],
      ['GET', m],
      ['SETRANGE', b, 5, 'XYZ'],
      ['GET', b],
      ['GETRANGE', b, 0, -1],
      ['GETRANGE', b, -3, -1],
      ['GETRANGE', b, 2, 1],
      ['GETRANGE', keyOn('str-missing', 1), 0, -1],
      ['SETRANGE', keyOn('str-range', 0), 3, Buffer.from([0, 255, 1])],
      ['GET', keyOn('str-range', 0)],
      ['STRLEN', b],
      ['STRLEN', keyOn('str-missing', 0)],
      ['SETNX', a, 'no'],
      ['SETNX', keyOn('str-nx', 1), 'yes'],
      ['SETEX', a, 100, 'sx'],
      near(1, 'TTL', a),
      ['PSETEX', b, 100_000, 'px'],
      near(1000, 'PTTL', b),
      ['MGET', a, b, n, m, keyOn('str-missing', 0)],
    ]);
  });

  test('LCS and MSETNX on same-tag keys', async () => {
    await same([
      ['SET', t('1'), 'ohmytext'],
      ['SET', t('2'), 'mynewtext'],
      ['LCS', t('1'), t('2')],
      ['LCS', t('1'), t('2'), 'LEN'],
      ['LCS', t('1'), t('2'), 'IDX', 'MINMATCHLEN', 4, 'WITHMATCHLEN'],
      ['LCS', t('1'), t('missing')],
      ['MSETNX', t('3'), 'a', t('4'), 'b'],
      ['MSETNX', t('4'), 'c', t('5'), 'd'],
      ['MGET', t('3'), t('4'), t('5')],
    ]);
  });
});

// ---------------------------------------------------------------- bitmaps

describe('bitmaps', () => {
  const [x, y, z] = [keyOn('bits', 0), keyOn('bits', 1), keyOn('bitf', 0)];
  const t = tagged('bittag', 0);

  test('SETBIT, GETBIT, BITCOUNT, BITPOS', async () => {
    await same([
      ['SETBIT', x, 7, 1],
      ['SETBIT', x, 7, 0],
      ['SETBIT', x, 100, 1],
      ['SETBIT', x, 3, 1],
      ['GETBIT', x, 100],
      ['GETBIT', x, 99],
      ['GETBIT', x, 100_000],
      ['GETBIT', keyOn('bits-missing', 1), 0],
      ['BITCOUNT', x],
      ['BITCOUNT', x, 0, 0],
      ['BITCOUNT', x, 0, 10, 'BIT'],
      ['BITPOS', x, 1],
      ['BITPOS', x, 0],
      ['BITPOS', x, 1, 2, -1],
      ['BITPOS', x, 1, 5, 200, 'BIT'],
      ['SET', y, 'foobar'],
      ['BITCOUNT', y],
      ['BITCOUNT', y, 1, 1],
      ['BITPOS', y, 0, 1],
      err('SETBIT', x, -1, 1),
      err('SETBIT', x, 1, 2),
    ]);
  });

  test('BITFIELD, BITFIELD_RO, BITOP on same-tag keys', async () => {
    await same([
      ['BITFIELD', y, 'GET', 'u8', 0, 'GET', 'i4', 4],
      ['BITFIELD', z, 'SET', 'u8', 0, 200, 'INCRBY', 'u8', 0, 100],
      ['BITFIELD', z, 'OVERFLOW', 'SAT', 'INCRBY', 'u8', 0, 100, 'OVERFLOW', 'FAIL', 'INCRBY', 'u8', 0, 100],
      ['BITFIELD', z, 'SET', 'i16', '#1', -300, 'GET', 'i16', '#1'],
      ['BITFIELD_RO', y, 'GET', 'u16', 8, 'GET', 'i8', 0],
      ['BITFIELD_RO', z, 'GET', 'u8', 0],
      err('BITFIELD_RO', y, 'SET', 'u8', 0, 1),
      err('BITFIELD', y, 'GET', 'u99', 0),
      ['SET', t('a'), 'abc'],
      ['SET', t('b'), Buffer.from([0x0f, 0xf0, 0xff, 0x01])],
      ['BITOP', 'AND', t('and'), t('a'), t('b')],
      ['GET', t('and')],
      ['BITOP', 'OR', t('or'), t('a'), t('b'), t('missing')],
      ['GET', t('or')],
      ['BITOP', 'XOR', t('xor'), t('a'), t('b')],
      ['GET', t('xor')],
      ['BITOP', 'NOT', t('not'), t('b')],
      ['GET', t('not')],
      err('BITOP', 'NOT', t('not'), t('a'), t('b')),
    ]);
  });
});

// ---------------------------------------------------------------- HyperLogLog

describe('HyperLogLog', () => {
  const h = keyOn('hll', 1);
  const t = tagged('hlltag', 0);

  test('PFADD, PFCOUNT (single and same-tag multi), PFMERGE', async () => {
    const many = Array.from({ length: 300 }, (_, i) => `e${i}`);
    await same([
      ['PFADD', h, 'a', 'b', 'c', 'd'],
      ['PFADD', h, 'a'],
      ['PFCOUNT', h],
      ['PFCOUNT', keyOn('hll-missing', 0)],
      ['PFADD', t('1'), ...many.slice(0, 200)],
      ['PFADD', t('2'), ...many.slice(100)],
      ['PFCOUNT', t('1')],
      ['PFCOUNT', t('1'), t('2')],
      ['PFMERGE', t('m'), t('1'), t('2')],
      ['PFCOUNT', t('m')],
      ['GET', t('m')],
      ['PFADD', keyOn('hll-empty', 1)],
      ['SET', t('str'), 'not an hll'],
      err('PFADD', t('str'), 'x'),
      err('PFCOUNT', t('str')),
      err('PFMERGE', t('m'), t('str')),
    ]);
  });
});

// ---------------------------------------------------------------- geo

describe('geo', () => {
  const g = keyOn('geo', 0);
  const t = tagged('geotag', 1);

  test('GEOADD, GEODIST, GEOPOS, GEOHASH', async () => {
    await same([
      ['GEOADD', g, 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania'],
      ['GEOADD', g, 'NX', 13.361389, 38.115556, 'Palermo'],
      ['GEOADD', g, 'XX', 'CH', 13.5, 38.1, 'Palermo'],
      ['GEOADD', g, 2.349014, 48.864716, 'Paris', 12.496366, 41.902782, 'Rome'],
      ['GEODIST', g, 'Palermo', 'Catania'],
      ['GEODIST', g, 'Palermo', 'Catania', 'km'],
      ['GEODIST', g, 'Paris', 'Rome', 'mi'],
      ['GEODIST', g, 'Palermo', 'nowhere'],
      ['GEOPOS', g, 'Palermo', 'nowhere', 'Catania'],
      ['GEOHASH', g, 'Palermo', 'Catania', 'nowhere'],
      err('GEOADD', g, 200, 100, 'bad'),
    ]);
  });

  test('GEOSEARCH, GEOSEARCHSTORE (same tag), GEORADIUS', async () => {
    await same([
      [
        'GEOSEARCH',
        g,
        'FROMMEMBER',
        'Palermo',
        'BYRADIUS',
        200,
        'km',
        'ASC',
        'WITHCOORD',
        'WITHDIST',
        'WITHHASH',
      ],
      ['GEOSEARCH', g, 'FROMLONLAT', 15, 37, 'BYBOX', 400, 400, 'km', 'ASC', 'COUNT', 1],
      ['GEOSEARCH', g, 'FROMLONLAT', 10, 45, 'BYRADIUS', 1500, 'km', 'DESC', 'WITHDIST'],
      err('GEOSEARCH', g, 'FROMMEMBER', 'nowhere', 'BYRADIUS', 1, 'km'),
      ['GEOADD', t('src'), 13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania'],
      ['GEOSEARCHSTORE', t('dst'), t('src'), 'FROMLONLAT', 15, 37, 'BYRADIUS', 300, 'km', 'ASC', 'STOREDIST'],
      ['ZRANGE', t('dst'), 0, -1, 'WITHSCORES'],
      ['GEOSEARCHSTORE', t('dst2'), t('src'), 'FROMLONLAT', 15, 37, 'BYRADIUS', 300, 'km', 'ASC', 'COUNT', 1],
      ['ZRANGE', t('dst2'), 0, -1, 'WITHSCORES'],
      ['GEORADIUS', g, 15, 37, 200, 'km', 'WITHDIST', 'ASC'],
      ['GEORADIUS', g, 15, 37, 2000, 'km', 'WITHCOORD', 'COUNT', 2, 'ASC'],
      ['GEORADIUS', t('src'), 15, 37, 200, 'km', 'STORE', t('st')],
      ['ZRANGE', t('st'), 0, -1],
      ['GEORADIUSBYMEMBER', g, 'Palermo', 300, 'km', 'ASC'],
      ['GEORADIUS_RO', g, 15, 37, 200, 'km', 'ASC'],
    ]);
  });
});

test('the families above spread their keys over both backends, each key on its slot owner', async () => {
  await assertKeyspaceSpread();
});
