/**
 * One worker of a ProxyCluster: serves clients on the shared port with its own Proxy and
 * applies what the primary sends, acknowledging each change once applied. It takes the
 * client port only once it has the primary's state (a worker that replaces a dead one would
 * otherwise tell clients the router is offline). It asks the primary for the whole proxy's
 * counters when a client's INFO needs them.
 */
import type { Logger } from '../utils/log.js';
import type { ProxyConfig } from './Config.js';
import type { ProcessTotals } from './ProcessTotals.js';
import { Proxy, type PeerTotals, type WorkerPlace } from './Proxy.js';
import {
  WORKER_ENV,
  WORKER_READY,
  type PrimaryAnswer,
  type WorkerAsk,
  type WorkerReply,
  type WorkerRequest,
} from './ProxyCluster.js';

export async function runWorker(config: ProxyConfig, log: Logger, hostProxy?: string): Promise<void> {
  const proxy = new Proxy(config, {
    logger: log,
    hostProxy,
    adminListenAddr: config.admin_addr,
    worker: workerPlace(process.env[WORKER_ENV]),
  });
  const primary = new PrimaryLink();
  proxy.peers = primary;
  const reply = (m: WorkerReply) => process.send!(m);
  process.on('message', (m: WorkerRequest | PrimaryAnswer) => {
    if ('answer' in m) {
      primary.onAnswer(m);
      return;
    }
    void handle(proxy, m, log).then(
      (result) => reply({ id: m.id, ok: true, result }),
      (e: Error) => reply({ id: m.id, ok: false, error: e.message }),
    );
  });
  const stop = () => void proxy.close().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', () => {}); // the primary decides when workers stop
  process.on('disconnect', () => {
    primary.close();
    stop();
  });
  process.send!(WORKER_READY);
}

function workerPlace(env: string | undefined): WorkerPlace {
  const m = /^(\d+)\/(\d+)$/.exec(env ?? '');
  if (m === null) throw new Error(`a proxy worker needs ${WORKER_ENV}=index/count, not ${env}`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

/** The worker's side of the asks it makes to the primary. */
class PrimaryLink implements PeerTotals {
  private readonly pending = new Map<number, { resolve(t: ProcessTotals): void; reject(e: Error): void }>();
  private nextId = 1;

  gather(withOps: boolean): Promise<ProcessTotals> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!process.connected) {
        reject(new Error('the primary process is gone'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      process.send!({ ask: 'totals', id, withOps } satisfies WorkerAsk);
    });
  }

  onAnswer(m: PrimaryAnswer): void {
    const p = this.pending.get(m.answer);
    this.pending.delete(m.answer);
    p?.resolve(m.result);
  }

  close(): void {
    for (const p of this.pending.values()) p.reject(new Error('the primary process is gone'));
    this.pending.clear();
  }
}

async function handle(proxy: Proxy, m: WorkerRequest, log: Logger): Promise<unknown> {
  switch (m.op) {
    case 'fill':
      return proxy.fillSlots(m.slots);
    case 'start':
      return proxy.start();
    case 'serve':
      await proxy.listen();
      log.info(`proxy worker ${process.pid} serves clients on ${proxy.model.proxy_addr}`);
      return;
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
    case 'totals':
      return proxy.totals(m.withOps);
    case 'loglevel':
      return proxy.setLogLevel(m.level);
  }
}
