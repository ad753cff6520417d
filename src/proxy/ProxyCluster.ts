/**
 * `--ncpu N` / `proxy_max_procs`: N worker processes (node:cluster) serve the clients. This
 * primary holds the client port (ClientDispatch hands each client to a worker, or with
 * proxy_accept = "workers", SharedAccept lets them accept on it themselves), the admin API,
 * the Jodis registration and the authoritative state (slot table, held keys, online,
 * sentinels, log level). It pushes every change to all workers and answers only when all
 * applied it, sums the workers' counters for the admin API and for INFO, and tells each worker
 * how many clients the others have. A worker that dies is replaced (after a growing delay when
 * they keep dying as they start) and given the current state before it gets clients.
 */
import cluster, { type Worker } from 'node:cluster';
import os from 'node:os';
import type { SlotJson } from '../models/Slot.js';
import type { ProxyModel } from '../models/Proxy.js';
import type { Logger } from '../utils/log.js';
import type { PauseMode } from './ClientPause.js';
import { RUN_ID, RUN_ID_ENV } from '../utils/runId.js';
import { proxyToken, proxyXAuth } from '../utils/xauth.js';
import { formatDuration } from '../utils/units.js';
import type { ProxyConfig } from './Config.js';
import type { ProxyControl } from './ProxyControl.js';
import { bindShared, listenClients, publicAddr } from './ClientListener.js';
import { ClientDispatch, type ClientPort } from './ClientDispatch.js';
import { SharedAccept } from './SharedAccept.js';
import { mergeStats } from './StatsJson.js';
import { Rusage } from './Rusage.js';
import { registerProxy, type Jodis } from './Jodis.js';
import { primaryTotals, sumTotals, type ProcessTotals } from './ProcessTotals.js';
import { RestartBackoff } from './RestartBackoff.js';

/** A key of a migrating slot held while the dashboard moves it (the key in base64). */
interface KeyHold {
  slot: number;
  db: number;
  key: string;
}

function holdId(h: KeyHold): string {
  return `${h.slot}/${h.db}/${h.key}`;
}

/** Primary → worker. */
export type WorkerOp =
  | { op: 'fill'; slots: SlotJson[] }
  | { op: 'start' }
  | { op: 'stats'; flags: number }
  | { op: 'reset' }
  | { op: 'pause'; mode: PauseMode | null; ms: number }
  | ({ op: 'hold' | 'release' } & KeyHold)
  | { op: 'sentinels'; servers: string[] }
  | { op: 'totals'; withOps: boolean }
  | { op: 'serve'; addr: string }
  | { op: 'loglevel'; level: string };

export type WorkerRequest = WorkerOp & { id: number };
/** Worker → primary. */
export type WorkerReply =
  { id: number; ok: true; result?: unknown } | { id: number; ok: false; error: string };
export const WORKER_READY = 'codis-proxy-worker-ready';
/**
 * Worker → primary: the whole proxy's totals, for an INFO a client sent that worker; or every
 * worker's counters cleared, for its CONFIG RESETSTAT.
 */
export type WorkerAsk =
  | { ask: 'totals'; id: number; withOps: boolean }
  | { ask: 'reset'; id: number }
  | { ask: 'pause'; id: number; mode: PauseMode | null; ms: number };
/** Primary → worker: the answer to a WorkerAsk (null to a reset). */
export interface PrimaryAnswer {
  answer: number;
  result: ProcessTotals | null;
}
/**
 * Worker → primary, once per turn that changed them: how many clients it now has, and how many
 * more of the handed ones it took (in the order handed), whose descriptors the primary may close.
 */
export interface WorkerClients {
  clients: number;
  adopted: number;
}
/** Set in a worker's environment: "index/count/generation", its place among the workers. */
export const WORKER_ENV = 'CODIS_PROXY_WORKER';

/** How many workers to run: 1 on two cores or fewer (client, proxy and Redis share them), else cores − 1. */
export function defaultWorkers(cores = os.availableParallelism()): number {
  return cores <= 2 ? 1 : cores - 1;
}

interface Pending {
  worker: Worker;
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class ProxyCluster implements ProxyControl {
  model!: ProxyModel;
  xauth = '';
  closed = false;
  sentinels: string[] = [];
  readonly numDatabases: number;
  private readonly table = new Map<number, SlotJson>();
  private online = false;
  /** Workers that reported ready: every change goes to them, to one still replaying too. */
  private readonly workers = new Set<Worker>();
  /** Every forked worker's slot (0…count−1), which its replacement takes over. */
  private readonly slotOf = new Map<Worker, number>();
  /** Keys held for a big-key move, which a replacement worker must hold too. */
  private readonly holds = new Map<string, KeyHold>();
  /** Workers forked so far for each slot. */
  private readonly forks: number[] = [];
  /** Each worker's clients, as it last reported. */
  private readonly clients = new Map<Worker, number>();
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private readonly rusage = new Rusage();
  private jodis: Jodis | null = null;
  /** Set through the admin API: a replacement worker takes it too. */
  private logLevel: string | null = null;
  private readonly backoff = new RestartBackoff();
  /** Replacements waiting out a crash loop's delay: close() cancels them. */
  private readonly restarts = new Set<NodeJS.Timeout>();
  private dispatch: ClientPort | null = null;
  /** The client port as bound, which the workers serve as. */
  private bound = '';

  constructor(
    readonly config: ProxyConfig,
    private readonly count: number,
    private readonly log: Logger,
  ) {
    this.numDatabases = config.backend_number_databases;
    for (let id = 0; id < 1024; id++) this.table.set(id, { id });
  }

  async listen(adminListenAddr: string, hostProxy?: string): Promise<void> {
    const c = this.config;
    const clientsOf = (w: Worker) => this.clients.get(w) ?? 0;
    const allClients = () => {
      let n = 0;
      for (const c of this.clients.values()) n += c;
      return n;
    };
    let bound: string;
    if (c.proxy_accept === 'workers') {
      const port = await bindShared(c);
      bound = port.bound;
      this.dispatch = new SharedAccept(port, clientsOf, allClients);
    } else {
      const listening = await listenClients(c);
      bound = listening.bound;
      this.dispatch = new ClientDispatch(listening.server, clientsOf, allClients, this.log);
    }
    this.bound = bound;
    const token = proxyToken(c.product_name, bound, adminListenAddr);
    this.model = {
      token,
      start_time: new Date().toISOString(),
      admin_addr: c.admin_addr,
      proto_type: c.proto_type,
      proxy_addr: publicAddr(bound, hostProxy),
      product_name: c.product_name,
      pid: process.pid,
      pwd: process.cwd(),
      sys: `${os.type()} ${os.hostname()} ${os.release()} ${os.arch()}`,
      hostname: os.hostname(),
      datacenter: c.proxy_datacenter,
    };
    this.xauth = proxyXAuth(c.product_name, c.product_auth, token);
    cluster.on('exit', (w, code, signal) => this.onExit(w, code, signal));
    await Promise.all(Array.from({ length: this.count }, (_, slot) => this.fork(slot)));
  }

  setAdminAddr(addr: string): void {
    this.model.admin_addr = addr;
  }

  private fork(slot: number): Promise<void> {
    const generation = this.forks[slot] ?? 0;
    this.forks[slot] = generation + 1;
    this.backoff.forked(slot);
    const w = cluster.fork({ [WORKER_ENV]: `${slot}/${this.count}/${generation}`, [RUN_ID_ENV]: RUN_ID });
    this.slotOf.set(w, slot);
    // A send to a worker that has just died fails (EPIPE) before its exit is seen. Unheard,
    // that error would take the primary and every worker down; its exit replaces it.
    w.on('error', (e) => this.log.warn(`proxy worker ${w.process.pid}: ${e.message}`));
    w.on('message', (m: WorkerReply | WorkerAsk | WorkerClients | string) => this.onMessage(w, m));
    return new Promise((resolve, reject) => {
      const onReady = (m: unknown) => {
        if (m !== WORKER_READY) return;
        w.off('message', onReady);
        this.workers.add(w);
        // A new worker (first or replacement) gets the state before it serves.
        void this.replay(w).then(resolve, reject);
      };
      w.on('message', onReady);
      w.once('exit', (code) => reject(new Error(`proxy worker exited with code ${code} during start`)));
    });
  }

  /** The state first, then the client port: a worker never routes with a table it lacks. */
  private async replay(w: Worker): Promise<void> {
    await this.ask(w, { op: 'fill', slots: [...this.table.values()] });
    for (const hold of this.holds.values()) await this.ask(w, { op: 'hold', ...hold });
    if (this.sentinels.length > 0) await this.ask(w, { op: 'sentinels', servers: this.sentinels });
    if (this.logLevel !== null) await this.ask(w, { op: 'loglevel', level: this.logLevel });
    if (this.online) await this.ask(w, { op: 'start' });
    await this.ask(w, { op: 'serve', addr: this.bound });
    this.dispatch!.serve(w);
  }

  private onExit(w: Worker, code: number | null, signal: string | null): void {
    const slot = this.slotOf.get(w)!;
    this.slotOf.delete(w);
    this.workers.delete(w);
    // Its clients are gone with it: the next client is admitted without them.
    this.clients.delete(w);
    this.dispatch!.remove(w);
    // Its unanswered requests fail now rather than leave an admin call waiting for ever.
    for (const [id, p] of this.pending) {
      if (p.worker !== w) continue;
      this.pending.delete(id);
      p.reject(new Error(`proxy worker ${w.process.pid} died (${signal ?? code})`));
    }
    if (this.closed) return;
    const { livedMs, delayMs } = this.backoff.died(slot);
    const died = `proxy worker ${w.process.pid} died (${signal ?? code}) ${formatDuration(livedMs)} after it started`;
    const restart = () =>
      this.fork(slot).catch((e: Error) => this.log.error(`cannot restart a proxy worker: ${e.message}`));
    if (delayMs === 0) {
      this.log.warn(`${died}; starting another`);
      void restart();
      return;
    }
    this.log.warn(`${died}, as the one before it did; starting another in ${formatDuration(delayMs)}`);
    const timer = setTimeout(() => {
      this.restarts.delete(timer);
      void restart();
    }, delayMs);
    this.restarts.add(timer);
  }

  private onMessage(w: Worker, m: WorkerReply | WorkerAsk | WorkerClients | string): void {
    if (typeof m !== 'object' || m === null) return;
    if ('ask' in m) {
      if (m.ask === 'totals') void this.answerTotals(w, m.withOps, m.id);
      else
        void this.answerAll(
          w,
          m.id,
          m.ask === 'reset' ? { op: 'reset' } : { op: 'pause', mode: m.mode, ms: m.ms },
        );
      return;
    }
    if ('clients' in m) {
      this.clients.set(w, m.clients);
      if (m.adopted > 0) this.dispatch!.adopted(w, m.adopted);
      this.dispatch!.clientsChanged();
      return;
    }
    const p = this.pending.get(m.id);
    if (p === undefined) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  /**
   * Every live worker's totals and the primary's own CPU and memory. A worker that dies
   * meanwhile is left out: INFO reports the proxy as it then is.
   */
  /** A worker's CONFIG RESETSTAT or CLIENT PAUSE, for every worker. */
  private async answerAll(w: Worker, id: number, op: WorkerOp): Promise<void> {
    await this.all(op).catch(() => {}); // a worker that died meanwhile starts afresh
    if (w.isConnected()) w.send({ answer: id, result: null } satisfies PrimaryAnswer);
  }

  private async answerTotals(w: Worker, withOps: boolean, id: number): Promise<void> {
    const asked = [...this.workers].map((x) => this.ask(x, { op: 'totals', withOps }));
    const parts = (await Promise.allSettled(asked)).flatMap((p) =>
      p.status === 'fulfilled' ? [p.value as ProcessTotals] : [],
    );
    const started = Date.parse(this.model.start_time);
    const result = sumTotals([...parts, primaryTotals(this.rusage, started)]);
    if (w.isConnected()) w.send({ answer: id, result } satisfies PrimaryAnswer);
  }

  private ask(w: Worker, op: WorkerOp): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { worker: w, resolve, reject });
      w.send({ ...op, id } satisfies WorkerRequest);
    });
  }

  private all(op: WorkerOp): Promise<unknown[]> {
    return Promise.all([...this.workers].map((w) => this.ask(w, op)));
  }

  async start(): Promise<void> {
    if (this.closed) throw new Error('use of closed proxy');
    this.online = true;
    await this.all({ op: 'start' });
    this.jodis ??= registerProxy(this.config, this.model, this.log);
  }

  async fillSlots(slots: SlotJson[]): Promise<void> {
    for (const s of slots) this.table.set(s.id, s);
    // A worker drops the holds of a slot that no longer migrates: so does the record of them.
    for (const [id, h] of this.holds) if (!this.table.get(h.slot)?.migrate_from) this.holds.delete(id);
    await this.all({ op: 'fill', slots });
  }

  slots(): SlotJson[] {
    return [...this.table.values()];
  }

  async stats(flags: number): Promise<Record<string, unknown>> {
    const parts = (await this.all({ op: 'stats', flags })) as Record<string, unknown>[];
    return mergeStats(parts, { online: this.online, closed: this.closed, primaryMem: this.rusage.mem });
  }

  async resetStats(): Promise<void> {
    await this.all({ op: 'reset' });
  }

  async holdKey(slot: number, db: number, key: Buffer): Promise<void> {
    const hold: KeyHold = { slot, db, key: key.toString('base64') };
    this.holds.set(holdId(hold), hold);
    await this.all({ op: 'hold', ...hold });
  }

  async releaseKey(slot: number, db: number, key: Buffer): Promise<void> {
    const hold: KeyHold = { slot, db, key: key.toString('base64') };
    this.holds.delete(holdId(hold));
    await this.all({ op: 'release', ...hold });
  }

  async setSentinels(servers: string[]): Promise<void> {
    this.sentinels = servers;
    await this.all({ op: 'sentinels', servers });
  }

  async setLogLevel(name: string): Promise<void> {
    this.log.setLevel(name);
    this.logLevel = name;
    await this.all({ op: 'loglevel', level: name });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.restarts) clearTimeout(timer);
    this.dispatch?.close();
    this.rusage.close();
    await this.jodis?.close();
    // Workers still starting too: every forked one that has not exited.
    const all = [...this.slotOf.keys()];
    const exits = all.map((w) => new Promise((r) => w.once('exit', r)));
    for (const w of all) w.kill('SIGTERM');
    await Promise.all(exits);
  }
}
