// codis-admin --dashboard end to end: a real codis-dashboard on the filesystem coordinator, stock
// redis-servers and a real codis-proxy, driven only through codis-admin: groups, servers, a sync
// action, a proxy, slot assignment, traffic, status tables, rebalance, errors, shutdown.
// Skipped while bin/codis-dashboard is the placeholder. The dashboard comes from test/helpers/dashboard.ts.

import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { admin, adminOk } from './cli.js';
import { startDashboard, type DashboardProcess } from '../helpers/dashboard.js';

const PRODUCT = 'test'; // the product name test/helpers/proxy.ts gives its proxies

async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('codis-admin against a real dashboard', () => {
  let root: string;
  let d: DashboardProcess;
  let r1: RedisServer;
  let r2: RedisServer;
  let r3: RedisServer;
  let proxy: ProxyProcess;
  let D: string;
  const dash = (...args: string[]) => adminOk(D, ...args);

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'codis-admin-e2e-'));
    [r1, r2, r3] = await Promise.all([startRedis(), startRedis(), startRedis()]);
    d = await startDashboard({ coordinator: { name: 'filesystem', addr: root }, product: PRODUCT });
    D = `--dashboard=${d.addr}`;
    proxy = await startProxy({ offline: true });
  });
  after(async () => {
    await proxy?.stop();
    await d?.stop();
    await Promise.all([r1, r2, r3].map((r) => r?.stop()));
    await rm(root, { recursive: true, force: true });
  });

  it('model and overview', async () => {
    const m = JSON.parse(await dash('model')) as { product_name: string; admin_addr: string };
    assert.equal(m.product_name, PRODUCT);
    const o = JSON.parse(await dash()) as Record<string, unknown>;
    for (const k of ['version', 'compile', 'config', 'model', 'stats']) assert.ok(k in o, k);
    assert.equal((JSON.parse(await dash('slots')) as unknown[]).length, 1024);
  });

  it('creates groups and adds servers', async () => {
    await dash('--create-group', '--gid=1');
    await dash('--create-group', '-g', '2');
    await dash('--group-add', '--gid=1', `--addr=${r1.addr}`);
    await dash('--group-add', '--gid=1', `--addr=${r2.addr}`, '--datacenter=dc2');
    await dash('--group-add', '--gid=2', `--addr=${r3.addr}`);
    const groups = JSON.parse(await dash('--list-group')) as {
      id: number;
      servers: { server: string; datacenter: string }[];
    }[];
    assert.deepEqual(
      groups.map((g) => [g.id, g.servers.map((s) => s.server)]),
      [
        [1, [r1.addr, r2.addr]],
        [2, [r3.addr]],
      ],
    );
    assert.equal(groups[0]!.servers[1]!.datacenter, 'dc2');
  });

  it('a sync action makes the replica follow its master (--group-status)', async () => {
    await dash('--sync-action', '--create', `--addr=${r2.addr}`);
    const status = await waitFor('r2 to follow r1', async () => {
      const out = await dash('--group-status');
      return out.includes(`==> ${r1.addr}:up`) ? out : undefined;
    });
    const lines = status.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, new RegExp(`^\\[ \\] group-1 \\[0\\] ${r1.addr} +==> NO:ONE$`));
    assert.match(lines[1]!, new RegExp(`^\\[ \\] group-1 \\[1\\] ${r2.addr} +==> ${r1.addr}:up$`));
    assert.match(lines[2]!, new RegExp(`^\\[ \\] group-2 \\[0\\] ${r3.addr} +==> NO:ONE$`));
  });

  it('brings a proxy online and assigns all slots; traffic flows', async () => {
    await dash('--create-proxy', `--addr=${proxy.admin}`);
    const proxies = JSON.parse(await dash('--list-proxy')) as { id: number; admin_addr: string }[];
    assert.deepEqual(
      proxies.map((p) => [p.id, p.admin_addr]),
      [[1, proxy.admin]],
    );
    const preview = JSON.parse(await dash('--slots-assign', '--beg=0', '--end=511', '--gid=1')) as unknown[];
    assert.equal(preview.length, 512);
    await dash('--slots-assign', '--beg=0', '--end=511', '--gid=1', '--confirm');
    await dash('--slots-assign', '--beg=512', '--end=1023', '--gid=2', '--confirm');
    const slots = JSON.parse(await dash('--slots-status')) as { id: number; backend_addr?: string }[];
    assert.equal(slots[0]!.backend_addr, r1.addr);
    assert.equal(slots[1023]!.backend_addr, r3.addr);
    const c = await proxy.connect();
    try {
      for (let i = 0; i < 20; i++) assert.equal(await c.call('SET', `k${i}`, `v${i}`), 'OK');
      for (let i = 0; i < 20; i++) assert.equal(String(await c.call('GET', `k${i}`)), `v${i}`);
    } finally {
      c.close();
    }
    const n1 = Number(await r1.call('DBSIZE'));
    const n3 = Number(await r3.call('DBSIZE'));
    assert.equal(n1 + n3, 20);
    assert.ok(n1 > 0 && n3 > 0);
  });

  it('--proxy-status shows the proxy once its stats are polled', async () => {
    const line = await waitFor('proxy stats', async () => {
      const out = await dash('--proxy-status');
      return out.startsWith('[ ]') ? out : undefined;
    });
    assert.match(
      line,
      new RegExp(
        `^\\[ \\] proxy-1 \\[T\\] [0-9a-f]{32} \\[A\\] ${proxy.admin} \\[P\\] 127\\.0\\.0\\.1:${proxy.port}\\n$`,
      ),
    );
  });

  it('replica groups, resync and reinit succeed', async () => {
    await dash('--replica-groups', '--gid=1', `--addr=${r2.addr}`, '--enable');
    await dash('--resync-group', '--gid=1');
    await dash('--resync-group', '--all');
    const out = await dash('--reinit-proxy', '--all');
    assert.match(out, /^reinit proxy: \{\n/);
    await dash('--reinit-proxy', `--addr=${proxy.admin}`);
    await dash('--reload');
    await dash('--log-level=INFO');
  });

  it('--rebalance plans offline slots; --confirm queues them; --slot-action controls the queue', async () => {
    type Mapping = { id: number; group_id: number; action: { state?: string; target_id?: number } };
    const slotsNow = async () => JSON.parse(await dash('slots')) as Mapping[];
    assert.equal(await dash('--rebalance'), 'nothing changes\n');
    await dash('--slots-assign', '--beg=1000', '--end=1023', '--offline', '--confirm');
    assert.equal(await dash('--rebalance'), '[1000,1023] => 2\ndone\n');
    // Paused, so that the queued actions stay pending while we look at them.
    await dash('--slot-action', '--disabled=1');
    await dash('--slot-action', '--interval=1000');
    const sa = (JSON.parse(await dash('stats')) as { slot_action: { disabled: boolean; interval: number } })
      .slot_action;
    assert.deepEqual([sa.disabled, sa.interval], [true, 1000]);
    assert.equal(await dash('--rebalance', '--confirm'), '[1000,1023] => 2\ndone\n');
    const queued = (await slotsNow()).slice(1000);
    // Migration is disabled: every planned action waits, pending, for group 2.
    assert.equal(queued.length, 24);
    for (const s of queued)
      assert.deepEqual([s.action.state, s.action.target_id], ['pending', 2], `slot ${s.id}`);
    // Cancel one pending action; the others stay queued.
    await dash('--slot-action', '--remove', '--sid=1000');
    const after = await slotsNow();
    assert.deepEqual(after[1000]!.action, {});
    assert.equal(after[1001]!.action.state, 'pending');
    await dash('--slot-action', '--disabled=0');
  });

  it('remote errors are one line with the cause, exit 1', async () => {
    const r = await admin(D, '--create-group', '--gid=1');
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^codis-admin: call rpc create-group to dashboard ${d.addr} failed: \\[Remote Error\\] .*group-\\[1\\] already exists.*\\n$`,
      ),
    );
    const bad = await admin(D, '--group-add', '--gid=9', `--addr=${r1.addr}`);
    assert.equal(bad.code, 1);
    assert.equal(bad.stderr.split('\n').length, 2);
  });

  it('coordinator mode sees the running product', async () => {
    const list = JSON.parse(await adminOk('--dashboard-list', `--filesystem=${root}`)) as {
      name: string;
      dashboard: string;
    }[];
    assert.deepEqual(list, [{ name: PRODUCT, dashboard: d.addr }]);
    const dump = JSON.parse(
      await adminOk('--config-dump', `--product=${PRODUCT}`, `--filesystem=${root}`),
    ) as {
      group: unknown[];
      proxy: unknown[];
    };
    assert.equal(dump.group.length, 2);
    assert.equal(dump.proxy.length, 1);
  });

  it('--remove-proxy shuts the proxy down; --shutdown stops the dashboard and frees the lock', async () => {
    await dash('--remove-proxy', `--addr=${proxy.admin}`);
    assert.equal(await proxy.exited, 0);
    assert.deepEqual(JSON.parse(await dash('--list-proxy')), []);
    await dash('--shutdown');
    await d.exited;
    const list = JSON.parse(await adminOk('--dashboard-list', `--filesystem=${root}`)) as {
      name: string;
      dashboard: string;
    }[];
    assert.deepEqual(list, [{ name: PRODUCT, dashboard: '' }]);
  });
});
