// Coordinator factory (Codis `models.NewClient`).

import type { Client } from './Client.js';
import { EtcdClient } from './EtcdClient.js';
import { FsClient } from './FsClient.js';
import { ZkClient } from './ZkClient.js';

export * from './Client.js';
export { EtcdClient, etcdHosts } from './EtcdClient.js';
export { FsClient, type FsClientOptions } from './FsClient.js';
export { ZkClient } from './ZkClient.js';

/**
 * `addr`: the root folder for fs; comma-separated host:port (or http:// urls for etcd) otherwise.
 * `auth`: "user:password" (etcd, zookeeper). `timeoutMs` ≤ 0 means 5 s: per-call deadline, ZooKeeper
 * session timeout, etcd lease TTL of ephemerals.
 */
export function newClient(name: string, addr: string, auth?: string, timeoutMs?: number): Client {
  switch (name) {
    case 'filesystem':
    case 'fs':
      return new FsClient(addr);
    case 'etcd':
      return new EtcdClient(addr, auth, timeoutMs);
    case 'zookeeper':
    case 'zk':
      return new ZkClient(addr, auth, timeoutMs);
    default:
      throw new Error(`invalid coordinator name = ${name}`);
  }
}
