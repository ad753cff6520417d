// The core dashboard flow on etcd (a real 3-member etcd cluster, one member stopped midway), with a
// product_auth.
import { EtcdCluster } from '../helpers/etcd.js';
import { coreFlow } from './core.js';

coreFlow({
  title: 'dashboard on etcd',
  product: 'etcd-flow',
  auth: 'Pr0duct-S3cret',
  coordinator: async () => {
    const etcd = await EtcdCluster.start(3);
    return {
      coordinator: { name: 'etcd', addr: etcd.addr },
      stop: () => etcd.stop(),
      stopOne: () => etcd.stopMember(0),
    };
  },
  proxyOnline: (c) => ['--etcd', c.addr],
});
