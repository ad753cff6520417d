/**
 * Stats (Codis topom_stats.go): every second, each group server's INFO, each sentinel's INFO and
 * monitored masters, and each proxy's `/api/proxy/stats/:xauth`, with a 1 s cap per target; then
 * the `Stats` object (§4.13) served by `/topom`, `/topom/stats` and `/api/topom/stats/:xauth`.
 * A proxy that answers "not online, not closed" (it restarted) is brought online again.
 */
import { groupToJson } from '../models/Group.js';
import { proxyModelToJson, sentinelModelToJson } from '../models/Proxy.js';
import { slotMappingToJson } from '../models/SlotMapping.js';
import { within } from '../utils/deadline.js';
import { rpc } from '../utils/rpc.js';
import { dashboardConfigJson } from './Config.js';
import type { Context } from './context.js';
import { Loop } from './loop.js';
import { parseInfo, RedisPool, serverInfo } from './redis.js';
import type { MonitoredGroup } from './TopomSentinel.js';
import type { Topom } from './Topom.js';
import { VERSION } from './version.js';

const PERIOD_MS = 1000;
const CAP_MS = 1000;

export interface RemoteError {
  Cause: string;
  Stack: null;
}

export interface RedisStats {
  stats?: Record<string, string>;
  error?: RemoteError;
  sentinel?: Record<string, MonitoredGroup>;
  unixtime: number;
  timeout?: boolean;
}

export interface ProxyStats {
  stats?: Record<string, unknown>;
  error?: RemoteError;
  unixtime: number;
  timeout?: boolean;
}

const unixtime = () => Math.floor(Date.now() / 1000);

const remoteError = (e: unknown): RemoteError => ({ Cause: (e as Error).message, Stack: null });

/** Runs f (which turns its own errors into a sample) with a cap: `{timeout: true}` when it takes longer. */
function capped<T extends { unixtime: number }>(
  f: () => Promise<T>,
): Promise<T | { timeout: true; unixtime: number }> {
  return within(f(), CAP_MS, 'stats').catch(() => ({ timeout: true as const, unixtime: unixtime() }));
}

export class TopomStats {
  private readonly redis = new Map<string, RedisStats>();
  private proxy = new Map<string, ProxyStats>();
  private readonly servers: RedisPool;
  private readonly sentinelConns: RedisPool;
  private loops: Loop[] = [];

  constructor(private readonly t: Topom) {
    this.servers = new RedisPool({ auth: t.productAuth, timeoutMs: CAP_MS });
    this.sentinelConns = new RedisPool({ timeoutMs: CAP_MS });
  }

  start(): void {
    const warn = (what: string) => (e: unknown) => this.t.log.warn(`${what}: ${(e as Error).message}`);
    this.loops = [
      new Loop(() => this.refreshRedis(), PERIOD_MS, warn('redis stats')).start(),
      new Loop(() => this.refreshProxies(), PERIOD_MS, warn('proxy stats')).start(),
    ];
  }

  async stop(): Promise<void> {
    await Promise.all(this.loops.map((l) => l.stop()));
    this.servers.close();
    this.sentinelConns.close();
  }

  redisSample(addr: string): RedisStats | undefined {
    return this.redis.get(addr);
  }

  proxySample(token: string): ProxyStats | undefined {
    return this.proxy.get(token);
  }

  /** INFO of every group server and every sentinel (and what each sentinel monitors). */
  async refreshRedis(): Promise<void> {
    if (!this.t.online) return;
    const servers = this.t.cache.groupList().flatMap((g) => g.servers.map((s) => s.server));
    const sentinels = this.t.cache.sentinelModel().servers ?? [];
    this.servers.retain(new Set(servers));
    this.sentinelConns.retain(new Set(sentinels));
    const sample = async (
      pool: RedisPool,
      addr: string,
      f: (c: ReturnType<RedisPool['get']>) => Promise<RedisStats>,
    ) =>
      capped(async () => {
        try {
          const c = pool.get(addr);
          if (!(await pool.ready(c, CAP_MS))) throw new Error(`redis ${addr}: not connected`);
          return await f(c);
        } catch (e) {
          return { error: remoteError(e), unixtime: unixtime() };
        }
      });
    const [s1, s2] = await Promise.all([
      Promise.all(
        servers.map((a) =>
          sample(this.servers, a, async (c) => ({ stats: await serverInfo(c), unixtime: unixtime() })),
        ),
      ),
      Promise.all(
        sentinels.map((a) =>
          sample(this.sentinelConns, a, async (c) => ({
            stats: parseInfo(String(await c.call('INFO'))),
            sentinel: await this.t.sentinels.monitoredOn(c),
            unixtime: unixtime(),
          })),
        ),
      ),
    ]);
    const keep = new Set([...servers, ...sentinels]);
    for (const addr of this.redis.keys()) if (!keep.has(addr)) this.redis.delete(addr);
    servers.forEach((a, i) => this.redis.set(a, s1[i]!));
    sentinels.forEach((a, i) => this.redis.set(a, s2[i]!));
    if (sentinels.length > 0 && this.t.online) {
      await this.t.sentinels.observe(s2.map((r) => ('sentinel' in r && r.sentinel ? r.sentinel : null)));
    }
  }

  /** Stats of every stored proxy; a restarted one (not online, not closed) is re-onlined. */
  async refreshProxies(): Promise<void> {
    if (!this.t.online) return;
    const proxies = this.t.cache.proxyList();
    const samples = await Promise.all(
      proxies.map((p) =>
        capped(async (): Promise<ProxyStats> => {
          try {
            const path = `/api/proxy/stats/${this.t.proxyXAuth(p.token)}`;
            const stats = await rpc.get<Record<string, unknown>>(p.admin_addr, path, { timeoutMs: CAP_MS });
            if (stats && stats.online === false && stats.closed === false) this.t.proxies.autoOnline(p);
            return { stats, unixtime: unixtime() };
          } catch (e) {
            return { error: remoteError(e), unixtime: unixtime() };
          }
        }),
      ),
    );
    this.proxy = new Map(proxies.map((p, i) => [p.token, samples[i]!]));
  }

  /** The `Stats` object of §4.13. */
  json(ctx: Context): Record<string, unknown> {
    const groupStats: Record<string, RedisStats> = {};
    for (const g of ctx.groups())
      for (const s of g.servers) {
        const x = this.redis.get(s.server);
        if (x) groupStats[s.server] = x;
      }
    const sentinelStats: Record<string, RedisStats> = {};
    for (const addr of ctx.sentinel.servers ?? []) {
      const x = this.redis.get(addr);
      if (x) sentinelStats[addr] = x;
    }
    return {
      closed: this.t.closed,
      slots: ctx.slots.map(slotMappingToJson),
      group: { models: ctx.groups().map(groupToJson), stats: groupStats },
      proxy: { models: ctx.proxies().map(proxyModelToJson), stats: Object.fromEntries(this.proxy) },
      slot_action: this.t.actions.json(),
      sentinels: {
        model: sentinelModelToJson(ctx.sentinel),
        stats: sentinelStats,
        masters: Object.fromEntries([...this.t.sentinels.masters].map(([gid, a]) => [String(gid), a])),
      },
    };
  }

  /**
   * `GET /api/topom/slots/progress`: the slot_action section (status, totals, rates, ETA, sources,
   * running slots) plus every slot with an action (state, from, to). Read from the cache, not
   * under the mutex: it answers while a step waits for proxies.
   */
  progress(): Record<string, unknown> {
    this.t.checkOnline();
    return {
      ...this.t.actions.json(),
      actions: this.t.cache
        .slotList()
        .filter((m) => m?.action.state)
        .map((m) => ({ id: m.id, state: m.action.state, from: m.group_id, to: m.action.target_id ?? 0 })),
    };
  }

  stats(): Promise<Record<string, unknown>> {
    return this.t.run(async (ctx) => this.json(ctx));
  }

  /** `GET /topom`: `{version, compile, config, model, stats}` (secrets left out of config). */
  overview(): Promise<Record<string, unknown>> {
    return this.t.run(async (ctx) => ({
      version: VERSION,
      compile: `node ${process.version}`,
      config: dashboardConfigJson(this.t.config),
      model: { ...this.t.model },
      stats: this.json(ctx),
    }));
  }
}
