// The migration executor end to end: a dashboard, 3 groups, 2 proxies; 128 slots with keys in
// dbs 0 and 3 (TTLs, a 20,000-field hash over the big-key threshold) move from group 1 to 2 with
// `codis-admin --slot-action --create-range … --wait` (servers with a password: product_auth);
// every key ends on exactly one group, TTLs kept, and the progress showed what moved.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slotOf } from '../../../src/proxy/hash.js';
import { adminOk } from '../../admin/cli.js';
import { RespClient } from '../../helpers/resp-client.js';
import { sleep, stats } from '../flow.js';
import {
  assertPlaced,
  keysInSlots,
  load,
  progress,
  startCluster,
  waitIdle,
  whereKeys,
  type Cluster,
  type ProgressJson,
} from './cluster.js';

const N = 4000;

describe('slot migration executor', { timeout: 85_000 }, () => {
  let c: Cluster;
  const keys = new Map<number, string[]>();
  const moving = (s: number) => s < 128;
  const [bigHash] = keysInSlots(moving, 1, 'bighash');
  const [bigList] = keysInSlots(moving, 1, 'biglist');

  before(async () => {
    c = await startCluster({
      product: 'mig-exec',
      auth: 'mig-pw',
      groups: 3,
      proxies: 2,
      config: { migration_bigkey_elements: 1000, migration_async_numkeys: 200 },
    });
    for (const db of [0, 3]) {
      const names = Array.from({ length: N }, (_, i) => `k:${db}:${i}`);
      keys.set(db, names);
      await load(
        c.masters[0]!,
        db,
        names.map((k, i) => (i % 3 === 0 ? ['SET', k, `v:${k}`, 'EX', 3600] : ['SET', k, `v:${k}`])),
      );
    }
    const fields = Array.from({ length: 20_000 }, (_, i) => [`f${i}`, `v${i}`]).flat();
    const cmds: (string | number)[][] = [];
    for (let i = 0; i < fields.length; i += 2000) cmds.push(['HSET', bigHash!, ...fields.slice(i, i + 2000)]);
    cmds.push(['EXPIRE', bigHash!, 7200]);
    await load(c.masters[0]!, 3, cmds);
    await load(c.masters[0]!, 0, [['RPUSH', bigList!, ...Array.from({ length: 5000 }, (_, i) => `i${i}`)]]);
    keys.get(3)!.push(bigHash!);
    keys.get(0)!.push(bigList!);
  });

  after(async () => {
    await c?.stop();
  });

  it('moves 128 slots from group 1 to 2: every key on exactly one group, TTLs kept, progress shown', async () => {
    const { d } = c;
    // Slow enough to watch the progress.
    const rate = await d.call('PUT', '/api/topom/slots/action/rate/:xauth', { keys_per_sec: 400 });
    assert.deepEqual(rate, { keys_per_sec: 400, bytes_per_sec: 0, batch_keys: 200, pause_ms: 0 });
    const seen: ProgressJson[] = [];
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        seen.push(await progress(d));
        await sleep(200);
      }
    })();
    let out: string;
    try {
      out = await adminOk(
        `--dashboard=${d.addr}`,
        '--slot-action',
        '--create-range',
        '--beg=0',
        '--end=127',
        '--gid=2',
        '--wait',
      );
    } finally {
      watching = false;
      await watcher;
    }
    assert.match(out, /^migrated \d+\/128 slots, \d+% keys, [\d.]+k? keys\/s, ETA /m);
    assert.match(out, /migrated 128\/128 slots, 100% keys, .*ETA 0s\ndone in \d+/);
    const groups = await waitIdle(d);
    assert.deepEqual(
      groups,
      Array.from({ length: 1024 }, (_, s) => (moving(s) ? 2 : 1)),
    );

    const busy = seen.filter((p) => p.progress.running > 0);
    assert.ok(busy.length > 0, 'progress seen while migrating');
    const mid = busy.find((p) => p.progress.keys_moved > 0 && p.progress.slots.length > 0);
    assert.ok(mid, 'keys moved shown while running');
    assert.ok(/^\[OK\] migrating \d+ slot\(s\)/.test(mid.progress.status), mid.progress.status);
    const slot = mid.progress.slots[0]!;
    assert.equal(slot.from, 1);
    assert.equal(slot.to, 2);
    assert.ok(busy.some((p) => p.progress.keys_per_sec > 0 && p.progress.eta_seconds !== null));
    const end = await progress(d);
    const movedKeys = [...keys.values()].flat().filter((k) => moving(slotOf(k))).length;
    assert.ok(end.progress.keys_moved >= movedKeys, `${end.progress.keys_moved} >= ${movedKeys}`);
    assert.equal(end.progress.slots_done, 128);
    assert.ok(end.progress.bytes_moved > 20_000 * 4);
    assert.equal(end.progress.status, '');
    assert.deepEqual(end.actions, []);

    await assertPlaced(c.masters, groups, keys);
    for (const db of [0, 3]) {
      const where = await whereKeys(c.masters, db);
      assert.equal(where.size, keys.get(db)!.length, `db${db}: nothing lost, nothing added`);
      const g2 = await c.masters[1]!.connect();
      try {
        await g2.call('SELECT', db);
        for (const k of keys.get(db)!.filter((x) => moving(slotOf(x)) && x.startsWith('k:'))) {
          const i = Number(k.split(':')[2]);
          const ttl = (await g2.call('TTL', k)) as number;
          if (i % 3 === 0) assert.ok(ttl > 3500 && ttl <= 3600, `${k} TTL ${ttl}`);
          else assert.equal(ttl, -1, `${k} has no TTL`);
        }
      } finally {
        g2.close();
      }
    }
    const g2 = await c.masters[1]!.connect();
    try {
      await g2.call('SELECT', 3);
      assert.equal(await g2.call('HLEN', bigHash!), 20_000);
      assert.equal(String(await g2.call('HGET', bigHash!, 'f12345')), 'v12345');
      const ttl = (await g2.call('TTL', bigHash!)) as number;
      assert.ok(ttl > 7000 && ttl <= 7200, `big hash TTL ${ttl}`);
      await g2.call('SELECT', 0);
      assert.equal(await g2.call('LLEN', bigList!), 5000);
      assert.equal(String(await g2.call('LINDEX', bigList!, 4321)), 'i4321');
    } finally {
      g2.close();
    }
    // And through both proxies.
    for (const p of c.proxies) {
      const r = await RespClient.connect(p.port);
      try {
        await r.call('SELECT', 3);
        assert.equal(await r.call('HLEN', bigHash!), 20_000);
        for (const k of keys.get(3)!.slice(0, 200))
          if (k.startsWith('k:')) assert.equal(String(await r.call('GET', k)), `v:${k}`);
      } finally {
        r.close();
      }
    }
  });

  it('--slots-status shows the action and progress columns of migrating slots', async () => {
    const { d } = c;
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/1');
    await d.call('PUT', '/api/topom/slots/action/create/:xauth/200/3');
    const slots = JSON.parse(await adminOk(`--dashboard=${d.addr}`, '--slots-status')) as Record<
      string,
      unknown
    >[];
    assert.equal(slots[200]!.action, 'pending');
    assert.equal(slots[200]!.migrate_to_group_id, 3);
    assert.equal(slots[201]!.action, undefined);
    await d.call('PUT', '/api/topom/slots/action/disabled/:xauth/0');
    await waitIdle(d);
  });

  it('--rebalance --confirm --wait spreads the slots over every group and returns once they moved', async () => {
    const { d } = c;
    await d.call('PUT', '/api/topom/slots/action/rate/:xauth', { keys_per_sec: 0 });
    const out = await adminOk(`--dashboard=${d.addr}`, '--rebalance', '--confirm', '--wait');
    assert.match(out, /^\[\d+,\d+\] => 3$/m, 'the plan moves slots to the emptiest group');
    assert.match(out, /^migrated (\d+)\/\1 slots, 100% keys, .*\ndone in \d+/m);
    // --wait returned: nothing is left to do, at once.
    const slots = (await stats(d)).slots;
    assert.deepEqual(
      slots.filter((m) => m.action.state),
      [],
    );
    const groups = slots.map((m) => m.group_id);
    for (const g of [1, 2, 3]) {
      const n = groups.filter((x) => x === g).length;
      assert.ok(n === 341 || n === 342, `group ${g} holds ${n} slots`);
    }
    await assertPlaced(c.masters, groups, keys);
  });
});
