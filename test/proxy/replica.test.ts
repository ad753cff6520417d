import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startProxy, type ProxyProcess, type SlotSpec } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisError } from '../helpers/resp-client.js';

// Slots on master M, with replica R in a replica group. R refuses stale reads: once it follows a
// master that does not exist, it answers MASTERDOWN.
let m: RedisServer;
let r: RedisServer;
const proxies: ProxyProcess[] = [];

function slots(): SlotSpec[] {
  return Array.from({ length: 1024 }, (_, id) => ({
    id,
    backend_addr: m.addr,
    backend_addr_group_id: 1,
    replica_groups: [[r.addr]],
  }));
}

before(async () => {
  m = await startRedis();
  r = await startRedis();
  await r.call('CONFIG', 'SET', 'replica-serve-stale-data', 'no');
  await m.call('SET', 'rk', 'from-master');
  await r.call('SET', 'rk', 'from-replica');
});
after(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await Promise.all([m?.stop(), r?.stop()]);
});

async function waitFor(what: string, probe: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await probe()) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('reads go to replicas; MASTERDOWN passes through and sends reads to the master until the replica recovers', async () => {
  const proxy = await startProxy({ slots: slots(), config: { backend_ping_period: '1s' } });
  proxies.push(proxy);
  const c = await proxy.connect();
  // Until its connection to the replica is up, a new proxy reads from the master.
  await waitFor(
    'reads to go to the replica group',
    async () => String(await c.call('GET', 'rk')) === 'from-replica',
  );
  await r.call('REPLICAOF', '127.0.0.1', 1);
  const stale = await c.call('GET', 'rk');
  assert.ok(stale instanceof RedisError && stale.message.startsWith('MASTERDOWN'), `got ${String(stale)}`);
  // The replica is now stale: reads fall back to the master.
  assert.equal(String(await c.call('GET', 'rk')), 'from-master');
  // Writes always go to the master.
  assert.equal(await c.call('SET', 'rk2', 'w'), 'OK');
  assert.equal(String(await m.call('GET', 'rk2')), 'w');
  // The replica follows the real master; the keep-alive INFO sees its link up and reads return to it.
  await r.call('REPLICAOF', '127.0.0.1', m.port);
  await m.call('SET', 'marker', 'seen-on-replica');
  await waitFor(
    'the replica to sync',
    async () => String(await r.call('GET', 'marker')) === 'seen-on-replica',
  );
  await r.call('CONFIG', 'SET', 'replica-read-only', 'no');
  await r.call('SET', 'only-on-replica', 'r');
  await waitFor(
    'reads to return to the replica',
    async () => String(await c.call('GET', 'only-on-replica')) === 'r',
  );
  c.close();
});

test('backend_primary_only ignores replica groups', async () => {
  const proxy = await startProxy({ slots: slots(), config: { backend_primary_only: true } });
  proxies.push(proxy);
  const c = await proxy.connect();
  assert.equal(await c.call('GET', 'only-on-replica'), null);
  assert.equal(String(await c.call('GET', 'rk')), 'from-master');
  c.close();
});

test("INFO's key hits and misses add up the primaries and the replicas that serve reads", async () => {
  const proxy = await startProxy({ slots: slots() });
  proxies.push(proxy);
  const c = await proxy.connect();
  // The first test left R a replica of M with a key of its own.
  await waitFor(
    'reads to go to the replica',
    async () => String(await c.call('GET', 'only-on-replica')) === 'r',
  );
  const field = (text: unknown, name: string) =>
    Number(new RegExp(`^${name}:(\\d+)\r$`, 'm').exec(String(text))![1]);
  // A read on the replica, a miss there, and a write's lookup on the master.
  assert.equal(await c.call('GET', 'no-such-key'), null);
  assert.equal(await c.call('INCR', 'hits-counter'), 1);
  const [viaProxy, onMaster, onReplica] = await Promise.all([
    c.call('INFO', 'stats'),
    m.call('INFO', 'stats'),
    r.call('INFO', 'stats'),
  ]);
  for (const name of ['keyspace_hits', 'keyspace_misses']) {
    assert.equal(field(viaProxy, name), field(onMaster, name) + field(onReplica, name), name);
  }
  assert.ok(field(onReplica, 'keyspace_hits') > 0 && field(onReplica, 'keyspace_misses') > 0);
  c.close();
});

test("a client with CLIENT TRACKING reads from the primary: a replica's value could be cached stale", async () => {
  const proxy = await startProxy({ slots: slots() });
  proxies.push(proxy);
  const [c, t] = [await proxy.connect(), await proxy.connect()];
  // The first test left R a replica of M with a key of its own.
  await waitFor(
    'reads to go to the replica',
    async () => String(await c.call('GET', 'only-on-replica')) === 'r',
  );
  await t.call('HELLO', 3);
  assert.equal(await t.call('CLIENT', 'TRACKING', 'ON'), 'OK');
  assert.equal(await t.call('GET', 'only-on-replica'), null);
  assert.deepEqual(await t.call('MGET', 'only-on-replica', 'only-on-replica'), [null, null]);
  assert.equal(String(await c.call('GET', 'only-on-replica')), 'r', 'others still read the replica');
  c.close();
  t.close();
});
