/**
 * One worker of a ProxyCluster: serves clients on the shared port with its own Proxy and
 * applies what the primary sends, acknowledging each change once applied.
 */
import type { Logger } from '../utils/log.js';
import type { ProxyConfig } from './Config.js';
import { Proxy } from './Proxy.js';
import { WORKER_READY, type WorkerReply, type WorkerRequest } from './ProxyCluster.js';

export async function runWorker(config: ProxyConfig, log: Logger, hostProxy?: string): Promise<void> {
  const proxy = new Proxy(config, { logger: log, hostProxy, adminListenAddr: config.admin_addr });
  await proxy.listen();
  const reply = (m: WorkerReply) => process.send!(m);
  process.on('message', (m: WorkerRequest) => {
    void handle(proxy, m).then(
      (result) => reply({ id: m.id, ok: true, result }),
      (e: Error) => reply({ id: m.id, ok: false, error: e.message }),
    );
  });
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {}); // the primary decides when workers stop
  process.on('disconnect', stop);
  process.send!(WORKER_READY);
}

async function handle(proxy: Proxy, m: WorkerRequest): Promise<unknown> {
  switch (m.op) {
    case 'fill':
      return proxy.fillSlots(m.slots);
    case 'start':
      return proxy.start();
    case 'stats':
      return proxy.stats(m.flags);
    case 'reset':
      return proxy.resetStats();
    case 'hold':
      return proxy.holdKey(m.slot, m.db, Buffer.from(m.key, 'base64'));
    case 'release':
      return proxy.releaseKey(m.slot, m.db, Buffer.from(m.key, 'base64'));
    case 'sentinels':
      return proxy.setSentinels(m.servers);
  }
}
