/**
 * The core dashboard flow, run against one coordinator (etcd, zookeeper): groups of stock
 * redis-servers with replicas, two proxies (one created by the dashboard, one going online by
 * itself through the coordinator), all slots assigned, traffic, a dashboard restart, a second
 * dashboard refused, and refused calls leaving the product unchanged.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startDashboard, type Coordinator, type DashboardProcess } from '../helpers/dashboard.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { assignAll, checkTraffic, productState, setupGroups, stats, waitProxiesOnline } from './flow.js';

export interface CoreFlowOptions {
  title: string;
  product: string;
  /** Starts the coordinator; returns it and how to stop it. */
  coordinator(): Promise<{ coordinator: Coordinator; stop(): Promise<void>; stopOne?(): Promise<void> }>;
  /** Proxy flags that find the dashboard through the coordinator, e.g. ['--etcd', addr]. */
  proxyOnline(c: Coordinator): string[];
  /** product_auth for servers, proxies and dashboard. */
  auth?: string;
}

export function coreFlow(o: CoreFlowOptions): void {
  describe(o.title, { timeout: 60_000 }, () => {
    let coordinator: Coordinator;
    let stopCoordinator: () => Promise<void>;
    let stopOne: (() => Promise<void>) | undefined;
    let servers: RedisServer[][];
    let d: DashboardProcess;
    const proxies: ProxyProcess[] = [];
    const config: Record<string, string> = o.auth ? { product_auth: o.auth } : {};
    const proxyArgs = ['--product_name', o.product, ...(o.auth ? ['--product_auth', o.auth] : [])];

    before(async () => {
      const [c, ...all] = await Promise.all([
        o.coordinator(),
        ...Array.from({ length: 4 }, () => startRedis({ password: o.auth })),
      ]);
      ({
        coordinator,
        stop: stopCoordinator,
        stopOne,
      } = c as Awaited<ReturnType<CoreFlowOptions['coordinator']>>);
      const rs = all as RedisServer[];
      servers = [rs.slice(0, 2), rs.slice(2, 4)];
      d = await startDashboard({ coordinator, product: o.product, config });
    });

    after(async () => {
      await Promise.all(proxies.map((p) => p.kill()));
      await d?.stop();
      await Promise.all(servers?.flat().map((s) => s.stop()) ?? []);
      await stopCoordinator?.();
    });

    it('groups, sync actions, proxies online (created, and by itself), slots, traffic', async () => {
      await setupGroups(d, servers);
      const [p1, p2] = await Promise.all([
        startProxy({ offline: true, args: proxyArgs }),
        startProxy({ offline: true, args: [...proxyArgs, ...o.proxyOnline(coordinator)] }),
      ]);
      proxies.push(p1!, p2!);
      assert.equal(await d.call('PUT', `/api/topom/proxy/create/:xauth/${p1!.admin}`), 'OK');
      await waitProxiesOnline(d, 2);
      await assignAll(d, 2);
      await checkTraffic(p1!.port, p2!.port, 'x');
      await checkTraffic(p2!.port, p1!.port, 'y');
    });

    it('never shows product_auth in unauthenticated answers', async () => {
      if (!o.auth) return;
      for (const path of ['/topom', '/topom/model', '/topom/stats', '/topom/slots', '/api/topom/model']) {
        const r = await d.api('GET', path);
        assert.equal(r.status, 200, path);
        assert.equal(JSON.stringify(r.body).includes(o.auth), false, path);
      }
    });

    it('keeps the product across a dashboard restart and refuses a second dashboard', async () => {
      const before = await productState(d);
      assert.equal(await d.stop(), 0);
      d = await startDashboard({ coordinator, product: o.product, config });
      assert.deepEqual(await productState(d), before);
      const second = await startDashboard({ coordinator, product: o.product, config, expectExit: true });
      assert.equal(await second.exited, 1);
      assert.match(second.logs(), /already served by dashboard .*--remove-lock/);
      await checkTraffic(proxies[0]!.port, proxies[1]!.port, 'z');
    });

    it('keeps working when one coordinator member stops', async (t) => {
      if (!stopOne) return t.skip('single server');
      await stopOne();
      await d.call('PUT', '/api/topom/group/create/:xauth/3');
      await d.call('PUT', '/api/topom/group/remove/:xauth/3');
      await d.call('PUT', '/api/topom/group/resync-all/:xauth');
      await checkTraffic(proxies[0]!.port, proxies[1]!.port, 'w');
      const before = await productState(d);
      assert.equal(await d.stop(), 0);
      d = await startDashboard({ coordinator, product: o.product, config });
      assert.deepEqual(await productState(d), before);
    });

    it('refuses bad input with a clear 4xx and leaves the product unchanged', async () => {
      const before = await productState(d);
      const m1 = servers[0]![0]!.addr;
      // An empty group (3) exists for the length of the checks: no slot may move into it.
      assert.equal((await d.api('PUT', '/api/topom/group/create/:xauth/3')).status, 200);
      const cases: [string, number, RegExp][] = [
        [`/api/topom/group/add/:xauth/9/${m1}`, 404, /group-\[9\]/],
        [`/api/topom/group/add/:xauth/2/${m1}`, 409, /already exists/],
        ['/api/topom/slots/action/create/:xauth/1024/1', 400, /1024/],
        ['/api/topom/slots/action/create/:xauth/5/3', 409, /group-\[3\] is empty/],
        ['/api/topom/slots/action/create-range/:xauth/0/9/3', 409, /group-\[3\] is empty/],
        ['/api/topom/group/remove/:xauth/1', 409, /group-\[1\]/],
        // The master of a group that holds slots cannot go, so neither can the group.
        [`/api/topom/group/del/:xauth/1/${m1}`, 409, /still in use/],
        ['/api/topom/group/create/badxauth/4', 403, /xauth/],
      ];
      for (const [path, status, cause] of cases) {
        const r = await d.api<{ cause?: string }>('PUT', path);
        assert.equal(r.status, status, path);
        assert.match(r.body.cause ?? '', cause, path);
      }
      assert.equal((await d.api('PUT', '/api/topom/group/remove/:xauth/3')).status, 200);
      const r = await d.api('PUT', '/api/topom/slots/assign/:xauth', [{ id: 1024, group_id: 1 }]);
      assert.equal(r.status, 400);
      assert.deepEqual(await productState(d), before);
      assert.equal((await stats(d)).slots.filter((m) => m.group_id === 1).length, 512);
    });

    it('serves clients through the proxies while the whole coordinator is down', async () => {
      await stopCoordinator();
      stopCoordinator = async () => {};
      await checkTraffic(proxies[0]!.port, proxies[1]!.port, 'down');
    });

    it(
      'answers changes with a 503 naming the coordinator, in seconds, while it is down',
      { timeout: 30_000 },
      async () => {
        const r = await d.api('PUT', '/api/topom/group/create/:xauth/9');
        assert.equal(r.status, 503);
        const said = JSON.stringify(r.body);
        assert.match(said, new RegExp(`${coordinator.name}: \\w+ /codis3/${o.product}/group/group-0009: `));
        assert.ok(!said.includes('timed out after'), said);
      },
    );

    it(
      'stops in seconds while the coordinator is down, naming the lock it leaves and how to remove it',
      {
        timeout: 30_000,
      },
      async () => {
        assert.equal(await d.stop(), 1);
        assert.match(
          d.logs(),
          new RegExp(
            `close failed: the lock of product ${o.product} is left behind \\(.+\\); ` +
              `the next dashboard must remove it: codis-dashboard --remove-lock`,
          ),
        );
      },
    );
  });
}
