import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  evenSlots,
  listeningPids,
  pingChurnDuring,
  proxyOverTwoGroups,
  putProxyAdmin,
  startProxy,
  workerPids,
} from '../helpers/proxy.js';
import { RedisError, RespClient } from '../helpers/resp-client.js';
import { startRedis } from '../helpers/redis.js';
import { defaultWorkers } from '../../src/proxy/ProxyCluster.js';
import { keySlot } from '../../src/proxy/routing.js';
import { until } from '../topom/flow.js';

const two = proxyOverTwoGroups({ args: ['--ncpu', '2'] });

test('by default one process on up to 2 cores (client and Redis share them), cores - 1 workers beyond', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 16].map((n) => defaultWorkers(n)),
    [1, 1, 2, 3, 15],
  );
});

const workers = () => workerPids(two.proxy);

async function stats(): Promise<{
  ops: { total: number };
  sessions: { alive: number };
  runtime?: { num_procs: number };
}> {
  return (await fetch(`http://${two.proxy.admin}/proxy/stats`)).json() as never;
}

async function model(): Promise<{ token: string; start_time: string }> {
  return (await (await fetch(`http://${two.proxy.admin}/api/proxy/model`)).json()) as never;
}

test('two workers serve clients; a slot-table change reaches both before it is acknowledged', async () => {
  assert.equal(workers().length, 2);
  // The primary alone holds the port: it hands each client on.
  assert.deepEqual(listeningPids(two.proxy.port), [two.proxy.child.pid!]);
  const clients = await Promise.all(Array.from({ length: 20 }, () => two.proxy.connect()));
  await Promise.all(clients.map((c, i) => c.call('SET', `w:${i}`, `v${i}`)));
  const s = await stats();
  assert.equal(s.runtime?.num_procs, 2);
  assert.equal(s.sessions.alive, 20);
  assert.ok(s.ops.total >= 20);
  // Move every slot to the first server: once fillslots answers, every worker routes there.
  const all = evenSlots([two.servers[0]!.addr]);
  assert.equal((await putProxyAdmin(two.proxy, 'fillslots', undefined, all)).status, 200);
  await Promise.all(clients.map((c, i) => c.call('SET', `moved:${i}`, 'x')));
  for (let i = 0; i < 20; i++) assert.equal(String(await two.servers[0]!.call('GET', `moved:${i}`)), 'x');
  const slots = (await (await fetch(`http://${two.proxy.admin}/proxy/slots`)).json()) as {
    backend_addr: string;
  }[];
  assert.ok(slots.every((x) => x.backend_addr === two.servers[0]!.addr));
  for (const c of clients) c.close();
});

/** INFO's fields, read from one connection. */
async function info(c: RespClient, ...sections: string[]): Promise<Map<string, string>> {
  const text = String(await c.call('INFO', ...sections));
  const fields = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0) fields.set(line.slice(0, i), line.slice(i + 1));
  }
  return fields;
}

/**
 * `n` clients or more, on both workers. Which worker gets a client follows the counts the workers
 * report, and a worker reports clients that left only after a while: the clients of the test
 * before may still count.
 */
async function onBothWorkers(n: number): Promise<RespClient[]> {
  const clients = await Promise.all(Array.from({ length: n }, () => two.proxy.connect()));
  const pids = new Set<string>();
  for (const c of clients) pids.add((await info(c, 'server')).get('process_id')!);
  while (pids.size < 2 && clients.length < n + 32) {
    const c = await two.proxy.connect();
    clients.push(c);
    pids.add((await info(c, 'server')).get('process_id')!);
  }
  assert.equal(pids.size, 2, 'clients on both workers');
  return clients;
}

test('INFO on any worker reports the whole proxy, and client ids are distinct across workers', async () => {
  const clients = await onBothWorkers(12);
  const n = clients.length;
  const ids = await Promise.all(clients.map((c) => c.call('CLIENT', 'ID')));
  assert.equal(new Set(ids).size, n, `ids ${ids.join(',')}`);
  // Only this test sends INCRBY, so its command count is known exactly.
  await Promise.all(clients.map((c, i) => c.call('INCRBY', `info:${i}`, 3)));
  // And WRONGTYPE errors: one per client.
  await Promise.all(clients.map((c, i) => c.call('LPUSH', `info:${i}`, 'x')));
  const pids = new Set<string>();
  for (const c of clients) {
    const f = await info(c, 'all');
    pids.add(f.get('process_id')!);
    assert.equal(f.get('connected_clients'), `${n}`);
    assert.equal(f.get('workers'), '2');
    assert.match(f.get('cmdstat_incrby') ?? '', new RegExp(`^calls=${n},`));
    assert.equal(f.get('errorstat_WRONGTYPE'), `count=${n}`);
    assert.match(f.get('latency_percentiles_usec_incrby') ?? '', /^p50=\d+\.\d{3},p99=[\d.]+,p99\.9=[\d.]+$/);
  }
  // The connections landed on both workers, and each of them counted the other's work.
  assert.equal(pids.size, 2);
  const s = await stats();
  const f = await info(clients[0]!);
  assert.ok(Number(f.get('total_commands_processed')) >= s.ops.total - clients.length);
  // Memory is the primary's and both workers' RSS (each sampled once a second), not one worker's.
  const rssKb = (pid: number) =>
    Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]);
  const all = [two.proxy.child.pid!, ...workers()].reduce((sum, pid) => sum + rssKb(pid) * 1024, 0);
  const rss = Number(f.get('used_memory_rss'));
  assert.ok(rss > all * 0.75 && rss < all * 1.25, `INFO says ${rss} bytes, /proc ${all}`);
  for (const c of clients) c.close();
});

test("CONFIG RESETSTAT on one worker clears every worker's counters; all report one run_id", async () => {
  const clients = await onBothWorkers(8);
  await Promise.all(clients.map((c, i) => c.call('SET', `reset:${i}`, 'v')));
  await Promise.all(clients.map((c, i) => c.call('LPUSH', `reset:${i}`, 'x')));
  const before = await Promise.all(clients.map((c) => info(c, 'all')));
  assert.ok(before.every((f) => f.get('errorstat_WRONGTYPE') !== undefined));
  // Connections on both workers, one proxy: the same run_id from each.
  assert.equal(new Set(before.map((f) => f.get('process_id'))).size, 2);
  assert.equal(new Set(before.map((f) => f.get('run_id'))).size, 1);
  assert.equal(String(await clients[0]!.call('CONFIG', 'RESETSTAT')), 'OK');
  for (const c of clients) {
    const f = await info(c, 'all');
    assert.equal(f.get('errorstat_WRONGTYPE'), undefined);
    assert.equal(f.get('cmdstat_lpush'), undefined);
  }
  for (const c of clients) c.close();
});

test('CLIENT PAUSE on one worker holds the writes of clients on every worker until UNPAUSE', async () => {
  const clients = await onBothWorkers(8);
  const admin = await two.proxy.connect();
  const n = clients.length;
  try {
    assert.equal(await admin.call('CLIENT', 'PAUSE', 60_000, 'WRITE'), 'OK');
    const sets = clients.map((c, i) => c.call('SET', `paused:${i}`, 'v'));
    // INFO sums the workers' held clients; there is no event for a client being held.
    await until(
      `${n} held clients`,
      async () => (await info(admin, 'clients')).get('blocked_clients') === `${n}`,
    );
    assert.equal(await admin.call('CLIENT', 'UNPAUSE'), 'OK');
    assert.deepEqual(await Promise.all(sets), Array(n).fill('OK'));
  } finally {
    await admin.call('CLIENT', 'UNPAUSE');
    for (const c of [...clients, admin]) c.close();
  }
});

test('a pipeline mixing INFO with forwarded commands gets its replies in order', async () => {
  const c = await two.proxy.connect();
  const cmds: string[][] = [];
  for (let i = 0; i < 300; i++) cmds.push(['INCR', 'info:pipelined'], ['INFO', 'stats']);
  const replies = await c.pipeline(cmds);
  let last = 0;
  for (let i = 0; i < 300; i++) {
    assert.equal(replies[2 * i], i + 1);
    const text = String(replies[2 * i + 1]);
    const total = Number(/total_commands_processed:(\d+)/.exec(text)?.[1]);
    // Each INFO counts at least what the one before it counted.
    assert.ok(total >= last, `INFO ${i}: ${total} after ${last}`);
    last = total;
  }
  const after = Number((await info(c, 'stats')).get('total_commands_processed'));
  assert.ok(after >= last + 1);
  c.close();
});

/**
 * Kills a worker and returns the pid of the one that replaces it, once that one serves: its
 * "serves clients" line, logged at INFO, needs the log level set before (see below).
 */
async function replaceAWorker(): Promise<number> {
  const before = workers();
  const serves = two.proxy.nextLog(/proxy worker (\d+) serves clients/, 20_000);
  process.kill(before[0]!, 'SIGKILL');
  const pid = Number((await serves)[1]);
  assert.ok(!before.includes(pid));
  assert.deepEqual(workers().sort(), [before[1]!, pid].sort());
  return pid;
}

test('a worker that dies is replaced with the current slot table and log level', async () => {
  // The workers started at WARN: a "serves clients" line (INFO) can only come from a
  // replacement that took the level set here, and it comes once that worker has the port.
  assert.equal((await putProxyAdmin(two.proxy, 'loglevel', 'INFO')).status, 200);
  const earlier = await Promise.all(Array.from({ length: 4 }, () => two.proxy.connect()));
  const earlierIds = (await Promise.all(earlier.map((c) => c.call('CLIENT', 'ID')))) as number[];
  for (const c of earlier) c.close();
  const replacement = String(await replaceAWorker());
  // One at a time, so that the port's round robin gives the replacement its turns. All of them
  // route with the table set before the crash.
  const clients: RespClient[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await two.proxy.connect();
    assert.equal(await c.call('SET', `after:${i}`, 'y'), 'OK');
    assert.equal(String(await two.servers[0]!.call('GET', `after:${i}`)), 'y');
    clients.push(c);
  }
  // Whichever worker a client reached, INFO counts both workers' clients, and its uptime is
  // the proxy's (since the primary started), not the replacement's.
  const started = Date.parse((await model()).start_time);
  const ids = new Set<number>();
  let onReplacement = 0;
  for (const c of clients) {
    const lo = Math.floor((Date.now() - started) / 1000);
    const f = await info(c);
    const hi = Math.floor((Date.now() - started) / 1000);
    assert.equal(f.get('workers'), '2');
    assert.equal(f.get('connected_clients'), '10');
    const uptime = Number(f.get('uptime_in_seconds'));
    assert.ok(uptime >= lo && uptime <= hi, `uptime ${uptime} not in [${lo}, ${hi}]`);
    // Client ids are never reused: the replacement's are above every id given out before.
    const id = (await c.call('CLIENT', 'ID')) as number;
    ids.add(id);
    if (f.get('process_id') === replacement) {
      onReplacement++;
      assert.ok(id > Math.max(...earlierIds), `id ${id} after ${earlierIds.join(',')}`);
    }
  }
  assert.equal(ids.size, 10);
  assert.ok(onReplacement > 0);
  for (const c of clients) c.close();
});

test('a worker killed while clients come and go on the other does not take the primary down', async () => {
  // Each connect and close makes the primary tell the other workers, the dying one among them.
  // A connection handed to the worker as it dies is lost with it: the loop goes on past those.
  const pongs = await pingChurnDuring(two.proxy, async () => {
    for (let i = 0; i < 5; i++) await replaceAWorker();
  });
  assert.ok(pongs > 0);
  assert.equal(two.proxy.child.exitCode, null);
  assert.equal((await stats()).runtime?.num_procs, 2);
});

test('a replacement worker holds the keys that the others hold for a big-key move', async () => {
  const [target, source] = two.servers.map((x) => x.addr);
  const slot = 77;
  const inSlot: string[] = [];
  for (let i = 0; inSlot.length < 11; i++)
    if (keySlot(Buffer.from(`held:${i}`)) === slot) inSlot.push(`held:${i}`);
  const [held, ...others] = inSlot;
  const put = async (path: string, body: unknown) => {
    const r = await putProxyAdmin(two.proxy, path, undefined, body);
    assert.equal(r.status, 200, await r.text());
  };
  const table = evenSlots([target!]);
  table[slot] = { ...table[slot]!, migrate_from: source!, migrate_from_group_id: 2 };
  await put('fillslots', table);
  await put('keyhold', { slot, db: 0, key: Buffer.from(held!).toString('base64') });
  await replaceAWorker();
  // Clients on both workers: each sends the held key's SET, then another key of the slot.
  const clients: RespClient[] = [];
  const replies: Promise<unknown>[] = [];
  for (let i = 0; i < 10; i++) {
    const c = await two.proxy.connect();
    clients.push(c);
    replies.push(
      c.pipeline([
        ['SET', held!, `late${i}`],
        ['SET', others[i]!, 'x'],
      ]),
    );
  }
  // Every other key reaching the target proves each worker took its whole pipeline.
  const target0 = two.servers[0]!;
  for (let i = 0; i < 400 && (await target0.call('EXISTS', ...others)) !== 10; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.equal(await target0.call('EXISTS', ...others), 10);
  assert.equal(await target0.call('EXISTS', held!), 0, 'no worker wrote the held key');
  await put('keyhold', { slot, db: 0, key: Buffer.from(held!).toString('base64'), hold: false });
  for (const r of replies) assert.deepEqual(await r, ['OK', 'OK']);
  assert.match(String(await target0.call('GET', held!)), /^late\d$/);
  await put('fillslots', evenSlots([target!]));
  for (const c of clients) c.close();
});

test('proxy_max_clients holds for a burst: 8 clients that connect at once over two workers, 4 admitted', async () => {
  const p = await startProxy({
    backends: two.servers.map((s) => s.addr),
    config: { proxy_max_clients: 4 },
    args: ['--ncpu', '2'],
  });
  try {
    // All connect before any is answered: the hand-offs are in flight together, and each
    // carries the clients the other worker has or is being handed.
    const clients = await Promise.all(Array.from({ length: 8 }, () => p.connect()));
    const replies = await Promise.all(clients.map((c) => c.call('PING')));
    const admitted = replies.filter((r) => r === 'PONG').length;
    const refused = replies.filter((r) => r instanceof RedisError && /max number of clients/.test(r.message));
    assert.equal(admitted, 4, `replies: ${replies.map(String).join(', ')}`);
    assert.equal(refused.length, 4);
    const pids = new Set<string>();
    for (let i = 0; i < clients.length; i++) {
      if (replies[i] === 'PONG') pids.add((await info(clients[i]!)).get('process_id')!);
    }
    assert.equal(pids.size, 2, 'both workers admitted clients');
    // INFO on either worker counts both workers' refusals, and their memory with its peak.
    const fields = await info(clients[replies.indexOf('PONG')]!);
    assert.equal(fields.get('rejected_connections'), '4');
    assert.ok(
      Number(fields.get('used_memory_peak')) >= Number(fields.get('used_memory')),
      String([...fields]),
    );
    for (const c of clients) c.destroy();
  } finally {
    await p.stop();
  }
});

test('clients go to the worker with the fewest, and each worker spreads its own over backend_primary_parallel connections', async () => {
  const redis = await startRedis();
  const p = await startProxy({
    backends: [redis.addr],
    // No keep-alive PING: a backend connection's last command is then a client's.
    config: { backend_primary_parallel: 2, backend_ping_period: '0s' },
    args: ['--ncpu', '2'],
  });
  try {
    // The primary hands each new client to the worker with the fewest: four clients that
    // connect one after another are two on each.
    const clients: RespClient[] = [];
    const perWorker = new Map<string, number>();
    for (let i = 0; i < 4; i++) {
      const c = await p.connect();
      clients.push(c);
      const pid = (await info(c, 'server')).get('process_id')!;
      perWorker.set(pid, (perWorker.get(pid) ?? 0) + 1);
    }
    assert.deepEqual([...perWorker.values()], [2, 2]);
    // Between equals the turn goes round: short connections one after another alternate.
    const short: string[] = [];
    for (let i = 0; i < 4; i++) {
      const c = await p.connect();
      short.push((await info(c, 'server')).get('process_id')!);
      c.close();
    }
    assert.notEqual(short[0], short[1]);
    assert.deepEqual(short.slice(2), short.slice(0, 2));
    for (let round = 0; round < 2; round++) {
      for (const [i, c] of clients.entries()) assert.equal(await c.call('SET', `spread:${i}`, round), 'OK');
    }
    // Two workers with two connections each: all four carried SETs.
    const list = String(await redis.call('CLIENT', 'LIST'));
    assert.equal(list.split('\n').filter((l) => / cmd=set /.test(l)).length, 4, list);
    for (const c of clients) c.close();
  } finally {
    await p.stop();
    await redis.stop();
  }
});
