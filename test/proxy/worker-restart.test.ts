import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Redis as IORedis } from 'ioredis';
import { proxyOverTwoGroups, putProxyAdmin, workerPids } from '../helpers/proxy.js';
import { RestartBackoff } from '../../src/proxy/RestartBackoff.js';

test('a worker that lived is replaced at once; quick deaths in a row wait longer each time', () => {
  const b = new RestartBackoff({ settledMs: 5000, firstDelayMs: 500, maxDelayMs: 4000 });
  b.forked(0, 0);
  assert.deepEqual(b.died(0, 60_000), { livedMs: 60_000, delayMs: 0 });
  const delays: number[] = [];
  for (let t = 100_000; t < 100_000 + 6 * 1000; t += 1000) {
    b.forked(0, t);
    delays.push(b.died(0, t + 200).delayMs);
  }
  assert.deepEqual(delays, [0, 500, 1000, 2000, 4000, 4000]);
  // Another slot's crash loop is its own.
  b.forked(1, 0);
  assert.equal(b.died(1, 100).delayMs, 0);
  // A worker that then runs a while resets its slot.
  b.forked(0, 200_000);
  assert.equal(b.died(0, 206_000).delayMs, 0);
  b.forked(0, 206_000);
  assert.equal(b.died(0, 206_100).delayMs, 0);
  b.forked(0, 206_100);
  assert.equal(b.died(0, 206_200).delayMs, 500);
});

const two = proxyOverTwoGroups({ args: ['--ncpu', '2'] });
// At INFO a worker logs when it serves, the event the tests wait on; replacements take the level.
let atInfo: Promise<void> | undefined;
const logAtInfo = () =>
  (atInfo ??= putProxyAdmin(two.proxy, 'loglevel', 'INFO').then((r) => assert.equal(r.status, 200)));

test('an ioredis client whose worker dies reconnects and goes on, with its db and name', async () => {
  await logAtInfo();
  const c = new IORedis({ host: '127.0.0.1', port: two.proxy.port, db: 3, connectionName: 'survivor' });
  try {
    assert.equal(await c.set('before', '1'), 'OK');
    const pid = (s: string) => Number(/process_id:(\d+)/.exec(s)![1]);
    const first = pid(await c.info('server'));
    assert.ok(workerPids(two.proxy).includes(first));
    const reconnected = new Promise((r) => c.once('ready', r));
    const replaced = two.proxy.nextLog(/proxy worker (\d+) serves clients/);
    process.kill(first, 'SIGKILL');
    await reconnected;
    // After the crash it runs on a live worker, in the db (keys set in db 3 are there) and under
    // the name it chose: ioredis sends SELECT and CLIENT SETNAME again on reconnect.
    assert.equal(await c.set('after', '2'), 'OK');
    assert.notEqual(pid(await c.info('server')), first);
    assert.equal(await c.client('GETNAME'), 'survivor');
    assert.equal(await c.get('before'), '1');
    assert.equal(await c.get('after'), '2');
    // Two workers again before the next test kills one.
    await replaced;
  } finally {
    c.disconnect();
  }
});

test('a worker killed each time it starts comes back after a growing delay; the other serves meanwhile', async () => {
  await logAtInfo();
  const died =
    /proxy worker (\d+) died \(SIGKILL\) \S+ after it started(?:, as the one before it did)?; starting another(?: in (\d+m?s))?/;
  let victim = workerPids(two.proxy)[0]!;
  const delays: number[] = [];
  for (let round = 0; round < 4; round++) {
    const death = two.proxy.nextLog(died);
    const serves = two.proxy.nextLog(/proxy worker (\d+) serves clients/);
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const m = await death;
    assert.equal(Number(m[1]), victim);
    const delayMs = m[2] === undefined ? 0 : parseMs(m[2]);
    delays.push(delayMs);
    // New clients are served all along: while the slot waits, by the other worker alone.
    const c = await two.proxy.connect();
    assert.equal(await c.call('SET', `loop:${round}`, 'v'), 'OK');
    assert.equal(String(await c.call('GET', `loop:${round}`)), 'v');
    c.close();
    victim = Number((await serves)[1]);
    assert.ok(Date.now() - killedAt >= delayMs, `round ${round}: back before its ${delayMs} ms delay`);
  }
  // The first death or two (the first worker may have run long enough to count as settled)
  // restart at once, then each waits twice the one before.
  const waited = delays.filter((d) => d > 0);
  assert.deepEqual(
    delays.slice(0, delays.length - waited.length),
    Array(delays.length - waited.length).fill(0),
  );
  assert.ok(waited.length >= 2, `delays ${delays.join(',')}`);
  assert.deepEqual(waited, [500, 1000, 2000].slice(0, waited.length));
  assert.equal(two.proxy.child.exitCode, null);
  assert.equal(workerPids(two.proxy).length, 2);
});

/** "500ms", "1s", "2s" as formatDuration writes them. */
function parseMs(text: string): number {
  const m = /^(\d+)(ms|s)$/.exec(text);
  assert.ok(m, `delay ${text}`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}

test('while no worker serves, a new client waits for one instead of being refused', async () => {
  await logAtInfo();
  const pids = workerPids(two.proxy);
  assert.equal(pids.length, 2);
  const bothDied = Promise.all(
    pids.map((p) => two.proxy.nextLog(new RegExp(`proxy worker ${p} died`), 20_000)),
  );
  const waits = two.proxy.nextLog(/no proxy worker serves: new clients wait for one/, 20_000);
  const serves = two.proxy.nextLog(/proxy worker (\d+) serves clients/, 20_000);
  for (const p of pids) process.kill(p, 'SIGKILL');
  await bothDied;
  // Both are gone and their replacements are still starting: the port still takes the client.
  const c = await two.proxy.connect({ timeoutMs: 20_000 });
  const set = c.call('SET', 'waited', 'v');
  await waits;
  const served = Number((await serves)[1]);
  assert.equal(await set, 'OK');
  assert.ok(!pids.includes(served));
  assert.equal(String(await c.call('GET', 'waited')), 'v');
  c.close();
});
