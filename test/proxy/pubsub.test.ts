import { test } from 'node:test';
import net from 'node:net';
import { once } from 'node:events';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { fillSlot, keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { RedisError, type Reply, type RespClient } from '../helpers/resp-client.js';
import { runProgram } from '../helpers/run.js';
import { RawConn } from '../helpers/raw-conn.js';
import { until } from '../topom/flow.js';

// Pub/sub through the proxy: subscriptions on every group, PUBLISH to its channel's group.
const two = proxyOverTwoGroups({ client: true });

const text = (r: Reply) => (Array.isArray(r) ? r.map((x) => (x instanceof Buffer ? String(x) : x)) : r);

/** The next `n` frames the subscriber gets, as arrays of strings and numbers. */
async function frames(c: RespClient, n: number): Promise<unknown[]> {
  const out: unknown[] = [];
  for (let i = 0; i < n; i++) out.push(text(await c.readReply()));
  return out;
}

/** Resolves once `read` (a count from a server) gives `n`: Redis has no event for it, so it is polled. */
const reaches = (what: string, read: () => Promise<Reply>, n: number) =>
  until(`${what} to be ${n}`, async () => (await read()) === n);

const subscribersReach = (server: { call: RespClient['call'] }, channel: string, n: number) =>
  reaches(
    `subscribers of ${channel}`,
    async () => ((await server.call('PUBSUB', 'NUMSUB', channel)) as Reply[])[1]!,
    n,
  );

test('a subscriber gets each message once, whichever group its channel is on', async () => {
  const [ch0, ch1] = [keyOn('news', 0), keyOn('news', 1)];
  const sub = await two.proxy.connect();
  try {
    sub.writeRaw(`*3\r\n$9\r\nSUBSCRIBE\r\n$${ch0.length}\r\n${ch0}\r\n$${ch1.length}\r\n${ch1}\r\n`);
    assert.deepEqual(await frames(sub, 2), [
      ['subscribe', ch0, 1],
      ['subscribe', ch1, 2],
    ]);
    for (const s of two.servers) await subscribersReach(s, ch1, 1);
    // A message comes over its channel's group connection: order is kept within a group only.
    assert.equal(await two.client.call('PUBLISH', ch0, 'first'), 1);
    assert.deepEqual(await frames(sub, 1), [['message', ch0, 'first']]);
    assert.equal(await two.client.call('PUBLISH', ch1, 'second'), 1);
    assert.equal(await two.client.call('PUBLISH', 'nobody-listens', 'x'), 0);
    assert.deepEqual(await frames(sub, 1), [['message', ch1, 'second']]);
    assert.deepEqual(text(await sub.call('PSUBSCRIBE', 'news:*')), ['psubscribe', 'news:*', 3]);
    for (const s of two.servers) await reaches('patterns', () => s.call('PUBSUB', 'NUMPAT'), 1);
    assert.equal(await two.client.call('PUBLISH', ch1, 'both'), 2);
    const got = await frames(sub, 2);
    assert.deepEqual(
      got.sort(),
      [
        ['message', ch1, 'both'],
        ['pmessage', 'news:*', ch1, 'both'],
      ].sort(),
    );
  } finally {
    sub.destroy();
  }
  for (const s of two.servers) await subscribersReach(s, ch0, 0);
});

/** A script that keeps its server busy for `ms`. */
const spin = (ms: number) =>
  `local s = redis.call('TIME') repeat local n = redis.call('TIME') until (n[1] - s[1]) * 1000 + (n[2] - s[2]) / 1000 >= ${ms}`;

test('once a client has its confirmation, the servers have its subscription: a PUBLISH sent next reaches and counts it', async () => {
  // No waiting on the servers here: Redis promises this order, and tests and apps rely on it.
  const [ch0, ch1] = [keyOn('ready', 0), keyOn('ready', 1)];
  const [s0, s1] = [await two.proxy.connect(), await two.proxy.connect()];
  const send = (c: RespClient, ...cmds: string[][]) =>
    c.writeRaw(
      Buffer.concat(
        cmds.map((args) =>
          Buffer.from(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`),
        ),
      ),
    );
  try {
    // A server busy for 300 ms takes the subscription late: the confirmation waits for it.
    const busy = two.servers[1]!.call('EVAL', spin(300), 0);
    send(s0, ['SUBSCRIBE', ch1]);
    assert.deepEqual(await frames(s0, 1), [['subscribe', ch1, 1]]);
    assert.equal(await two.client.call('PUBLISH', ch1, 'late'), 1);
    await busy;
    send(s0, ['UNSUBSCRIBE']);
    assert.deepEqual(await frames(s0, 2), [
      ['message', ch1, 'late'],
      ['unsubscribe', ch1, 0],
    ]);
    for (let round = 0; round < 3; round++) {
      for (const c of [s0, s1]) {
        send(c, ['SUBSCRIBE', ch0, ch1]);
        assert.deepEqual(await frames(c, 2), [
          ['subscribe', ch0, 1],
          ['subscribe', ch1, 2],
        ]);
      }
      assert.equal(await two.client.call('PUBLISH', ch0, 'a'), 2);
      assert.equal(await two.client.call('PUBLISH', ch1, 'b'), 2);
      send(s0, ['PSUBSCRIBE', 'ready:*']);
      assert.deepEqual(await frames(s0, 3), [
        ['message', ch0, 'a'],
        ['message', ch1, 'b'],
        ['psubscribe', 'ready:*', 3],
      ]);
      assert.equal(await two.client.call('PUBLISH', ch1, 'c'), 3);
      send(s0, ['SSUBSCRIBE', ch1]);
      assert.deepEqual(await frames(s0, 3), [
        ['message', ch1, 'c'],
        ['pmessage', 'ready:*', ch1, 'c'],
        ['ssubscribe', ch1, 1],
      ]);
      assert.equal(await two.client.call('SPUBLISH', ch1, 'd'), 1);
      assert.deepEqual(await frames(s0, 1), [['smessage', ch1, 'd']]);
      // The last UNSUBSCRIBE answers once the servers have dropped it: nothing counts it after.
      for (const c of [s0, s1]) send(c, ['UNSUBSCRIBE'], ['PUNSUBSCRIBE'], ['SUNSUBSCRIBE']);
      assert.deepEqual(await frames(s0, 4), [
        ['unsubscribe', ch0, 2],
        ['unsubscribe', ch1, 1],
        ['punsubscribe', 'ready:*', 0],
        ['sunsubscribe', ch1, 0],
      ]);
      assert.deepEqual(await frames(s1, 7), [
        ['message', ch0, 'a'],
        ['message', ch1, 'b'],
        ['message', ch1, 'c'],
        ['unsubscribe', ch0, 1],
        ['unsubscribe', ch1, 0],
        ['punsubscribe', null, 0],
        ['sunsubscribe', null, 0],
      ]);
      assert.equal(await two.client.call('PUBLISH', ch0, 'gone'), 0);
      assert.equal(await two.client.call('PUBLISH', ch1, 'gone'), 0);
      assert.equal(await two.client.call('SPUBLISH', ch1, 'gone'), 0);
    }
  } finally {
    s0.destroy();
    s1.destroy();
  }
});

test('a subscribed RESP2 client may only subscribe, unsubscribe, PING, QUIT and RESET, as in Redis', async () => {
  const c = await two.proxy.connect();
  try {
    assert.deepEqual(text(await c.call('SUBSCRIBE', 'mode')), ['subscribe', 'mode', 1]);
    const refused = await c.call('GET', 'k');
    assert.ok(refused instanceof RedisError);
    assert.equal(
      refused.message,
      "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
    );
    assert.deepEqual(text(await c.call('PING')), ['pong', '']);
    assert.deepEqual(text(await c.call('UNSUBSCRIBE')), ['unsubscribe', 'mode', 0]);
    assert.deepEqual(text(await c.call('UNSUBSCRIBE')), ['unsubscribe', null, 0]);
    assert.equal(await c.call('GET', 'no-such-key'), null);
    assert.equal(await c.call('PING'), 'PONG');
    assert.deepEqual(text(await c.call('SUBSCRIBE', 'again')), ['subscribe', 'again', 1]);
    assert.equal(await c.call('RESET'), 'RESET');
    assert.equal(await c.call('GET', 'no-such-key'), null);
  } finally {
    c.destroy();
  }
});

test("subscriptions follow the primaries: a channel's slot moved to a new group still delivers", async () => {
  const third = await startRedis();
  const ch = keyOn('moving-ch', 0);
  const slot = slotOf(ch);
  const sub = await two.proxy.connect();
  try {
    assert.deepEqual(text(await sub.call('SUBSCRIBE', ch)), ['subscribe', ch, 1]);
    await fillSlot(two.proxy, slot, third.addr, 3);
    await subscribersReach(third, ch, 1);
    assert.equal(await two.client.call('PUBLISH', ch, 'after the move'), 1);
    assert.deepEqual(await frames(sub, 1), [['message', ch, 'after the move']]);
  } finally {
    sub.destroy();
    await fillSlot(two.proxy, slot, two.servers[0]!.addr, 1);
    await third.stop();
  }
});

const shardSubscribersReach = (server: { call: RespClient['call'] }, channel: string, n: number) =>
  reaches(
    `shard subscribers of ${channel}`,
    async () => ((await server.call('PUBSUB', 'SHARDNUMSUB', channel)) as Reply[])[1]!,
    n,
  );

test("sharded channels live on their slot's group only; SPUBLISH reaches them there, counted apart", async () => {
  const [ch0, ch1] = [keyOn('shard', 0), keyOn('shard', 1)];
  const sub = await two.proxy.connect();
  try {
    assert.deepEqual(text(await sub.call('SUBSCRIBE', 'plain')), ['subscribe', 'plain', 1]);
    sub.writeRaw(`*3\r\n$10\r\nSSUBSCRIBE\r\n$${ch0.length}\r\n${ch0}\r\n$${ch1.length}\r\n${ch1}\r\n`);
    // As in Redis, the sharded count is the client's sharded channels only.
    assert.deepEqual(await frames(sub, 2), [
      ['ssubscribe', ch0, 1],
      ['ssubscribe', ch1, 2],
    ]);
    await shardSubscribersReach(two.servers[0]!, ch0, 1);
    await shardSubscribersReach(two.servers[1]!, ch1, 1);
    assert.equal(await two.servers[1]!.call('PUBSUB', 'SHARDNUMSUB', ch0).then((r) => (r as Reply[])[1]), 0);
    // Each group's messages come over its own connection, so order is only kept within a group.
    assert.equal(await two.client.call('SPUBLISH', ch0, 'zero'), 1);
    assert.deepEqual(await frames(sub, 1), [['smessage', ch0, 'zero']]);
    assert.equal(await two.client.call('SPUBLISH', ch1, 'one'), 1);
    assert.equal(await two.client.call('PUBLISH', ch1, 'not sharded'), 0, 'the two namespaces stay apart');
    assert.deepEqual(await frames(sub, 1), [['smessage', ch1, 'one']]);
    assert.deepEqual(
      ((await two.client.call('PUBSUB', 'SHARDCHANNELS')) as Buffer[]).map(String).sort(),
      [ch0, ch1].sort(),
    );
    assert.deepEqual(text(await two.client.call('PUBSUB', 'SHARDNUMSUB', ch0, ch1, 'none')), [
      ch0,
      1,
      ch1,
      1,
      'none',
      0,
    ]);
    // RESP3 gets the same flat array, as from Redis 7.
    const r3 = await RawConn.open(two.proxy.port);
    try {
      await r3.send([['HELLO', '3']]);
      assert.equal(
        await r3.send([['PUBSUB', 'SHARDNUMSUB', ch0, 'none']]),
        `*4\r\n$${ch0.length}\r\n${ch0}\r\n:1\r\n$4\r\nnone\r\n:0\r\n`,
      );
    } finally {
      r3.close();
    }
    sub.writeRaw('*1\r\n$12\r\nSUNSUBSCRIBE\r\n');
    assert.deepEqual(
      (await frames(sub, 2)).sort(),
      [
        ['sunsubscribe', ch0, 1],
        ['sunsubscribe', ch1, 0],
      ].sort(),
    );
    // Still subscribed to 'plain'; dropping it too leaves subscribed mode.
    assert.deepEqual(text(await sub.call('UNSUBSCRIBE')), ['unsubscribe', 'plain', 0]);
    assert.equal(await sub.call('SET', ch0, 'normal again'), 'OK');
    await shardSubscribersReach(two.servers[1]!, ch1, 0);
  } finally {
    sub.destroy();
    await two.client.call('DEL', ch0);
  }
});

test('a client left with sharded channels only keeps a connection to their groups only', async () => {
  const ch = keyOn('shard-only', 0);
  const sub = await two.proxy.connect();
  /** The proxy's subscribing connections on a server, by the last command they ran there. */
  const subscribers = async (s: { call: RespClient['call'] }) =>
    String(await s.call('CLIENT', 'LIST'))
      .split('\n')
      .filter((l) => /cmd=(p|s)?(un)?subscribe /.test(l)).length;
  try {
    assert.deepEqual(text(await sub.call('SUBSCRIBE', 'everywhere')), ['subscribe', 'everywhere', 1]);
    assert.deepEqual(text(await sub.call('SSUBSCRIBE', ch)), ['ssubscribe', ch, 1]);
    for (const s of two.servers) await subscribersReach(s, 'everywhere', 1);
    await shardSubscribersReach(two.servers[0]!, ch, 1);
    assert.deepEqual(text(await sub.call('UNSUBSCRIBE', 'everywhere')), ['unsubscribe', 'everywhere', 0]);
    await until('the connection to group 2 to close', async () => (await subscribers(two.servers[1]!)) === 0);
    assert.equal(await subscribers(two.servers[0]!), 1);
    assert.equal(await two.client.call('SPUBLISH', ch, 'still here'), 1);
    assert.deepEqual(await frames(sub, 1), [['smessage', ch, 'still here']]);
  } finally {
    sub.destroy();
  }
});

test('a sharded subscription follows its slot to a new group', async () => {
  const ch = keyOn('shard-moving', 0);
  const slot = slotOf(ch);
  const [from, to] = two.servers;
  const sub = await two.proxy.connect();
  try {
    assert.deepEqual(text(await sub.call('SSUBSCRIBE', ch)), ['ssubscribe', ch, 1]);
    await shardSubscribersReach(from!, ch, 1);
    await fillSlot(two.proxy, slot, to!.addr, 2);
    await shardSubscribersReach(to!, ch, 1);
    await shardSubscribersReach(from!, ch, 0);
    assert.equal(await two.client.call('SPUBLISH', ch, 'after the move'), 1);
    assert.deepEqual(await frames(sub, 1), [['smessage', ch, 'after the move']]);
  } finally {
    sub.destroy();
    await fillSlot(two.proxy, slot, from!.addr, 1);
  }
});

test("redis-py's PubSub works through the proxy", async () => {
  const app = `
import sys, redis
r = redis.Redis(port=int(sys.argv[1]))
p = r.pubsub()
p.subscribe('py-news')
print(p.get_message(timeout=5)['type'])
while r.pubsub_numsub('py-news')[0][1] < 1: pass
print(r.publish('py-news', 'hello'))
print(p.get_message(timeout=5)['data'])
p.close()
`;
  const run = await runProgram('/usr/bin/python3', ['-c', app, String(two.proxy.port)]);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(run.stdout.trim().split('\n'), ['subscribe', '1', "b'hello'"]);
});

test('a subscriber that stops reading is dropped once 32 MB of messages wait for it', async () => {
  const ch = keyOn('flood', 1);
  const reader = net.connect(two.proxy.port, '127.0.0.1');
  await once(reader, 'connect');
  reader.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${ch.length}\r\n${ch}\r\n`);
  for (const s of two.servers) await subscribersReach(s, ch, 1);
  reader.pause(); // it never reads again
  const big = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 64; i++) await two.client.call('PUBLISH', ch, big);
  // Dropped: its subscriptions are gone from every server, and the proxy serves on.
  for (const s of two.servers) await subscribersReach(s, ch, 0);
  assert.equal(await two.client.call('PING'), 'PONG');
  reader.destroy();
});

test('a RESP3 subscriber gets pushes, and may still send other commands', async () => {
  const ch = keyOn('resp3-ch', 1);
  const sub = net.connect(two.proxy.port, '127.0.0.1');
  let got = '';
  sub.on('data', (d: Buffer) => (got += d.toString('latin1')));
  await once(sub, 'connect');
  const seen = (part: string) =>
    until(`the subscriber to get ${JSON.stringify(part)}`, () => got.includes(part));
  try {
    sub.write('*2\r\n$5\r\nHELLO\r\n$1\r\n3\r\n');
    await seen('proto');
    sub.write(`*2\r\n$9\r\nSUBSCRIBE\r\n$${ch.length}\r\n${ch}\r\n`);
    await seen(`>3\r\n$9\r\nsubscribe\r\n$${ch.length}\r\n${ch}\r\n:1\r\n`);
    for (const s of two.servers) await subscribersReach(s, ch, 1);
    assert.equal(await two.client.call('PUBLISH', ch, 'pushed'), 1);
    await seen(`>3\r\n$7\r\nmessage\r\n$${ch.length}\r\n${ch}\r\n$6\r\npushed\r\n`);
    sub.write('*2\r\n$3\r\nGET\r\n$12\r\nno-such-key3\r\n');
    await seen('_\r\n');
  } finally {
    sub.destroy();
  }
});
