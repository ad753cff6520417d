import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ZooKeeperServer } from '../helpers/zookeeper.js';
import { startProxy, type ProxyProcess } from '../helpers/proxy.js';
import { startRedis, type RedisServer } from '../helpers/redis.js';
import { newClient } from '../../src/coordinator/index.js';
import type { Client } from '../../src/coordinator/Client.js';

let zk: ZooKeeperServer;
let redis: RedisServer;
let client: Client;

before(async () => {
  [zk, redis] = await Promise.all([ZooKeeperServer.start(), startRedis()]);
  client = newClient('zookeeper', zk.addr, undefined, 4000);
});
after(async () => {
  await client?.close();
  await Promise.all([zk?.stop(), redis?.stop()]);
});

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 15_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function jodisNode(): Promise<{ path: string; data: Record<string, string> } | undefined> {
  const children = await client.list('/jodis/test');
  if (children.length === 0) return undefined;
  const data = await client.read(children[0]!);
  return data ? { path: children[0]!, data: JSON.parse(data.toString()) } : undefined;
}

function jodisProxy(args: string[] = []): Promise<ProxyProcess> {
  return startProxy({
    backends: [redis.addr],
    config: { jodis_name: 'zookeeper', jodis_addr: zk.addr, jodis_timeout: '2s' },
    args,
  });
}

test('an online proxy registers in Jodis and removes itself on a clean stop', async () => {
  const proxy = await jodisProxy();
  const node = await waitFor('the jodis node', jodisNode);
  const model = (await (await fetch(`http://${proxy.admin}/api/proxy/model`)).json()) as Record<
    string,
    string
  >;
  assert.equal(node.path, `/jodis/test/proxy-${model.token}`);
  assert.deepEqual(node.data, {
    addr: model.proxy_addr,
    admin: model.admin_addr,
    start: model.start_time,
    state: 'online',
    token: model.token,
  });
  assert.equal(model.jodis_path, node.path);
  await proxy.stop();
  assert.deepEqual(await client.list('/jodis/test'), []);
});

test('a proxy that dies disappears from Jodis when its session expires', async () => {
  const proxy = await jodisProxy();
  await waitFor('the jodis node', jodisNode);
  await proxy.kill();
  await waitFor('the node to expire', async () =>
    (await client.list('/jodis/test')).length === 0 ? true : undefined,
  );
});

test('a proxy of several workers is registered once, by its primary', async () => {
  const proxy = await jodisProxy(['--ncpu', '2']);
  const node = await waitFor('the jodis node', jodisNode);
  const model = (await (await fetch(`http://${proxy.admin}/api/proxy/model`)).json()) as Record<
    string,
    string
  >;
  assert.deepEqual(await client.list('/jodis/test'), [node.path]);
  assert.equal(model.jodis_path, node.path);
  assert.equal(node.data.admin, model.admin_addr);
  assert.equal(node.data.addr, model.proxy_addr);
  // The address Jodis gives out serves clients.
  const c = await proxy.connect();
  assert.equal(await c.call('SET', 'jodis:k', 'v'), 'OK');
  c.close();
  await proxy.stop();
  assert.deepEqual(await client.list('/jodis/test'), []);
  assert.doesNotMatch(proxy.logs(), /jodis: register .* failed/);
});

test(
  'a proxy stopped while ZooKeeper is down exits in seconds, not after its jodis_timeout',
  { timeout: 20_000 },
  async () => {
    const own = await ZooKeeperServer.start();
    const watcher = newClient('zookeeper', own.addr, undefined, 4000);
    const proxy = await startProxy({
      backends: [redis.addr],
      config: { jodis_name: 'zookeeper', jodis_addr: own.addr, jodis_timeout: '30s' },
    });
    try {
      await waitFor('the jodis node', async () =>
        (await watcher.list('/jodis/test')).length > 0 ? true : undefined,
      );
      await watcher.close();
      await own.stop();
      await proxy.stop();
      assert.equal(proxy.child.exitCode, 0);
      assert.match(
        proxy.logs(),
        /jodis: remove \/jodis\/test\/proxy-\w+ failed \(.+\); it goes when its session expires/,
      );
    } finally {
      await proxy.kill();
      await watcher.close();
      await own.stop();
    }
  },
);
