// Consistency under migration across failures: clients write through two proxies while slots
// move; one proxy is killed in the middle (the migration stalls on it, naming it) and comes back
// with --dashboard (re-synced, its clients restarted); then the dashboard itself is killed in
// the middle of a migration and restarted, and the migration resumes from the coordinator.
// At the end nothing acknowledged is lost and every key is on exactly one group.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConsistencyChecker } from '../../helpers/consistency.js';
import { RespClient } from '../../helpers/resp-client.js';
import { sleep, spawnProxyAt, until, waitProxiesOnline, type FixedProxy } from '../flow.js';
import {
  assertPlaced,
  keysInSlots,
  load,
  progress,
  startCluster,
  waitIdle,
  type Cluster,
} from './cluster.js';

describe('migration with a proxy and the dashboard restarted in the middle', { timeout: 88_000 }, () => {
  let c: Cluster;
  let again: FixedProxy | undefined;
  const preload = new Map<number, string[]>();

  before(async () => {
    c = await startCluster({
      product: 'mig-restart',
      groups: 3,
      proxies: 2,
      config: {
        migration_bigkey_elements: 1000,
        migration_async_numkeys: 100,
        migration_max_keys_per_sec: 1500,
      },
    });
    for (const db of [0, 3]) {
      const names = Array.from({ length: 6000 }, (_, i) => `pre:${db}:${i}`);
      preload.set(db, names);
      await load(
        c.masters[0]!,
        db,
        names.map((k) => ['SET', k, k]),
      );
    }
    const [big] = keysInSlots((s) => s >= 256 && s < 512, 1, 'big');
    await load(c.masters[0]!, 3, [
      ['HSET', big!, ...Array.from({ length: 4000 }, (_, i) => [`f${i}`, i]).flat()],
    ]);
    preload.get(3)!.push(big!);
  });

  after(async () => {
    await again?.kill();
    await c?.stop();
  });

  const allKeys = (checkers: ConsistencyChecker[]) => {
    const keys = new Map<number, string[]>();
    for (const [db, list] of preload) keys.set(db, [...list]);
    for (const ch of checkers)
      for (const [db, list] of ch.keysByDb()) keys.set(db, [...keys.get(db)!, ...list]);
    return keys;
  };

  it('loses nothing when a proxy, then the dashboard, die in the middle of migrations', async () => {
    const [p1, p2] = c.proxies as [(typeof c.proxies)[0], (typeof c.proxies)[0]];
    // Clients of p2 use the other db of each key name, so the two checkers never share a key.
    const x = new ConsistencyChecker({ ports: [p1.port], clients: 8, dbs: [0, 3], keysPerClient: 30 });
    let y = new ConsistencyChecker({ ports: [p2.port], clients: 8, dbs: [3, 0], keysPerClient: 30 });
    await x.start();
    await y.start();
    let stopped = false;
    try {
      await sleep(300);
      // 1. A proxy dies while 256 slots move 1 → 2: the clients on it see errors (unknown outcomes).
      await c.d.call('PUT', '/api/topom/slots/action/create-range/:xauth/0/255/2');
      await until('keys moving', async () => (await progress(c.d)).progress.keys_moved > 300);
      const stopping = y.stop();
      await p2.kill();
      await stopping;
      const yr = await y.verify(p1.port);
      assert.deepEqual([yr.violations, yr.staleReads], [[], []]);
      const stall = await until('the migration to stall on the dead proxy', async () => {
        const s = (await progress(c.d)).progress.status;
        return s.startsWith('[STALLED]') ? s : undefined;
      });
      assert.ok(stall.includes(`--remove-proxy --addr=${p2.admin} --force`), stall);
      // Its keys are removed so that the restarted clients (same names) start from scratch.
      const r = await RespClient.connect(p1.port);
      for (const [db, list] of y.keysByDb()) {
        await r.call('SELECT', db);
        for (let i = 0; i < list.length; i += 100) await r.call('DEL', ...list.slice(i, i + 100));
      }
      r.close();
      again = await spawnProxyAt(c.product, p2.port, p2.adminPort, ['--dashboard', c.d.addr]);
      await waitProxiesOnline(c.d, 2);
      y = new ConsistencyChecker({ ports: [p2.port], clients: 8, dbs: [3, 0], keysPerClient: 30 });
      await y.start();
      let groups = await waitIdle(c.d, 30_000);
      assert.ok(groups.every((g, s) => g === (s < 256 ? 2 : 1)));
      await assertPlaced(c.masters, groups, allKeys([x, y]));

      // 2. The dashboard dies (SIGKILL) while 256 slots move 1 → 3, and comes back.
      await c.d.call('PUT', '/api/topom/slots/action/create-range/:xauth/256/511/3');
      await until('keys moving', async () => {
        const p = await progress(c.d);
        return p.progress.slots.some((s) => s.to === 3 && s.keys_moved > 0);
      });
      await c.d.kill();
      await sleep(500);
      const d = await c.restartDashboard(['--remove-lock']);
      const resumed = await progress(d);
      assert.ok(resumed.actions.length > 0, 'actions left to resume');
      groups = await waitIdle(d, 30_000);
      assert.ok(groups.every((g, s) => g === (s < 256 ? 2 : s < 512 ? 3 : 1)));
      await assertPlaced(c.masters, groups, allKeys([x, y]));

      // 3. And back: 2 → 1 while traffic goes on through the re-synced proxy.
      await d.call('PUT', '/api/topom/slots/action/create-range/:xauth/0/255/1');
      groups = await waitIdle(d, 30_000);
      await sleep(300);
      await Promise.all([x.stop(), y.stop()]);
      stopped = true;
      for (const ch of [x, y]) {
        for (const port of [p1.port, p2.port]) {
          const rep = await ch.verify(port);
          assert.ok(rep.ops > 500, `ops ${rep.ops}`);
          assert.deepEqual(rep.staleReads, []);
          assert.deepEqual(rep.violations, []);
        }
      }
      await assertPlaced(c.masters, groups, allKeys([x, y]));
      const check = await RespClient.connect(p2.port);
      try {
        for (const db of [0, 3]) {
          await check.call('SELECT', db);
          for (const k of preload.get(db)!.filter((n) => n.startsWith('pre:')))
            assert.equal(String(await check.call('GET', k)), k);
        }
        assert.equal(await check.call('HLEN', preload.get(3)!.at(-1)!), 4000);
      } finally {
        check.close();
      }
    } finally {
      if (!stopped) await Promise.all([x.stop(), y.stop()]);
    }
  });
});
