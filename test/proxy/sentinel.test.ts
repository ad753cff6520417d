import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/ports.js';
import { startProxy, waitForPort, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RespClient } from '../helpers/resp-client.js';
import { proxyXAuth } from '../../src/utils/xauth.js';

// A group (master + replica) watched by 3 sentinels as `test-1`; the proxy is told the sentinels
// and must follow a failover by itself, with no dashboard.
let master: RedisServer;
let replica: RedisServer;
let proxy: ProxyProcess;
let dir: string;
const sentinels: ChildProcess[] = [];
const sentinelAddrs: string[] = [];

async function sentinelCall(port: number, ...args: string[]): Promise<unknown> {
  const c = await RespClient.connect(port);
  try {
    return await c.call(...args);
  } finally {
    c.close();
  }
}

before(async () => {
  master = await startRedis();
  replica = await startRedis({ args: ['--replicaof', '127.0.0.1', String(master.port)] });
  dir = await mkdtemp(join(tmpdir(), 'codis-proxy-sentinel-'));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const conf = join(dir, `s${i}.conf`);
    await writeFile(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        'protected-mode no',
        `dir ${dir}`,
        `sentinel monitor test-1 127.0.0.1 ${master.port} 2`,
        'sentinel down-after-milliseconds test-1 1000',
        'sentinel failover-timeout test-1 3000',
        '',
      ].join('\n'),
    );
    sentinels.push(spawn('redis-sentinel', [conf], { stdio: 'ignore' }));
    sentinelAddrs.push(`127.0.0.1:${port}`);
    await waitForPort(port);
  }
  const slots = Array.from({ length: 1024 }, (_, id) => ({
    id,
    backend_addr: master.addr,
    backend_addr_group_id: 1,
  }));
  proxy = await startProxy({ slots });
});

after(async () => {
  await proxy?.stop();
  for (const s of sentinels) s.kill('SIGKILL');
  await Promise.all([master?.stop(), replica?.stop()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

test('the proxy switches a group to the master the sentinels elected', { timeout: 60_000 }, async () => {
  // Sentinels must know the replica and each other before a failover can happen.
  for (let i = 0; i < 300; i++) {
    const m = (await sentinelCall(
      Number(sentinelAddrs[0]!.split(':')[1]),
      'SENTINEL',
      'master',
      'test-1',
    )) as Buffer[];
    const info = new Map<string, string>();
    for (let j = 0; j + 1 < m.length; j += 2) info.set(String(m[j]), String(m[j + 1]));
    if (info.get('num-slaves') === '1' && info.get('num-other-sentinels') === '2') break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const model = (await (await fetch(`http://${proxy.admin}/api/proxy/model`)).json()) as { token: string };
  const xauth = proxyXAuth('test', '', model.token);
  const r = await fetch(`http://${proxy.admin}/api/proxy/sentinels/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify({ servers: sentinelAddrs }),
  });
  assert.equal(r.status, 200);
  let client = await proxy.connect({ timeoutMs: 3000 });
  assert.equal(await client.call('SET', 'ha:key', 'before'), 'OK');
  await master.kill();
  // Writes fail while the master is down, then succeed on the promoted replica.
  let ok = false;
  for (let i = 0; i < 200 && !ok; i++) {
    try {
      ok = (await client.call('SET', 'ha:key', 'after')) === 'OK';
    } catch {
      client = await proxy.connect({ timeoutMs: 3000 }); // a timed-out reply closes the connection
    }
    if (!ok) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(ok, 'writes succeed again after the failover');
  assert.equal(String(await replica.call('GET', 'ha:key')), 'after');
  const stats = (await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as {
    sentinels: { servers: string[]; masters: Record<string, string>; switched?: boolean };
  };
  assert.deepEqual(stats.sentinels.servers, sentinelAddrs);
  assert.equal(stats.sentinels.masters['1'], replica.addr);
  assert.equal(stats.sentinels.switched, true);
  client.close();
});
