// A dashboard whose coordinator hangs (etcd stopped with SIGSTOP: connections open, no answers)
// while an operation waits on it still stops when told to, in bounded time, and says what it left.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EtcdCluster } from '../helpers/etcd.js';
import { startDashboard } from '../helpers/dashboard.js';
import { until } from './flow.js';

test(
  'a dashboard stops within seconds while etcd hangs under a running operation',
  { timeout: 60_000 },
  async () => {
    const etcd = await EtcdCluster.start(1);
    try {
      const d = await startDashboard({
        coordinator: { name: 'etcd', addr: etcd.addr },
        product: 'hung-etcd',
      });
      etcd.hang(true);
      const create = d.api('PUT', '/api/topom/group/create/:xauth/9').catch((e: Error) => e);
      await until('the create to reach the dashboard', async () =>
        d.logs().includes('/api/topom/group/create/'),
      );
      const t0 = Date.now();
      assert.equal(await d.stop(), 1);
      // Each of the two waits is bounded by 10 s; the coordinator's own timeout is 60 s.
      assert.ok(Date.now() - t0 < 30_000, `stopped after ${Date.now() - t0} ms`);
      const logs = d.logs();
      assert.match(logs, /the running operation did not end within 10 s; stopping without it/);
      assert.match(
        logs,
        /close failed: the lock of product hung-etcd is left behind \(etcd http:\/\/127\.0\.0\.1:\d+: no answer within 10000 ms\); the next dashboard must remove it: codis-dashboard --remove-lock/,
      );
      // Its client is not left waiting: the connection closes with the process.
      assert.ok((await create) instanceof Error, 'the create request fails with the closed connection');
    } finally {
      etcd.hang(false);
      await etcd.stop();
    }
  },
);
