import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { fillSlot, keyOn, proxyOverTwoGroups, slotsMigrating, startProxy } from '../helpers/proxy.js';
import { RedisError, type RespClient } from '../helpers/resp-client.js';
import { startRedis } from '../helpers/redis.js';
import { until } from '../topom/flow.js';

// Blocking commands run on a backend connection of their client's own.
const two = proxyOverTwoGroups({ client: true });

/** Resolves once the server counts `n` blocked clients (Redis has no event for it: INFO, polled). */
const blockedClientsReach = (server: { call: RespClient['call'] }, n: number) =>
  until(`${n} blocked clients`, async () => {
    const info = String(await server.call('INFO', 'clients'));
    return Number(/blocked_clients:(\d+)/.exec(info)![1]) === n;
  });

test('BLPOP waits for a push while other clients of the same group go on', async () => {
  const list = keyOn('blq', 0);
  const waiter = await two.proxy.connect();
  try {
    const popped = waiter.call('BLPOP', list, 0);
    await blockedClientsReach(two.servers[0]!, 1);
    // As Redis counts them (redis-cli --stat shows it).
    assert.match(String(await two.client.call('INFO', 'clients')), /\r\nblocked_clients:1\r\n/);
    // The shared connection to that group is not held up by the blocked command.
    const busy = Array.from({ length: 200 }, (_, i) => ['SET', keyOn(`blq-other${i}`, 0), i] as const);
    assert.equal((await two.client.pipeline(busy)).length, 200);
    assert.equal(await two.client.call('RPUSH', list, 'job-1'), 1);
    assert.deepEqual(((await popped) as Buffer[]).map(String), [list, 'job-1']);
    assert.match(String(await two.client.call('INFO', 'clients')), /\r\nblocked_clients:0\r\n/);
    // A timeout gives Redis's null array; the same connection serves the next blocking call.
    assert.equal(await waiter.call('BLPOP', list, '0.05'), null);
    await two.client.call('DEL', ...busy.map((c) => c[1]));
  } finally {
    waiter.destroy();
  }
});

test('BLMOVE and BZPOPMIN need their keys in one slot; XREAD BLOCK waits for an entry', async () => {
  const c = await two.proxy.connect();
  try {
    const refused = await c.call('BLMOVE', keyOn('blm', 0), keyOn('blm', 1), 'LEFT', 'RIGHT', 0);
    assert.ok(refused instanceof RedisError && refused.message.startsWith('CROSSSLOT'));
    await two.client.call('RPUSH', '{bl}src', 'a');
    assert.equal(String(await c.call('BLMOVE', '{bl}src', '{bl}dst', 'LEFT', 'RIGHT', 0)), 'a');
    await two.client.call('ZADD', '{bl}z', 1, 'm');
    assert.deepEqual(((await c.call('BZPOPMIN', '{bl}z', 0)) as Buffer[]).map(String), ['{bl}z', 'm', '1']);
    const read = c.call('XREAD', 'BLOCK', 0, 'STREAMS', '{bl}s', '$');
    await blockedClientsReach(two.servers[slotOf('{bl}s') < 512 ? 0 : 1]!, 1);
    const id = String(await two.client.call('XADD', '{bl}s', '*', 'f', 'v'));
    const [[stream, entries]] = (await read) as [[Buffer, [[Buffer, Buffer[]]]]];
    assert.equal(String(stream), '{bl}s');
    assert.equal(String(entries[0]![0]), id);
    await two.client.call('DEL', '{bl}dst', '{bl}s');
  } finally {
    c.destroy();
  }
});

test('CLIENT UNBLOCK ends a blocked command or WAIT as Redis does; the connection serves the next one', async () => {
  const list = keyOn('unblock', 1);
  const waiter = await two.proxy.connect();
  const unblock = (...args: (string | number)[]) => two.client.call('CLIENT', 'UNBLOCK', ...args);
  try {
    const id = (await waiter.call('CLIENT', 'ID')) as number;
    assert.equal(await unblock(id), 0, 'not blocked');
    const popped = waiter.call('BLPOP', list, 0);
    await blockedClientsReach(two.servers[1]!, 1);
    assert.equal(await unblock(id, 'TIMEOUT'), 1);
    assert.equal(await popped, null, "BLPOP's timeout reply");
    const failed = waiter.call('BRPOP', list, 0);
    await blockedClientsReach(two.servers[1]!, 1);
    assert.equal(await unblock(id, 'error'), 1);
    const e = await failed;
    assert.ok(
      e instanceof RedisError && e.message === 'UNBLOCKED client unblocked via CLIENT UNBLOCK',
      String(e),
    );
    // A WAIT with no replica to wait for blocks on every group; unblocked, it answers its count.
    const waited = waiter.call('WAIT', 1, 0);
    for (const server of two.servers) await blockedClientsReach(server, 1);
    assert.equal(await unblock(id), 1);
    assert.equal(await waited, 0);
    const next = waiter.call('BLPOP', list, 0);
    await blockedClientsReach(two.servers[1]!, 1);
    assert.equal(await two.client.call('RPUSH', list, 'after'), 1);
    assert.deepEqual(((await next) as Buffer[]).map(String), [list, 'after']);
    const errors = [await unblock(id, 'LATER'), await unblock('one')];
    assert.deepEqual(
      errors.map((x) => (x instanceof RedisError ? x.message : x)),
      ['ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR', 'ERR value is not an integer or out of range'],
    );
    assert.equal(await unblock(987654), 0, 'no such client');
  } finally {
    waiter.destroy();
  }
});

test('clients that block once each and leave share one server connection, connected when they come', async () => {
  const list = keyOn('bl-reuse', 1);
  const server = two.servers[1]!;
  const connectsSoFar = async () =>
    Number(/total_connections_received:(\d+)/.exec(String(await server.call('INFO', 'stats')))![1]);
  const before = await connectsSoFar();
  for (let round = 0; round < 10; round++) {
    const c = await two.proxy.connect();
    try {
      assert.equal(await two.client.call('RPUSH', list, `job-${round}`), 1);
      assert.deepEqual(((await c.call('BLPOP', list, 0)) as Buffer[]).map(String), [list, `job-${round}`]);
      // It waits on that connection, and a push wakes it.
      const popped = c.call('BRPOP', list, 2);
      await blockedClientsReach(server, 1);
      assert.equal(await two.client.call('RPUSH', list, `late-${round}`), 1);
      assert.deepEqual(
        ((await popped) as Buffer[] | null)?.map(String),
        [list, `late-${round}`],
        `round ${round}`,
      );
    } finally {
      c.destroy();
    }
    // Its connection is given back when the proxy has seen it leave.
    await until('the client gone', async () =>
      /\r\nconnected_clients:1\r\n/.test(String(await two.client.call('INFO', 'clients'))),
    );
  }
  // One at most: the first client may find a connection an earlier test's client left.
  const connects = (await connectsSoFar()) - before;
  assert.ok(connects <= 1, `${connects} connections to the server for ten clients one after another`);
});

test('a client that leaves while blocked leaves no blocked command on the server', async () => {
  const c = await two.proxy.connect();
  c.call('BRPOP', keyOn('bl-gone', 1), 0).catch(() => {});
  await blockedClientsReach(two.servers[1]!, 1);
  c.destroy();
  await blockedClientsReach(two.servers[1]!, 0);
});

test('a command blocked on a slot that moves is cancelled with an error; the retry reaches the new group', async () => {
  const list = keyOn('bl-move', 0);
  const slot = slotOf(list);
  const c = await two.proxy.connect();
  try {
    const popped = c.call('BLPOP', list, 0);
    await blockedClientsReach(two.servers[0]!, 1);
    await fillSlot(two.proxy, slot, two.servers[1]!.addr, 2);
    const r = await popped;
    assert.ok(r instanceof RedisError, String(r));
    assert.equal(
      r.message,
      `ERR handle response, blocking command cancelled: slot ${slot} is moving to another group; retry`,
    );
    await blockedClientsReach(two.servers[0]!, 0);
    const retry = c.call('BLPOP', list, 0);
    await blockedClientsReach(two.servers[1]!, 1);
    await two.servers[1]!.call('RPUSH', list, 'after the move');
    assert.deepEqual(((await retry) as Buffer[]).map(String), [list, 'after the move']);
  } finally {
    c.destroy();
    await fillSlot(two.proxy, slot, two.servers[0]!.addr, 1);
  }
});

test('a blocking command on a migrating slot gets the retry error at once', async () => {
  const source = await startRedis();
  const list = keyOn('bl-migrating', 0);
  const slot = slotOf(list);
  const slots = slotsMigrating(two.servers, slot, source.addr);
  const p = await startProxy({ slots });
  const c = await p.connect();
  try {
    const r = await c.call('BLPOP', list, 0);
    assert.ok(r instanceof RedisError, String(r));
    assert.equal(
      r.message,
      `ERR handle response, blocking command cancelled: slot ${slot} is moving to another group; retry`,
    );
    // A non-blocking pop on the same slot still works (it moves the key first).
    await source.call('RPUSH', list, 'x');
    assert.equal(String(await c.call('LPOP', list)), 'x');
  } finally {
    c.destroy();
    await p.stop();
    await source.stop();
  }
});
