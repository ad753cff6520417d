import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { keyOn, proxyOverTwoGroups, slotsMigrating, startProxy } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { RedisError, type RespClient } from '../helpers/resp-client.js';
import { RawConn } from '../helpers/raw-conn.js';
import { until } from '../topom/flow.js';

// KEYS, SCAN, RANDOMKEY, FLUSHDB and FLUSHALL over two groups, as a client of one Redis sees them.
const two = proxyOverTwoGroups({ client: true });

const sorted = (r: unknown) => (r as Buffer[]).map(String).sort();

/** Every key SCAN returns, walking cursors from 0 until 0 again (with `opts` on each call). */
async function scanAll(c: RespClient, ...opts: (string | number)[]): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  for (let calls = 0; ; calls++) {
    assert.ok(calls < 10_000, 'SCAN never ends');
    const [next, keys] = (await c.call('SCAN', cursor, ...opts)) as [Buffer, Buffer[]];
    out.push(...keys.map(String));
    cursor = String(next);
    if (cursor === '0') return out;
  }
}

/** `n` keys named `prefix…`, half on each group. */
async function fill(c: RespClient, prefix: string, n: number): Promise<string[]> {
  const keys = Array.from({ length: n }, (_, i) => keyOn(`${prefix}${i}`, i % 2));
  await c.call('MSET', ...keys.flatMap((k) => [k, 'v']));
  return keys;
}

test('KEYS answers with the matching keys of every group', async () => {
  const keys = await fill(two.client, 'keys-all:', 20);
  assert.deepEqual(sorted(await two.client.call('KEYS', 'keys-all:*')), [...keys].sort());
  const tens = keys.filter((k) => /^keys-all:1\d:/.test(k));
  assert.equal(tens.length, 10);
  assert.deepEqual(sorted(await two.client.call('KEYS', 'keys-all:1?:*')), tens.sort());
  assert.deepEqual(await two.client.call('KEYS', 'no-such-prefix:*'), []);
  const r = await RawConn.open(two.proxy.port);
  try {
    await r.send([['HELLO', '3']]);
    const reply = await r.send([['KEYS', 'keys-all:1?:*']]);
    assert.match(reply, /^\*10\r\n(\$\d+\r\nkeys-all:1\d:\d+\r\n){10}$/);
  } finally {
    r.close();
  }
  assert.equal(await two.client.call('DEL', ...keys), keys.length);
});

test('SCAN walks every group, with MATCH, COUNT and TYPE as Redis takes them', async () => {
  const keys = await fill(two.client, 'scan-all:', 300);
  await two.client.call('RPUSH', keyOn('scan-all:list', 1), 'x');
  const all = await scanAll(two.client, 'MATCH', 'scan-all:*', 'COUNT', 7);
  assert.deepEqual([...new Set(all)].sort(), [...keys, keyOn('scan-all:list', 1)].sort());
  assert.deepEqual(await scanAll(two.client, 'MATCH', 'scan-all:*', 'TYPE', 'list'), [
    keyOn('scan-all:list', 1),
  ]);
  // Bad cursors and options get Redis's own errors.
  const direct = await two.servers[0]!.connect();
  try {
    for (const args of [['abc'], ['1x'], ['0', 'COUNT', 'x'], ['0', 'NOPE']]) {
      const [got, want] = [await two.client.call('SCAN', ...args), await direct.call('SCAN', ...args)];
      assert.ok(got instanceof RedisError && want instanceof RedisError, args.join(' '));
      assert.equal(got.message, want.message, args.join(' '));
    }
  } finally {
    direct.destroy();
  }
  assert.equal(await two.client.call('DEL', ...keys, keyOn('scan-all:list', 1)), keys.length + 1);
});

test("a SCAN cursor works on another proxy of the product, and on the session's database only", async () => {
  const keys = await fill(two.client, 'scan-cursor:', 40);
  const other = await startProxy({ backends: two.servers.map((s) => s.addr) });
  const c = await other.connect();
  try {
    // Half the walk on one proxy, the rest on the other: a cursor names a group by its id.
    const seen: string[] = [];
    let cursor = '0';
    let turn = 0;
    do {
      const via = turn++ % 2 === 0 ? two.client : c;
      const [next, got] = (await via.call('SCAN', cursor, 'MATCH', 'scan-cursor:*', 'COUNT', 5)) as [
        Buffer,
        Buffer[],
      ];
      seen.push(...got.map(String));
      cursor = String(next);
    } while (cursor !== '0');
    assert.ok(turn > 2, `the walk took ${turn} calls`);
    assert.deepEqual([...new Set(seen)].sort(), [...keys].sort());
    await c.call('SELECT', 3);
    assert.deepEqual(await scanAll(c, 'MATCH', 'scan-cursor:*'), []);
  } finally {
    c.destroy();
    await other.stop();
  }
  assert.equal(await two.client.call('DEL', ...keys), keys.length);
});

test("KEYS and SCAN see a migrating slot's keys still on its source group", async () => {
  const source = await startRedis();
  const key = keyOn('scan-source', 0);
  const slots = slotsMigrating(two.servers, slotOf(key), source.addr);
  await source.call('SET', key, 'not moved yet');
  const p = await startProxy({ slots });
  const c = await p.connect();
  try {
    assert.deepEqual(sorted(await c.call('KEYS', 'scan-source*')), [key]);
    assert.deepEqual(await scanAll(c, 'MATCH', 'scan-source*'), [key]);
  } finally {
    c.destroy();
    await p.stop();
    await source.stop();
  }
});

test('RANDOMKEY finds a key whichever group holds it, and nil in an empty database', async () => {
  const c = await two.proxy.connect();
  try {
    await c.call('SELECT', 5);
    assert.equal(await c.call('RANDOMKEY'), null);
    const only = keyOn('random-only', 1);
    await c.call('SET', only, 'v');
    for (let i = 0; i < 8; i++) assert.equal(String(await c.call('RANDOMKEY')), only);
    await c.call('DEL', only);
  } finally {
    c.destroy();
  }
});

test("FLUSHDB empties the session's database on every group; FLUSHALL every database", async () => {
  const c = await two.proxy.connect();
  try {
    const keys = await fill(c, 'flush:', 10);
    await c.call('SELECT', 2);
    const inTwo = await fill(c, 'flush2:', 10);
    const bad = await c.call('FLUSHDB', 'BAD');
    assert.ok(bad instanceof RedisError && /syntax error/.test(bad.message), String(bad));
    assert.equal(await c.call('DBSIZE'), inTwo.length, 'a refused FLUSHDB flushes nothing');
    assert.equal(await c.call('FLUSHDB', 'SYNC'), 'OK');
    assert.equal(await c.call('DBSIZE'), 0);
    for (const s of two.servers) assert.equal(await s.call('DBSIZE'), keys.length / 2, 'db 0 is left alone');
    await fill(c, 'flush2:', 10);
    assert.equal(await c.call('FLUSHALL'), 'OK');
    assert.equal(await c.call('DBSIZE'), 0);
    await c.call('SELECT', 0);
    assert.equal(await c.call('DBSIZE'), 0);
    for (const s of two.servers) assert.equal(await s.call('DBSIZE'), 0);
  } finally {
    c.destroy();
  }
});

test('SWAPDB swaps two databases on every group and wakes a client blocked on a key it brings', async () => {
  const c = await two.proxy.connect();
  const waiter = await two.proxy.connect();
  try {
    const [list, other] = [keyOn('swap-list', 0), keyOn('swap-other', 1)];
    await c.call('SELECT', 4);
    await c.call('RPUSH', list, 'from db 4');
    await c.call('SET', other, 'in db 4');
    await waiter.call('SELECT', 5);
    const popped = waiter.call('BLPOP', list, 5);
    await until('the BLPOP blocked', async () =>
      /blocked_clients:1\r\n/.test(String(await two.servers[0]!.call('INFO', 'clients'))),
    );
    assert.equal(await c.call('SWAPDB', 4, 5), 'OK');
    assert.deepEqual(((await popped) as Buffer[]).map(String), [list, 'from db 4']);
    assert.equal(await c.call('EXISTS', other), 0);
    await c.call('SELECT', 5);
    assert.equal(String(await c.call('GET', other)), 'in db 4');
    // Out of range: the servers' own error, and nothing swapped.
    const bad = await c.call('SWAPDB', 5, 99);
    assert.ok(bad instanceof RedisError && bad.message === 'ERR DB index is out of range', String(bad));
    assert.equal(String(await c.call('GET', other)), 'in db 4');
    await c.call('DEL', other);
  } finally {
    c.destroy();
    waiter.destroy();
  }
});

test('SWAPDB is refused while a slot migrates', async () => {
  const source = await startRedis();
  const slot = slotOf(keyOn('swap-migrating', 0));
  const p = await startProxy({ slots: slotsMigrating(two.servers, slot, source.addr) });
  const c = await p.connect();
  try {
    const r = await c.call('SWAPDB', 0, 1);
    assert.ok(r instanceof RedisError, String(r));
    assert.equal(
      r.message,
      `ERR handle request, SWAPDB while slot ${slot} is moving to another group; retry`,
    );
  } finally {
    c.destroy();
    await p.stop();
    await source.stop();
  }
});

test('a flush that cannot reach a server names it; the others are flushed', async () => {
  const down = await startRedis();
  const p = await startProxy({ backends: [two.servers[0]!.addr, down.addr] });
  const c = await p.connect();
  try {
    await c.call('SET', keyOn('flush-down', 0), 'v');
    await down.stop();
    const r = await c.call('FLUSHALL');
    assert.ok(r instanceof RedisError);
    assert.match(
      r.message,
      new RegExp(`^ERR handle request, FLUSHALL failed on ${down.addr.replace(/\./g, '\\.')}: `),
    );
    assert.equal(await two.servers[0]!.call('DBSIZE'), 0);
    // Group 2's part of a SCAN (cursor 2) cannot be read either, and says where.
    const scan = await c.call('SCAN', 2);
    assert.ok(scan instanceof RedisError);
    assert.match(
      scan.message,
      new RegExp(`^ERR handle request, SCAN failed on ${down.addr.replace(/\./g, '\\.')}: `),
    );
  } finally {
    c.destroy();
    await p.stop();
  }
});
