// coordinator_auth "user:password": etcd users (auth enabled on a fresh member) and ZooKeeper digest ACLs.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { CoordinatorError, newClient } from '../../src/coordinator/index.js';
import { EtcdCluster } from '../helpers/etcd.js';
import { ZooKeeperServer } from '../helpers/zookeeper.js';

const failsWith = (kind: string) => (err: unknown) => err instanceof CoordinatorError && err.kind === kind;

describe('etcd auth', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await EtcdCluster.start(1);
    const ctl = (...args: string[]) =>
      execFileSync('/usr/bin/etcdctl', ['--endpoints', cluster.addr, ...args], { stdio: 'pipe' });
    ctl('user', 'add', 'root:rootpw', '--interactive=false');
    ctl('user', 'add', 'codis:secret', '--interactive=false');
    ctl('role', 'add', 'codis');
    ctl('role', 'grant-permission', 'codis', '--prefix=true', 'readwrite', '/codis3/');
    ctl('user', 'grant-role', 'codis', 'codis');
    ctl('auth', 'enable');
  });
  after(() => cluster?.stop());

  it('works with the right user, fails with a wrong password or none', async () => {
    const good = newClient('etcd', cluster.addr, 'codis:secret', 2000);
    await good.update('/codis3/demo/topom', Buffer.from('{}'));
    assert.equal((await good.read('/codis3/demo/topom'))?.toString(), '{}');
    await assert.rejects(good.update('/elsewhere', Buffer.from('x')), failsWith('failed')); // no permission
    await good.close();
    for (const auth of ['codis:wrong', '']) {
      const bad = newClient('etcd', cluster.addr, auth, 2000);
      await assert.rejects(bad.read('/codis3/demo/topom'), failsWith('failed'), `auth "${auth}"`);
      await bad.close();
    }
  });
});

describe('zookeeper digest auth', () => {
  let server: ZooKeeperServer;
  before(async () => (server = await ZooKeeperServer.start()));
  after(() => server?.stop());

  it('nodes are readable and writable by their user only', async () => {
    const owner = newClient('zk', server.addr, 'codis:secret', 2000);
    await owner.create('/codis3/demo/topom', Buffer.from('lock'));
    const same = newClient('zk', server.addr, 'codis:secret', 2000);
    assert.equal((await same.read('/codis3/demo/topom'))?.toString(), 'lock');
    for (const auth of ['', 'codis:wrong']) {
      const stranger = newClient('zk', server.addr, auth, 2000);
      await assert.rejects(stranger.read('/codis3/demo/topom'), /NO_AUTH/);
      await assert.rejects(stranger.delete('/codis3/demo/topom'), /NO_AUTH/);
      await stranger.close();
    }
    await same.delete('/codis3');
    assert.deepEqual(await owner.list('/codis3'), []);
    await Promise.all([owner.close(), same.close()]);
  });
});
