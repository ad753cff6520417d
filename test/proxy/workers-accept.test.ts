/**
 * proxy_accept = "workers": the primary binds the client port and every worker accepts on it,
 * with no hand-off per connection.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  listeningPids,
  pingChurnDuring,
  proxyOverTwoGroups,
  putProxyAdmin,
  startProxy,
  workerPids,
} from '../helpers/proxy.js';
import { infoField, maxClientsOneAtATime } from '../helpers/max-clients.js';

const shared = proxyOverTwoGroups({ args: ['--ncpu', '2'], config: { proxy_accept: 'workers' } });

/** The worker a client reached: client ids are handed out as index + 1 + k × workers. */
const workerOf = (id: number): number => (id - 1) % 2;

test('both workers accept on the shared port: 200 clients of one command each are all served', async () => {
  // The primary and both workers hold the listening socket (with hand-offs, the primary alone).
  const holders = [shared.proxy.child.pid!, ...workerPids(shared.proxy)].sort((a, b) => a - b);
  assert.deepEqual(listeningPids(shared.proxy.port), holders);
  const ids: number[] = [];
  const one = async (i: number) => {
    const c = await shared.proxy.connect();
    assert.equal(await c.call('SET', `shared:${i}`, `v${i}`), 'OK');
    ids.push((await c.call('CLIENT', 'ID')) as number);
    c.destroy();
  };
  for (let i = 0; i < 200; i += 20) await Promise.all(Array.from({ length: 20 }, (_, k) => one(i + k)));
  assert.equal(new Set(ids).size, 200, 'every client had an id of its own');
  const perWorker = [0, 0];
  for (const id of ids) perWorker[workerOf(id)]!++;
  assert.ok(perWorker[0]! > 0 && perWorker[1]! > 0, `clients per worker: ${perWorker.join(', ')}`);
  const c = await shared.proxy.connect();
  const keys = Array.from({ length: 200 }, (_, i) => `shared:${i}`);
  const values = (await c.call('MGET', ...keys)) as Buffer[];
  assert.deepEqual(
    values.map(String),
    keys.map((_, i) => `v${i}`),
  );
  c.close();
});

test('a worker that dies leaves the port to the other, and its replacement accepts on it again', async () => {
  assert.equal((await putProxyAdmin(shared.proxy, 'loglevel', 'INFO')).status, 200);
  const before = workerPids(shared.proxy);
  assert.equal(before.length, 2);
  const serves = shared.proxy.nextLog(/proxy worker (\d+) serves clients/, 20_000);
  process.kill(before[0]!, 'SIGKILL');
  // Meanwhile the other worker takes every client.
  for (let i = 0; i < 10; i++) {
    const c = await shared.proxy.connect();
    assert.equal(await c.call('PING'), 'PONG');
    c.destroy();
  }
  const replacement = (await serves)[1]!;
  assert.ok(!before.includes(Number(replacement)));
  // The replacement listens on the same socket: the kernel gives it clients too.
  let onReplacement = 0;
  for (let i = 0; i < 100 && onReplacement === 0; i++) {
    const c = await shared.proxy.connect();
    if ((await infoField(c, 'process_id')) === replacement) onReplacement++;
    c.destroy();
  }
  assert.equal(onReplacement, 1, `no client reached worker ${replacement}`);
});

test('workers killed while clients come and go do not take the primary down', async () => {
  // Every count a worker reports is passed on to the others, the dying one among them.
  assert.equal((await putProxyAdmin(shared.proxy, 'loglevel', 'INFO')).status, 200);
  const pongs = await pingChurnDuring(shared.proxy, async () => {
    for (let i = 0; i < 3; i++) {
      const before = workerPids(shared.proxy);
      const serves = shared.proxy.nextLog(/proxy worker (\d+) serves clients/, 20_000);
      process.kill(before[0]!, 'SIGKILL');
      assert.ok(!before.includes(Number((await serves)[1])));
    }
  });
  assert.ok(pongs > 0);
  assert.equal(shared.proxy.child.exitCode, null);
  const stats = (await (await fetch(`http://${shared.proxy.admin}/proxy/stats`)).json()) as {
    runtime: { num_procs: number };
  };
  assert.equal(stats.runtime.num_procs, 2);
});

test('while no worker runs, a new client waits in the port queue and is served by a replacement', async () => {
  assert.equal((await putProxyAdmin(shared.proxy, 'loglevel', 'INFO')).status, 200);
  const pids = workerPids(shared.proxy);
  const bothDied = Promise.all(
    pids.map((p) => shared.proxy.nextLog(new RegExp(`proxy worker ${p} died`), 20_000)),
  );
  const serves = shared.proxy.nextLog(/proxy worker (\d+) serves clients/, 20_000);
  for (const p of pids) process.kill(p, 'SIGKILL');
  await bothDied;
  const c = await shared.proxy.connect({ timeoutMs: 20_000 });
  const set = c.call('SET', 'waited', 'v');
  await serves;
  assert.equal(await set, 'OK');
  assert.equal(String(await c.call('GET', 'waited')), 'v');
  c.close();
});

for (const accept of ['primary', 'workers'] as const) {
  test(`proxy_max_clients is for all the workers together (proxy_accept = "${accept}"): 4 over two workers admit 4 clients, not 8`, async () => {
    const p = await startProxy({
      backends: shared.servers.map((s) => s.addr),
      config: { proxy_max_clients: 4, proxy_accept: accept },
      args: ['--ncpu', '2'],
    });
    try {
      // One at a time. With hand-offs a burst is held too (workers.test.ts); workers that accept
      // themselves may pass the limit in a burst that reaches several of them before their counts do.
      await maxClientsOneAtATime(p, 4);
    } finally {
      await p.stop();
    }
  });
}

test('workers accept on a shared unix socket too', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'codis-shared-'));
  const backends = shared.servers.map((s) => s.addr);
  const overUnix = await startProxy({
    backends,
    unixPath: join(dir, 'proxy.sock'),
    config: { proxy_accept: 'workers' },
    args: ['--ncpu', '2'],
  });
  try {
    for (let i = 0; i < 10; i++) {
      const c = await overUnix.connect();
      assert.equal(await c.call('SET', `unix:${i}`, 'u'), 'OK');
      c.destroy();
    }
    const c = await shared.proxy.connect();
    const keys = Array.from({ length: 10 }, (_, i) => `unix:${i}`);
    assert.deepEqual(
      (await c.call('MGET', ...keys)) as Buffer[],
      keys.map(() => Buffer.from('u')),
    );
    c.close();
  } finally {
    await overUnix.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
