import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsistencyChecker } from '../helpers/consistency.js';
import { proxyOverTwoGroups } from '../helpers/proxy.js';
import { slotOf } from '../../src/proxy/hash.js';

const two = proxyOverTwoGroups();

test('the checker finds no violation on a healthy proxy, and does find a lost write', async () => {
  const checker = new ConsistencyChecker({
    ports: [two.proxy.port],
    clients: 8,
    dbs: [0, 3],
    keysPerClient: 20,
  });
  await checker.start();
  const until = Date.now() + 1500;
  while (Date.now() < until) await new Promise((r) => setTimeout(r, 100));
  await checker.stop();
  const report = await checker.verify(two.proxy.port);
  assert.ok(report.ops > 1000, `ops ${report.ops}`);
  assert.equal(report.errors, 0);
  assert.deepEqual(report.staleReads, []);
  assert.deepEqual(report.violations, []);

  // Lose one acknowledged write behind the proxy's back: the checker must notice.
  const key = checker
    .keysByDb()
    .get(0)!
    .find((k) => k.startsWith('str:'))!;
  const owner = two.servers[slotOf(key) < 512 ? 0 : 1]!;
  await owner.call('DEL', key);
  const again = await checker.verify(two.proxy.port);
  assert.ok(again.violations.length > 0);
  for (const v of again.violations) assert.ok(v.includes(key), v);
});
