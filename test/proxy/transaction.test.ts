import { test } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../src/proxy/hash.js';
import { keyOn, proxyOverTwoGroups, slotsMigrating, startProxy } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { RedisError, type Reply } from '../helpers/resp-client.js';
import { RawConn, sameAsRedis } from '../helpers/raw-conn.js';

// MULTI/EXEC through the proxy when the transaction's keys share a slot.
const two = proxyOverTwoGroups({ client: true });

function errorOf(r: Reply): string {
  assert.ok(r instanceof RedisError, `expected an error, got ${String(r)}`);
  return r.message;
}

test('a transaction on one slot runs as in Redis: QUEUED, then every reply in the EXEC array', async () => {
  const [a, b] = ['{tx}a', '{tx}b'];
  const replies = await two.client.pipeline([
    ['MULTI'],
    ['SET', a, '1'],
    ['INCR', a],
    ['RPUSH', b, 'x', 'y'],
    ['LPUSH', a, 'oops'],
    ['PING'],
    ['MGET', a, b, '{tx}missing'],
    ['EXEC'],
  ]);
  assert.deepEqual(replies.slice(0, 7).map(String), ['OK', ...Array<string>(6).fill('QUEUED')]);
  const exec = replies[7] as Reply[];
  assert.equal(exec.length, 6);
  assert.deepEqual(exec.slice(0, 3), ['OK', 2, 2]);
  assert.match(errorOf(exec[3]!), /^WRONGTYPE/, 'a runtime error stays inside the array, as in Redis');
  assert.equal(exec[4], 'PONG');
  assert.equal(String((exec[5] as Reply[])[0]), '2');
  // Empty, nested, without MULTI, DISCARD: Redis's answers.
  assert.deepEqual(await two.client.pipeline([['MULTI'], ['EXEC']]), ['OK', []]);
  assert.equal(errorOf(await two.client.call('EXEC')), 'ERR EXEC without MULTI');
  assert.equal(errorOf(await two.client.call('DISCARD')), 'ERR DISCARD without MULTI');
  const discarded = await two.client.pipeline([['MULTI'], ['MULTI'], ['DEL', a], ['DISCARD'], ['EXISTS', a]]);
  assert.deepEqual(discarded.slice(2).map(String), ['QUEUED', 'OK', '1']);
  assert.equal(errorOf(discarded[1]!), 'ERR MULTI calls can not be nested');
  assert.equal(await two.client.call('DEL', a, b), 2);
});

test('a command refused while queueing aborts EXEC, and nothing of the transaction runs', async () => {
  const k = keyOn('tx-abort', 0);
  for (const bad of [
    ['SET', keyOn('tx-abort', 1), 'other slot'],
    ['NOSUCHCOMMAND'],
    ['GET'],
    ['SELECT', '1'],
    ['SUBSCRIBE', 'ch'],
    ['OBJECT', 'NOSUCH', k],
  ]) {
    const r = await two.client.pipeline([['MULTI'], ['SET', k, 'v'], bad, ['EXEC']]);
    assert.equal(r[1], 'QUEUED');
    assert.ok(r[2] instanceof RedisError, bad.join(' '));
    assert.equal(
      errorOf(r[3]!),
      'EXECABORT Transaction discarded because of previous errors.',
      bad.join(' '),
    );
    assert.equal(await two.client.call('EXISTS', k), 0, bad.join(' '));
  }
  // RESET and DISCARD end a transaction.
  const c = await two.proxy.connect();
  try {
    assert.deepEqual(await c.pipeline([['MULTI'], ['SET', k, 'v'], ['RESET']]), ['OK', 'QUEUED', 'RESET']);
    assert.equal(errorOf(await c.call('EXEC')), 'ERR EXEC without MULTI');
    assert.equal(await c.call('EXISTS', k), 0);
  } finally {
    c.destroy();
  }
});

test('what Redis never queues (SAVE, SHUTDOWN) gets its own error inside MULTI, byte for byte', async () => {
  const cmds = [
    ['MULTI'],
    ['SAVE'],
    ['SHUTDOWN', 'NOSAVE'],
    ['SAVE', 'extra'],
    ['SET', '{tx}nomulti', 'x'],
    ['EXEC'],
  ];
  await sameAsRedis(two.servers[0]!.port, two.proxy.port, cmds);
  assert.equal(await two.client.call('EXISTS', '{tx}nomulti'), 0);
});

test("transactions stay whole on a backend connection shared with other clients' commands", async () => {
  const clients = await Promise.all(Array.from({ length: 12 }, () => two.proxy.connect()));
  const counter = '{txc}n';
  try {
    const rounds = 150;
    const work = clients.map(async (c, i) => {
      const pairs: Reply[] = [];
      for (let r = 0; r < rounds; r++) {
        if (i % 2 === 0) {
          // Both INCRs of one EXEC must be consecutive: nothing may run between them.
          const out = await c.pipeline([['MULTI'], ['INCR', counter], ['INCR', counter], ['EXEC']]);
          pairs.push(out[3]!);
        } else {
          // Plain traffic to the same group, pipelined on the same shared connection.
          await c.pipeline([
            ['INCR', counter],
            ['GET', counter],
            ['SET', `{txc}other${i}`, r],
          ]);
        }
      }
      return pairs;
    });
    const results = await Promise.all(work);
    for (const pairs of results) {
      for (const p of pairs) {
        const [x, y] = p as number[];
        assert.equal(y, x! + 1, `EXEC gave ${String(x)}, ${String(y)}`);
      }
    }
    assert.equal(Number(await two.client.call('GET', counter)), (clients.length / 2) * rounds * 3);
  } finally {
    for (const c of clients) c.destroy();
    await two.client.call('DEL', counter, ...clients.map((_, i) => `{txc}other${i}`));
  }
});

test('a transaction on a migrating slot moves its keys to the new group first', async () => {
  const source = await startRedis();
  const key = '{txm}k';
  const slots = slotsMigrating(two.servers, slotOf(key), source.addr);
  const target = two.servers[slotOf(key) < 512 ? 0 : 1]!;
  await source.call('SET', key, '41');
  const p = await startProxy({ slots });
  const c = await p.connect();
  try {
    const r = await c.pipeline([['MULTI'], ['INCR', key], ['GET', '{txm}none'], ['EXEC']]);
    assert.deepEqual(r[3], [42, null]);
    assert.equal(await source.call('EXISTS', key), 0);
    assert.equal(String(await target.call('GET', key)), '42');
  } finally {
    c.destroy();
    await p.stop();
    await source.stop();
    await target.call('DEL', key);
  }
});

test('a RESP3 client gets its EXEC reply in RESP3', async () => {
  const r = await RawConn.open(two.proxy.port);
  try {
    await r.send([['HELLO', '3']]);
    const out = await r.send([
      ['MULTI'],
      ['HSET', '{t3}h', 'f', 'v'],
      ['HGETALL', '{t3}h'],
      ['DEL', '{t3}h'],
      ['EXEC'],
    ]);
    assert.equal(
      out,
      '+OK\r\n+QUEUED\r\n+QUEUED\r\n+QUEUED\r\n*3\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\nv\r\n:1\r\n',
    );
  } finally {
    r.close();
  }
});

test('a transaction is bounded by session_max_request_size: past it, EXEC aborts', async () => {
  const p = await startProxy({
    backends: two.servers.map((s) => s.addr),
    config: { session_max_request_size: '1mb' },
  });
  const c = await p.connect();
  try {
    const big = 'v'.repeat(400 * 1024);
    const r = await c.pipeline([
      ['MULTI'],
      ['SET', '{txbig}a', big],
      ['SET', '{txbig}b', big],
      ['SET', '{txbig}c', big],
      ['EXEC'],
    ]);
    assert.deepEqual(r.slice(0, 3), ['OK', 'QUEUED', 'QUEUED']);
    assert.match(errorOf(r[3]!), /^ERR transaction too big for the proxy: over 1048576 bytes queued/);
    assert.equal(errorOf(r[4]!), 'EXECABORT Transaction discarded because of previous errors.');
    assert.equal(await c.call('EXISTS', '{txbig}a'), 0);
  } finally {
    c.destroy();
    await p.stop();
  }
});
