/**
 * The dashboard (Codis pkg/topom): owns one product in the coordinator through the lock node,
 * keeps a cache of it, runs every operation one at a time, and runs the background loops (stats,
 * sync actions, slot actions).
 *
 * Lifecycle: construct → setAdminAddr (after the admin API listens) → start() (lock, load, loops)
 * → close() (loops stopped, running operation finished, lock released).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import os from 'node:os';
import type { Client } from '../coordinator/Client.js';
import { CoordinatorError } from '../coordinator/Client.js';
import { parseForwardMethod, type ForwardMethodId } from '../models/Slot.js';
import { Store } from '../models/Store.js';
import type { Topom as TopomModel } from '../models/Topom.js';
import { within } from '../utils/deadline.js';
import { HttpError } from '../utils/http.js';
import type { Logger } from '../utils/log.js';
import { rpc } from '../utils/rpc.js';
import { proxyXAuth, topomToken, topomXAuth } from '../utils/xauth.js';
import { replaceUnspecifiedHost } from '../utils/addr.js';
import type { DashboardConfig } from './Config.js';
import { Context, hostOf } from './context.js';
import { Migrator } from './migration/Migrator.js';
import { ProxyKeyHolder } from './migration/ProxyKeyHolder.js';
import { SlotActions } from './SlotAction.js';
import { TopomCache } from './TopomCache.js';
import { TopomGroup } from './TopomGroup.js';
import { TopomProxy } from './TopomProxy.js';
import { TopomSentinel } from './TopomSentinel.js';
import { TopomSlots } from './TopomSlots.js';
import { TopomStats } from './TopomStats.js';

export { VERSION } from './version.js';

/**
 * How long a closing dashboard waits for its running operation and loops to end, and then for the
 * coordinator to take its lock away. An operation cut short is taken up again from the stored
 * state by the next dashboard, as after a crash.
 */
const CLOSE_DRAIN_MS = 10_000;
const CLOSE_LOCK_MS = 10_000;

export interface TopomOptions {
  config: DashboardConfig;
  client: Client;
  log: Logger;
  /** --host-admin: the host (or host:port) others should use to reach the admin API. */
  hostAdmin?: string;
  /** false: no migration executor (slot actions stay pending; tests drive the steps). */
  migrate?: boolean;
}

/** The lock is held by another dashboard (or was left behind by one that died). */
export class LockHeldError extends Error {}

export class Topom {
  readonly config: DashboardConfig;
  readonly client: Client;
  readonly store: Store;
  readonly log: Logger;
  readonly xauth: string;
  readonly method: ForwardMethodId;
  readonly cache: TopomCache;
  model: TopomModel;
  online = false;
  closed = false;

  readonly groups: TopomGroup;
  readonly proxies: TopomProxy;
  readonly slots: TopomSlots;
  readonly actions: SlotActions;
  /** Holds of big keys being moved, pushed to every proxy (and to a proxy that rejoins). */
  readonly keyHolder: ProxyKeyHolder;
  readonly sentinels: TopomSentinel;
  readonly stats: TopomStats;

  private queue: Promise<void> = Promise.resolve();
  private readonly hosts = new Map<string, string>();
  private lockHeld = false;
  private starting: Promise<void> | undefined;

  constructor(private readonly opts: TopomOptions) {
    this.config = opts.config;
    this.client = opts.client;
    this.log = opts.log;
    this.store = new Store(opts.client, opts.config.product_name);
    this.xauth = topomXAuth(opts.config.product_name);
    this.method = parseForwardMethod(opts.config.migration_method);
    this.cache = new TopomCache(this.store);
    this.model = {
      token: '',
      start_time: new Date().toISOString(),
      admin_addr: '',
      product_name: opts.config.product_name,
      pid: process.pid,
      pwd: process.cwd(),
      sys: `${os.type()} ${os.hostname()} ${os.release()} ${os.arch()}`,
    };
    this.groups = new TopomGroup(this);
    this.proxies = new TopomProxy(this);
    this.slots = new TopomSlots(this);
    this.actions = new SlotActions(this);
    this.keyHolder = new ProxyKeyHolder(this);
    if (opts.migrate !== false) this.actions.setMigrator(new Migrator(this, this.keyHolder));
    this.sentinels = new TopomSentinel(this);
    this.stats = new TopomStats(this);
  }

  get product(): string {
    return this.config.product_name;
  }

  get productAuth(): string {
    return this.config.product_auth;
  }

  /** The xauth of a proxy of this product (product name and auth, and the proxy's token). */
  proxyXAuth(token: string): string {
    return proxyXAuth(this.product, this.productAuth, token);
  }

  /** Called once the admin API listens: `bound` is its raw bound address (part of the token). */
  setAdminAddr(bound: string): void {
    this.model.token = topomToken(this.product, bound);
    this.model.admin_addr = publicAdminAddr(bound, this.opts.hostAdmin);
  }

  /** Deletes the lock node whoever holds it (`--remove-lock`). */
  async removeLock(): Promise<void> {
    await this.store.releaseLock();
    this.log.warn(`removed the lock of product ${this.product}`);
  }

  /** Takes the lock, loads the product and starts the background loops. */
  start(): Promise<void> {
    this.starting ??= this.doStart();
    return this.starting;
  }

  private async doStart(): Promise<void> {
    if (this.closed) throw new Error('use of closed topom');
    await this.acquireLock();
    try {
      await this.cache.refill();
      if (this.closed) throw new Error('closed while starting');
    } catch (e) {
      await this.releaseLock().catch(() => undefined);
      throw e;
    }
    this.online = true;
    this.stats.start();
    this.groups.start();
    this.actions.start();
    this.log.info({ admin_addr: this.model.admin_addr, token: this.model.token }, 'dashboard is online');
  }

  private async acquireLock(): Promise<void> {
    try {
      await this.store.acquireLock(this.model);
      this.lockHeld = true;
      return;
    } catch (e) {
      const cause = (e as Error).cause;
      if (!(cause instanceof CoordinatorError) || cause.kind !== 'exists') {
        throw new Error(`${(e as Error).message}: ${(cause as Error | undefined)?.message ?? ''}`, {
          cause: e,
        });
      }
    }
    const owner = await this.store.loadLock().catch(() => null);
    const how = this.removeLockHow();
    if (!owner) throw new LockHeldError(`product ${this.product} is locked; if no dashboard runs it: ${how}`);
    const who = `dashboard ${owner.admin_addr} (pid ${owner.pid}, token ${owner.token}, started ${owner.start_time})`;
    // Alive when its admin API answers as that very process (same pid and start time: a new
    // dashboard on the same address has the same token).
    const alive = await rpc
      .get<Partial<TopomModel>>(owner.admin_addr, '/api/topom/model', { timeoutMs: 1000 })
      .then((m) => m?.pid === owner.pid && m?.start_time === owner.start_time)
      .catch(() => false);
    if (alive)
      throw new LockHeldError(
        `product ${this.product} is already served by ${who}; stop it first, or if it is wrong, ${how}`,
      );
    throw new LockHeldError(
      `product ${this.product} is locked by ${who}, which does not answer: ` +
        `if it is gone (crashed), remove the stale lock with ${how}`,
    );
  }

  private removeLockHow(): string {
    return (
      `codis-dashboard --remove-lock (or codis-admin --remove-lock --product=${this.product} ` +
      `--${this.client.name}=${this.client.addr})`
    );
  }

  private async releaseLock(): Promise<void> {
    if (!this.lockHeld) return;
    await this.store.releaseLock();
    this.lockHeld = false;
  }

  /** Runs operations one at a time, in call order (Codis's dashboard mutex). */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(fn);
    this.queue = p.then(
      () => undefined,
      () => undefined,
    );
    return p;
  }

  /** An operation on a fresh context, under the mutex. */
  run<T>(fn: (ctx: Context) => Promise<T> | T): Promise<T> {
    return this.serial(async () => fn(await this.newContext()));
  }

  /** Fails unless the dashboard is running and owns the product. */
  checkOnline(): void {
    if (this.closed) throw new HttpError(503, 'use of closed topom');
    if (!this.online) throw new HttpError(503, 'topom is not online');
  }

  async newContext(): Promise<Context> {
    this.checkOnline();
    await this.cache.refill();
    const snap = this.cache.snapshot();
    const hosts = await this.resolveHosts([
      ...[...snap.proxy.values()].map((p) => p.admin_addr),
      ...[...snap.group.values()].flatMap((g) => g.servers.map((s) => s.server)),
    ]);
    const c = this.opts.config;
    const bigKey = { elements: c.migration_bigkey_elements, bytes: c.migration_bigkey_bytes };
    return new Context({ ...snap, method: this.method, bigKey, hosts });
  }

  /** IPs of host names (for replica-group priorities); unresolvable ones are left out. */
  private async resolveHosts(addrs: string[]): Promise<Map<string, string>> {
    const names = new Set(addrs.map(hostOf).filter((h) => h && !isIP(h) && h !== 'localhost'));
    await Promise.all(
      [...names]
        .filter((h) => !this.hosts.has(h))
        .map(async (h) => {
          const r = await within(lookup(h, { family: 4 }), 1000, h).catch(() => undefined);
          if (r) this.hosts.set(h, r.address);
        }),
    );
    return this.hosts;
  }

  /** Marks the whole cache dirty (PUT /api/topom/reload). */
  reload(): Promise<void> {
    return this.run(async () => this.cache.dirtyAll());
  }

  /** Stops the loops, waits for the running operation, releases the lock; each wait is bounded. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.online = false;
    const drained = (async () => {
      await this.starting?.catch(() => undefined);
      await Promise.all([this.stats.stop(), this.groups.stop(), this.actions.stop()]);
      await this.queue;
    })().catch((e: Error) => this.log.error(`stopping the loops failed: ${e.message}`));
    await within(drained, CLOSE_DRAIN_MS, 'the running operation').catch(() =>
      this.log.warn(
        `the running operation did not end within ${CLOSE_DRAIN_MS / 1000} s; stopping without it ` +
          '(it waits on the coordinator or a server)',
      ),
    );
    try {
      await within(this.releaseLock(), CLOSE_LOCK_MS, `${this.client.name} ${this.client.addr}`);
      this.log.info(`released the lock of product ${this.product}`);
    } catch (e) {
      throw new Error(
        `the lock of product ${this.product} is left behind (${(e as Error).message}); ` +
          `the next dashboard must remove it: ${this.removeLockHow()}`,
        { cause: e },
      );
    } finally {
      await this.client.close().catch(() => undefined);
    }
  }
}

/** The admin address others use: --host-admin, or the bound one with a real host for 0.0.0.0. */
export function publicAdminAddr(bound: string, hostAdmin?: string): string {
  const port = bound.slice(bound.lastIndexOf(':') + 1);
  if (hostAdmin) return hostAdmin.includes(':') ? hostAdmin : `${hostAdmin}:${port}`;
  let ip = '127.0.0.1';
  for (const list of Object.values(os.networkInterfaces())) {
    const ni = list?.find((n) => !n.internal && n.family === 'IPv4');
    if (ni) {
      ip = ni.address;
      break;
    }
  }
  return replaceUnspecifiedHost(bound.replace(/^\[::\]:/, '0.0.0.0:'), ip);
}
