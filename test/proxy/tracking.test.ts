/**
 * CLIENT TRACKING through the proxy (client-side caching): invalidations for the keys a client
 * read, whichever group they live on and whoever changed them, in the default, OPTIN and BCAST
 * modes, redirected to another client over RESP2 pub/sub, after FLUSHALL and after the proxy's
 * own tracking connection to a server is lost; the commands' checks answered as Redis does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { keyOn, proxyOverTwoGroups, startProxy } from '../helpers/proxy.js';
import { startRedis } from '../helpers/redis.js';
import { sameAsRedis } from '../helpers/raw-conn.js';
import { encodeCommand, RedisError, type Arg, type Reply, type RespClient } from '../helpers/resp-client.js';
import { until } from '../topom/flow.js';

const two = proxyOverTwoGroups({ client: true });

const text = (r: Reply): unknown =>
  Array.isArray(r) ? r.map(text) : Buffer.isBuffer(r) ? r.toString('latin1') : r;

async function resp3(): Promise<RespClient> {
  const c = await two.proxy.connect();
  await c.call('HELLO', 3);
  return c;
}

/** A RESP3 client that tracks, and read `k` (set to 1). */
async function trackingReaderOf(k: string): Promise<RespClient> {
  const c = await resp3();
  assert.equal(await c.call('CLIENT', 'TRACKING', 'ON'), 'OK');
  await two.client.call('SET', k, '1');
  assert.equal(String(await c.call('GET', k)), '1');
  return c;
}

/** The next thing the client gets, which must be an invalidation push: its keys (null: all). */
async function invalidation(c: RespClient): Promise<string[] | null> {
  const push = text(await c.readReply()) as unknown[];
  assert.equal(push[0], 'invalidate', `not an invalidation: ${JSON.stringify(push)}`);
  return push[1] as string[] | null;
}

/** The reply to a command, past the invalidation pushes that come before it. */
async function callSkipping(c: RespClient, ...args: Arg[]): Promise<Reply> {
  c.writeRaw(encodeCommand(args));
  for (;;) {
    const r = await c.readReply();
    if (!Array.isArray(r) || text(r[0]!) !== 'invalidate') return r;
  }
}

/** Clients a server has with tracking on: the proxy's reporting connections. */
async function trackingConns(server: number): Promise<number> {
  const list = String(await two.servers[server]!.call('CLIENT', 'LIST'));
  return list.split('\n').filter((l) => /flags=\w*t/.test(l)).length;
}

test('a RESP3 client hears of changes to the keys it read, on either group, once per read', async () => {
  const [a0, b0, a1] = [keyOn('trk-a', 0), keyOn('trk-b', 0), keyOn('trk-a', 1)];
  const c = await resp3();
  const w = two.client;
  try {
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON'), 'OK');
    await w.call('MSET', a0, '1', b0, '1', a1, '1');
    assert.deepEqual(text(await c.call('MGET', a0, a1)), ['1', '1']);
    assert.equal(String(await c.call('GET', b0)), '1');
    const info = String(await w.call('INFO'));
    assert.match(info, /\r\ntracking_clients:1\r\n/);
    assert.match(info, /\r\ntracking_total_keys:3\r\n/);
    await w.call('SET', a0, '2');
    assert.deepEqual(await invalidation(c), [a0]);
    await w.call('INCR', a1);
    assert.deepEqual(await invalidation(c), [a1]);
    // a0 was not read again: its next change is not reported, b0's (same group, later) is.
    await w.call('SET', a0, '3');
    await w.call('DEL', b0);
    assert.deepEqual(await invalidation(c), [b0]);
    // Its own writes are reported too, after their reply.
    assert.equal(String(await c.call('GET', a0)), '3');
    assert.equal(await c.call('SET', a0, '4'), 'OK');
    assert.deepEqual(await invalidation(c), [a0]);
    // OFF: nothing more, and the proxy closes its reporting connections.
    assert.equal(String(await c.call('GET', a0)), '4');
    assert.equal(await c.call('CLIENT', 'TRACKING', 'OFF'), 'OK');
    await until('the reporting connections to close', async () => (await trackingConns(0)) === 0);
  } finally {
    c.destroy();
  }
});

test('reads inside MULTI/EXEC are tracked, and OPTIN tracks only after CLIENT CACHING yes', async () => {
  const [x, y, z] = ['trk-x', 'trk-y', 'trk-z'].map((k) => keyOn(k, 1));
  const c = await resp3();
  const w = two.client;
  try {
    await w.call('MSET', x, '1', y, '1', z, '1');
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON', 'OPTIN'), 'OK');
    assert.equal(String(await c.call('GET', x)), '1'); // not cached: not tracked
    assert.equal(await c.call('CLIENT', 'CACHING', 'yes'), 'OK');
    assert.equal(String(await c.call('GET', y)), '1');
    assert.equal(String(await c.call('GET', z)), '1'); // CACHING held for one command only
    await w.call('SET', x, '2');
    await w.call('SET', z, '2');
    await w.call('SET', y, '2');
    assert.deepEqual(await invalidation(c), [y]);
    assert.equal(await c.call('CLIENT', 'CACHING', 'yes'), 'OK');
    assert.equal(await c.call('MULTI'), 'OK');
    assert.equal(await c.call('GET', z), 'QUEUED');
    assert.deepEqual(text(await c.call('EXEC')), ['2']);
    await w.call('SET', z, '3');
    assert.deepEqual(await invalidation(c), [z]);
  } finally {
    c.destroy();
  }
});

test('OPTOUT tracks every read but the one after CLIENT CACHING no', async () => {
  const [x, y] = ['trk-out-x', 'trk-out-y'].map((k) => keyOn(k, 0));
  const c = await resp3();
  const w = two.client;
  try {
    await w.call('MSET', x, '1', y, '1');
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON', 'OPTOUT'), 'OK');
    assert.equal(await c.call('CLIENT', 'CACHING', 'no'), 'OK');
    assert.equal(String(await c.call('GET', x)), '1');
    assert.equal(String(await c.call('GET', y)), '1');
    await w.call('SET', x, '2');
    await w.call('SET', y, '2');
    assert.deepEqual(await invalidation(c), [y]);
  } finally {
    c.destroy();
  }
});

test('BCAST reports every change under its prefixes, read or not, batched as the server batches them', async () => {
  const c = await resp3();
  const w = two.client;
  const [u0, o0, u1] = [keyOn('user:trk', 0), keyOn('other:trk', 0), keyOn('user:trk2', 0)];
  try {
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'user:'), 'OK');
    await w.call('SET', u0, 'v');
    assert.deepEqual(await invalidation(c), [u0]);
    await w.call('SET', o0, 'v'); // no prefix of its: not reported
    await w.call('MSET', u1, 'v', u0, 'w');
    assert.deepEqual((await invalidation(c))?.sort(), [u0, u1].sort());
    const info = text(await c.call('CLIENT', 'TRACKINGINFO'));
    assert.deepEqual(info, ['flags', ['on', 'bcast'], 'redirect', 0, 'prefixes', ['user:']]);
    // Two prefixes: one message per prefix the batch falls under, prefixes in byte order.
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'other:'), 'OK');
    await w.call('MSET', `user:{${u0}}`, 'v', `other:{${u0}}`, 'v', `user:{${u0}}2`, 'v');
    assert.deepEqual(await invalidation(c), [`other:{${u0}}`]);
    assert.deepEqual((await invalidation(c))?.sort(), [`user:{${u0}}`, `user:{${u0}}2`]);
    assert.match(String(await c.call('CLIENT', 'INFO')), / flags=tB .* redir=0 resp=3/);
  } finally {
    c.destroy();
  }
});

test('REDIRECT sends a RESP2 client the invalidations as __redis__:invalidate messages; a lost target is reported', async () => {
  const k = keyOn('trk-redir', 0);
  const [a, b] = [await two.proxy.connect(), await two.proxy.connect()];
  const c = await resp3();
  const w = two.client;
  try {
    const bid = (await b.call('CLIENT', 'ID')) as number;
    assert.deepEqual(text(await b.call('SUBSCRIBE', '__redis__:invalidate')), [
      'subscribe',
      '__redis__:invalidate',
      1,
    ]);
    assert.equal(await a.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', bid), 'OK');
    assert.equal(await a.call('CLIENT', 'GETREDIR'), bid);
    await w.call('SET', k, '1');
    assert.equal(String(await a.call('GET', k)), '1');
    await w.call('SET', k, '2');
    assert.deepEqual(text(await b.readReply()), ['message', '__redis__:invalidate', [k]]);
    // A RESP3 client whose target leaves hears that its redirect is broken.
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON', 'REDIRECT', bid), 'OK');
    assert.equal(String(await c.call('GET', k)), '2');
    await b.close();
    await until(
      'the target to be gone',
      async () => String(await w.call('CLIENT', 'LIST', 'ID', bid)) === '',
    );
    await w.call('SET', k, '3');
    assert.deepEqual(text(await c.readReply()), ['tracking-redir-broken', bid]);
    const info = text(await c.call('CLIENT', 'TRACKINGINFO')) as unknown[];
    assert.deepEqual(info[1], ['on', 'broken_redirect']);
  } finally {
    a.destroy();
    b.destroy();
    c.destroy();
  }
});

test('FLUSHALL tells a tracking client to drop its whole cache, and RESET turns tracking off', async () => {
  const k = keyOn('trk-flush', 1);
  const c = await trackingReaderOf(k);
  const w = two.client;
  try {
    assert.equal(await w.call('FLUSHALL'), 'OK');
    assert.equal(await invalidation(c), null);
    // Each group reports the flush: RESET's reply may come after another null.
    assert.equal(await callSkipping(c, 'RESET'), 'RESET');
    await c.call('HELLO', 3);
    assert.deepEqual((text(await c.call('CLIENT', 'TRACKINGINFO')) as unknown[])[1], ['off']);
  } finally {
    c.destroy();
  }
});

test("when the proxy's reporting connection to a server is lost, clients drop their caches, and tracking resumes", async () => {
  const k = keyOn('trk-lost', 1);
  const c = await trackingReaderOf(k);
  const w = two.client;
  try {
    const list = String(await two.servers[1]!.call('CLIENT', 'LIST'));
    const id = /id=(\d+) [^\n]*flags=\w*t/.exec(list)![1]!;
    assert.equal(await two.servers[1]!.call('CLIENT', 'KILL', 'ID', id), 1);
    // Writes there may go unseen until a new connection tracks: the client drops everything.
    assert.equal(await invalidation(c), null);
    await until('a new reporting connection', async () => (await trackingConns(1)) === 1);
    assert.equal(String(await callSkipping(c, 'GET', k)), '1');
    await w.call('SET', k, '2');
    // The new connection may announce one more "drop everything" once its tracking is on.
    let got = await invalidation(c);
    if (got === null) got = await invalidation(c);
    assert.deepEqual(got, [k]);
  } finally {
    c.destroy();
  }
});

test("CLIENT TRACKING's checks, CACHING, TRACKINGINFO and GETREDIR answer byte for byte as Redis does", async () => {
  const cmds = [
    ['CLIENT', 'CACHING', 'yes'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'a'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'a'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'ab'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'b', 'PREFIX', 'bc'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', 'c', 'NOLOOP'],
    ['CLIENT', 'TRACKINGINFO'],
    ['CLIENT', 'TRACKING', 'ON', 'OPTIN'],
    ['CLIENT', 'TRACKING', 'ON', 'BCAST', 'OPTIN'],
    ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', '99999999'],
    ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', 'x'],
    ['CLIENT', 'TRACKING', 'OFF'],
    ['CLIENT', 'GETREDIR'],
    ['CLIENT', 'TRACKING', 'ON', 'PREFIX', 'a'],
    ['CLIENT', 'TRACKING', 'ON', 'OPTIN', 'OPTOUT'],
    ['CLIENT', 'TRACKING', 'ON', 'FOO'],
    ['CLIENT', 'TRACKING', 'MAYBE'],
    ['CLIENT', 'TRACKING'],
    ['CLIENT', 'TRACKING', 'ON', 'OPTIN', 'NOLOOP'],
    ['CLIENT', 'CACHING', 'no'],
    ['CLIENT', 'CACHING', 'yes'],
    ['CLIENT', 'TRACKINGINFO'],
    ['CLIENT', 'CACHING', 'maybe'],
    ['CLIENT', 'TRACKING', 'ON', 'OPTOUT'],
    ['CLIENT', 'GETREDIR'],
    ['CLIENT', 'TRACKING', 'OFF'],
    ['CLIENT', 'TRACKINGINFO'],
  ];
  await sameAsRedis(two.servers[0]!.port, two.proxy.port, cmds);
});

test('CLIENT TRACKING ON names the server that cannot report changes, and the client goes on untracked', async () => {
  const server = await startRedis();
  const proxy = await startProxy({ backends: [server.addr] });
  const c = await proxy.connect();
  try {
    assert.equal(await c.call('SET', 'trk-down', '1'), 'OK');
    await server.stop();
    const e = await c.call('CLIENT', 'TRACKING', 'ON');
    assert.ok(e instanceof RedisError, String(e));
    assert.match(e.message, new RegExp(`^ERR client tracking unavailable: tracking on ${server.addr}: `));
    assert.deepEqual((text(await c.call('CLIENT', 'TRACKINGINFO')) as unknown[])[1], ['off']);
    assert.equal(await c.call('PING'), 'PONG');
  } finally {
    c.destroy();
    await proxy.stop();
  }
});

test('past proxy_tracking_max_keys, the oldest remembered key is invalidated for its reader', async () => {
  const proxy = await startProxy({
    backends: two.servers.map((s) => s.addr),
    config: { proxy_tracking_max_keys: 2 },
  });
  const c = await proxy.connect();
  try {
    await c.call('HELLO', 3);
    assert.equal(await c.call('CLIENT', 'TRACKING', 'ON'), 'OK');
    const [k1, k2, k3] = [keyOn('trk-cap1', 0), keyOn('trk-cap2', 1), keyOn('trk-cap3', 0)];
    for (const k of [k1, k2, k3]) assert.equal(await c.call('GET', k), null);
    assert.deepEqual(await invalidation(c), [k1]);
    assert.match(String(await c.call('INFO', 'stats')), /\r\ntracking_total_keys:2\r\n/);
  } finally {
    c.destroy();
    await proxy.stop();
  }
});

test('a primary that takes the connection and never answers fails CLIENT TRACKING ON after 5 s, naming it', async () => {
  // Not a Redis: a listener that accepts and says nothing, as a hung server does.
  const silent = net.createServer(() => {});
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const addr = `127.0.0.1:${(silent.address() as net.AddressInfo).port}`;
  const proxy = await startProxy({ backends: [addr] });
  const c = await proxy.connect();
  try {
    const started = Date.now();
    const e = await c.call('CLIENT', 'TRACKING', 'ON');
    assert.ok(e instanceof RedisError, String(e));
    assert.equal(e.message, `ERR client tracking unavailable: tracking on ${addr}: no answer within 5000 ms`);
    assert.ok(Date.now() - started >= 4900, `answered after ${Date.now() - started} ms`);
    assert.deepEqual((text(await c.call('CLIENT', 'TRACKINGINFO')) as unknown[])[1], ['off']);
  } finally {
    c.destroy();
    await proxy.stop();
    silent.close();
  }
});
