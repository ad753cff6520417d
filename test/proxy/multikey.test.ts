/**
 * Multi-key commands through the proxy: MGET/MSET/DEL/UNLINK/EXISTS/TOUCH split across both backends
 * and merged in key order, CROSSSLOT for the multi-key commands that must stay in one slot, and
 * per-session databases (SELECT) that reach the same database on the backends.
 */
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { evenSlots, keyOn, owner, startProxy, type ProxyProcess } from '../helpers/proxy.js';
import {
  commandCalls,
  RedisError,
  startRedis,
  type RedisServer,
  type Reply,
  type RespClient,
} from '../helpers/redis.js';

const CROSSSLOT = "CROSSSLOT Keys in request don't hash to the same slot";

let backends: RedisServer[] = [];
let proxy: ProxyProcess | undefined;
let c: RespClient;

const keys = Array.from({ length: 200 }, (_, i) => `mk:${i}`);
const val = (k: string) => `value of ${k}`;
const texts = (r: Reply) => (r as (Buffer | null)[]).map((b) => (b === null ? null : b.toString()));
const errorOf = (r: Reply) => (r instanceof RedisError ? r.message : `not an error: ${JSON.stringify(r)}`);
/** Two keys in different slots of the same backend. */
function twoSlotsOn(b: number): [string, string] {
  const first = keyOn('same-backend', b);
  for (let i = 0; ; i++) {
    const k = `same-backend-other:${i}`;
    if (owner(k) === b && slotOf(k) !== slotOf(first)) return [first, k];
  }
}

/** A connection to a backend with a database selected. */
async function onBackend(b: number, db = 0): Promise<RespClient> {
  const conn = await backends[b]!.connect();
  assert.equal(await conn.call('SELECT', db), 'OK');
  return conn;
}

before(async () => {
  backends = await Promise.all([startRedis(), startRedis()]);
  proxy = await startProxy({ backends: backends.map((b) => b.addr) });
  c = await proxy.connect();
});

after(async () => {
  c?.destroy();
  await proxy?.stop();
  await Promise.all(backends.map((b) => b.stop()));
});

describe('cross-slot MGET, MSET, DEL, UNLINK, EXISTS, TOUCH', () => {
  test('the 200 test keys span many slots on both backends', () => {
    const perBackend = [0, 1].map((b) => keys.filter((k) => owner(k) === b).length);
    assert.ok(perBackend[0]! >= 50 && perBackend[1]! >= 50, `split ${perBackend}`);
    assert.ok(new Set(keys.map((k) => slotOf(k))).size > 150);
  });

  test('MSET of 200 keys lands each key on the backend that owns its slot', async () => {
    assert.equal(await c.call('MSET', ...keys.flatMap((k) => [k, val(k)])), 'OK');
    const conns = await Promise.all([onBackend(0), onBackend(1)]);
    try {
      for (const k of keys) {
        const b = owner(k);
        assert.equal(String(await conns[b]!.call('GET', k)), val(k), `${k} on backend ${b}`);
        assert.equal(await conns[1 - b]!.call('EXISTS', k), 0, `${k} also on backend ${1 - b}`);
      }
      assert.equal(
        Number(await conns[0]!.call('DBSIZE')) + Number(await conns[1]!.call('DBSIZE')),
        keys.length,
      );
    } finally {
      conns.forEach((x) => x.destroy());
    }
  });

  test('a 200-key MSET, MGET or DEL costs one command per backend, not one per key', async () => {
    const calls = (b: number, cmd: string) => commandCalls(backends[b]!, cmd);
    const copy = keys.map((k) => `${k}:copy`);
    await Promise.all(backends.map((b) => b.call('CONFIG', 'RESETSTAT')));
    assert.equal(await c.call('MSET', ...copy.flatMap((k) => [k, val(k)])), 'OK');
    assert.deepEqual(texts(await c.call('MGET', ...copy)), copy.map(val));
    assert.equal(await c.call('DEL', ...copy), copy.length);
    for (const b of [0, 1]) {
      for (const cmd of ['mset', 'mget', 'del'])
        assert.equal(await calls(b, cmd), 1, `${cmd} on backend ${b}`);
      assert.equal(
        (await calls(b, 'set')) + (await calls(b, 'get')),
        0,
        `no per-key commands on backend ${b}`,
      );
    }
  });

  test('500 split MSETs and MGETs pipelined in one write, past the session window, each answer in order', async () => {
    // The first ones are split as they are decoded; the rest wait for the window and are split later.
    const four = (i: number) => [0, 1, 2, 3].map((j) => `${keys[(i * 7 + j * 53) % keys.length]!}:pipe`);
    const cmds = Array.from({ length: 250 }, (_, i) => [
      ['MSET', ...four(i).flatMap((k) => [k, `${val(k)} #${i}`])],
      ['MGET', ...four(i)],
    ]).flat();
    const replies = await c.pipeline(cmds);
    for (let i = 0; i < 250; i++) {
      assert.equal(replies[2 * i], 'OK', `MSET #${i}`);
      assert.deepEqual(
        texts(replies[2 * i + 1]!),
        four(i).map((k) => `${val(k)} #${i}`),
        `MGET #${i}`,
      );
    }
  });

  test('a split command with a key in a slot that has no group fails whole, and writes nothing', async () => {
    const down = 'offline:k';
    const slots = evenSlots(backends.map((b) => b.addr)).map((s) =>
      s.id === slotOf(down) ? { id: s.id } : s,
    );
    const p = await startProxy({ slots });
    const pc = await p.connect();
    const up = keys.find((k) => slotOf(k) !== slotOf(down))!;
    const notReady = 'ERR handle request, slot is not ready, may be offline';
    assert.equal(errorOf(await pc.call('MSET', up, 'changed', down, 'x')), notReady);
    assert.equal(errorOf(await pc.call('MGET', up, down)), notReady);
    assert.equal(errorOf(await pc.call('DEL', up, down)), notReady);
    assert.equal(String(await pc.call('GET', up)), val(up), 'the key in a served slot is untouched');
    pc.destroy();
    await p.stop();
  });

  test('MGET answers in key order, with nil for missing keys and repeats', async () => {
    const asked = keys.flatMap((k, i) => (i % 4 === 0 ? [k, `missing:${i}`] : [k]));
    asked.push(keys[0]!, keys[199]!, keys[0]!);
    const expected = asked.map((k) => (k.startsWith('missing') ? null : val(k)));
    assert.deepEqual(texts(await c.call('MGET', ...asked)), expected);
    assert.deepEqual(texts(await c.call('MGET', 'missing:a', 'missing:b')), [null, null]);
  });

  test('MSET with a repeated key keeps the last value; MSET with an odd argument count is an arity error', async () => {
    const [a, b] = [keyOn('rep', 0), keyOn('rep', 1)];
    assert.equal(await c.call('MSET', a, '1', b, 'x', a, '2'), 'OK');
    assert.deepEqual(texts(await c.call('MGET', a, b)), ['2', 'x']);
    assert.equal(
      errorOf(await c.call('MSET', a, '1', b)),
      "ERR wrong number of arguments for 'mset' command",
    );
    assert.equal(errorOf(await c.call('MSET', a)), "ERR wrong number of arguments for 'mset' command");
    assert.deepEqual(texts(await c.call('MGET', a, b)), ['2', 'x'], 'a refused MSET wrote nothing');
  });

  test('a WRONGTYPE key inside MGET reads as nil, as in Redis', async () => {
    const [l0, l1] = [keyOn('mget-list', 0), keyOn('mget-list', 1)];
    await c.call('RPUSH', l0, 'x');
    await c.call('SADD', l1, 'y');
    const r = texts(await c.call('MGET', keys[0]!, l0, keys[1]!, l1, 'missing'));
    assert.deepEqual(r, [val(keys[0]!), null, val(keys[1]!), null, null]);
  });

  test('EXISTS and TOUCH count every argument that exists, repeats included', async () => {
    const [a, b] = [keyOn('mk', 0), keyOn('mk', 1)];
    assert.equal(await c.call('EXISTS', a, a), 2);
    assert.equal(await c.call('EXISTS', a, b, a, 'missing', b), 4);
    assert.equal(await c.call('EXISTS', ...keys, 'missing:1', 'missing:2'), 200);
    assert.equal(await c.call('TOUCH', a, b, 'missing', a), 3);
  });

  test('DEL and UNLINK count keys removed once, across backends', async () => {
    const del = keys.slice(0, 100);
    assert.equal(await c.call('DEL', ...del, del[0]!, del[1]!, 'missing'), 100);
    assert.equal(await c.call('EXISTS', ...del), 0);
    const unl = keys.slice(100);
    assert.equal(await c.call('UNLINK', unl[0]!, unl[0]!, ...unl), 100);
    assert.equal(await c.call('EXISTS', ...keys), 0);
    for (const b of [0, 1]) {
      const conn = await onBackend(b);
      assert.equal(await conn.call('EXISTS', ...keys), 0, `backend ${b} still holds keys`);
      conn.destroy();
    }
  });
});

describe('multi-key commands that must stay in one slot', () => {
  const [a, b] = [keyOn('xs', 0), keyOn('xs', 1)];
  const [s1, s2] = twoSlotsOn(1);

  test('MSETNX, SINTER, RENAME, EVAL over two slots → CROSSSLOT, nothing written', async () => {
    for (const [x, y] of [
      [a, b],
      [s1, s2],
    ] as const) {
      assert.equal(errorOf(await c.call('MSETNX', x, '1', y, '2')), CROSSSLOT);
      assert.equal(errorOf(await c.call('SINTER', x, y)), CROSSSLOT);
      assert.equal(errorOf(await c.call('RENAME', x, y)), CROSSSLOT);
      assert.equal(errorOf(await c.call('EVAL', "return redis.call('GET', KEYS[2])", 2, x, y)), CROSSSLOT);
      assert.equal(errorOf(await c.call('SMOVE', x, y, 'm')), CROSSSLOT);
      assert.equal(await c.call('EXISTS', x, y), 0);
    }
  });

  test('the same commands work when the keys share a {tag}, across either backend', async () => {
    for (const b of [0, 1]) {
      const tag = keyOn('tag', b);
      const [x, y, z] = ['x', 'y', 'z'].map((s) => `{${tag}}${s}`) as [string, string, string];
      assert.equal(await c.call('MSETNX', x, '1', y, '2'), 1);
      assert.equal(await c.call('MSETNX', y, '3', z, '4'), 0);
      assert.equal(await c.call('RENAME', x, z), 'OK');
      assert.deepEqual(texts(await c.call('MGET', x, y, z)), [null, '2', '1']);
      assert.equal(await c.call('SADD', x, 'm', 'n'), 2);
      assert.equal(await c.call('SADD', `{${tag}}w`, 'n'), 1);
      assert.deepEqual(texts(await c.call('SINTER', x, `{${tag}}w`)), ['n']);
      assert.equal(String(await c.call('EVAL', "return redis.call('GET', KEYS[2])", 2, x, y)), '2');
      const conn = await onBackend(b);
      assert.equal(String(await conn.call('GET', z)), '1', `{${tag}} keys live on backend ${b}`);
      conn.destroy();
    }
  });
});

describe('SELECT', () => {
  test('the same key in db 0 and db 3 holds different values, each in that db of its backend', async () => {
    const k = keyOn('dbkey', 1);
    const s = await proxy!.connect();
    try {
      assert.equal(await s.call('SET', k, 'in db 0'), 'OK');
      assert.equal(await s.call('SELECT', 3), 'OK');
      assert.equal(await s.call('GET', k), null);
      assert.equal(await s.call('SET', k, 'in db 3'), 'OK');
      assert.equal(String(await s.call('GET', k)), 'in db 3');
      assert.equal(await s.call('SELECT', 0), 'OK');
      assert.equal(String(await s.call('GET', k)), 'in db 0');
      const [db0, db3, other3] = await Promise.all([onBackend(1, 0), onBackend(1, 3), onBackend(0, 3)]);
      assert.equal(String(await db0.call('GET', k)), 'in db 0');
      assert.equal(String(await db3.call('GET', k)), 'in db 3');
      assert.equal(await other3.call('EXISTS', k), 0);
      [db0, db3, other3].forEach((x) => x.destroy());
    } finally {
      s.destroy();
    }
  });

  test('split MSET/MGET/DEL in db 5 stay in db 5 of both backends', async () => {
    const s = await proxy!.connect();
    const some = keys.slice(0, 40);
    try {
      assert.equal(await s.call('SELECT', 5), 'OK');
      assert.equal(await s.call('MSET', ...some.flatMap((k) => [k, `db5 ${k}`])), 'OK');
      assert.deepEqual(
        texts(await s.call('MGET', ...some)),
        some.map((k) => `db5 ${k}`),
      );
      assert.equal(await c.call('EXISTS', ...some), 0, 'db 0 must not see db 5 keys');
      for (const b of [0, 1]) {
        const conn = await onBackend(b, 5);
        const mine = some.filter((k) => owner(k) === b);
        assert.ok(mine.length > 0);
        assert.equal(await conn.call('EXISTS', ...mine), mine.length, `backend ${b} db 5`);
        conn.destroy();
      }
      assert.equal(await s.call('DEL', ...some), some.length);
    } finally {
      s.destroy();
    }
  });

  test('SELECT 16 is refused (16 databases), SELECT 15 and bad indexes behave as in Redis', async () => {
    const s = await proxy!.connect();
    try {
      assert.equal(errorOf(await s.call('SELECT', 16)), 'ERR DB index is out of range');
      assert.equal(errorOf(await s.call('SELECT', -1)), 'ERR DB index is out of range');
      assert.equal(errorOf(await s.call('SELECT', 'abc')), 'ERR value is not an integer or out of range');
      assert.equal(await s.call('SET', 'db-after-refusal', 'x'), 'OK');
      assert.equal(String(await c.call('GET', 'db-after-refusal')), 'x', 'a refused SELECT keeps db 0');
      assert.equal(await s.call('SELECT', 15), 'OK');
      assert.equal(await s.call('GET', 'db-after-refusal'), null);
    } finally {
      s.destroy();
    }
  });

  test('SELECT of a number Redis would not parse (01, -0, +1) is refused like Redis, db unchanged', async () => {
    const s = await proxy!.connect();
    try {
      for (const bad of ['01', '-0', '+1', ' 1', '1.0']) {
        assert.equal(
          errorOf(await s.call('SELECT', bad)),
          'ERR value is not an integer or out of range',
          `SELECT '${bad}'`,
        );
      }
      assert.equal(String(await s.call('GET', 'db-after-refusal')), 'x', 'still in db 0');
    } finally {
      s.destroy();
    }
  });

  test("one connection's SELECT does not leak to another, even with interleaved traffic", async () => {
    const [s3, s0] = await Promise.all([proxy!.connect(), proxy!.connect()]);
    const some = keys.slice(0, 50);
    try {
      assert.equal(await s3.call('SELECT', 3), 'OK');
      const writes = await Promise.all([
        s3.pipeline(some.map((k) => ['SET', k, `three ${k}`])),
        s0.pipeline(some.map((k) => ['SET', k, `zero ${k}`])),
      ]);
      assert.ok(writes.flat().every((r) => r === 'OK'));
      const [r3, r0] = await Promise.all([
        s3.pipeline(some.map((k) => ['GET', k])),
        s0.pipeline(some.map((k) => ['GET', k])),
      ]);
      assert.deepEqual(
        texts(r3),
        some.map((k) => `three ${k}`),
      );
      assert.deepEqual(
        texts(r0),
        some.map((k) => `zero ${k}`),
      );
      const fresh = await proxy!.connect();
      assert.equal(
        String(await fresh.call('GET', some[0]!)),
        `zero ${some[0]}`,
        'a new connection starts in db 0',
      );
      fresh.destroy();
    } finally {
      s3.destroy();
      s0.destroy();
    }
  });
});
