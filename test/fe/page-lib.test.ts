// The page's pure helpers, run in Node: the xauth (Web Crypto and the plain-JS fallback used on
// pages that are not a secure context), and the readings of the dashboard's stats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { topomXAuth } from '../../src/utils/xauth.js';
import { ROOT } from '../helpers/proxy.js';

type Fn = (...args: never[]) => unknown;
const load = async (file: string) =>
  (await import(pathToFileURL(join(ROOT, 'src/fe/web', file)).href)) as Record<string, Fn>;

describe('page helpers', () => {
  it('computes the dashboard xauth like the servers do, with and without Web Crypto', async () => {
    const { sha256Js, dashboardXAuth } = await load('sha256.js');
    for (const product of ['codis-demo', 'a', 'p.r_o-d', 'x'.repeat(300)])
      assert.equal(await (dashboardXAuth as (p: string) => Promise<string>)(product), topomXAuth(product));
    for (const n of [0, 1, 55, 56, 63, 64, 65, 1000]) {
      const data = Buffer.alloc(n, 'q');
      const js = Buffer.from((sha256Js as (d: Uint8Array) => Uint8Array)(new Uint8Array(data))).toString(
        'hex',
      );
      assert.equal(js, createHash('sha256').update(data).digest('hex'), `${n} bytes`);
    }
  });

  it('reads proxy and server statuses, keyspaces and totals', async () => {
    const m = await load('model.js');
    const proxyStatus = m.proxyStatus as (s: unknown) => string;
    assert.equal(proxyStatus(undefined), 'PENDING');
    assert.equal(proxyStatus({ timeout: true, unixtime: 1 }), 'TIMEOUT');
    assert.equal(proxyStatus({ error: { cause: 'x' }, unixtime: 1 }), 'ERROR');
    assert.equal(proxyStatus({ stats: { online: true }, unixtime: 1 }), 'HEALTHY');
    assert.equal(proxyStatus({ stats: { online: false }, unixtime: 1 }), 'PENDING');
    assert.deepEqual(
      (m.keyspace as (i: unknown) => unknown)({ db10: 'keys=5,expires=1,avg_ttl=9', db2: 'keys=7' }),
      [
        { db: 'db2', keys: 7, expires: 0, avg_ttl: 0, text: 'keys=7' },
        { db: 'db10', keys: 5, expires: 1, avg_ttl: 9, text: 'keys=5,expires=1,avg_ttl=9' },
      ],
    );
    const stats = {
      group: {
        models: [
          { id: 1, servers: [{ server: 'a:1' }, { server: 'a:2' }] },
          { id: 2, servers: [{ server: 'b:1' }] },
        ],
        stats: {
          'a:1': { stats: { used_memory: '100', db0: 'keys=3,expires=0,avg_ttl=0' } },
          'a:2': { stats: { used_memory: '1000', db0: 'keys=3,expires=0,avg_ttl=0' } }, // a replica: not counted
          'b:1': { stats: { used_memory: '50', db0: 'keys=4', db1: 'keys=1' } },
        },
      },
      proxy: {
        models: [{ token: 't1' }, { token: 't2' }, { token: 't3' }],
        stats: {
          t1: { stats: { ops: { qps: 10 }, sessions: { alive: 2 } } },
          t2: { stats: { ops: { qps: 5 }, sessions: { alive: 1 } } },
          t3: { timeout: true },
        },
      },
      sentinels: { masters: { '1': 'a:2' } },
    };
    assert.deepEqual((m.masterTotals as (s: unknown) => unknown)(stats), { memory: 150, keys: 8 });
    assert.deepEqual((m.proxyTotals as (s: unknown) => unknown)(stats), { qps: 15, sessions: 3 });
    const haClass = m.haClass as (s: unknown, g: number, i: number, a: string) => string;
    assert.equal(haClass(stats, 1, 0, 'a:1'), 'ha_not_master');
    assert.equal(haClass(stats, 1, 1, 'a:2'), 'ha_real_master');
    assert.equal(haClass(stats, 2, 0, 'b:1'), 'ha_undefined');
  });

  it('reads per-slot migration progress', async () => {
    const m = await load('model.js');
    const slotProgress = m.slotProgress as (s: unknown) => { slot: number }[];
    const progressFraction = m.progressFraction as (f: unknown) => number | undefined;
    const entries = [
      { id: 9, keys_moved: 30, keys_left: 10 },
      { id: 3, keys_moved: 0, keys_left: 0 },
    ];
    assert.deepEqual(
      slotProgress({ slot_action: { progress: { status: '', slots: entries } } }).map((x) => x.slot),
      [3, 9],
    );
    assert.deepEqual(slotProgress({ slot_action: { progress: { status: '' } } }), []);
    assert.equal(progressFraction(entries[0]), 0.75);
    assert.equal(progressFraction({ keys_moved: 0, keys_left: 0 }), 1);
    assert.equal(progressFraction({ percent: 40 }), 0.4);
    assert.equal(progressFraction({ found: 3 }), undefined);
  });

  it('sums a sentinel’s masters of this product', async () => {
    const { summary } = await load('sentinels.js');
    const info = {
      sentinel_masters: '3',
      master0: 'name=shop-1,status=ok,address=10.0.0.1:6379,slaves=2,sentinels=3',
      master1: 'name=other-1,status=odown,address=10.0.0.2:6379,slaves=0,sentinels=1',
      master2: 'name=shop-2,status=odown,address=10.0.0.3:6379,slaves=1,sentinels=3',
    };
    assert.deepEqual((summary as (p: string, i: unknown) => unknown)('shop', info), {
      masters: 2,
      down: 1,
      text: 'masters=2,down=1,slaves=1.5,sentinels=3',
    });
  });
});
