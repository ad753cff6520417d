// Sentinels managed by the dashboard (filesystem coordinator, a real redis-sentinel): add, resync
// (SENTINEL MONITOR <product>-<gid>, list pushed to proxies), info, a failover followed by the
// dashboard, removal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard.js';
import { freePort } from '../helpers/ports.js';
import { startProxy, waitForPort, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { RespClient, toText } from '../helpers/resp-client.js';
import { assignAll, checkTraffic, setupGroups, stats, until, waitProxiesOnline } from './flow.js';

const PRODUCT = 'sent-flow';

describe('dashboard with redis-sentinel', { timeout: 60_000 }, () => {
  let dir: string;
  let sentinel: ChildProcess;
  let sentinelAddr: string;
  let sentinelPort: number;
  let servers: RedisServer[];
  let d: DashboardProcess;
  let proxy: ProxyProcess;

  const sentinelCall = async (...args: string[]) => {
    const c = await RespClient.connect(sentinelPort);
    try {
      return toText(await c.call(...args));
    } finally {
      c.destroy();
    }
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'codis-sentinel-flow-'));
    sentinelPort = await freePort();
    sentinelAddr = `127.0.0.1:${sentinelPort}`;
    const conf = join(dir, 'sentinel.conf');
    await writeFile(conf, `port ${sentinelPort}\nbind 127.0.0.1\nprotected-mode no\ndir ${dir}\n`);
    sentinel = spawn('redis-sentinel', [conf], { stdio: 'ignore' });
    servers = await Promise.all([startRedis(), startRedis()]);
    await waitForPort(sentinelPort);
    d = await startDashboard({
      coordinator: { name: 'filesystem', addr: join(dir, 'coord') },
      product: PRODUCT,
      config: { sentinel_quorum: 1, sentinel_down_after: '1s', sentinel_failover_timeout: '3s' },
    });
    await setupGroups(d, [servers]);
    proxy = await startProxy({ offline: true, args: ['--product_name', PRODUCT, '--dashboard', d.addr] });
    await waitProxiesOnline(d, 1);
    await assignAll(d, 1);
  });

  after(async () => {
    await proxy?.kill();
    await d?.stop();
    sentinel?.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.stop()));
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a sentinel (checked), monitors every group on resync and pushes the list to proxies', async () => {
    assert.equal((await d.api('PUT', '/api/topom/sentinels/add/:xauth/127.0.0.1:1')).status, 502);
    await d.call('PUT', `/api/topom/sentinels/add/:xauth/${sentinelAddr}`);
    assert.equal((await d.api('PUT', `/api/topom/sentinels/add/:xauth/${sentinelAddr}`)).status, 409);
    let st = await stats(d);
    assert.deepEqual(st.sentinels.model, { servers: [sentinelAddr], out_of_sync: true });
    await d.call('PUT', '/api/topom/sentinels/resync-all/:xauth');
    st = await stats(d);
    assert.equal(st.sentinels.model.out_of_sync, false);
    const master = (await sentinelCall('SENTINEL', 'MASTER', `${PRODUCT}-1`)) as string[];
    const fields = Object.fromEntries(master.flatMap((v, i) => (i % 2 ? [] : [[v, master[i + 1]]])));
    assert.equal(`${fields.ip}:${fields.port}`, servers[0]!.addr);
    assert.equal(fields.quorum, '1');
    assert.equal(fields['down-after-milliseconds'], '1000');
    const proxyStats = (await (await fetch(`http://${proxy.admin}/proxy/stats`)).json()) as {
      sentinels: { servers?: string[] };
    };
    assert.deepEqual(proxyStats.sentinels.servers, [sentinelAddr]);
    const monitored = await d.call<Record<string, unknown>>(
      'GET',
      `/api/topom/sentinels/info/${sentinelAddr}/monitored`,
    );
    assert.deepEqual(Object.keys(monitored), [`${PRODUCT}-1`]);
    const info = await d.call<Record<string, string>>('GET', `/api/topom/sentinels/info/${sentinelAddr}`);
    assert.equal(info.redis_mode, 'sentinel');
    assert.equal((await d.api('GET', '/api/topom/sentinels/info/127.0.0.1:2')).status, 404);
  });

  it('follows a failover reported by the sentinel', async () => {
    const [oldMaster, replica] = servers;
    await until(
      'the sentinel to know the replica',
      async () => {
        const r = (await sentinelCall('SENTINEL', 'REPLICAS', `${PRODUCT}-1`)) as unknown[];
        return r.length === 1;
      },
      20_000,
    );
    await oldMaster!.kill();
    const st = await until(
      'the dashboard to switch the master',
      async () => {
        const s = await stats(d);
        return s.group.models[0]!.servers[0]!.server === replica!.addr ? s : undefined;
      },
      30_000,
    );
    assert.equal(st.group.models[0]!.out_of_sync, true);
    await d.call('PUT', '/api/topom/group/resync/:xauth/1');
    assert.equal((await stats(d)).group.models[0]!.out_of_sync, false);
    await checkTraffic(proxy.port, proxy.port, 'after-failover');
  });

  it('removes the sentinel: its monitors of this product go, the list empties', async () => {
    assert.equal((await d.api('PUT', '/api/topom/sentinels/del/:xauth/127.0.0.1:2/0')).status, 404);
    await d.call('PUT', `/api/topom/sentinels/del/:xauth/${sentinelAddr}/0`);
    assert.deepEqual(await sentinelCall('SENTINEL', 'MASTERS'), []);
    assert.deepEqual((await stats(d)).sentinels.model, { out_of_sync: true });
  });
});
