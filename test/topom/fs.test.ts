// The dashboard end to end on the filesystem coordinator: 2 groups (master + replica, stock
// redis-servers), 2 proxies (one created by the dashboard, one going online by itself), slots,
// traffic, restarts, the lock, promotion, the slot action queue, and refused calls.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { toText } from '../helpers/resp-client.js';
import {
  assignAll,
  checkTraffic,
  productState,
  setupGroups,
  spawnProxyAt,
  stats,
  until,
  waitProxiesOnline,
  waitProxyUp,
  type FixedProxy,
} from './flow.js';

const PRODUCT = 'fs-flow';

describe('dashboard on the filesystem coordinator', { timeout: 60_000 }, () => {
  let root: string;
  let servers: RedisServer[][];
  let d: DashboardProcess;
  let p1: ProxyProcess;
  let p2: ProxyProcess;
  const fixed: FixedProxy[] = [];
  const coordinator = () => ({ name: 'filesystem', addr: root });
  const lockFile = () => join(root, 'codis3', PRODUCT, 'topom', '.data');

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'codis-fs-flow-'));
    const all = await Promise.all(Array.from({ length: 4 }, () => startRedis()));
    servers = [all.slice(0, 2), all.slice(2, 4)];
    d = await startDashboard({ coordinator: coordinator(), product: PRODUCT });
  });

  after(async () => {
    await Promise.all([p1?.kill(), p2?.kill(), ...fixed.map((p) => p.kill())]);
    await d?.stop();
    await Promise.all(servers.flat().map((s) => s.stop()));
    await rm(root, { recursive: true, force: true });
  });

  it('holds the lock with its owner info', () => {
    const lock = JSON.parse(readFileSync(lockFile(), 'utf8')) as Record<string, unknown>;
    assert.equal(lock.product_name, PRODUCT);
    assert.equal(lock.admin_addr, d.addr);
    assert.equal(typeof lock.pid, 'number');
  });

  it('creates groups, adds servers, and sync actions make the replicas follow', async () => {
    await setupGroups(d, servers);
    const st = await stats(d);
    assert.deepEqual(
      st.group.models.map((g) => [g.id, g.servers.map((s) => s.server)]),
      servers.map((l, i) => [i + 1, l.map((s) => s.addr)]),
    );
    const status = await d.call<Record<string, { ok: boolean }[]>>('GET', '/api/topom/group/status/:xauth');
    await until('group status ok', async () => {
      const s = await d.call<Record<string, { ok: boolean }[]>>('GET', '/api/topom/group/status/:xauth');
      return Object.values(s)
        .flat()
        .every((x) => x.ok);
    });
    assert.deepEqual(Object.keys(status), ['1', '2']);
    const info = await d.call<Record<string, string>>('GET', `/api/topom/group/info/${servers[0]![1]!.addr}`);
    assert.equal(info.role, 'slave');
    assert.equal(info.master_addr, servers[0]![0]!.addr);
  });

  it('brings proxies online: one created by the dashboard, one by itself (--dashboard)', async () => {
    p1 = await startProxy({ offline: true, args: ['--product_name', PRODUCT] });
    assert.equal(await d.call('PUT', `/api/topom/proxy/create/:xauth/${p1.admin}`), 'OK');
    p2 = await startProxy({ offline: true, args: ['--product_name', PRODUCT, '--dashboard', d.addr] });
    const st = await waitProxiesOnline(d, 2);
    assert.deepEqual(st.proxy.models.map((p) => p.id).sort(), [1, 2]);
    const dup = await d.api('PUT', `/api/topom/proxy/create/:xauth/${p1.admin}`);
    assert.equal(dup.status, 409);
  });

  it('assigns all 1024 slots and serves traffic through both proxies', async () => {
    await assignAll(d, 2);
    const slots = await d.call<{ id: number; backend_addr?: string }[]>('GET', '/topom/slots');
    assert.equal(slots.length, 1024);
    assert.equal(slots[0]!.backend_addr, servers[0]![0]!.addr);
    assert.equal(slots[1023]!.backend_addr, servers[1]![0]!.addr);
    const st = await stats(d);
    assert.ok(st.group.models.every((g) => !g.out_of_sync));
    await checkTraffic(p1.port, p2.port, 'a');
    await checkTraffic(p2.port, p1.port, 'b');
    for (const [master] of servers)
      assert.ok(Number(await master!.call('DBSIZE')) > 0, 'keys on both groups');
  });

  it('re-syncs a proxy that restarts: through the coordinator (--filesystem), and by itself (auto online)', async () => {
    const [tokenBefore] = (await stats(d)).proxy.models
      .filter((p) => p.admin_addr === p2.admin)
      .map((p) => p.token);
    await p2.kill();
    const again = await spawnProxyAt(PRODUCT, p2.port, p2.adminPort, ['--filesystem', root]);
    fixed.push(again);
    await waitProxyUp(p2.adminPort);
    let st = await waitProxiesOnline(d, 2);
    assert.ok(
      st.proxy.models.some((p) => p.token === tokenBefore),
      'same token, same record',
    );
    await checkTraffic(p1.port, p2.port, 'c');

    await p1.kill();
    const plain = await spawnProxyAt(PRODUCT, p1.port, p1.adminPort);
    fixed.push(plain);
    await waitProxyUp(p1.adminPort);
    st = await waitProxiesOnline(d, 2);
    assert.equal(st.proxy.models.length, 2);
    await checkTraffic(p1.port, p2.port, 'd');
  });

  it('queues slot actions as pending in the store, and plans a rebalance', async () => {
    const plan = await d.call('PUT', '/api/topom/slots/rebalance/:xauth/0');
    assert.deepEqual(plan, {});
    // Paused first, so that the migration executor leaves the queued actions pending.
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/1');
    await d.call('PUT', '/api/topom/slots/action/create/:xauth/5/2');
    await d.call('PUT', '/api/topom/slots/action/create-range/:xauth/10/12/2');
    await d.call('PUT', '/api/topom/slots/action/create-some/:xauth/1/2/2');
    await d.call('PUT', '/api/topom/slots/action/interval/:xauth/2000000');
    const st = await stats(d);
    const pending = st.slots.filter((m) => m.action.state === 'pending');
    assert.deepEqual(
      pending.map((m) => [m.id, m.action.index, m.action.target_id]),
      [
        [0, 5, 2],
        [1, 6, 2],
        [5, 1, 2],
        [10, 2, 2],
        [11, 3, 2],
        [12, 4, 2],
      ],
    );
    assert.equal(st.slot_action.interval, 1_000_000);
    assert.equal(st.slot_action.disabled, true);
    const stored = JSON.parse(
      readFileSync(join(root, 'codis3', PRODUCT, 'slots', 'slot-0005', '.data'), 'utf8'),
    );
    assert.deepEqual(stored, { id: 5, group_id: 1, action: { index: 1, state: 'pending', target_id: 2 } });
    assert.equal((await d.api('PUT', '/api/topom/slots/action/create/:xauth/5/2')).status, 409);
    for (const m of pending) await d.call('PUT', `/api/topom/slots/action/remove/:xauth/${m.id}`);
    assert.equal((await d.api('PUT', '/api/topom/slots/action/remove/:xauth/5')).status, 404);
    assert.ok((await stats(d)).slots.every((m) => !m.action.state));
  });

  it('keeps the product across a dashboard restart', async () => {
    const before = await productState(d);
    assert.equal(await d.stop(), 0);
    assert.equal(existsSync(lockFile()), false, 'a clean exit removes the lock');
    const pidfile = join(root, 'dashboard.pid');
    const logfile = join(root, 'dashboard.log');
    d = await startDashboard({
      coordinator: coordinator(),
      product: PRODUCT,
      args: ['--pidfile', pidfile, '--log', logfile],
    });
    assert.equal(readFileSync(pidfile, 'utf8').trim(), String(d.child.pid));
    assert.match(readFileSync(logfile, 'utf8'), /dashboard is online/);
    assert.deepEqual(await productState(d), before);
    await checkTraffic(p1.port, p2.port, 'e');
  });

  it('refuses a second dashboard on the same product, and reports a stale lock', async () => {
    const second = await startDashboard({ coordinator: coordinator(), product: PRODUCT, expectExit: true });
    assert.equal(await second.exited, 1);
    assert.match(second.logs(), new RegExp(`already served by dashboard ${d.addr}`));
    assert.match(second.logs(), /--remove-lock/);
    const pidfile = join(root, 'dashboard.pid');
    await d.kill();
    assert.ok(existsSync(pidfile), 'left behind by SIGKILL');
    const stale = await startDashboard({ coordinator: coordinator(), product: PRODUCT, expectExit: true });
    assert.equal(await stale.exited, 1);
    assert.match(stale.logs(), /does not answer.*--remove-lock/);
    d = await startDashboard({ coordinator: coordinator(), product: PRODUCT, args: ['--remove-lock'] });
    assert.equal((await stats(d)).slots.filter((m) => m.group_id === 2).length, 512);
  });

  it('promotes a replica: proxies switch to it and the old master follows it', async () => {
    const [master, replica] = servers[0]!;
    await d.call('PUT', `/api/topom/group/promote/:xauth/1/${replica!.addr}`);
    let st = await stats(d);
    assert.deepEqual(
      st.group.models[0]!.servers.map((s) => s.server),
      [replica!.addr, master!.addr],
    );
    assert.equal(st.group.models[0]!.promoting.state, undefined);
    assert.equal((toText(await replica!.call('ROLE')) as string[])[0], 'master');
    const slots = await d.call<{ backend_addr?: string }[]>('GET', '/topom/slots');
    assert.equal(slots[0]!.backend_addr, replica!.addr);
    await until('old master follows the new one', async () => {
      const role = toText(await master!.call('ROLE')) as (string | number)[];
      st = await stats(d);
      return (
        role[0] === 'slave' &&
        `${role[1]}:${role[2]}` === replica!.addr &&
        st.group.models[0]!.servers[1]!.action.state === 'synced'
      );
    });
    await checkTraffic(p1.port, p2.port, 'f');
    assert.equal((await d.api('PUT', `/api/topom/group/promote/:xauth/1/${replica!.addr}`)).status, 409);
  });

  it('refuses bad input with a clear 4xx and leaves the product unchanged', async () => {
    const before = await productState(d);
    const expect = async (
      method: string,
      path: string,
      status: number,
      cause: RegExp | string,
      body?: unknown,
    ) => {
      const r = await d.api<{ cause?: string }>(method, path, body);
      assert.equal(r.status, status, `${path}: ${JSON.stringify(r.body)}`);
      if (typeof cause === 'string') assert.equal(r.body.cause, cause, path);
      else assert.match(r.body.cause ?? '', cause, path);
    };
    const m1 = servers[0]![0]!.addr;
    await expect('PUT', `/api/topom/group/add/:xauth/9/${m1}`, 404, "group-[9] doesn't exist");
    await expect('PUT', `/api/topom/group/add/:xauth/2/${m1}`, 409, `server-[${m1}] already exists`);
    await expect('PUT', '/api/topom/group/add/:xauth/2/127.0.0.1:1', 502, /not a reachable redis-server/);
    await expect('PUT', `/api/topom/group/add/:xauth/2/not-an-addr`, 400, /invalid server address/);
    await expect(
      'PUT',
      '/api/topom/group/create/:xauth/0',
      400,
      'invalid group id = 0, out of range 1..9999',
    );
    await expect('PUT', '/api/topom/group/create/:xauth/10000', 400, /out of range/);
    await expect('PUT', '/api/topom/group/create/:xauth/1', 409, 'group-[1] already exists');
    await expect('PUT', '/api/topom/group/create/:xauth/x1', 400, 'invalid gid');
    await expect('PUT', '/api/topom/group/remove/:xauth/1', 409, "group-[1] isn't empty");
    await expect('PUT', `/api/topom/group/del/:xauth/1/${servers[0]![1]!.addr}`, 409, /can't remove master/);
    await expect(
      'PUT',
      '/api/topom/group/del/:xauth/1/1.2.3.4:5',
      404,
      "group-[1] doesn't have server-[1.2.3.4:5]",
    );
    await expect('PUT', '/api/topom/slots/assign/:xauth', 400, /invalid slot id = 1024/, [
      { id: 1024, group_id: 1 },
    ]);
    await expect('PUT', '/api/topom/slots/assign/:xauth', 404, "group-[7] doesn't exist", [
      { id: 1, group_id: 7 },
    ]);
    await expect('PUT', '/api/topom/slots/assign/:xauth', 400, /expected a JSON array/, { id: 1 });
    await expect('PUT', '/api/topom/slots/assign/:xauth/offline', 400, 'group of slot-[3] should be 0', [
      { id: 3, group_id: 1 },
    ]);
    await expect('PUT', '/api/topom/slots/action/create/:xauth/1024/1', 400, /invalid slot id = 1024/);
    await expect('PUT', '/api/topom/slots/action/create/:xauth/1/1', 409, 'slot-[1] already in group-[1]');
    await expect(
      'PUT',
      '/api/topom/slots/action/create-range/:xauth/10/2000/2',
      400,
      'invalid slot range [10,2000]',
    );
    await expect(
      'PUT',
      '/api/topom/proxy/remove/:xauth/nosuchtoken/0',
      404,
      "proxy-[nosuchtoken] doesn't exist",
    );
    await expect(
      'PUT',
      '/api/topom/group/action/create/:xauth/1.2.3.4:5',
      404,
      "server-[1.2.3.4:5] doesn't exist",
    );
    await expect('GET', '/api/topom/group/info/1.2.3.4:5', 404, "server-[1.2.3.4:5] doesn't exist");
    const wrong = 'invalid xauth, please check product name & auth';
    await expect('PUT', '/api/topom/group/create/0123456789abcdef0123456789abcdef/3', 403, wrong);
    await expect('GET', '/api/topom/stats/bad', 403, wrong);
    await expect('PUT', '/api/topom/slots/assign/bad', 403, wrong, [{ id: 1, group_id: 2 }]);
    await expect('PUT', '/api/topom/loglevel/:xauth/LOUD', 400, /invalid loglevel/);
    assert.deepEqual(await productState(d), before);
  });

  it('shuts down through the API, releasing the lock', async () => {
    assert.equal(await d.call('PUT', '/api/topom/shutdown/:xauth'), 'OK');
    assert.equal(await d.exited, 0);
    assert.equal(existsSync(lockFile()), false);
  });
});
