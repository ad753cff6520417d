/**
 * Real client libraries through the proxy, as an application uses them: node-redis in RESP2
 * and RESP3 (its handshake, typed replies, pipelines) and ioredis (ready check, db option,
 * pipelines). Keys are spread over two groups.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { Redis as IORedis } from 'ioredis';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';

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
      await assert.rejects(c.configSet('maxmemory', '1'), /command 'CONFIG SET' is not allowed/);
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
