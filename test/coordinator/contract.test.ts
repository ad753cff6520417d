// One contract suite, run against every coordinator: fs, etcd (one member, and a 3-member cluster
// with one member killed), and ZooKeeper. Each test works under its own top-level path.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { CoordinatorError, newClient, type Client, type ErrorKind } from '../../src/coordinator/index.js';
import { EtcdCluster, kill, TcpRelay } from '../helpers/etcd.js';
import { ZooKeeperServer } from '../helpers/zookeeper.js';

interface Backend {
  name: 'fs' | 'etcd' | 'zk';
  addr: string;
  timeoutMs: number;
  /** The server's port, for clients cut off through a TcpRelay (etcd, zk: they have leases/sessions). */
  relayTo?: number;
}

const b = (s: string) => Buffer.from(s);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function rejectsWith(
  p: Promise<unknown>,
  kind: ErrorKind,
  path: string,
  coordinator: string,
): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof CoordinatorError, String(err));
    assert.equal(err.kind, kind, err.message);
    assert.ok(err.message.includes(path) && err.message.startsWith(`${coordinator}: `), err.message);
    return true;
  });
}

/** Polls until check() returns true (bounded); an error counts as not yet. */
async function eventually(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 15000,
): Promise<number> {
  const start = Date.now();
  let lastError: unknown;
  const attempt = async () => {
    try {
      return await check();
    } catch (err) {
      lastError = err; // e.g. a reconnect in progress: not yet
      return false;
    }
  };
  while (!(await attempt())) {
    if (Date.now() - start > timeoutMs) assert.fail(`timed out waiting for ${what} (${String(lastError)})`);
    await sleep(50);
  }
  return Date.now() - start;
}

/** Collects watch callbacks; waits until the latest one matches (changes may be coalesced). */
class Recorder<T> {
  readonly seen: T[] = [];
  readonly push = (v: T) => void this.seen.push(v);
  /** Resolves with the milliseconds it waited. */
  async waitLast(expected: T, what: string): Promise<number> {
    return await eventually(
      what,
      () => this.seen.length > 0 && isDeepStrictEqual(this.seen.at(-1), expected),
      10000,
    );
  }
}

/** Spawns a separate node process that owns an ephemeral node, so that it can be SIGKILLed. */
async function spawnOwner(backend: Backend, path: string) {
  const index = new URL('../../src/coordinator/index.js', import.meta.url).href;
  const script = `
    import { newClient } from ${JSON.stringify(index)};
    const [name, addr, path, timeout] = process.argv.slice(1);
    const c = newClient(name, addr, '', Number(timeout));
    await c.createEphemeral(path, Buffer.from('owner'));
    process.stdout.write('ready\\n');
    setInterval(() => {}, 1000);`;
  const args = ['--input-type=module', '-e', script, backend.name, backend.addr, path, '2000'];
  const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    proc.once('exit', (code) => reject(new Error(`owner exited with ${code}`)));
  });
  return proc;
}

function contract(title: string, setup: () => Promise<{ backend: Backend; teardown: () => Promise<void> }>) {
  describe(title, () => {
    let backend: Backend;
    let teardown: () => Promise<void>;
    let c: Client;
    let other: Client; // a second, independent client (another dashboard or proxy)
    let coordinator: string;
    let n = 0;
    const open = () => newClient(backend.name, backend.addr, '', backend.timeoutMs);
    const base = () => `/t${++n}-${process.pid}`;

    before(async () => {
      ({ backend, teardown } = await setup());
      c = open();
      other = open();
      coordinator = c.name;
    });
    after(async () => {
      await c?.close();
      await other?.close();
      await teardown?.();
    });

    it('create fails when the node exists, naming the path and coordinator', async () => {
      const p = `${base()}/codis3/demo/topom`;
      await c.create(p, b('one'));
      await rejectsWith(other.create(p, b('two')), 'exists', p, coordinator);
      assert.equal((await c.read(p))?.toString(), 'one');
    });

    it('lets exactly one of two racing creators win', async () => {
      const p = `${base()}/lock`;
      const results = await Promise.allSettled([c.create(p, b('c')), other.create(p, b('o'))]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
      const winner = results[0].status === 'fulfilled' ? 'c' : 'o';
      assert.equal((await c.read(p))?.toString(), winner);
    });

    it('update creates and replaces; read of a missing node is null or an error', async () => {
      const p = `${base()}/a/b`;
      assert.equal(await c.read(p), null);
      await rejectsWith(c.read(p, true), 'missing', p, coordinator);
      await c.update(p, b('v1'));
      assert.equal((await other.read(p, true))?.toString(), 'v1');
      await c.update(p, b('v2'));
      assert.equal((await other.read(p))?.toString(), 'v2');
      await c.update(p, Buffer.alloc(0));
      assert.equal((await c.read(p))?.length, 0);
    });

    it('lists direct children sorted, as full paths; a node holds data and children', async () => {
      const root = base();
      for (const name of ['slot-0002', 'slot-0000', 'slot-0010', 'slot-0001'])
        await c.update(`${root}/s/${name}`, b(name));
      await c.update(`${root}/s/slot-0000/deeper/x`, b('x'));
      await c.update(`${root}/s`, b('parent data'));
      const expected = ['slot-0000', 'slot-0001', 'slot-0002', 'slot-0010'].map((x) => `${root}/s/${x}`);
      assert.deepEqual(await other.list(`${root}/s`), expected);
      assert.deepEqual(await other.list(`${root}/s`, true), expected);
      assert.equal((await c.read(`${root}/s`))?.toString(), 'parent data');
      assert.equal((await c.read(`${root}/s/slot-0000`))?.toString(), 'slot-0000');
      assert.deepEqual(await c.list(root), [`${root}/s`]);
      assert.ok((await c.list('/')).includes(root));
      assert.deepEqual(await c.list(`${root}/nothing`), []);
      await rejectsWith(c.list(`${root}/nothing`, true), 'missing', `${root}/nothing`, coordinator);
    });

    it('deletes recursively; deleting a missing node is fine', async () => {
      const root = base();
      await c.update(`${root}/g`, b('g'));
      await c.update(`${root}/g/group-0001`, b('1'));
      await c.update(`${root}/g/group-0001/x/y`, b('y'));
      await c.update(`${root}/keep`, b('k'));
      await c.delete(`${root}/g`);
      assert.equal(await other.read(`${root}/g`), null);
      assert.equal(await other.read(`${root}/g/group-0001/x/y`), null);
      assert.deepEqual(await other.list(root), [`${root}/keep`]);
      await c.delete(`${root}/g`);
      await c.delete(`${root}/never/was`);
      await c.create(`${root}/g`, b('again')); // nothing left behind that blocks a create
    });

    it('rejects bad paths', async () => {
      for (const p of ['relative', '/a//b', '/a/', '/a/../b'])
        await rejectsWith(c.read(p), 'invalid', p, coordinator);
      await rejectsWith(c.create('/', b('')), 'invalid', '/', coordinator);
    });

    it('ephemeral: visible to others, exclusive, removed on close and on client close', async () => {
      const root = base();
      const e = await c.createEphemeral(`${root}/jodis/proxy-1`, b('{"addr":"x"}'));
      assert.equal(e.path, `${root}/jodis/proxy-1`);
      assert.equal((await other.read(e.path))?.toString(), '{"addr":"x"}');
      await rejectsWith(other.createEphemeral(e.path, b('no')), 'exists', e.path, coordinator);
      await e.close();
      assert.equal(await e.lost, null);
      assert.equal(await other.read(e.path), null);

      const owner = open();
      await owner.createEphemeral(`${root}/jodis/proxy-2`, b('2'));
      assert.deepEqual(await other.list(`${root}/jodis`), [`${root}/jodis/proxy-2`]);
      await owner.close();
      await eventually(
        'ephemeral removal after close',
        async () => (await other.read(`${root}/jodis/proxy-2`)) === null,
      );
    });

    it('ephemeral: lost fires when someone else deletes the node', async () => {
      const e = await c.createEphemeral(`${base()}/e`, b('mine'));
      await other.delete(e.path);
      const why = await e.lost;
      assert.ok(why instanceof Error && why.message.includes(e.path), String(why));
      await e.close();
    });

    it('sequential ephemerals get increasing 10-digit numbers', async () => {
      const root = base();
      const made = [];
      for (let i = 0; i < 3; i++)
        made.push(await (i % 2 ? other : c).createEphemeralInOrder(`${root}/q/p-`, b(`${i}`)));
      const paths = made.map((e) => e.path);
      for (const p of paths) assert.match(p, new RegExp(`^${root}/q/p-\\d{10}$`));
      assert.deepEqual([...paths].sort(), paths);
      assert.equal(new Set(paths).size, 3);
      assert.deepEqual(await c.list(`${root}/q`), paths);
      await made[1].close();
      assert.deepEqual(await c.list(`${root}/q`), [paths[0], paths[2]]);
      const next = await c.createEphemeralInOrder(`${root}/q/p-`, b('3'));
      assert.ok(next.path > paths[2]);
      await Promise.all([made[0].close(), made[2].close(), next.close()]);
    });

    it('watchChildren reports the list now and after each change, until unsubscribed', async () => {
      const root = base();
      const rec = new Recorder<string[]>();
      const unsubscribe = await c.watchChildren(`${root}/proxy`, rec.push);
      assert.deepEqual(rec.seen, [[]]);
      await other.update(`${root}/proxy/proxy-b`, b('b'));
      await rec.waitLast([`${root}/proxy/proxy-b`], 'first child');
      const e = await other.createEphemeral(`${root}/proxy/proxy-a`, b('a'));
      await rec.waitLast([`${root}/proxy/proxy-a`, `${root}/proxy/proxy-b`], 'second child');
      await e.close();
      await rec.waitLast([`${root}/proxy/proxy-b`], 'ephemeral child closed');
      await other.update(`${root}/proxy/proxy-b/deeper`, b('grandchild')); // not a change of the children
      await other.delete(`${root}/proxy`);
      await rec.waitLast([], 'all removed');
      for (let i = 1; i < rec.seen.length; i++) assert.notDeepEqual(rec.seen[i], rec.seen[i - 1]);
      await unsubscribe();
      const count = rec.seen.length;
      await other.update(`${root}/proxy/proxy-c`, b('c'));
      await sleep(300);
      assert.equal(rec.seen.length, count);
    });

    it('watchNode reports data, changes and deletion', async () => {
      const p = `${base()}/sentinel`;
      const rec = new Recorder<string | null>();
      const unsubscribe = await c.watchNode(p, (d) => rec.push(d === null ? null : d.toString()));
      assert.deepEqual(rec.seen, [null]);
      await other.create(p, b('v1'));
      await rec.waitLast('v1', 'created');
      await other.update(p, b('v2'));
      await rec.waitLast('v2', 'updated');
      await other.delete(p);
      await rec.waitLast(null, 'deleted');
      await other.create(p, b('v3'));
      await rec.waitLast('v3', 're-created');
      await unsubscribe();
    });

    it('ephemeral of a killed owner process: removed by etcd/zk, left behind by fs', async () => {
      const p = `${base()}/jodis/proxy-dead`;
      const exists = new Recorder<boolean>();
      const owner = await spawnOwner(backend, p);
      const unsubscribe = await c.watchNode(p, (d) => exists.push(d !== null));
      assert.equal((await c.read(p))?.toString(), 'owner');
      await kill(owner);
      if (backend.name === 'fs') {
        await sleep(300); // fs cannot notice a dead owner (documented limitation)
        assert.equal((await c.read(p))?.toString(), 'owner');
      } else {
        const ms = await eventually('lease expiry / session end', async () => (await c.read(p)) === null);
        await exists.waitLast(false, 'watch saw the removal');
        assert.ok(ms < 10000, `took ${ms} ms`);
      }
      await unsubscribe();
    });

    it('client cut off past the TTL/session: ephemeral lost, then the client recovers', async (t) => {
      if (!backend.relayTo) return t.skip('no lease or session to lose');
      const relay = await TcpRelay.start(backend.relayTo);
      const cut = newClient(backend.name, `127.0.0.1:${relay.port}`, '', backend.timeoutMs);
      try {
        const root = base();
        const e = await cut.createEphemeral(`${root}/proxy-1`, b('1'));
        const rec = new Recorder<string[]>();
        const unsubscribe = await cut.watchChildren(root, rec.push);
        relay.partition();
        await eventually('expired node removed', async () => (await other.read(e.path)) === null);
        const why = await Promise.race([e.lost, sleep(15000).then(() => 'not lost')]);
        assert.ok(why instanceof Error && why.message.includes(e.path), String(why));
        relay.heal();
        const caughtUp = await rec.waitLast([], 'watch saw the removal after the partition');
        // Retries stay a couple of seconds apart however long the outage was (etcd's library
        // default backs off up to 30 s): a proxy must not stay blind that long.
        assert.ok(caughtUp < 5000, `the watch caught up ${caughtUp} ms after the network came back`);
        const again = await cut.createEphemeral(e.path, b('2')); // on a new lease / session
        await rec.waitLast([e.path], 'watch still works');
        assert.equal((await other.read(e.path))?.toString(), '2');
        await again.close();
        await unsubscribe();
      } finally {
        await cut.close();
        await relay.close();
      }
    });

    it('refuses work after close', async () => {
      const closing = open();
      await closing.close();
      await closing.close();
      await rejectsWith(closing.read('/x'), 'closed', '/x', coordinator);
    });
  });
}

contract('fs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'codis-fs-'));
  return {
    backend: { name: 'fs', addr: dir, timeoutMs: 2000 },
    teardown: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

contract('etcd (single member)', async () => {
  const cluster = await EtcdCluster.start(1);
  const relayTo = Number(new URL(cluster.endpoints[0]).port);
  return {
    backend: { name: 'etcd', addr: cluster.addr, timeoutMs: 2000, relayTo },
    teardown: () => cluster.stop(),
  };
});

contract('etcd (3 members, one killed)', async () => {
  const cluster = await EtcdCluster.start(3);
  await cluster.stopMember(0);
  await cluster.waitHealthy();
  // host:port without http://, as in a Codis config; the dead member stays in the list.
  const addr = cluster.endpoints.map((u) => u.replace('http://', '')).join(',');
  return { backend: { name: 'etcd', addr, timeoutMs: 2000 }, teardown: () => cluster.stop() };
});

contract('zookeeper', async () => {
  const server = await ZooKeeperServer.start();
  return {
    backend: { name: 'zk', addr: server.addr, timeoutMs: 2000, relayTo: server.port },
    teardown: () => server.stop(),
  };
});

describe('newClient', () => {
  it('rejects unknown names and bad auth', () => {
    assert.throws(() => newClient('consul', 'x'), { message: 'invalid coordinator name = consul' });
    assert.throws(() => newClient('etcd', '127.0.0.1:1', ':pw'), /invalid auth/);
    assert.throws(() => newClient('fs', ''), /empty root/);
  });
});
