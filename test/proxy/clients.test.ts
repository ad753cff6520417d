/**
 * Real client libraries through the proxy, as an application uses them: node-redis in RESP2
 * and RESP3 (its handshake, typed replies, pipelines) and ioredis (ready check, db option,
 * pipelines). Keys are spread over two groups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BasicClientSideCache, createClient } from 'redis';
import { Redis as IORedis } from 'ioredis';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { until } from '../topom/flow.js';

const two = proxyOverTwoGroups();

for (const RESP of [2, 3] as const) {
  test(`node-redis with RESP${RESP}: typed replies, pipelines and refusals over two groups`, async () => {
    const c = createClient({ socket: { host: '127.0.0.1', port: two.proxy.port }, RESP, name: `app${RESP}` });
    const errors: Error[] = [];
    c.on('error', (e: Error) => errors.push(e));
    await c.connect();
    try {
      const p = `nr${RESP}`;
      const [h0, k0, k1, z1] = [keyOn(`${p}h`, 0), keyOn(`${p}k`, 0), keyOn(`${p}k`, 1), keyOn(`${p}z`, 1)];
      assert.equal(await c.clientGetName(), `app${RESP}`);
      assert.equal(await c.hSet(h0, { a: '1', b: '2' }), 2);
      assert.deepEqual({ ...(await c.hGetAll(h0)) }, { a: '1', b: '2' });
      assert.equal(await c.zAdd(z1, [{ score: 1.5, value: 'm' }]), 1);
      assert.equal(await c.zScore(z1, 'm'), 1.5);
      assert.equal(await c.set(k1, 'one'), 'OK');
      assert.deepEqual(await c.mGet([k0, k1, `${p}-missing`]), [null, 'one', null]);
      assert.equal(await c.get(`${p}-missing`), null);
      assert.equal(await c.incrByFloat(k0, 0.5), '0.5');

      // A pipeline spread over both groups comes back whole and in order.
      const pipe = c.multi();
      for (let i = 0; i < 100; i++) pipe.set(keyOn(`${p}pipe${i}`, i % 2), String(i));
      for (let i = 0; i < 100; i++) pipe.get(keyOn(`${p}pipe${i}`, i % 2));
      const replies = await pipe.execAsPipeline();
      assert.deepEqual(
        replies.slice(100),
        Array.from({ length: 100 }, (_, i) => String(i)),
      );

      // MULTI/EXEC on one slot works; keys of two slots abort it (CROSSSLOT, then EXECABORT), as in Redis Cluster.
      assert.deepEqual(await c.multi().set(k0, 'x').append(k0, 'y').get(k0).exec(), ['OK', 2, 'xy']);
      await assert.rejects(c.multi().set(k0, 'x').set(k1, 'x').exec(), /CROSSSLOT/);
      assert.equal(await c.get(k0), 'xy');
      await assert.rejects(c.configSet('requirepass', 'x'), /CONFIG SET requirepass is refused/);
      assert.equal(await c.get(k1), 'one', 'the connection serves on after refusals');
      assert.equal(await c.del([h0, k0, k1, z1]), 4);
      assert.deepEqual(errors, []);
    } finally {
      c.destroy();
    }
  });
}

test('ioredis: ready check, the db option, pipelines with a failing command, MGET, MULTI and scanStream over two groups', async () => {
  const c = new IORedis({
    host: '127.0.0.1',
    port: two.proxy.port,
    db: 2,
    connectionName: 'io',
    lazyConnect: true,
  });
  await c.connect();
  try {
    const [k0, k1] = [keyOn('io', 0), keyOn('io', 1)];
    assert.equal(await c.client('GETNAME'), 'io');
    const pipe = c.pipeline();
    pipe
      .set(k0, 'zero')
      .set(k1, 'one')
      .lpush(k0, 'x')
      .get(k1)
      .hset(k1 + 'h', 'f', 'v')
      .hgetall(k1 + 'h');
    const replies = await pipe.exec();
    assert.ok(replies);
    assert.deepEqual(replies.slice(0, 2), [
      [null, 'OK'],
      [null, 'OK'],
    ]);
    assert.match(String(replies[2]![0]), /WRONGTYPE/);
    assert.deepEqual(replies.slice(3), [
      [null, 'one'],
      [null, 1],
      [null, { f: 'v' }],
    ]);
    assert.deepEqual(await c.mget(k0, 'io-missing', k1), ['zero', null, 'one']);
    assert.deepEqual(await c.multi().incr('{io}n').incrby('{io}n', 5).del('{io}n').exec(), [
      [null, 1],
      [null, 6],
      [null, 1],
    ]);
    // db 2 is its own keyspace on the backends too.
    const db0 = new IORedis({ host: '127.0.0.1', port: two.proxy.port, lazyConnect: true });
    await db0.connect();
    assert.equal(await db0.exists(k0, k1), 0);
    db0.disconnect();
    // scanStream walks both groups of db 2.
    const scanned: string[] = [];
    for await (const batch of c.scanStream({ match: 'io:*', count: 1 })) scanned.push(...(batch as string[]));
    assert.deepEqual([...new Set(scanned)].sort(), [k0, k1, k1 + 'h'].sort());
    assert.equal(await c.del(k0, k1, k1 + 'h'), 3);
  } finally {
    c.disconnect();
  }
});

test("ioredis: monitor() sees another client's commands; ssubscribe() gets SPUBLISH's smessage", async () => {
  const opts = { host: '127.0.0.1', port: two.proxy.port };
  const [io, other, sub] = [new IORedis(opts), new IORedis(opts), new IORedis(opts)];
  const mon = await io.monitor();
  try {
    const key = keyOn('io-mon', 1);
    const seen = new Promise<[string[], string]>((resolve) =>
      mon.on('monitor', (_time: string, args: string[], _source: string, db: string) => {
        if (args[0] === 'set') resolve([args, db]);
      }),
    );
    await other.set(key, 'watched');
    assert.deepEqual(await seen, [['set', key, 'watched'], '0']);
    const channel = keyOn('io-shard', 0);
    await sub.ssubscribe(channel);
    const got = new Promise<string[]>((resolve) =>
      sub.on('smessage', (ch: string, msg: string) => resolve([ch, msg])),
    );
    assert.equal(await other.spublish(channel, 'sharded hello'), 1);
    assert.deepEqual(await got, [channel, 'sharded hello']);
    await other.del(key);
  } finally {
    mon.disconnect();
    await Promise.all([io.quit(), other.quit(), sub.quit()]);
  }
});

test('node-redis: sSubscribe() and sPublish(); functionLoad() then fCall() on keys of both groups', async () => {
  const c = createClient({ socket: { host: '127.0.0.1', port: two.proxy.port } });
  await c.connect();
  const sub = c.duplicate();
  await sub.connect();
  try {
    const channel = keyOn('nr-shard', 1);
    const got = new Promise<string[]>((resolve) => {
      void sub.sSubscribe(channel, (msg, ch) => resolve([ch, msg]));
    });
    // The subscription is made once sSubscribe's confirmation came back.
    await until('the sharded subscription', async () => (await c.sPublish(channel, 'hello')) === 1);
    assert.deepEqual(await got, [channel, 'hello']);
    const lib =
      "#!lua name=nrlib\nredis.register_function('nrset', function(k, a) return redis.call('SET', k[1], a[1]) end)";
    assert.equal(await c.functionLoad(lib, { REPLACE: true }), 'nrlib');
    for (const g of [0, 1]) {
      const key = keyOn('nr-fcall', g);
      assert.equal(await c.fCall('nrset', { keys: [key], arguments: [`group ${g}`] }), 'OK');
      assert.equal(await c.get(key), `group ${g}`);
      await c.del(key);
    }
    assert.equal(await c.functionDelete('nrlib'), 'OK');
  } finally {
    c.destroy();
    sub.destroy();
  }
});

test('node-redis client-side caching: repeated GETs are served from its cache until a write elsewhere invalidates them', async () => {
  const cache = new BasicClientSideCache({ ttl: 0, maxEntries: 0 });
  const c = createClient({
    socket: { host: '127.0.0.1', port: two.proxy.port },
    RESP: 3,
    clientSideCache: cache,
  });
  const w = createClient({ socket: { host: '127.0.0.1', port: two.proxy.port } });
  await Promise.all([c.connect(), w.connect()]);
  try {
    const [k0, k1] = [keyOn('csc', 0), keyOn('csc', 1)];
    await w.mSet([
      [k0, 'a'],
      [k1, 'b'],
    ]);
    assert.deepEqual([await c.get(k0), await c.get(k1)], ['a', 'b']);
    assert.deepEqual([await c.get(k0), await c.get(k1)], ['a', 'b']);
    assert.equal(cache.stats().hitCount, 2, 'the second reads come from the cache');
    await w.set(k1, 'b2');
    // The invalidation comes on its own, a moment after the write: the next read of k1 may still hit.
    await until('k1 to be read anew', async () => (await c.get(k1)) === 'b2');
    assert.equal(await c.get(k0), 'a');
    assert.equal(cache.stats().missCount, 3, 'only k1 was dropped');
  } finally {
    c.destroy();
    w.destroy();
  }
});
