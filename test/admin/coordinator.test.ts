// codis-admin's coordinator mode on the filesystem coordinator (and one round trip through etcd and
// ZooKeeper when they are installed): --config-dump / --config-restore round trips of Codis 3.2
// products, the Codis 2 path (--config-dump -1, --config-convert), --remove-lock, --dashboard-list.

import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { FsClient } from '../../src/coordinator/index.js';
import { encodeConfigV3 } from '../../src/models/ConfigV3.js';
import { newGroup, newGroupServer, type Group } from '../../src/models/Group.js';
import type { ProxyModel } from '../../src/models/Proxy.js';
import { newSlotMapping } from '../../src/models/SlotMapping.js';
import { Store } from '../../src/models/Store.js';
import type { Topom } from '../../src/models/Topom.js';
import { EtcdCluster } from '../helpers/etcd.js';
import { ZooKeeperServer } from '../helpers/zookeeper.js';
import { admin, adminIn, adminOk, lastLine } from './cli.js';

let dir: string;
let root: string;
let FS: string;
let fs: FsClient;

const topom = (admin_addr: string, product: string): Topom => ({
  token: 'd0e0f0',
  start_time: '2026-01-01 00:00:00.000000000 +0000 UTC',
  admin_addr,
  product_name: product,
  pid: 4242,
  pwd: '/opt/codis',
  sys: 'Linux codis 6.1.0 x86_64 GNU/Linux',
});

const proxy = (id: number, token: string, port: number): ProxyModel => ({
  id,
  token,
  start_time: '2026-01-01 00:00:00',
  admin_addr: `10.0.0.5:${11080 + port}`,
  proto_type: 'tcp4',
  proxy_addr: `10.0.0.5:${19000 + port}`,
  ...(id === 2 ? { jodis_path: `/jodis/codis-demo/proxy-${token}` } : {}),
  product_name: 'codis-demo',
  pid: 100 + id,
  pwd: '/opt/codis',
  sys: 'Linux',
  hostname: 'proxy-host',
  datacenter: id === 1 ? 'dc1' : '',
});

/** A Codis 3.2 product: 2 groups (one with a replica-group server), 1000 slots assigned, 2 proxies, a sentinel, a lock. */
async function writeProduct(store: Store): Promise<void> {
  const g1: Group = newGroup(1);
  g1.servers.push(newGroupServer('10.0.0.1:6379', 'dc1'), newGroupServer('10.0.0.2:6379', 'dc2'));
  g1.servers[1]!.replica_group = true;
  g1.servers[1]!.action = { state: 'synced' };
  const g2: Group = newGroup(2);
  g2.servers.push(newGroupServer('10.0.0.3:6379'));
  g2.out_of_sync = true;
  await store.updateGroup(g1);
  await store.updateGroup(g2);
  for (let sid = 0; sid < 1024; sid++) {
    if (sid < 512) await store.updateSlotMapping(newSlotMapping(sid, 1));
    else if (sid < 1000) await store.updateSlotMapping(newSlotMapping(sid, 2));
    else if (sid < 1010) await store.updateSlotMapping(newSlotMapping(sid, 0)); // explicit offline; the rest are missing
  }
  await store.updateProxy(proxy(2, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb', 1));
  await store.updateProxy(proxy(1, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 0));
  await store.updateSentinel({ servers: ['10.0.0.9:26379'], out_of_sync: false });
  await store.acquireLock(topom('10.0.0.8:18080', store.product));
}

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'codis-admin-coord-'));
  root = join(dir, 'fs');
  FS = `--filesystem=${root}`;
  fs = new FsClient(root);
  await writeProduct(new Store(fs, 'codis-demo'));
});
after(async () => {
  await fs.close();
  await rm(dir, { recursive: true, force: true });
});

describe('--config-dump / --config-restore (ConfigV3)', () => {
  let dump: string;
  let file: string;

  before(async () => {
    dump = await adminOk('--config-dump', '--product=codis-demo', FS);
    file = join(dir, 'codis-demo.json');
    await writeFile(file, dump);
  });

  it('dumps 1024 slots, groups and proxies by id, as Go prints them', async () => {
    const c = JSON.parse(dump) as { slots: unknown[]; group: { id: number }[]; proxy: { id: number }[] };
    assert.deepEqual(Object.keys(c), ['slots', 'group', 'proxy']);
    assert.equal(c.slots.length, 1024);
    assert.deepEqual(c.slots[0], { id: 0, group_id: 1, action: {} });
    assert.deepEqual(c.slots[1023], { id: 1023, group_id: 0, action: {} });
    assert.deepEqual(
      c.group.map((g) => g.id),
      [1, 2],
    );
    assert.deepEqual(
      c.proxy.map((p) => p.id),
      [1, 2],
    );
    assert.match(
      dump,
      /^\{\n {4}"slots": \[\n {8}\{\n {12}"id": 0,\n {12}"group_id": 1,\n {12}"action": \{\}\n/,
    );
    assert.ok(dump.endsWith('}\n'));
    assert.doesNotMatch(dump, /sentinel|10\.0\.0\.8:18080/);
  });

  it('restore without --confirm prints the checked config and writes nothing', async () => {
    const out = await adminOk(`--config-restore=${file}`, '--product=copy', FS);
    assert.equal(out, dump);
    assert.deepEqual(await new Store(fs, 'copy').listGroup(), new Map());
  });

  it('restores into another root and product: the store and the dump are the same', async () => {
    const root2 = join(dir, 'fs2');
    await adminOk(`--config-restore=${file}`, '--product=codis-copy', `--filesystem=${root2}`, '--confirm');
    const fs2 = new FsClient(root2);
    try {
      const [a, b] = [new Store(fs, 'codis-demo'), new Store(fs2, 'codis-copy')];
      assert.deepEqual(await b.slotMappings(), await a.slotMappings());
      assert.deepEqual(await b.listGroup(), await a.listGroup());
      assert.deepEqual(await b.listProxy(), await a.listProxy());
      assert.equal(await b.loadLock(), null, 'no lock is restored');
      assert.deepEqual(await b.loadSentinel(), { out_of_sync: false }, 'no sentinel is restored');
      // Node by node, the restored group and proxy files are the original bytes.
      const path = '/codis3/codis-copy/group/group-0001';
      assert.deepEqual(await fs2.read(path), await fs.read('/codis3/codis-demo/group/group-0001'));
    } finally {
      await fs2.close();
    }
    const again = await adminOk('--config-dump', '--product=codis-copy', `--filesystem=${root2}`);
    assert.equal(again, dump);
  });

  it('refuses to restore into a product that has groups or proxies', async () => {
    await adminOk(`--config-restore=${file}`, '--product=twice', FS, '--confirm');
    const r = await admin(`--config-restore=${file}`, '--product=twice', FS, '--confirm');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'codis-admin: product twice is not empty\n');
  });

  it('a product with neither groups nor proxies cannot be dumped', async () => {
    const r = await admin('--config-dump', '--product=nothing', FS);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, "codis-admin: can't find product = nothing [v3]\n");
  });

  it('checks the file: every rule of §8.3 gives a clear error and writes nothing', async () => {
    const base = JSON.parse(dump) as {
      slots: { id: number; group_id: number; action: Record<string, unknown> }[];
      group: { id: number; servers: { server: string }[]; promoting: Record<string, unknown> }[];
      proxy: { token: string }[];
    };
    const bad: [string, (c: typeof base) => void, RegExp][] = [
      ['duplicate proxy', (c) => c.proxy.push(c.proxy[0]!), /proxy-a{32} already exists/],
      ['group id 0', (c) => (c.group[0]!.id = 0), /invalid group id = 0/],
      ['group id 10000', (c) => (c.group[0]!.id = 10000), /invalid group id = 10000/],
      ['duplicate group', (c) => c.group.push(c.group[1]!), /group-0002 already exists/],
      [
        'promoting group',
        (c) => (c.group[0]!.promoting = { index: 1, state: 'prepared' }),
        /group-0001 is promoting/,
      ],
      [
        'duplicate server',
        (c) => (c.group[1]!.servers[0]!.server = '10.0.0.1:6379'),
        /server 10\.0\.0\.1:6379 already exists/,
      ],
      ['slot id 1024', (c) => (c.slots[5]!.id = 1024), /invalid slot id = 1024/],
      ['duplicate slot', (c) => (c.slots[5]!.id = 4), /slot-0004 already exists/],
      [
        'slot action',
        (c) => (c.slots[5]!.action = { index: 1, state: 'pending', target_id: 2 }),
        /slot-0005 action is not empty/,
      ],
      [
        'missing group',
        (c) => (c.slots[5]!.group_id = 7),
        /slot-0005 with group-0007 doesn't exist or empty/,
      ],
      ['empty group', (c) => (c.group[1]!.servers = []), /slot-0512 with group-0002 doesn't exist or empty/],
    ];
    for (const [what, edit, why] of bad) {
      const c = structuredClone(base);
      edit(c);
      const f = join(dir, 'bad.json');
      await writeFile(f, JSON.stringify(c));
      const r = await adminIn(`--config-restore=${f}`, '--product=bad', FS, '--confirm');
      assert.equal(r.code, 1, what);
      assert.match(lastLine(r.stderr), why, what);
    }
    await writeFile(join(dir, 'garbage.json'), '{"slots": 3}');
    const r = await admin(`--config-restore=${join(dir, 'garbage.json')}`, '--product=bad', FS);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /json unmarshal failed: config: slots must be an array/);
    assert.deepEqual(await fs.list('/codis3/bad'), []);
  });

  it('restores a dump written by Codis 3.2 byte for byte', async () => {
    // Codis's own text: Go MarshalIndent of ConfigV3 (a few slots are enough for a restore).
    const codis =
      '{\n    "slots": [\n        {\n            "id": 0,\n            "group_id": 1,\n            "action": {}\n        },\n' +
      '        {\n            "id": 1,\n            "group_id": 0,\n            "action": {}\n        }\n    ],\n' +
      '    "group": [\n        {\n            "id": 1,\n            "servers": [\n                {\n' +
      '                    "server": "10.1.1.1:6379",\n                    "datacenter": "",\n' +
      '                    "action": {},\n                    "replica_group": false\n                }\n            ],\n' +
      '            "promoting": {},\n            "out_of_sync": false\n        }\n    ],\n' +
      '    "proxy": [\n        {\n            "id": 1,\n            "token": "f4b8e7f1e0c8d3b2a1f4b8e7f1e0c8d3",\n' +
      '            "start_time": "2018-11-04 10:00:00.123456789 +0800 CST",\n            "admin_addr": "10.1.1.2:11080",\n' +
      '            "proto_type": "tcp4",\n            "proxy_addr": "10.1.1.2:19000",\n' +
      '            "jodis_path": "/jodis/codis-go/proxy-f4b8e7f1e0c8d3b2a1f4b8e7f1e0c8d3",\n' +
      '            "product_name": "codis-go",\n            "pid": 1234,\n            "pwd": "/home/codis",\n' +
      '            "sys": "Linux codis 4.9.0 #1 SMP x86_64 GNU/Linux",\n            "hostname": "codis",\n' +
      '            "datacenter": ""\n        }\n    ]\n}\n';
    const f = join(dir, 'codis-go.json');
    await writeFile(f, codis);
    assert.equal(await adminOk(`--config-restore=${f}`, '--product=codis-go', FS), codis);
    await adminOk(`--config-restore=${f}`, '--product=codis-go', FS, '--confirm');
    const back = JSON.parse(await adminOk('--config-dump', '--product=codis-go', FS)) as Record<
      string,
      unknown[]
    >;
    const orig = JSON.parse(codis) as Record<string, unknown[]>;
    assert.deepEqual(back.slots!.slice(0, 2), orig.slots);
    assert.deepEqual(back.group, orig.group);
    assert.deepEqual(back.proxy, orig.proxy);
    const node = await fs.read('/codis3/codis-go/proxy/proxy-f4b8e7f1e0c8d3b2a1f4b8e7f1e0c8d3');
    assert.equal(`${node}\n`, `${JSON.stringify(orig.proxy![0], null, 4)}\n`);
  });
});

describe('Codis 2: --config-dump -1 and --config-convert', () => {
  it('dumps the old tree, converts it, and the result restores', async () => {
    const v2 = '/zk/codis/db_old';
    const put = (path: string, v: unknown) => fs.update(`${v2}/${path}`, Buffer.from(JSON.stringify(v)));
    const slot = (id: number, gid: number, status: string) => ({
      product_name: 'old',
      id,
      group_id: gid,
      state: { status, migrate_status: { from: -1, to: -1 }, last_op_ts: '0' },
    });
    for (let id = 0; id < 4; id++) await put(`slots/slot_${id}`, slot(id, id < 2 ? 1 : 2, 'online'));
    await put('slots/slot_4', slot(4, 2, 'offline'));
    await put('servers/group_1/10.2.0.2:6379', { type: 'slave', group_id: 1, addr: '10.2.0.2:6379' });
    await put('servers/group_1/10.2.0.1:6379', { type: 'master', group_id: 1, addr: '10.2.0.1:6379' });
    await put('servers/group_2/10.2.0.3:6379', { type: 'master', group_id: 2, addr: '10.2.0.3:6379' });
    await fs.update(`${v2}/LOCK`, Buffer.alloc(0));

    const dumped = JSON.parse(await adminOk('--config-dump', '--product=old', FS, '-1')) as Record<
      string,
      unknown
    >;
    assert.deepEqual(Object.keys(dumped).sort(), ['LOCK', 'servers', 'slots']);
    assert.equal(dumped.LOCK, null);
    assert.deepEqual((dumped.slots as Record<string, unknown>).slot_4, slot(4, 2, 'offline'));

    const f1 = join(dir, 'v1.json');
    await writeFile(f1, JSON.stringify(dumped));
    const converted = await adminOk(`--config-convert=${f1}`);
    const g = (addr: string) => ({ server: addr, datacenter: '', action: {}, replica_group: false });
    const expected = {
      slots: [0, 1, 2, 3].map((id) => ({ id, group_id: id < 2 ? 1 : 2, action: {} })),
      group: [
        { id: 1, servers: [g('10.2.0.1:6379'), g('10.2.0.2:6379')], promoting: {}, out_of_sync: false },
        { id: 2, servers: [g('10.2.0.3:6379')], promoting: {}, out_of_sync: false },
      ],
    };
    assert.equal(converted, `${encodeConfigV3(expected as never).toString()}\n`);
    assert.deepEqual(JSON.parse(converted), expected);

    const f3 = join(dir, 'v3.json');
    await writeFile(f3, converted);
    await adminOk(`--config-restore=${f3}`, '--product=old', FS, '--confirm');
    const store = new Store(fs, 'old');
    assert.equal((await store.loadSlotMapping(3)).group_id, 2);
    assert.equal((await store.loadSlotMapping(4)).group_id, 0);
    assert.equal((await store.loadGroup(1))!.servers[0]!.server, '10.2.0.1:6379');
  });

  it('refuses a slot that is migrating, and a missing v1 product', async () => {
    const f = join(dir, 'migrating.json');
    await writeFile(
      f,
      JSON.stringify({ slots: { slot_9: { id: 9, group_id: 1, state: { status: 'migrate' } } } }),
    );
    const r = await admin(`--config-convert=${f}`);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'codis-admin: slot-0009: invalid slot status = "migrate"\n');
    const none = await admin('--config-dump', '--product=never', FS, '-1');
    assert.equal(none.code, 1);
    assert.equal(none.stderr, "codis-admin: can't find product = never [v1]\n");
  });
});

describe('--remove-lock and --dashboard-list', () => {
  it('lists every product with its dashboard, and --remove-lock removes a stale lock', async () => {
    const list = JSON.parse(await adminOk('--dashboard-list', FS)) as { name: string; dashboard: string }[];
    const demo = list.find((p) => p.name === 'codis-demo');
    assert.deepEqual(demo, { name: 'codis-demo', dashboard: '10.0.0.8:18080' });
    assert.ok(list.every((p) => p.name === 'codis-demo' || p.dashboard === ''));
    assert.deepEqual(
      list.map((p) => p.name),
      list.map((p) => p.name).sort(),
    );

    assert.equal(await adminOk('--remove-lock', '--product=codis-demo', FS), '');
    assert.equal(await fs.read('/codis3/codis-demo/topom'), null);
    const after = JSON.parse(await adminOk('--dashboard-list', FS)) as { name: string; dashboard: string }[];
    assert.deepEqual(
      after.find((p) => p.name === 'codis-demo'),
      { name: 'codis-demo', dashboard: '' },
    );
    // Idempotent, and the rest of the product is untouched.
    assert.equal(await adminOk('--remove-lock', '--product=codis-demo', FS), '');
    assert.equal((await new Store(fs, 'codis-demo').listGroup()).size, 2);
    // A dashboard can take the product again.
    await new Store(fs, 'codis-demo').acquireLock(topom('10.0.0.8:18080', 'codis-demo'));
  });

  it('an empty coordinator lists nothing', async () => {
    const empty = join(dir, 'empty');
    await new FsClient(empty).update('/x', Buffer.alloc(0));
    assert.equal(await adminOk('--dashboard-list', `--filesystem=${empty}`), '[]\n');
  });

  it('bad product names and missing roots are errors', async () => {
    const r = await admin('--remove-lock', '--product=bad/name', FS);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'codis-admin: bad product name = bad/name\n');
    const m = await admin('--dashboard-list', `--filesystem=${join(dir, 'nope')}`);
    assert.equal(m.code, 1);
    assert.match(m.stderr, /filesystem root .*nope does not exist/);
  });
});

describe('other coordinators', () => {
  it(
    'etcd: restore a dump, dump it back, list and unlock',
    { skip: !existsSync('/usr/bin/etcd') && 'no etcd' },
    async () => {
      const etcd = await EtcdCluster.start(1);
      try {
        const E = `--etcd=${etcd.addr}`;
        const file = join(dir, 'for-etcd.json');
        const dump = await adminOk('--config-dump', '--product=codis-demo', FS);
        await writeFile(file, dump);
        await adminOk(`--config-restore=${file}`, '--product=codis-demo', E, '--confirm');
        assert.equal(await adminOk('--config-dump', '--product=codis-demo', E), dump);
        assert.equal(
          await adminOk('--dashboard-list', E),
          '[\n    {\n        "name": "codis-demo",\n        "dashboard": ""\n    }\n]\n',
        );
        assert.equal(await adminOk('--remove-lock', '--product=codis-demo', E), '');
      } finally {
        await etcd.stop();
      }
    },
  );

  it(
    'zookeeper: restore a dump and dump it back',
    { skip: !existsSync('/usr/share/java/zookeeper.jar') && 'no zookeeper' },
    async () => {
      const zk = await ZooKeeperServer.start();
      try {
        const Z = `--zookeeper=${zk.addr}`;
        const file = join(dir, 'for-zk.json');
        const dump = await adminOk('--config-dump', '--product=codis-demo', FS);
        await writeFile(file, dump);
        await adminOk(`--config-restore=${file}`, '--product=codis-demo', Z, '--confirm');
        assert.equal(await adminOk('--config-dump', '--product=codis-demo', Z), dump);
        assert.match(await adminOk('--dashboard-list', Z), /"name": "codis-demo"/);
      } finally {
        await zk.stop();
      }
    },
  );
});
