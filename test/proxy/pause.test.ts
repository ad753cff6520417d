import { test } from 'node:test';
import assert from 'node:assert/strict';
import { keyOn, proxyOverTwoGroups } from '../helpers/proxy.js';
import { RedisError, type RespClient } from '../helpers/resp-client.js';
import { until } from '../topom/flow.js';

// CLIENT PAUSE: the proxy holds its clients' commands, as Redis holds its own.
const two = proxyOverTwoGroups({ client: true });

const blocked = async (c: RespClient) =>
  Number(/^blocked_clients:(\d+)\r$/m.exec(String(await c.call('INFO', 'clients')))![1]);

/** Resolves once `n` clients wait: Redis has no event for it, so INFO is polled. */
const waiting = (n: number) => until(`${n} blocked clients`, async () => (await blocked(two.client)) === n);

test('CLIENT PAUSE WRITE holds writes (and what follows them) until UNPAUSE; reads run on', async () => {
  const [writer, reader, publisher] = await Promise.all([0, 1, 2].map(() => two.proxy.connect()));
  const k = keyOn('paused', 1);
  try {
    await two.client.call('SET', k, 'before');
    assert.equal(await two.client.call('CLIENT', 'PAUSE', 60_000, 'WRITE'), 'OK');
    // The writer's SET waits, and the GET it pipelined after it waits behind it.
    const replies = writer.pipeline([
      ['SET', k, 'after'],
      ['GET', k],
    ]);
    const published = publisher.call('PUBLISH', 'paused-ch', 'x');
    await waiting(2);
    assert.equal(String(await reader.call('GET', k)), 'before');
    assert.equal(await reader.call('PING'), 'PONG');
    // A read-only transaction runs; one that writes waits at its EXEC; errors come at once.
    assert.deepEqual(
      (await reader.pipeline([['MULTI'], ['GET', k], ['EXEC']])).map((r) =>
        Array.isArray(r) ? r.map(String) : r,
      ),
      ['OK', 'QUEUED', ['before']],
    );
    // A script whose shebang says no-writes runs, as in Redis.
    assert.equal(await reader.call('EVAL', '#!lua flags=no-writes\nreturn 7', 0), 7);
    const arity = await reader.call('SET', k);
    assert.ok(arity instanceof RedisError && /wrong number of arguments/.test(arity.message));
    assert.equal(await blocked(two.client), 2);
    assert.equal(await two.client.call('CLIENT', 'UNPAUSE'), 'OK');
    assert.deepEqual((await replies).map(String), ['OK', 'after']);
    assert.equal(await published, 0);
    assert.equal(await blocked(two.client), 0);
  } finally {
    for (const c of [writer, reader, publisher]) c.destroy();
  }
});

test('CLIENT PAUSE ALL holds every command until its timeout ends it', async () => {
  const other = await two.proxy.connect();
  try {
    const t0 = Date.now();
    assert.equal(await two.client.call('CLIENT', 'PAUSE', 400), 'OK');
    // INFO would wait too: the PING's delay is what shows the pause.
    assert.equal(await other.call('PING'), 'PONG');
    assert.ok(Date.now() - t0 >= 390, `PING answered ${Date.now() - t0} ms after a 400 ms pause began`);
    assert.equal(await blocked(two.client), 0);
  } finally {
    other.destroy();
  }
});

test('a client that leaves while its commands are held is forgotten; the pause still ends', async () => {
  const leaving = await two.proxy.connect();
  assert.equal(await two.client.call('CLIENT', 'PAUSE', 60_000, 'WRITE'), 'OK');
  leaving.writeRaw('*3\r\n$3\r\nSET\r\n$4\r\ngone\r\n$1\r\nx\r\n');
  await waiting(1);
  leaving.destroy();
  await waiting(0);
  assert.equal(await two.client.call('CLIENT', 'UNPAUSE'), 'OK');
  assert.equal(await two.client.call('EXISTS', 'gone'), 0);
});

test('a second, shorter CLIENT PAUSE does not end the pause earlier, as in Redis', async () => {
  const writer = await two.proxy.connect();
  try {
    assert.equal(await two.client.call('CLIENT', 'PAUSE', 60_000, 'WRITE'), 'OK');
    assert.equal(await two.client.call('CLIENT', 'PAUSE', 1, 'WRITE'), 'OK');
    let answered = false;
    const set = writer.call('SET', 'pause-shorter', 'v').then((r) => ((answered = true), r));
    // Held past the second pause's end, till UNPAUSE.
    await waiting(1);
    assert.equal(answered, false);
    assert.equal(await two.client.call('CLIENT', 'UNPAUSE'), 'OK');
    assert.equal(await set, 'OK');
    await two.client.call('DEL', 'pause-shorter');
  } finally {
    await two.client.call('CLIENT', 'UNPAUSE');
    writer.destroy();
  }
});
