// The dashboard's stats loop keeps going when a server hangs: the hung one is marked
// `{timeout: true}` (after the 1 s cap) while the others keep fresh INFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { until } from './flow.js';
import { startCluster } from './migration/cluster.js';

interface Sample {
  timeout?: boolean;
  stats?: Record<string, string>;
  unixtime: number;
}

test(
  'a hung server shows as timed out in the stats; the others keep theirs',
  { timeout: 60_000 },
  async () => {
    const c = await startCluster({ product: 'stats-hang', groups: 2, proxies: 1 });
    const [ok, hung] = c.masters;
    try {
      const groupStats = async () =>
        ((await c.d.call('GET', '/topom/stats')) as { group: { stats: Record<string, Sample> } }).group.stats;
      await until('INFO of both servers', async () => {
        const s = await groupStats();
        return s[ok!.addr]?.stats && s[hung!.addr]?.stats;
      });
      hung!.pause();
      const s = await until('the hung server to time out', async () => {
        const x = await groupStats();
        return x[hung!.addr]?.timeout ? x : undefined;
      });
      assert.equal(s[hung!.addr]!.stats, undefined);
      assert.ok(s[ok!.addr]!.stats, 'the other server still has its INFO');
      assert.ok(Math.abs(s[ok!.addr]!.unixtime - s[hung!.addr]!.unixtime) <= 2, 'both from the same round');
    } finally {
      hung!.resume();
      await c.stop();
    }
  },
);
