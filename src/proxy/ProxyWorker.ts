/**
 * One worker of a ProxyCluster: serves the clients the primary hands it (or that it accepts
 * on the port the primary shares) with its own Proxy, and applies what the primary sends,
 * acknowledging each change once applied. It gets clients only once it has the primary's
 * state (a worker that replaces a dead one would otherwise tell clients the router is
 * offline). It asks the primary for the whole proxy's counters when a client's INFO needs them.
 */
import type { Logger } from '../utils/log.js';
import type { PauseMode } from './ClientPause.js';
import type { ProxyConfig } from './Config.js';
import type { ProcessTotals } from './ProcessTotals.js';
import type { ClusterPeers } from './ClusterPeers.js';
import { Proxy, type WorkerPlace } from './Proxy.js';
import type { HandedClient } from './ClientDispatch.js';
import type { OthersClients, SharedListen } from './SharedAccept.js';
import {
  WORKER_ENV,
  WORKER_READY,
  type PrimaryAnswer,
  type WorkerAsk,
  type WorkerClients,
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
  const reply = (m: WorkerReply) => primary.send(m);
  type FromPrimary = WorkerRequest | PrimaryAnswer | HandedClient | SharedListen | OthersClients;
  process.on('message', (m: FromPrimary, conn?: unknown) => {
    if ('client' in m) {
      proxy.othersAlive = m.others;
      if (conn == null) log.warn('a client was handed to this worker without its connection');
      else proxy.adopt(conn);
      primary.adopted();
      return;
    }
    if ('othersAlive' in m) {
      proxy.othersAlive = m.othersAlive;
      return;
    }
    if ('listen' in m) {
      try {
        if (conn == null) throw new Error('the client port was shared with this worker without its socket');
        proxy.acceptOn(conn);
      } catch (e) {
        // It cannot serve: its exit makes the primary start another, and the log says why.
        log.error(`proxy worker ${process.pid}: ${(e as Error).message}`);
        process.exit(1);
      }
      return;
    }
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
  const m = /^(\d+)\/(\d+)\/(\d+)$/.exec(env ?? '');
  if (m === null) throw new Error(`a proxy worker needs ${WORKER_ENV}=index/count/generation, not ${env}`);
  return { index: Number(m[1]), count: Number(m[2]), generation: Number(m[3]) };
}

type Gather = Promise<ProcessTotals> | null;

/** How long a changed client count may wait before the worker reports it. */
const COUNT_REPORT_MS = 50;

/**
 * The worker's side of what it asks and tells the primary: the whole proxy's counters for
 * INFO, and its own client count for proxy_max_clients. One gather is in flight at a time:
 * the INFOs that come meanwhile share the one that starts when it ends (so each reports
 * counters read after it came), and a client pipelining thousands of them costs a few rounds.
 */
class PrimaryLink implements ClusterPeers {
  private readonly pending = new Map<
    number,
    { resolve(t: ProcessTotals | null): void; reject(e: Error): void }
  >();
  private nextId = 1;
  /** By `withOps` (0, 1): the gather in flight, and the one queued after it. */
  private readonly current: [Gather, Gather] = [null, null];
  private readonly queued: [Gather, Gather] = [null, null];
  /** A report of the clients is due, however many came or went meanwhile. */
  private reportDue = false;
  /** A report is due this turn: handles were taken. */
  private urgentDue = false;
  private clients = 0;
  /** Handed clients taken since the last report, which lets the primary close its copies. */
  private adoptedCount = 0;

  gather(withOps: boolean): Promise<ProcessTotals> {
    const i = withOps ? 1 : 0;
    const current = this.current[i];
    if (current === null) return this.start(i, withOps);
    let next = this.queued[i];
    if (next === null) {
      const after = () => {
        this.queued[i] = null;
        return this.start(i, withOps);
      };
      next = this.queued[i] = current.then(after, after);
    }
    return next;
  }

  private start(i: 0 | 1, withOps: boolean): Promise<ProcessTotals> {
    const p = this.ask(withOps);
    this.current[i] = p;
    const done = () => {
      if (this.current[i] === p) this.current[i] = null;
    };
    p.then(done, done);
    return p;
  }

  /** Every worker's counters cleared (CONFIG RESETSTAT): the primary tells them all. */
  resetAll(): Promise<void> {
    return this.ask({ ask: 'reset', id: 0 }).then(() => undefined);
  }

  /** Every worker paused (CLIENT PAUSE), or unpaused with a null mode. */
  pauseAll(mode: PauseMode | null, ms: number): Promise<void> {
    return this.ask({ ask: 'pause', id: 0, mode, ms }).then(() => undefined);
  }

  private ask(withOps: boolean): Promise<ProcessTotals>;
  private ask(m: WorkerAsk): Promise<ProcessTotals | null>;
  private ask(what: boolean | WorkerAsk): Promise<ProcessTotals | null> {
    const id = this.nextId++;
    const m: WorkerAsk = typeof what === 'boolean' ? { ask: 'totals', id, withOps: what } : { ...what, id };
    return new Promise((resolve, reject) => {
      if (!process.connected) {
        reject(new Error('the primary process is gone'));
        return;
      }
      this.pending.set(id, { resolve, reject });
      this.send(m);
    });
  }

  adopted(): void {
    this.adoptedCount++;
    this.reportSoon(true);
  }

  clientsChanged(alive: number): void {
    this.clients = alive;
    this.reportSoon(false);
  }

  /**
   * Handles taken are confirmed in the same turn: the primary holds its copy of a handed
   * connection until then, and the connection only ends (the client sees its FIN) once every
   * copy is closed. A count alone waits up to COUNT_REPORT_MS, so clients that connect for one
   * request each do not cost a message apiece. Meanwhile the others may count a client that
   * left; with hand-offs they never miss one that came (its confirmation goes at once), but
   * workers that accept on the shared port may, for that long.
   */
  private reportSoon(urgent: boolean): void {
    if (urgent && !this.urgentDue) {
      this.urgentDue = true;
      setImmediate(() => {
        this.urgentDue = false;
        this.report();
      });
    }
    if (this.reportDue) return;
    this.reportDue = true;
    if (!urgent) setTimeout(() => this.report(), COUNT_REPORT_MS).unref();
  }

  /**
   * Every message to the primary goes after the count it has not heard yet: once it has this
   * worker's answer to anything, it knows this worker's clients as of then.
   */
  send(m: WorkerReply | WorkerAsk): void {
    this.report();
    if (process.connected) process.send!(m);
  }

  /** The clients and the adopted handles in one message: a connection costs the channel little. */
  private report(): void {
    if (!this.reportDue) return;
    this.reportDue = false;
    const adopted = this.adoptedCount;
    this.adoptedCount = 0;
    if (process.connected) process.send!({ clients: this.clients, adopted } satisfies WorkerClients);
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
      proxy.serveOn(m.addr);
      log.info(`proxy worker ${process.pid} serves clients on ${proxy.model.proxy_addr}`);
      return;
    case 'stats':
      return proxy.stats(m.flags);
    case 'reset':
      return proxy.resetStats();
    case 'pause':
      return proxy.pause.set(m.mode, m.ms);
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
