import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { startProxy, type ProxyProcess, type SlotSpec } from '../helpers/proxy.js';
import { commandCalls, startRedis, type RedisServer } from '../helpers/redis.js';
import { RedisError, RespClient } from '../helpers/resp-client.js';
import { RawConn } from '../helpers/raw-conn.js';
import { proxyXAuth } from '../../src/utils/xauth.js';

// Slots 0..511 on A, 512..1023 on B; then slot S migrates from A to B.
let a: RedisServer;
let b: RedisServer;
let proxy: ProxyProcess;
let client: RespClient;
let xauth: string;

function table(migrating: number[]): SlotSpec[] {
  return Array.from({ length: 1024 }, (_, id) => {
    if (migrating.includes(id)) {
      return {
        id,
        backend_addr: b.addr,
        backend_addr_group_id: 2,
        migrate_from: a.addr,
        migrate_from_group_id: 1,
      };
    }
    return id < 512
      ? { id, backend_addr: a.addr, backend_addr_group_id: 1 }
      : { id, backend_addr: b.addr, backend_addr_group_id: 2 };
  });
}

async function fill(slots: SlotSpec[]): Promise<void> {
  const r = await fetch(`http://${proxy.admin}/api/proxy/fillslots/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify(slots),
  });
  assert.equal(r.status, 200, await r.text());
}

function keysIn(slot: number, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) if (slotOf(`${prefix}${i}`) === slot) out.push(`${prefix}${i}`);
  return out;
}

before(async () => {
  [a, b] = await Promise.all([startRedis(), startRedis()]);
  proxy = await startProxy({ slots: table([]) });
  const model = (await (await fetch(`http://${proxy.admin}/api/proxy/model`)).json()) as { token: string };
  xauth = proxyXAuth('test', '', model.token);
  client = await proxy.connect();
});
after(async () => {
  client?.close();
  await proxy?.stop();
  await Promise.all([a?.stop(), b?.stop()]);
});

test('a key of a migrating slot is moved to the target before the command runs there', async () => {
  const [k1, k2, k3] = keysIn(100, 3, 'mig:');
  await a.call('SET', k1!, 'one', 'EX', 1000);
  await a.call('RPUSH', k2!, 'x', 'y');
  await a.call('SET', k3!, 'three');
  await fill(table([100]));
  assert.equal(String(await client.call('GET', k1!)), 'one');
  assert.equal(await a.call('EXISTS', k1!), 0, 'moved off the source');
  assert.equal(String(await b.call('GET', k1!)), 'one');
  const ttl = (await b.call('TTL', k1!)) as number;
  assert.ok(ttl > 990, `TTL kept: ${ttl}`);
  assert.equal(await client.call('RPUSH', k2!, 'z'), 3, 'a write sees the moved list');
  assert.deepEqual(((await b.call('LRANGE', k2!, 0, -1)) as Buffer[]).map(String), ['x', 'y', 'z']);
  assert.equal(await a.call('EXISTS', k2!), 0);
  // A key never written anywhere: MIGRATE answers NOKEY and the command runs on the target.
  assert.equal(await client.call('GET', 'nokey-' + k3!), null);
});

test('the big-key probe runs by hash, and a source that lost its scripts gets the body again', async () => {
  const [k1, k2, k3] = keysIn(101, 3, 'probe:');
  for (const k of [k1!, k2!, k3!]) await a.call('SET', k, 'v-' + k);
  await fill(table([101]));
  await a.call('SCRIPT', 'FLUSH');
  await a.call('CONFIG', 'RESETSTAT');
  for (const k of [k1!, k2!, k3!]) assert.equal(String(await client.call('GET', k)), 'v-' + k);
  for (const k of [k1!, k2!, k3!])
    assert.equal(String(await b.call('GET', k)), 'v-' + k, 'moved to the target');
  assert.equal(await commandCalls(a, 'evalsha'), 3, 'one probe per request, by hash');
  assert.equal(await commandCalls(a, 'eval'), 1, 'the body only after NOSCRIPT');
  await fill(table([]));
});

test('split and scripted commands move their keys, in any database', async () => {
  const keys = keysIn(200, 4, 'multi:');
  const other = keysIn(700, 1, 'multi:');
  await client.call('SELECT', 3);
  await a.call('SELECT', 3);
  const direct = await a.connect();
  await direct.call('SELECT', 3);
  for (const k of keys) await direct.call('SET', k, `v-${k}`);
  direct.close();
  await fill(table([200]));
  const got = (await client.call('MGET', keys[0]!, other[0]!, keys[1]!)) as (Buffer | null)[];
  assert.deepEqual(
    got.map((v) => (v === null ? null : String(v))),
    [`v-${keys[0]}`, null, `v-${keys[1]}`],
  );
  const r = await client.call(
    'EVAL',
    "return redis.call('GET', KEYS[1]) .. redis.call('GET', KEYS[2])",
    2,
    keys[2]!,
    keys[3]!,
  );
  assert.equal(String(r), `v-${keys[2]}v-${keys[3]}`);
  const onTarget = await b.connect();
  await onTarget.call('SELECT', 3);
  for (const k of keys) assert.equal(String(await onTarget.call('GET', k)), `v-${k}`);
  onTarget.close();
  await client.call('SELECT', 0);
});

test('MOVE on a migrating slot, alone or in a transaction, gets a retry error; after the move it runs', async () => {
  const [key] = keysIn(210, 1, 'move:');
  await client.call('SET', key!, 'v');
  await fill(table([210]));
  const retry = `ERR handle request, MOVE on slot 210, which is moving to another group; retry`;
  const refused = await client.call('MOVE', key!, 5);
  assert.ok(refused instanceof RedisError && refused.message === retry, String(refused));
  assert.equal(String(await client.call('MULTI')), 'OK');
  assert.equal(String(await client.call('MOVE', key!, 5)), 'QUEUED');
  const exec = await client.call('EXEC');
  assert.ok(exec instanceof RedisError && exec.message === retry, String(exec));
  // Other commands on the slot go on (the key is moved to the target first).
  assert.equal(String(await client.call('GET', key!)), 'v');
  await fill(
    table([]).map((s) => (s.id === 210 ? { ...s, backend_addr: b.addr, backend_addr_group_id: 2 } : s)),
  );
  assert.equal(await client.call('MOVE', key!, 5), 1);
  assert.equal(await client.call('EXISTS', key!), 0);
  await client.call('SELECT', 5);
  assert.equal(String(await client.call('GET', key!)), 'v');
  await client.call('DEL', key!);
  await client.call('SELECT', 0);
  await fill(table([]));
});

test('a RESP3 client reading a migrating slot gets RESP3 replies, its keys moved first', async () => {
  const [hash, single, missing] = keysIn(210, 3, 'r3mig:');
  // Fresh connections: a.call's may have been left in another database.
  const [onA, onB] = await Promise.all([a.connect(), b.connect()]);
  await onA.call('HSET', hash!, 'f', 'v');
  await onA.call('SET', single!, 'one');
  await fill(table([210]));
  const c = await RawConn.open(proxy.port);
  try {
    assert.match(await c.send([['HELLO', '3']]), /proto\r\n:3\r\n/);
    assert.equal(
      await c.send([
        ['HGETALL', hash!],
        ['MGET', single!, missing!],
        ['GET', missing!],
      ]),
      '%1\r\n$1\r\nf\r\n$1\r\nv\r\n*2\r\n$3\r\none\r\n_\r\n_\r\n',
    );
  } finally {
    c.close();
  }
  assert.equal(await onA.call('EXISTS', hash!, single!), 0, 'moved off the source');
  assert.equal(await onB.call('EXISTS', hash!, single!), 2);
  onA.close();
  onB.close();
  await fill(table([]));
});

test('a held key waits while other keys of the slot are served, and goes on after release', async () => {
  const [held, free, after] = keysIn(300, 3, 'hold:');
  await fill(table([300]));
  const key = Buffer.from(held!).toString('base64');
  const hold = (on: boolean) =>
    fetch(`http://${proxy.admin}/api/proxy/keyhold/${xauth}`, {
      method: 'PUT',
      body: JSON.stringify({ slot: 300, db: 0, key, hold: on }),
    });
  assert.equal((await hold(true)).status, 200);
  const events: string[] = [];
  const other = await proxy.connect();
  // One pipeline: the held key's SET, then another key of the same slot.
  const replies = other.pipeline([
    ['SET', held!, 'late'],
    ['SET', after!, 'written'],
  ]);
  void replies.then(() => events.push('pipeline answered'));
  assert.equal(await client.call('SET', free!, 'now'), 'OK');
  // The second SET reaching the target proves the proxy has taken the whole pipeline.
  for (let i = 0; i < 200 && (await b.call('EXISTS', after!)) === 0; i++)
    await new Promise((r) => setImmediate(r));
  assert.equal(await b.call('EXISTS', after!), 1);
  assert.equal(await b.call('EXISTS', held!), 0, 'the held key was not written');
  assert.deepEqual(events, [], 'replies wait in order behind the held key');
  assert.equal((await hold(false)).status, 200);
  assert.deepEqual(await replies, ['OK', 'OK']);
  assert.equal(String(await b.call('GET', held!)), 'late');
  other.close();
  const bad = await fetch(`http://${proxy.admin}/api/proxy/keyhold/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify({ slot: 1024, key }),
  });
  assert.equal(bad.status, 400);
});

test("the dashboard's big-key threshold, sent with the slot, decides which keys a request may move", async () => {
  const [over, under] = keysIn(402, 2, 'limit:');
  await a.call('SELECT', 0);
  await a.call('RPUSH', over!, ...Array.from({ length: 600 }, (_, i) => `i${i}`));
  await a.call('RPUSH', under!, ...Array.from({ length: 400 }, (_, i) => `i${i}`));
  const slots = table([402]);
  slots[402] = { ...slots[402]!, migrate_bigkey_elements: 500 };
  await fill(slots);
  const shown = (await (await fetch(`http://${proxy.admin}/proxy/slots`)).json()) as SlotSpec[];
  assert.equal(shown[402]!.migrate_bigkey_elements, 500, 'the proxy reports the threshold it uses');
  // 400 elements: under the threshold, the request moves the key and runs on the target.
  assert.equal(await client.call('LLEN', under!), 400);
  assert.equal(await a.call('EXISTS', under!), 0);
  // 600 elements: over it (though under the proxy's own default of 10,000), the request waits.
  let answered = false;
  const waiting = client.call('LLEN', over!).then((r) => ((answered = true), r));
  for (let i = 0; i < 3; i++) {
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(answered, false);
    assert.equal(await a.call('LLEN', over!), 600, 'still whole on the source');
  }
  assert.equal(await a.call('MIGRATE', '127.0.0.1', b.port, over!, 0, 5000), 'OK');
  assert.equal(await waiting, 600);
  await fill(table([]));
});

test('a request for a big key waits for the key to be moved, and is never the one to MIGRATE it whole', async () => {
  const [big, small] = keysIn(400, 2, 'bigkey:');
  await a.call('SELECT', 0); // an earlier test left the helper's connection in db 3
  const fields: string[] = [];
  for (let i = 0; i < 12_000; i++) fields.push(`f${i}`, 'v');
  await a.call('HSET', big!, ...fields);
  await a.call('SET', small!, 's');
  await fill(table([400]));
  let answered = false;
  const waiting = client.call('HLEN', big!).then((r) => {
    answered = true;
    return r;
  });
  // Other keys of the slot are served meanwhile.
  const other = await proxy.connect();
  assert.equal(String(await other.call('GET', small!)), 's');
  other.close();
  // The proxy did not move the big hash: it is still whole on the source, and the request waits.
  for (let i = 0; i < 5; i++) {
    assert.equal(await a.call('HLEN', big!), 12_000);
    assert.equal(answered, false);
    await new Promise((r) => setTimeout(r, 100));
  }
  // The dashboard's worker moves it (here: by hand); the parked request then runs on the target.
  assert.equal(await a.call('MIGRATE', '127.0.0.1', b.port, big!, 0, 5000), 'OK');
  assert.equal(await waiting, 12_000);
});
