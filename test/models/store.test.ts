// Store over the fs coordinator in a temp dir: paths, typed load/save, the lock.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CoordinatorError, FsClient } from '../../src/coordinator/index.js';
import { newGroup, newGroupServer } from '../../src/models/Group.js';
import type { ProxyModel } from '../../src/models/Proxy.js';
import { newSlotMapping } from '../../src/models/SlotMapping.js';
import {
  encodeGroup,
  groupPath,
  jodisPath,
  listProducts,
  lockPath,
  proxyPath,
  sentinelPath,
  slotPath,
  Store,
} from '../../src/models/Store.js';
import type { Topom } from '../../src/models/Topom.js';

const topom = (token: string): Topom => ({
  token,
  start_time: '2026-01-01 00:00:00',
  admin_addr: '127.0.0.1:18080',
  product_name: 'codis-demo',
  pid: process.pid,
  pwd: '/',
  sys: 'Linux',
});

const proxy = (token: string, id: number): ProxyModel => ({
  id,
  token,
  start_time: 'now',
  admin_addr: '127.0.0.1:11080',
  proto_type: 'tcp4',
  proxy_addr: '127.0.0.1:19000',
  product_name: 'codis-demo',
  pid: 1,
  pwd: '/',
  sys: 'Linux',
  hostname: 'h',
  datacenter: '',
});

describe('store paths (§4.12)', () => {
  it('match Codis exactly', () => {
    assert.equal(lockPath('codis-demo'), '/codis3/codis-demo/topom');
    assert.equal(slotPath('codis-demo', 7), '/codis3/codis-demo/slots/slot-0007');
    assert.equal(slotPath('codis-demo', 1023), '/codis3/codis-demo/slots/slot-1023');
    assert.equal(groupPath('codis-demo', 12), '/codis3/codis-demo/group/group-0012');
    assert.equal(proxyPath('codis-demo', 'abc'), '/codis3/codis-demo/proxy/proxy-abc');
    assert.equal(sentinelPath('codis-demo'), '/codis3/codis-demo/sentinel');
    assert.equal(jodisPath('codis-demo', 'abc'), '/jodis/codis-demo/proxy-abc');
    assert.equal(jodisPath('codis-demo', 'abc', true), '/zk/codis/db_codis-demo/proxy/abc');
  });

  it('reject bad product names', () => {
    const client = new FsClient('/nonexistent');
    for (const bad of ['', '-x', 'a b', 'a/b', '.x'])
      assert.throws(() => new Store(client, bad), { message: `bad product name = ${bad}` });
    for (const good of ['codis-demo', 'a', 'x.y_z-1']) new Store(client, good);
  });
});

describe('Store over fs', () => {
  let root: string;
  let a: Store;
  let b: Store;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'codis-store-'));
    a = new Store(new FsClient(root), 'codis-demo');
    b = new Store(new FsClient(root), 'codis-demo'); // a second dashboard on the same store
  });
  after(async () => {
    await a.close();
    await b.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('lock: one owner at a time, readable, released', async () => {
    assert.equal(await a.loadLock(), null);
    await a.acquireLock(topom('first'));
    await assert.rejects(b.acquireLock(topom('second')), (err: Error) => {
      assert.equal(err.message, 'store: acquire lock of codis-demo failed');
      assert.ok(err.cause instanceof CoordinatorError && err.cause.kind === 'exists');
      return true;
    });
    assert.equal((await b.loadLock(true))?.token, 'first');
    await a.releaseLock();
    await b.acquireLock(topom('second'));
    assert.equal((await a.loadLock())?.token, 'second');
    await b.releaseLock();
  });

  it('writes 4-space indented Codis JSON at the Codis path', async () => {
    const g = newGroup(1);
    g.servers.push(newGroupServer('127.0.0.1:6379'));
    await a.updateGroup(g);
    const file = join(root, 'codis3', 'codis-demo', 'group', 'group-0001', '.data');
    assert.equal(readFileSync(file, 'utf8'), encodeGroup(g).toString());
    assert.match(readFileSync(file, 'utf8'), /^\{\n {4}"id": 1,\n {4}"servers": \[\n {8}\{\n {12}"server"/);
    assert.deepEqual(await b.loadGroup(1, true), g);
  });

  it('slots: 1024, missing ones offline', async () => {
    const m = newSlotMapping(5, 1);
    m.action = { index: 1, state: 'pending', target_id: 2 };
    await a.updateSlotMapping(m);
    const all = await b.slotMappings();
    assert.equal(all.length, 1024);
    assert.deepEqual(all[5], m);
    assert.deepEqual(all[6], newSlotMapping(6));
    assert.deepEqual(all.map((s) => s.id).slice(0, 3), [0, 1, 2]);
    assert.deepEqual(await b.loadSlotMapping(1023), newSlotMapping(1023));
    await assert.rejects(b.loadSlotMapping(1024), /invalid slot id = 1024/);
  });

  it('groups and proxies are keyed by the id/token in their JSON', async () => {
    await a.updateGroup(newGroup(3));
    // A node whose name disagrees with its content: Codis keys by content.
    await a.client.update(groupPath('codis-demo', 40), encodeGroup(newGroup(4)));
    assert.deepEqual([...(await b.listGroup()).keys()].sort(), [1, 3, 4]);
    await a.deleteGroup(3);
    assert.equal(await b.loadGroup(3), null);

    await a.updateProxy(proxy('t1', 1));
    await a.updateProxy(proxy('t2', 2));
    const proxies = await b.listProxy();
    assert.deepEqual([...proxies.keys()].sort(), ['t1', 't2']);
    assert.deepEqual(proxies.get('t2'), proxy('t2', 2));
    await a.deleteProxy('t1');
    assert.equal(await b.loadProxy('t1'), null);
    await assert.rejects(
      b.loadProxy('t1', true),
      (err: unknown) => err instanceof CoordinatorError && err.kind === 'missing',
    );
  });

  it('sentinel: missing reads as not out of sync', async () => {
    assert.deepEqual(await a.loadSentinel(), { out_of_sync: false });
    await a.updateSentinel({ servers: ['127.0.0.1:26379'], out_of_sync: true });
    assert.deepEqual(await b.loadSentinel(true), { servers: ['127.0.0.1:26379'], out_of_sync: true });
  });

  it('bad stored JSON names the path', async () => {
    await a.client.update(groupPath('codis-demo', 9), Buffer.from('{"id": "nine"}'));
    await assert.rejects(
      b.loadGroup(9),
      /store: bad JSON at \/codis3\/codis-demo\/group\/group-0009: group\.id/,
    );
    await a.deleteGroup(9);
  });

  it('lists products', async () => {
    const other = new Store(a.client, 'zeta');
    await other.acquireLock(topom('z'));
    assert.deepEqual(await a.listProducts(), ['codis-demo', 'zeta']);
    assert.deepEqual(await listProducts(b.client), ['codis-demo', 'zeta']);
  });
});
