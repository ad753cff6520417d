// Controlling migrations: live rate settings, pause and resume (running passes stop too),
// promotion refused while its group migrates, abort turning a running migration around with
// nothing lost, a group holding keys that cannot be removed, and a dead proxy stalling the
// migration with a status that names it and says how to remove it.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { slotOf } from '../../../src/proxy/hash.js';
import { adminOk } from '../../admin/cli.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { RespClient } from '../../helpers/resp-client.js';
import { sleep, stats, until } from '../flow.js';
import {
  assertPlaced,
  keysInSlots,
  load,
  progress,
  startCluster,
  waitIdle,
  type Cluster,
} from './cluster.js';

describe('migration control', { timeout: 85_000 }, () => {
  let c: Cluster;
  let replica: RedisServer;
  const keys = new Map<number, string[]>([[0, []]]);

  before(async () => {
    c = await startCluster({
      product: 'mig-control',
      groups: 3,
      proxies: 2,
      config: { migration_bigkey_elements: 1000, migration_async_numkeys: 100 },
    });
    replica = await startRedis();
    await c.d.call('PUT', `/api/topom/group/add/:xauth/2/${replica.addr}`);
    const names = Array.from({ length: 6000 }, (_, i) => `k:${i}`);
    const slot300 = keysInSlots((s) => s === 300, 1500, 'abort');
    const [big] = keysInSlots((s) => s === 300, 1, 'bigabort');
    keys.set(0, [...names, ...slot300, big!]);
    await load(c.masters[0]!, 0, [
      ...keys
        .get(0)!
        .slice(0, -1)
        .map((k) => ['SET', k, `v:${k}`]),
      ['HSET', big!, ...Array.from({ length: 3000 }, (_, i) => [`f${i}`, `v${i}`]).flat()],
    ]);
  });

  after(async () => {
    await c?.stop();
    await replica?.stop();
  });

  it('validates and applies live rate settings; --interval is the pause between batches', async () => {
    const { d } = c;
    for (const body of [
      { keys_per_sec: -1 },
      { foo: 1 },
      { batch_keys: 0 },
      { pause_ms: 5000 },
      { bytes_per_sec: 'fast' },
      {},
      [1],
    ]) {
      const r = await d.api<{ cause: string }>('PUT', '/api/topom/slots/action/rate/:xauth', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.ok(r.body.cause, JSON.stringify(body));
    }
    const r = await d.call('PUT', '/api/topom/slots/action/rate/:xauth', {
      bytes_per_sec: '1mb',
      batch_keys: 50,
    });
    assert.deepEqual(r, { keys_per_sec: 0, bytes_per_sec: 1024 * 1024, batch_keys: 50, pause_ms: 0 });
    await adminOk(`--dashboard=${d.addr}`, '--slot-action', '--interval=2000');
    const p = await progress(d);
    assert.deepEqual(p.rate, { keys_per_sec: 0, bytes_per_sec: 1024 * 1024, batch_keys: 50, pause_ms: 2 });
    assert.equal(p.interval, 2000);
    await d.call('PUT', '/api/topom/slots/action/rate/:xauth', {
      bytes_per_sec: 0,
      batch_keys: 100,
      pause_ms: 0,
      keys_per_sec: 600,
    });
  });

  it('pauses running passes and resumes them; promotion of a migrating group is refused', async () => {
    const { d } = c;
    await d.call('PUT', '/api/topom/slots/action/create-range/:xauth/0/255/2');
    await until('keys moving', async () => (await progress(d)).progress.keys_moved > 100);
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/1');
    await sleep(700);
    const before = await progress(d);
    assert.ok(before.progress.running > 0);
    assert.match(before.progress.status, /^\[PAUSED\] migrating \d+ slot\(s\)/);
    await sleep(1500);
    const paused = await progress(d);
    assert.equal(paused.progress.keys_moved, before.progress.keys_moved, 'no key moved while paused');

    const r = await d.api<{ cause: string }>('PUT', `/api/topom/group/promote/:xauth/2/${replica.addr}`);
    assert.equal(r.status, 409);
    assert.match(r.body.cause, /group-\[2\] takes part in \d+ running slot migration/);

    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/0');
    const groups = await waitIdle(d);
    assert.ok(groups.every((g, s) => g === (s < 256 ? 2 : 1)));
    assert.ok((await progress(d)).progress.keys_moved > paused.progress.keys_moved);
    await assertPlaced(c.masters, groups, keys);
  });

  it('abort turns a running migration around: the slot ends on its source with every key', async () => {
    const { d, proxies } = c;
    const counters = keysInSlots((s) => s === 300, 20, 'ctr300');
    const acked = new Map<string, number>();
    const unknown = new Map<string, number>();
    let writing = true;
    const writer = (async () => {
      const conns = await Promise.all(proxies.map((p) => RespClient.connect(p.port)));
      try {
        for (let i = 0; writing; i++) {
          const k = counters[i % counters.length]!;
          const r = await conns[i % conns.length]!.call('INCR', k).catch(() => undefined);
          const m = typeof r === 'number' ? acked : unknown;
          m.set(k, (m.get(k) ?? 0) + 1);
        }
      } finally {
        for (const x of conns) x.close();
      }
    })();
    try {
      await d.call('PUT', '/api/topom/slots/action/rate/:xauth', { keys_per_sec: 300 });
      assert.equal((await d.api('PUT', '/api/topom/slots/action/abort/:xauth/300')).status, 404);
      assert.equal((await d.api('PUT', '/api/topom/slots/action/abort/:xauth/1024')).status, 400);
      await d.call('PUT', '/api/topom/slots/action/create/:xauth/301/2');
      await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/1');
      assert.equal(await d.call('PUT', '/api/topom/slots/action/abort/:xauth/301'), 'cancelled');
      await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/0');
      await d.call('PUT', '/api/topom/slots/action/create/:xauth/300/2');
      await until('slot 300 half moved', async () => {
        const s = (await progress(d)).progress.slots.find((x) => x.id === 300);
        return s && s.state === 'migrating' && s.keys_moved > 200;
      });
      const out = await adminOk(`--dashboard=${d.addr}`, '--slot-action', '--abort', '--sid=300');
      assert.equal(out, 'slot-[300] is migrating back to its source group (keys moved back)\n');
      assert.match(d.logs(), /slot-\[300\] migration to group-\[2\] aborted: it goes back to group-\[1\]/);
      const st = await stats(d);
      if (st.slots[300]!.action.state) {
        // Still moving back (it may already be done).
        assert.equal(st.slots[300]!.action.state, 'migrating');
        assert.equal(st.slots[300]!.group_id, 2);
        assert.equal(st.slots[300]!.action.target_id, 1);
        const s = (await progress(d)).progress.slots.find((x) => x.id === 300);
        if (s) assert.equal(s.reversed, true);
      }
      await d.call('PUT', '/api/topom/slots/action/rate/:xauth', { keys_per_sec: 0 });
      const groups = await waitIdle(d);
      assert.equal(groups[300], 1);
      await sleep(200);
      writing = false;
      await writer;
      await assertPlaced(c.masters, groups, keys);
      const g1 = await c.masters[0]!.connect();
      try {
        for (const k of keys.get(0)!.filter((x) => slotOf(x) === 300 && x.startsWith('abort')))
          assert.equal(String(await g1.call('GET', k)), `v:${k}`);
        assert.equal(await g1.call('HLEN', keys.get(0)!.at(-1)!), 3000);
        for (const k of counters) {
          const v = Number(String((await g1.call('GET', k)) ?? 0));
          const a = acked.get(k) ?? 0;
          assert.ok(v >= a && v <= a + (unknown.get(k) ?? 0), `${k}: ${v}, acknowledged ${a}`);
        }
      } finally {
        g1.close();
      }
      assert.equal(Number(await c.masters[1]!.call('EXISTS', ...counters)), 0);
    } finally {
      writing = false;
      await writer;
    }
  });

  it('a promoting group holds its migrations back, with a clear status, and refuses new ones', async () => {
    const { d } = c;
    const file = join(c.root, 'codis3', c.product, 'group', 'group-0002', '.data');
    const saved = await readFile(file, 'utf8');
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/1');
    await d.call('PUT', '/api/topom/slots/action/create/:xauth/500/2');
    // A promotion left half-way (as after a crash): group 2 is `preparing` in the store.
    await writeFile(
      file,
      JSON.stringify({ ...JSON.parse(saved), promoting: { index: 1, state: 'preparing' } }),
    );
    await d.call('PUT', '/api/topom/reload/:xauth');
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/0');
    const r = await d.api<{ cause: string }>('PUT', '/api/topom/slots/action/create/:xauth/501/2');
    assert.equal(r.status, 409);
    assert.match(r.body.cause, /group-\[2\] is promoting: no slot migration to or from it/);
    await sleep(1500);
    const p = await progress(d);
    assert.deepEqual(
      p.actions.map((a) => [a.id, a.state]),
      [[500, 'pending']],
    );
    assert.match(p.progress.status, /waiting for group-\[2\] to finish promoting/);
    await writeFile(file, saved);
    await d.call('PUT', '/api/topom/reload/:xauth');
    const groups = await waitIdle(d);
    assert.equal(groups[500], 2);
  });

  it('refuses to remove a group master that still holds keys', async () => {
    const { d } = c;
    const m3 = c.masters[2]!;
    const w = await m3.connect();
    await w.call('SELECT', 5);
    await w.call('SET', 'stale', 'x');
    const r = await d.api<{ cause: string }>('PUT', `/api/topom/group/del/:xauth/3/${m3.addr}`);
    assert.equal(r.status, 409);
    assert.match(r.body.cause, /group-\[3\] master .* still holds keys \(db5 1 keys\)/);
    assert.equal((await d.api('PUT', '/api/topom/group/remove/:xauth/3')).status, 409);
    await w.call('DEL', 'stale');
    w.close();
    await d.call('PUT', `/api/topom/group/del/:xauth/3/${m3.addr}`);
    await d.call('PUT', '/api/topom/group/remove/:xauth/3');
    const g1 = await d.api<{ cause: string }>('PUT', `/api/topom/group/del/:xauth/1/${c.masters[0]!.addr}`);
    assert.equal(g1.status, 409);
  });

  it('a dead proxy stalls migration with a status naming it; removing it lets it finish', async () => {
    const { d, proxies } = c;
    const dead = proxies[1]!;
    const token = (await stats(d)).proxy.models.find((p) => p.admin_addr === dead.admin)!.token;
    await dead.kill();
    await d.call('PUT', '/api/topom/slots/action/create/:xauth/400/2');
    const p = await until('a stall', async () => {
      const x = await progress(d);
      return x.progress.status.startsWith('[STALLED]') ? x : undefined;
    });
    assert.match(p.progress.status, new RegExp(`proxy-\\[${token}\\] at ${dead.admin}`));
    assert.ok(p.progress.status.includes(`--remove-proxy --addr=${dead.admin} --force`), p.progress.status);
    assert.equal(p.progress.stalled, p.progress.status.slice('[STALLED] '.length));
    const overview = await d.call<{ stats: { slot_action: { progress: { status: string } } } }>(
      'GET',
      '/topom',
    );
    assert.equal(overview.stats.slot_action.progress.status, p.progress.status);
    assert.match(d.logs(), /slot migration stalled: migration waits for proxy-/);
    assert.equal((await stats(d)).slots[400]!.action.state, 'preparing');
    await adminOk(`--dashboard=${d.addr}`, '--remove-proxy', `--addr=${dead.admin}`, '--force');
    const groups = await waitIdle(d, 20_000);
    assert.equal(groups[400], 2);
    assert.equal((await progress(d)).progress.status, '');
  });
});
