// The core dashboard flow on ZooKeeper (a real standalone server).
import { ZooKeeperServer } from '../helpers/zookeeper.js';
import { coreFlow } from './core.js';

coreFlow({
  title: 'dashboard on zookeeper',
  product: 'zk-flow',
  coordinator: async () => {
    const zk = await ZooKeeperServer.start();
    return { coordinator: { name: 'zookeeper', addr: zk.addr }, stop: () => zk.stop() };
  },
  proxyOnline: (c) => ['--zookeeper', c.addr],
});
