import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotMover } from '../../../src/topom/migration/SlotMover.js';
import type { KeyHolder } from '../../../src/topom/migration/BigKeyMover.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { keysInSlot, MOVER_OPTS } from './cluster.js';

let src: RedisServer;
let dst: RedisServer;

before(async () => {
  [src, dst] = await Promise.all([startRedis(), startRedis()]);
});
after(async () => {
  await Promise.all([src?.stop(), dst?.stop()]);
});

test('moves every key of the migrating slots, in every database, and nothing else', async () => {
  const moving = [3, 700];
  const staying = keysInSlot(5, 20, 'stay');
  const movingKeys = moving.flatMap((s) => keysInSlot(s, 150, `mv${s}`));
  for (const db of [0, 3]) {
    const c = await src.connect();
    await c.call('SELECT', db);
    for (const k of movingKeys) await c.call('SET', k, `${db}:${k}`, 'PX', 600000);
    for (const k of staying) await c.call('SET', k, 'x');
    await c.call('RPUSH', `${movingKeys[0]}:list`, 'a', 'b');
    c.close();
  }
  const holds: string[] = [];
  const holder: KeyHolder = {
    hold: async (s, db, key) => void holds.push(`hold ${s} ${db} ${key}`),
    release: async (s, db, key) => void holds.push(`release ${s} ${db} ${key}`),
  };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  const targets = new Map(moving.map((s) => [s, dst.addr]));
  const first = await mover.pass(targets);
  const moved = [...first.slots.values()].reduce((a, p) => a + p.moved, 0);
  assert.ok(moved >= movingKeys.length * 2, `moved ${moved}`);
  const second = await mover.pass(targets);
  for (const [slot, p] of second.slots) assert.equal(p.found, 0, `slot ${slot} has keys left`);
  mover.close();
  assert.deepEqual(holds, [], 'small keys need no hold');
  for (const db of [0, 3]) {
    const s = await src.connect();
    const d = await dst.connect();
    await s.call('SELECT', db);
    await d.call('SELECT', db);
    for (const k of movingKeys) {
      assert.equal(await s.call('EXISTS', k), 0);
      assert.equal(String(await d.call('GET', k)), `${db}:${k}`);
      const ttl = (await d.call('PTTL', k)) as number;
      assert.ok(ttl > 500000 && ttl <= 600000, `ttl kept for ${k}: ${ttl}`);
    }
    for (const k of staying) assert.equal(String(await s.call('GET', k)), 'x');
    s.close();
    d.close();
  }
});

test('a big hash moves in chunks under a key hold, with its TTL', async () => {
  const [key] = keysInSlot(42, 1, 'bighash');
  const c = await src.connect();
  const fields: string[] = [];
  for (let i = 0; i < 5000; i++) fields.push(`f${i}`, `v${i}`);
  await c.call('HSET', key!, ...fields);
  await c.call('EXPIRE', key!, 1000);
  c.close();
  const events: string[] = [];
  const holder: KeyHolder = {
    hold: async (_s, _db, k) => void events.push(`hold ${k}`),
    release: async (_s, _db, k) => void events.push(`release ${k}`),
  };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  const r = await mover.pass(new Map([[42, dst.addr]]));
  mover.close();
  assert.deepEqual(events, [`hold ${key}`, `release ${key}`]);
  assert.equal(r.slots.get(42)!.moved, 1);
  assert.equal(await src.call('EXISTS', key!), 0);
  assert.equal(await dst.call('HLEN', key!), 5000);
  assert.equal(String(await dst.call('HGET', key!, 'f4321')), 'v4321');
  const ttl = (await dst.call('TTL', key!)) as number;
  assert.ok(ttl > 990 && ttl <= 1000, `ttl ${ttl}`);
  assert.deepEqual(await dst.call('KEYS', '__codis_migrating__*'), []);
});

test('big lists, sets, sorted sets and strings keep their contents and order', async () => {
  const [l, s, z, str] = keysInSlot(77, 4, 'big');
  const c = await src.connect();
  const items = Array.from({ length: 2500 }, (_, i) => `i${i}`);
  await c.call('RPUSH', l!, ...items);
  await c.call('SADD', s!, ...items);
  await c.call('ZADD', z!, ...items.flatMap((m, i) => [String(i / 3), m]));
  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'ab');
  await c.call('SET', str!, big);
  c.close();
  const holder: KeyHolder = { hold: async () => {}, release: async () => {} };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  await mover.pass(new Map([[77, dst.addr]]));
  mover.close();
  assert.deepEqual(((await dst.call('LRANGE', l!, 0, -1)) as Buffer[]).map(String), items);
  assert.equal(await dst.call('SCARD', s!), items.length);
  const zr = (await dst.call('ZRANGE', z!, 0, -1, 'WITHSCORES')) as Buffer[];
  assert.equal(zr.length, items.length * 2);
  assert.equal(String(zr[2 * 1234]), 'i1234');
  assert.equal(Number(String(zr[2 * 1234 + 1])), 1234 / 3);
  assert.ok(((await dst.call('GET', str!)) as Buffer).equals(big));
  for (const k of [l, s, z, str]) assert.equal(await src.call('EXISTS', k!), 0);
});

test('a batch of large values is split into several MIGRATE calls (batchBytes)', async () => {
  const keys = keysInSlot(900, 10, 'split');
  const c = await src.connect();
  for (const k of keys) await c.call('SET', k, Buffer.alloc(10_000, 'x'));
  const calls = async () => {
    const info = String(await c.call('INFO', 'commandstats'));
    return Number(/cmdstat_migrate:calls=(\d+)/.exec(info)?.[1] ?? 0);
  };
  const before = await calls();
  const holder: KeyHolder = { hold: async () => {}, release: async () => {} };
  const mover = new SlotMover(src.addr, { ...MOVER_OPTS, batchBytes: 25_000 }, holder);
  const r = await mover.pass(new Map([[900, dst.addr]]));
  assert.equal(r.slots.get(900)!.moved, 10);
  assert.equal((await calls()) - before, 5, '2 keys of 10 kB per call');
  for (const k of keys) assert.equal(await dst.call('STRLEN', k), 10_000);

  mover.close();
  c.close();
});

test('a big key whose slot is taken out while it is copied is dropped: the source keeps it', async () => {
  const [key] = keysInSlot(901, 1, 'bigdrop');
  const c = await src.connect();
  for (let i = 0; i < 5; i++)
    await c.call('HSET', key!, ...Array.from({ length: 1000 }, (_, j) => [`f${i}-${j}`, 'v']).flat());
  c.close();
  const targets = new Map([[901, dst.addr]]);
  const events: string[] = [];
  const holder: KeyHolder = {
    hold: async () => {
      events.push('hold');
      targets.delete(901); // an abort comes in while the key is held
    },
    release: async () => void events.push('release'),
  };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  const r = await mover.pass(targets);
  await mover.quiesce();
  mover.close();
  assert.deepEqual(events, ['hold', 'release']);
  assert.equal(r.slots.get(901)!.moved, 0);
  assert.equal(await src.call('HLEN', key!), 5000);
  assert.equal(await dst.call('EXISTS', key!), 0);
  assert.deepEqual(await dst.call('KEYS', '__codis_migrating__*'), []);
});

test('small keys keep moving while a big key is copied', async () => {
  await src.call('FLUSHALL');
  await dst.call('FLUSHALL');
  const [big] = keysInSlot(900, 1, 'copying');
  const small = keysInSlot(900, 300, 'beside');
  const fields: string[] = [];
  for (let i = 0; i < 3000; i++) fields.push(`f${i}`, 'v');
  await src.call('HSET', big!, ...fields);
  for (const k of small) await src.call('SET', k, 'x');
  // The hold of the big key only returns once every small key is on the target: a mover that
  // copied big keys inline, before going on with its pass, would never get there.
  const holder: KeyHolder = {
    hold: async () => {
      const until = Date.now() + 10_000;
      while ((await dst.call('DBSIZE')) !== small.length) {
        if (Date.now() > until) throw new Error('small keys did not move while the big key waited');
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    release: async () => {},
  };
  const mover = new SlotMover(src.addr, { ...MOVER_OPTS, batchKeys: 10 }, holder);
  try {
    await mover.pass(new Map([[900, dst.addr]]));
  } finally {
    mover.close();
  }
  assert.equal(await dst.call('HLEN', big!), 3000);
  assert.equal(await src.call('DBSIZE'), 0);
});

test('a pass that does not wait for big keys ends while one is copied; later passes skip it, then credit it', async () => {
  await src.call('FLUSHALL');
  await dst.call('FLUSHALL');
  const [big] = keysInSlot(902, 1, 'outlives');
  const small = keysInSlot(903, 50, 'other');
  const fields: string[] = [];
  for (let i = 0; i < 3000; i++) fields.push(`f${i}`, 'v');
  await src.call('HSET', big!, ...fields);
  for (const k of small) await src.call('SET', k, 'x');
  let holds = 0;
  let letGo!: () => void;
  const held = new Promise<void>((r) => (letGo = r));
  const holder: KeyHolder = {
    hold: async () => {
      holds++;
      await held;
    },
    release: async () => {},
  };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  const targets = new Map([
    [902, dst.addr],
    [903, dst.addr],
  ]);
  try {
    const first = await mover.pass(targets, undefined, undefined, false);
    assert.equal(mover.copyingSlot, 902, 'the copy outlives the pass');
    assert.deepEqual(first.slots.get(903), { found: 50, moved: 50, bytes: first.slots.get(903)!.bytes });
    assert.equal(first.slots.get(902)!.found, 1, 'the big key keeps its slot from being done');

    const second = await mover.pass(targets, undefined, undefined, false);
    assert.equal(second.slots.get(903)!.found, 0);
    assert.equal(second.slots.get(902)!.found, 1);
    assert.equal(holds, 1, 'the key being copied is not started again');

    letGo();
    await mover.bigSettled();
    const third = await mover.pass(targets, undefined, undefined, false);
    assert.equal(third.slots.get(902)!.found, 0);
    assert.equal(third.slots.get(902)!.moved, 1, 'a copy that ended between passes is credited to the next');
    assert.equal(await dst.call('HLEN', big!), 3000);
    assert.equal(await src.call('DBSIZE'), 0);
  } finally {
    letGo();
    mover.close();
  }
});

test('a slot whose big key left the source before the key hold was let go is owed, not done', async () => {
  await src.call('FLUSHALL');
  await dst.call('FLUSHALL');
  const [big] = keysInSlot(905, 1, 'owed');
  const fields: string[] = [];
  for (let i = 0; i < 3000; i++) fields.push(`f${i}`, 'v');
  await src.call('HSET', big!, ...fields);
  let releasing!: () => void;
  const released = new Promise<void>((r) => (releasing = r));
  let letGo!: () => void;
  const gate = new Promise<void>((r) => (letGo = r));
  const holder: KeyHolder = {
    hold: async () => {},
    release: async () => {
      releasing();
      await gate;
    },
  };
  const mover = new SlotMover(src.addr, MOVER_OPTS, holder);
  const targets = new Map([[905, dst.addr]]);
  try {
    await mover.pass(targets, undefined, undefined, false);
    await released; // the copy is in place on the target and gone from the source
    const empty = await mover.pass(targets, undefined, undefined, false);
    assert.equal(empty.slots.get(905)!.found, 0, 'the pass sees no key of the slot');
    assert.equal(empty.slots.get(905)!.moved, 0);
    assert.ok(mover.owes(905), 'while the hold is let go, the slot is owed its key');
    letGo();
    await mover.bigSettled();
    assert.ok(mover.owes(905), 'a copy that ended between passes is owed until the next pass');
    const next = await mover.pass(targets, undefined, undefined, false);
    assert.deepEqual(
      [next.slots.get(905)!.found, next.slots.get(905)!.moved],
      [0, 1],
      'the next pass finds none and counts the key',
    );
    assert.equal(mover.owes(905), false);
    assert.equal(await dst.call('HLEN', big!), 3000);
  } finally {
    letGo();
    mover.close();
  }
});

test('a keys/s limit paces a real pass; the limit can change while it runs', async () => {
  await src.call('FLUSHALL');
  await dst.call('FLUSHALL');
  const keys = keysInSlot(904, 400, 'paced');
  for (let i = 0; i < keys.length; i += 100) {
    await src.call('MSET', ...keys.slice(i, i + 100).flatMap((k) => [k, 'x']));
  }
  let keysPerSec = 1000;
  const holder: KeyHolder = { hold: async () => {}, release: async () => {} };
  const mover = new SlotMover(
    src.addr,
    { ...MOVER_OPTS, limits: () => ({ keysPerSec, bytesPerSec: 0 }) },
    holder,
  );
  try {
    const t0 = Date.now();
    const first = mover.pass(new Map([[904, dst.addr]]));
    // Early in the pass, the operator slows it down further (settings are read per batch).
    const slower = setTimeout(() => (keysPerSec = 500), 50);
    const r = await first;
    clearTimeout(slower);
    const ms = Date.now() - t0;
    assert.equal(r.slots.get(904)!.moved, 400);
    assert.equal(await dst.call('DBSIZE'), 400);
    // 4 batches of 100 keys: 400 ms at 1000/s; each batch accounted at 500/s adds 100 ms more.
    assert.ok(ms >= 500, `moved 400 keys in ${ms} ms`);
  } finally {
    mover.close();
  }
});
