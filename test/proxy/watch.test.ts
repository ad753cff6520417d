import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis as IORedis } from 'ioredis';
import { createClient, WatchError } from 'redis';
import { slotOf } from '../../src/proxy/hash.js';
import { fillSlot, keyOn, proxyOverTwoGroups, slotsMigrating, startProxy } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { RedisError, type Reply } from '../helpers/resp-client.js';
import { RawConn } from '../helpers/raw-conn.js';
import { runProgram } from '../helpers/run.js';

// WATCH through the proxy: optimistic transactions as Redis runs them.
const two = proxyOverTwoGroups({ client: true });

function errorOf(r: Reply): string {
  assert.ok(r instanceof RedisError, `expected an error, got ${String(r)}`);
  return r.message;
}

/** WATCH, read, and a MULTI/EXEC that sets `key` to what was read + 1, with `between` run before EXEC. */
async function checkAndSet(
  c: Awaited<ReturnType<typeof two.proxy.connect>>,
  key: string,
  between = async () => {},
) {
  assert.equal(await c.call('WATCH', key), 'OK');
  const v = Number(await c.call('GET', key));
  await between();
  return c.pipeline([['MULTI'], ['SET', key, String(v + 1)], ['EXEC']]);
}

test('EXEC fails with a null reply when another client changed a watched key, and runs when none did', async () => {
  for (const group of [0, 1]) {
    const key = keyOn('w-basic', group);
    const other = await two.proxy.connect();
    const c = await two.proxy.connect();
    try {
      await c.call('SET', key, '10');
      const lost = await checkAndSet(c, key, async () => {
        assert.equal(await other.call('SET', key, '100'), 'OK');
      });
      assert.deepEqual(lost, ['OK', 'QUEUED', null]);
      assert.equal(String(await c.call('GET', key)), '100', 'the aborted SET did not run');
      const won = await checkAndSet(c, key);
      assert.deepEqual(won, ['OK', 'QUEUED', ['OK']]);
      assert.equal(String(await c.call('GET', key)), '101');
      // EXEC ended the watch: a later change does not abort the next transaction.
      await other.call('SET', key, '7');
      assert.deepEqual(await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]), ['OK', 'QUEUED', [8]]);
    } finally {
      c.destroy();
      other.destroy();
      await two.client.call('DEL', key);
    }
  }
});

test("the client's own write after WATCH aborts its transaction, as in Redis, even when pipelined", async () => {
  const key = '{w-own}k';
  const r = await two.client.pipeline([
    ['WATCH', key],
    ['SET', key, 'mine'],
    ['MULTI'],
    ['SET', '{w-own}other', 'x'],
    ['EXEC'],
    ['EXISTS', '{w-own}other'],
  ]);
  assert.deepEqual(r, ['OK', 'OK', 'OK', 'QUEUED', null, 0]);
  // The same with a multi-key command on the watched slot (DEL, MSET: split ones elsewhere).
  for (const write of [
    ['DEL', key, '{w-own}x'],
    ['MSET', key, 'v', '{w-own}x', 'v'],
  ]) {
    const w = await two.client.pipeline([
      ['WATCH', key],
      write,
      ['MULTI'],
      ['SET', '{w-own}other', 'x'],
      ['EXEC'],
    ]);
    assert.equal(w[4], null, write.join(' '));
  }
  assert.equal(await two.client.call('EXISTS', '{w-own}other'), 0);
  await two.client.call('DEL', key, '{w-own}x');
});

test('UNWATCH, DISCARD and RESET forget the watched keys; EXEC after EXECABORT too', async () => {
  const key = keyOn('w-forget', 1);
  const other = await two.proxy.connect();
  const c = await two.proxy.connect();
  try {
    for (const forget of [[['UNWATCH']], [['MULTI'], ['DISCARD']], [['RESET']]]) {
      await c.call('WATCH', key);
      const replies = await c.pipeline(forget);
      assert.ok(!replies.some((x) => x instanceof RedisError), String(replies));
      await other.call('INCR', key);
      const r = await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]);
      assert.equal((r[2] as number[]).length, 1, `after ${forget.flat().join(' ')}: ${String(r[2])}`);
    }
    await c.call('WATCH', key);
    const aborted = await c.pipeline([['MULTI'], ['NOSUCHCOMMAND'], ['EXEC']]);
    assert.match(errorOf(aborted[2]!), /^EXECABORT/);
    await other.call('INCR', key);
    assert.deepEqual(await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]), ['OK', 'QUEUED', [8]]);
  } finally {
    c.destroy();
    other.destroy();
    await two.client.call('DEL', key);
  }
});

test('watched keys and the transaction share one slot; WATCH inside MULTI is refused', async () => {
  const [a, b] = [keyOn('w-slot', 0), keyOn('w-slot', 1)];
  assert.match(errorOf(await two.client.call('WATCH', a, b)), /^CROSSSLOT/);
  const c = await two.proxy.connect();
  try {
    assert.equal(await c.call('WATCH', a), 'OK');
    assert.match(errorOf(await c.call('WATCH', b)), /^CROSSSLOT/);
    const r = await c.pipeline([['MULTI'], ['SET', b, '1'], ['WATCH', a], ['EXEC']]);
    assert.match(errorOf(r[1]!), /^CROSSSLOT/);
    assert.equal(errorOf(r[2]!), 'ERR WATCH inside MULTI is not allowed');
    assert.match(errorOf(r[3]!), /^EXECABORT/);
    assert.equal(await c.call('EXISTS', b), 0);
    // A keyless transaction after WATCH runs on the watched slot's group.
    assert.equal(await c.call('WATCH', a), 'OK');
    assert.deepEqual(await c.pipeline([['MULTI'], ['PING'], ['EXEC']]), ['OK', 'QUEUED', ['PONG']]);
  } finally {
    c.destroy();
  }
});

test('an empty transaction still fails on a watched key that changed', async () => {
  const key = keyOn('w-empty', 0);
  const other = await two.proxy.connect();
  const c = await two.proxy.connect();
  try {
    await c.call('WATCH', key);
    await other.call('SET', key, 'changed');
    assert.deepEqual(await c.pipeline([['MULTI'], ['EXEC']]), ['OK', null]);
    await c.call('WATCH', key);
    assert.deepEqual(await c.pipeline([['MULTI'], ['EXEC']]), ['OK', []]);
  } finally {
    c.destroy();
    other.destroy();
    await two.client.call('DEL', key);
  }
});

test('a watched slot that moves to another group loses the watch: EXEC fails, and the retry runs on the new group', async () => {
  const key = keyOn('w-move', 0);
  const slot = slotOf(key);
  const [from, to] = two.servers;
  const c = await two.proxy.connect();
  try {
    await c.call('SET', key, '1');
    assert.equal(await c.call('WATCH', key), 'OK');
    // The dashboard's migration would copy the key; here the test moves it by hand.
    await to!.call('SET', key, '1');
    await fillSlot(two.proxy, slot, to!.addr, 2);
    assert.deepEqual(await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]), ['OK', 'QUEUED', null]);
    assert.deepEqual(await checkAndSet(c, key), ['OK', 'QUEUED', ['OK']]);
    assert.equal(String(await to!.call('GET', key)), '2');
    assert.equal(String(await from!.call('GET', key)), '1', 'nothing ran on the old group');
  } finally {
    c.destroy();
    await fillSlot(two.proxy, slot, from!.addr, 1);
    await Promise.all([from!.call('DEL', key), to!.call('DEL', key)]);
  }
});

test('WATCH on a migrating slot moves the key to the target first and watches it there', async () => {
  const source = await startRedis();
  const key = '{w-migrating}k';
  const slots = slotsMigrating(two.servers, slotOf(key), source.addr);
  const target = two.servers[slotOf(key) < 512 ? 0 : 1]!;
  await source.call('SET', key, '41');
  const p = await startProxy({ slots });
  const [c, other] = [await p.connect(), await p.connect()];
  try {
    assert.equal(await c.call('WATCH', key), 'OK');
    assert.equal(await source.call('EXISTS', key), 0);
    assert.equal(String(await target.call('GET', key)), '41');
    assert.deepEqual(await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]), ['OK', 'QUEUED', [42]]);
    await c.call('WATCH', key);
    await other.call('INCR', key);
    assert.deepEqual(await c.pipeline([['MULTI'], ['INCR', key], ['EXEC']]), ['OK', 'QUEUED', null]);
    assert.equal(String(await target.call('GET', key)), '43');
  } finally {
    c.destroy();
    other.destroy();
    await p.stop();
    await source.stop();
    await target.call('DEL', key);
  }
});

test('a watch whose connection dropped is lost: EXEC fails rather than run unwatched', async () => {
  const key = keyOn('w-drop', 1);
  const server = two.servers[1]!;
  const c = await two.proxy.connect();
  try {
    await c.call('WATCH', key);
    // The server drops its clients (a restart would too): whatever it watched is gone.
    await server.call('CLIENT', 'KILL', 'TYPE', 'normal', 'SKIPME', 'yes');
    // Null when the proxy saw the drop first; an error when EXEC went out on the dead socket.
    const r = await c.pipeline([['MULTI'], ['SET', key, 'x'], ['EXEC']]);
    assert.ok(r[2] === null || r[2] instanceof RedisError, String(r[2]));
    assert.equal(await two.servers[1]!.call('EXISTS', key), 0);
    assert.deepEqual(await checkAndSet(c, key), ['OK', 'QUEUED', ['OK']]);
  } finally {
    c.destroy();
    await two.client.call('DEL', key);
  }
});

test('a RESP3 client gets RESP3 null for a failed EXEC', async () => {
  const key = keyOn('w-resp3', 0);
  const r = await RawConn.open(two.proxy.port);
  try {
    await r.send([['HELLO', '3']]);
    assert.equal(await r.send([['WATCH', key]]), '+OK\r\n');
    await two.client.call('SET', key, 'x');
    assert.equal(await r.send([['MULTI'], ['GET', key], ['EXEC']]), '+OK\r\n+QUEUED\r\n_\r\n');
  } finally {
    r.close();
    await two.client.call('DEL', key);
  }
});

test('ioredis: an optimistic-locking retry loop with watch() counts every increment once', async () => {
  const key = '{w-io}counter';
  const clients = Array.from({ length: 4 }, () => new IORedis({ host: '127.0.0.1', port: two.proxy.port }));
  try {
    const incr = async (c: IORedis) => {
      for (;;) {
        await c.watch(key);
        const v = Number((await c.get(key)) ?? '0');
        const r = await c
          .multi()
          .set(key, String(v + 1))
          .exec();
        if (r !== null) return;
      }
    };
    await Promise.all(
      clients.map(async (c) => {
        for (let i = 0; i < 25; i++) await incr(c);
      }),
    );
    // Without the watch, concurrent read-then-set rounds would lose increments.
    assert.equal(await clients[0]!.get(key), '100');
  } finally {
    await clients[0]!.del(key);
    await Promise.all(clients.map((c) => c.quit()));
  }
});

test("redis-py's transaction() helper retries on a watched key until EXEC succeeds", async () => {
  // Two threads increment through read-then-write transactions; none of the 200 may be lost.
  const app = `
import sys, threading, redis
r = redis.Redis(port=int(sys.argv[1]))
key = '{w-py}n'
def bump(pipe):
    v = int(pipe.get(key) or 0)
    pipe.multi()
    pipe.set(key, v + 1)
def work():
    c = redis.Redis(port=int(sys.argv[1]))
    for _ in range(100):
        c.transaction(bump, key)
threads = [threading.Thread(target=work) for _ in range(2)]
for t in threads: t.start()
for t in threads: t.join()
print(r.get(key).decode())
r.delete(key)
`;
  const run = await runProgram('/usr/bin/python3', ['-c', app, String(two.proxy.port)]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(run.stdout.trim(), '200');
});

test('node-redis: a transaction on a changed watched key throws WatchError; the retry commits', async () => {
  const key = keyOn('w-nr', 1);
  const c = createClient({ socket: { host: '127.0.0.1', port: two.proxy.port }, RESP: 3 });
  await c.connect();
  try {
    await c.set(key, '1');
    await c.watch(key);
    await two.client.call('SET', key, 'changed');
    await assert.rejects(c.multi().set(key, 'mine').exec(), WatchError);
    assert.equal(await c.get(key), 'changed');
    await c.watch(key);
    assert.deepEqual(await c.multi().set(key, 'mine').get(key).exec(), ['OK', 'mine']);
  } finally {
    await c.del(key);
    c.destroy();
  }
});
