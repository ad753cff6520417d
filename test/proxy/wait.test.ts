import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOn, startProxy, evenSlots, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisError, type Reply } from '../helpers/resp-client.js';
import { until } from '../topom/flow.js';

// Two groups, each a primary with one replica; the proxy knows the primaries only.
let primaries: RedisServer[] = [];
let replicas: RedisServer[] = [];
let proxy: ProxyProcess;
const [k0, k1] = [keyOn('wait', 0), keyOn('wait', 1)];

const str = (r: Reply) => (r instanceof Buffer ? r.toString() : r);
const field = (info: Reply, name: string) => new RegExp(`^${name}:(.*)\\r$`, 'm').exec(String(info))?.[1];

before(async () => {
  primaries = await Promise.all([startRedis(), startRedis()]);
  replicas = await Promise.all([startRedis(), startRedis()]);
  await Promise.all(replicas.map((r, i) => r.call('REPLICAOF', '127.0.0.1', primaries[i]!.port)));
  for (const p of primaries) {
    await until(
      'the replica to be online',
      async () => field(await p.call('INFO', 'replication'), 'slave0')?.includes('state=online') === true,
    );
  }
  proxy = await startProxy({ slots: evenSlots(primaries.map((p) => p.addr)) });
});
after(async () => {
  for (const r of replicas) r.resume();
  await proxy?.stop();
  await Promise.all([...primaries, ...replicas].map((s) => s.stop()));
});

test("WAIT counts the replicas that have the client's writes on every group, without holding up other clients", async () => {
  const c = await proxy.connect();
  const other = await proxy.connect();
  try {
    assert.deepEqual(
      await c.pipeline([
        ['SET', k0, 'a'],
        ['SET', k1, 'a'],
        ['WAIT', 1, 5000],
      ]),
      ['OK', 'OK', 1],
    );
    assert.equal(str(await replicas[0]!.call('GET', k0)), 'a');
    assert.equal(str(await replicas[1]!.call('GET', k1)), 'a');

    // Group 2's replica stops: its new writes reach no replica, and the answer is the least count.
    replicas[1]!.pause();
    assert.equal(await c.call('SET', k1, 'b'), 'OK');
    assert.equal(await c.call('WAIT', 1, 200), 0);
    const waiting = c.call('WAIT', 1, 0);
    // Meanwhile other clients are served on both groups, and see one client blocked.
    assert.equal(str(await other.call('GET', k1)), 'b');
    assert.equal(str(await other.call('GET', k0)), 'a');
    await until(
      'WAIT to count as blocked',
      async () => field(await other.call('INFO', 'clients'), 'blocked_clients') === '1',
    );
    replicas[1]!.resume();
    assert.equal(await waiting, 1);
    assert.equal(str(await replicas[1]!.call('GET', k1)), 'b');
  } finally {
    replicas[1]!.resume();
    c.destroy();
    other.destroy();
  }
});

test('a WAIT pipelined after a big write waits for that write', async () => {
  const c = await proxy.connect();
  try {
    const big = 'x'.repeat(4 * 1024 * 1024);
    const [set, acked] = await c.pipeline([
      ['SET', k1, big],
      ['WAIT', 1, 0],
    ]);
    assert.deepEqual([set, acked], ['OK', 1]);
    assert.equal(await replicas[1]!.call('STRLEN', k1), big.length);
  } finally {
    c.destroy();
  }
});

test('inside MULTI, WAIT answers at once as in Redis; bad arguments get Redis errors', async () => {
  const c = await proxy.connect();
  replicas[0]!.pause();
  try {
    const tx = await c.pipeline([['MULTI'], ['SET', k0, 'tx'], ['WAIT', 1, 0], ['EXEC']]);
    assert.deepEqual(tx, ['OK', 'QUEUED', 'QUEUED', ['OK', 0]]);
    const negative = await c.call('WAIT', 1, -1);
    assert.ok(
      negative instanceof RedisError && /timeout is negative/.test(negative.message),
      String(negative),
    );
    const word = await c.call('WAIT', 'one', 0);
    assert.ok(word instanceof RedisError && /not an integer/.test(word.message), String(word));
    const arity = await c.call('WAIT', 1);
    assert.ok(arity instanceof RedisError && /wrong number of arguments/.test(arity.message), String(arity));
    assert.equal(await c.call('PING'), 'PONG');
  } finally {
    replicas[0]!.resume();
    c.destroy();
  }
});

test("a client that leaves during WAIT frees the servers' connections it used", async () => {
  const clients = async () => Number(field(await primaries[0]!.call('INFO', 'clients'), 'connected_clients'));
  const c = await proxy.connect();
  assert.equal(typeof (await c.call('WAIT', 0, 0)), 'number');
  const before = await clients();
  replicas[0]!.pause();
  try {
    assert.equal(await c.call('SET', k0, 'left'), 'OK');
    c.writeRaw('*3\r\n$4\r\nWAIT\r\n$1\r\n1\r\n$1\r\n0\r\n');
    await until(
      'the WAIT to block on the primary',
      async () => field(await primaries[0]!.call('INFO', 'clients'), 'blocked_clients') === '1',
    );
    c.destroy();
    await until('its connection to close', async () => (await clients()) === before - 1);
  } finally {
    replicas[0]!.resume();
  }
});
