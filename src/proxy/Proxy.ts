/**
 * The proxy process: the client listener, sessions and their admission, the router, stats,
 * and the model the dashboard knows it by. It starts offline (every client is told
 * `router is not online`) until slots are filled and it is started.
 */
import net from 'node:net';
import os from 'node:os';
import type { ProxyConfig } from './Config.js';
import type { ProxyModel } from '../models/Proxy.js';
import type { Request } from './Request.js';
import type { DecoderLimits } from '../resp/RequestDecoder.js';
import { error } from '../resp/encode.js';
import { proxyToken, proxyXAuth } from '../utils/xauth.js';
import type { Logger } from '../utils/log.js';
import { Router } from './Router.js';
import { Session } from './Session.js';
import type { SessionHost, SessionOptions } from './SessionHost.js';
import { acceptConns, acceptOn, connOf, type ListenHandle } from './accept.js';
import { clientUnixPath, listenClients, listenerSetsOptions, publicAddr } from './ClientListener.js';
import type { ClientConn } from './ClientConn.js';
import { Stats } from './Stats.js';
import type { InfoAsk, ProxyInfo } from './ProxyInfo.js';
import type { ProxyControl } from './ProxyControl.js';
import type { SlotJson } from '../models/Slot.js';
import { statsJson } from './StatsJson.js';
import type { SessionState } from './LocalCommands.js';
import { Rusage } from './Rusage.js';
import { Runtime } from './Runtime.js';
import { infoText, wantsPerCommand } from './InfoText.js';
import { infoSnapshot } from './InfoSnapshot.js';
import { Monitors } from './Monitor.js';
import { PauseGate, type PauseMode } from './ClientPause.js';
import type { ClusterPeers } from './ClusterPeers.js';
import { REDIS_VERSION } from './commands/table.generated.js';
import { ownTotals, type ProcessTotals } from './ProcessTotals.js';
import { registerProxy, type Jodis } from './Jodis.js';
import { HaMonitor } from './HaMonitor.js';
import { Invalidations } from './Invalidations.js';
import { clientLine } from './ClientLine.js';

import { VERSION } from '../utils/version.js';

export { VERSION };

export interface ProxyOptions {
  /** Overrides the host part of the model's proxy_addr (`--host-proxy`, for NAT). */
  hostProxy?: string;
  /** The admin listener's bound address, part of the token. */
  adminListenAddr?: string;
  logger: Logger;
  /** Set in a worker of a ProxyCluster: its place among the workers. */
  worker?: WorkerPlace;
}

/** Worker `index` (0-based) of `count`; `generation`: how many workers held that index before. */
export interface WorkerPlace {
  index: number;
  count: number;
  generation: number;
}

/** Client ids a worker generation may use before the next one's begin. */
const IDS_PER_GENERATION = 2 ** 32;

export class Proxy implements SessionHost, ProxyInfo, ProxyControl {
  readonly router: Router;
  readonly counters = new Stats();
  readonly rusage = new Rusage();
  readonly runtime = new Runtime();
  readonly options: SessionOptions;
  readonly sessionAuth: string;
  readonly numDatabases: number;
  readonly redisVersion = REDIS_VERSION;
  readonly info: ProxyInfo = this;
  readonly monitors = new Monitors();
  readonly pause = new PauseGate();
  readonly invalidations: Invalidations;
  readonly startTime = new Date();
  model!: ProxyModel;
  xauth = '';
  closed = false;
  sentinels: string[] = [];
  /** Group masters last learnt from the sentinels (null until the watcher produced a map). */
  sentinelMasters: Record<string, string> | null = null;
  private readonly sessions = new Set<Session>();
  /** Set by a cluster worker: INFO then reports every worker, not this one alone. */
  peers: ClusterPeers | null = null;
  /** The other workers' clients, as the primary last told: proxy_max_clients is for them all. */
  othersAlive = 0;
  /** The shared client port this worker accepts on, if the primary shares it. */
  private sharedListener: ListenHandle | null = null;
  /** The client port's listener gave TCP_NODELAY and keepalive to every connection it accepts. */
  private readonly listenerSetsOptions: boolean;
  private nextSessionId: number;
  private readonly sessionIdStep: number;
  private server: net.Server | null = null;
  private keepAliveTimer: NodeJS.Timeout | null = null;
  private idleTimer: NodeJS.Timeout | null = null;
  private readonly log: Logger;
  private jodis: Jodis | null = null;
  private ha: HaMonitor | null = null;

  constructor(
    readonly config: ProxyConfig,
    private readonly opts: ProxyOptions,
  ) {
    this.log = opts.logger;
    // Workers interleave their client ids (k+1, k+1+n, …), and a replacement starts above
    // the worker it replaces: no two clients ever share an id, as in Redis.
    const w = opts.worker ?? { index: 0, count: 1, generation: 0 };
    this.nextSessionId = w.generation * IDS_PER_GENERATION * w.count + w.index + 1;
    this.sessionIdStep = w.count;
    const c = config;
    this.listenerSetsOptions = listenerSetsOptions(c);
    this.sessionAuth = c.session_auth;
    this.numDatabases = c.backend_number_databases;
    this.router = new Router({
      backend: {
        auth: c.product_auth,
        recvTimeoutMs: c.backend_recv_timeout,
        keepAliveMs: c.backend_keepalive_period,
        connectTimeoutMs: 5000,
      },
      primaryParallel: c.backend_primary_parallel,
      replicaParallel: c.backend_replica_parallel,
      numDatabases: c.backend_number_databases,
      primaryOnly: c.backend_primary_only,
    });
    this.invalidations = new Invalidations(this.router, c.proxy_tracking_max_keys);
    const limits: DecoderLimits = {
      maxElements: 1024 * 1024,
      maxBulk: 512 * 1024 * 1024,
      maxRequest: c.session_max_request_size,
    };
    this.options = {
      maxPipeline: c.session_max_pipeline,
      sendTimeoutMs: c.session_send_timeout,
      breakOnFailure: c.session_break_on_failure,
      forwardUnknown: c.proxy_forward_unknown_commands,
      sendBufferBytes: Math.max(c.session_send_bufsize, 16 * 1024),
      replyBudgetBytes: Math.max(4 * 1024 * 1024, c.session_send_bufsize),
      limits,
    };
  }

  /** Binds the client listener (not yet serving: the router is offline). */
  async listen(): Promise<void> {
    const { server, bound } = await listenClients(this.config);
    this.server = server;
    acceptConns(server, clientUnixPath(this.config), (conn) => this.accept(conn));
    server.on('error', (e) => this.log.error({ err: e }, 'proxy listener error'));
    this.serveOn(bound);
  }

  /**
   * Serves as the proxy whose client port is bound at `bound`. A worker calls it alone: its
   * primary holds the port and hands it each client (`adopt`).
   */
  serveOn(bound: string): void {
    const modelAddr = publicAddr(bound, this.opts.hostProxy);
    const token = proxyToken(
      this.config.product_name,
      bound,
      this.opts.adminListenAddr ?? this.config.admin_addr,
    );
    this.model = {
      token,
      start_time: this.startTime.toISOString(),
      admin_addr: this.config.admin_addr,
      proto_type: this.config.proto_type,
      proxy_addr: modelAddr,
      product_name: this.config.product_name,
      pid: process.pid,
      pwd: process.cwd(),
      sys: `${os.type()} ${os.hostname()} ${os.release()} ${os.arch()}`,
      hostname: os.hostname(),
      datacenter: this.config.proxy_datacenter,
    };
    this.xauth = proxyXAuth(this.config.product_name, this.config.product_auth, token);
    const period = this.config.backend_ping_period;
    if (period > 0) {
      this.keepAliveTimer = setInterval(() => this.router.keepAlive(), Math.max(period, 1000));
      this.keepAliveTimer.unref();
    }
    // One sweep for session_recv_timeout instead of a timer per socket, re-armed on every read.
    const idle = this.config.session_recv_timeout;
    if (idle > 0) {
      this.idleTimer = setInterval(() => this.dropIdle(idle), Math.min(1000, Math.max(idle / 4, 50)));
      this.idleTimer.unref();
    }
  }

  /** Accepts clients on the port the primary bound and shares (proxy_accept = "workers"). */
  acceptOn(listener: unknown): void {
    if (this.closed) return;
    const handle = listener as ListenHandle;
    acceptOn(
      handle,
      clientUnixPath(this.config),
      (c) => this.accept(c),
      (e) => this.log.error({ err: e }, 'proxy listener error'),
    );
    this.sharedListener = handle;
  }

  /** A client connection accepted by another process (a bare handle, or a net.Socket). */
  adopt(handle: unknown): void {
    const conn = connOf(handle, clientUnixPath(this.config));
    if (this.closed) conn.destroy();
    else this.accept(conn);
  }

  private dropIdle(timeoutMs: number): void {
    const now = performance.now();
    for (const s of this.sessions) if (s.idleFor(now) >= timeoutMs) s.close();
  }

  /** The admin API's bound address and the model's view of it. */
  setAdminAddr(modelAddr: string): void {
    this.model.admin_addr = modelAddr;
  }

  get online(): boolean {
    return this.router.online;
  }

  /** Goes online: clients are served, and the proxy registers in Jodis when configured. */
  start(): void {
    if (this.closed) throw new Error('use of closed proxy');
    this.router.online = true;
    // A cluster worker leaves it to the primary, which holds the proxy's model.
    if (this.opts.worker === undefined) this.jodis ??= registerProxy(this.config, this.model, this.log);
  }

  /** Throws `invalid loglevel` for a name that is not a level. */
  setLogLevel(name: string): void {
    this.log.setLevel(name);
  }

  async fillSlots(slots: SlotJson[]): Promise<void> {
    if (this.router.closed) throw new Error('use of closed router');
    await this.router.fillSlots(slots);
    this.topologyChanged();
  }

  /** The primaries may have changed: subscriptions and tracking follow them. */
  private topologyChanged(): void {
    for (const s of this.sessions) s.topologyChanged();
    this.invalidations.sync();
  }

  slots(): SlotJson[] {
    return this.router.allJson();
  }

  stats(flags: number): Record<string, unknown> {
    return statsJson(this, flags);
  }

  resetStats(): void {
    this.counters.reset();
  }

  latencies(): Promise<Record<string, number[]>> {
    return (this.peers?.gather(true) ?? Promise.resolve(this.totals(true))).then((t) => t.latencies);
  }

  /** CONFIG RESETSTAT: this proxy's counters cleared, in every worker. */
  resetAllStats(): Promise<void> {
    return this.peers?.resetAll() ?? Promise.resolve(this.resetStats());
  }

  /** CLIENT PAUSE (a null mode: UNPAUSE), in every worker. */
  pauseClients(mode: PauseMode | null, ms: number): Promise<void> {
    return this.peers?.pauseAll(mode, ms) ?? Promise.resolve(this.pause.set(mode, ms));
  }

  /** The sentinels to watch (pushed by the dashboard); an empty list stops watching. */
  setSentinels(servers: string[]): void {
    this.sentinels = servers;
    this.ha?.close();
    this.ha = null;
    this.sentinelMasters = null;
    if (servers.length === 0 || this.closed) return;
    this.ha = new HaMonitor(
      this.config.product_name,
      servers,
      (masters) => {
        this.sentinelMasters = Object.fromEntries([...masters].map(([gid, a]) => [String(gid), a]));
        void this.router.switchMasters(masters).then(() => this.topologyChanged());
      },
      this.log,
    );
    this.ha.start();
  }

  holdKey(slot: number, db: number, key: Buffer): Promise<void> {
    return this.router.holdKey(slot, db, key);
  }

  releaseKey(slot: number, db: number, key: Buffer): void {
    this.router.releaseKey(slot, db, key);
  }

  private accept(conn: ClientConn): void {
    this.counters.sessionsTotal++;
    this.counters.sessionsAlive++;
    if (this.counters.sessionsAlive + this.othersAlive > this.config.proxy_max_clients) {
      this.counters.rejected++;
      this.reject(conn, 'ERR max number of clients reached');
      return;
    }
    if (!this.router.online) {
      this.reject(conn, 'ERR router is not online');
      return;
    }
    if (!this.listenerSetsOptions) {
      conn.setNoDelay();
      const keepAlive = this.config.session_keepalive_period;
      if (keepAlive > 0) conn.setKeepAlive(keepAlive);
    }
    this.sessions.add(new Session(this.nextSessionId, conn, this, this.counters.sessionsTotal));
    this.nextSessionId += this.sessionIdStep;
    this.peers?.clientsChanged(this.counters.sessionsAlive);
  }

  /** The error goes out, and what the client sends meanwhile is dropped. */
  private reject(conn: ClientConn, msg: string): void {
    this.counters.sessionsAlive--;
    conn.end(error(msg));
  }

  sessionClosed(s: Session): void {
    this.sessions.delete(s);
    this.counters.sessionsAlive--;
    this.peers?.clientsChanged(this.counters.sessionsAlive);
  }

  infoText(ask: InfoAsk): string | Promise<string> {
    const withOps = wantsPerCommand(ask.sections);
    if (this.peers === null) return this.renderInfo(ask, this.totals(withOps));
    return this.peers.gather(withOps).then((t) => this.renderInfo(ask, t));
  }

  /** This process's counters, CPU and memory. */
  totals(withOps: boolean): ProcessTotals {
    let blocked = 0;
    for (const s of this.sessions) if (s.waiting?.busy === true || s.paused) blocked++;
    const sessions = {
      blocked,
      tracking: this.invalidations.clientCount,
      trackedKeys: this.invalidations.keyCount,
    };
    return ownTotals(this.counters, sessions, this.rusage, this.startTime.getTime(), withOps);
  }

  private renderInfo(ask: InfoAsk, t: ProcessTotals): string {
    const src = { config: this.config, proxyAddr: this.model.proxy_addr, router: this.router };
    return infoText(ask.sections, infoSnapshot(src, t, ask));
  }

  clients(): readonly SessionState[] {
    return [...this.sessions];
  }

  client(id: number): SessionState | undefined {
    for (const s of this.sessions) if (s.id === id) return s;
    return undefined;
  }

  clientLine(s: SessionState, asking?: Request): string {
    return clientLine(s, this.model.proxy_addr, asking);
  }

  /** Stops accepting, drops every client, closes backends. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.keepAliveTimer) clearInterval(this.keepAliveTimer);
    if (this.idleTimer) clearInterval(this.idleTimer);
    const server = this.server;
    for (const s of this.sessions) s.close();
    this.invalidations.close();
    this.pause.close();
    this.router.close();
    this.counters.close();
    this.rusage.close();
    this.runtime.close();
    this.ha?.close();
    await this.jodis?.close();
    // Sessions are gone; connections still being refused need not be waited for.
    server?.close();
    // Only this worker's descriptor: the port stays open in the primary and the other workers.
    this.sharedListener?.close?.();
  }
}
