/**
 * Redis Sentinel integration (Codis topom_sentinel.go): the stored sentinel list, SENTINEL
 * MONITOR of every group's master as `<product>-<gid>` with the configured quorum and timeouts,
 * pushing the list to the proxies, and following failovers that the sentinels report (their
 * `SENTINEL masters` answers are polled with the stats; the address with the highest config-epoch
 * wins when a majority answered).
 */
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Redis } from 'ioredis';
import { addrProblem, formatAddr, parseAddr } from '../utils/addr.js';
import { badRequest, conflict, notFound } from '../utils/http.js';
import { parseInfo, withRedis } from './redis.js';
import { badGateway } from './TopomProxy.js';
import type { Topom } from './Topom.js';

export type FieldMap = Record<string, string>;
export interface MonitoredGroup {
  master: FieldMap;
  slaves?: FieldMap[];
}

/** `[k1, v1, k2, v2, …]` → `{k1: v1, …}` */
function pairs(reply: unknown): FieldMap {
  const out: FieldMap = {};
  if (!Array.isArray(reply)) return out;
  for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = String(reply[i + 1]);
  return out;
}

export class TopomSentinel {
  /** gid → "ip:port" as the sentinels see it (shown in stats as sentinels.masters). */
  masters = new Map<number, string>();

  constructor(private readonly t: Topom) {}

  private opts() {
    return { timeoutMs: this.t.config.sentinel_client_timeout };
  }

  /** `<product>-<gid>` → gid, or undefined for other names. */
  groupOf(name: string): number | undefined {
    const prefix = `${this.t.product}-`;
    if (!name.startsWith(prefix)) return undefined;
    const rest = name.slice(prefix.length);
    return /^\d+$/.test(rest) ? Number(rest) : undefined;
  }

  /** This product's masters on one sentinel, as field maps. */
  async productMasters(c: Redis): Promise<FieldMap[]> {
    const list = (await c.call('SENTINEL', 'MASTERS')) as unknown[];
    return list.map(pairs).filter((m) => this.groupOf(m.name ?? '') !== undefined);
  }

  add(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const problem = addrProblem(addr);
      if (problem) throw badRequest(`invalid sentinel address ${JSON.stringify(addr)}: ${problem}`);
      const servers = ctx.sentinel.servers ?? [];
      if (servers.includes(addr)) throw conflict(`sentinel-[${addr}] already exists`);
      await withRedis(addr, this.opts(), (c) => c.call('SENTINEL', 'FLUSHCONFIG')).catch((e: Error) => {
        throw badGateway(`sentinel-[${addr}] is not a reachable redis-sentinel: ${e.message}`);
      });
      ctx.sentinel = { servers: [...servers, addr], out_of_sync: true };
      await this.t.cache.updateSentinel(ctx.sentinel);
      this.t.log.info(`sentinel-[${addr}] added`);
    });
  }

  del(addr: string, force: boolean): Promise<void> {
    return this.t.run(async (ctx) => {
      const servers = ctx.sentinel.servers ?? [];
      if (!servers.includes(addr)) throw notFound(`sentinel-[${addr}] not found`);
      ctx.sentinel.out_of_sync = true;
      await this.t.cache.updateSentinel(ctx.sentinel);
      try {
        await this.removeGroups([addr]);
      } catch (e) {
        if (!force) throw badGateway(`remove sentinel ${addr} failed: ${(e as Error).message}`);
      }
      ctx.sentinel = { servers: servers.filter((s) => s !== addr), out_of_sync: true };
      await this.t.cache.updateSentinel(ctx.sentinel);
      this.t.log.info(`sentinel-[${addr}] removed`);
    });
  }

  /**
   * Removes this product's masters (all of them, or only those of `gids`) from each sentinel, in
   * parallel. Fails if any sentinel fails.
   */
  async removeGroups(servers: readonly string[], gids?: readonly number[]): Promise<void> {
    const results = await Promise.allSettled(
      servers.map((addr) =>
        withRedis(addr, this.opts(), async (c) => {
          for (const m of await this.productMasters(c)) {
            const gid = this.groupOf(m.name!)!;
            if (!gids || gids.includes(gid)) await c.call('SENTINEL', 'REMOVE', m.name!);
          }
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /** SENTINEL MONITOR (and SET) of every given master on every sentinel. */
  private async monitorGroups(servers: readonly string[], masters: Map<number, string>): Promise<void> {
    const cfg = this.t.config;
    const resolved = new Map<number, { ip: string; port: number }>();
    for (const [gid, addr] of masters) {
      const { host, port } = parseAddr(addr);
      const ip = isIP(host) ? host : (await lookup(host, { family: 4 })).address;
      resolved.set(gid, { ip, port });
    }
    const set: string[] = [
      ...['parallel-syncs', String(cfg.sentinel_parallel_syncs)],
      ...['down-after-milliseconds', String(Math.round(cfg.sentinel_down_after))],
      ...['failover-timeout', String(Math.round(cfg.sentinel_failover_timeout))],
    ];
    if (this.t.productAuth) set.push('auth-pass', this.t.productAuth);
    if (cfg.sentinel_notification_script) set.push('notification-script', cfg.sentinel_notification_script);
    if (cfg.sentinel_client_reconfig_script)
      set.push('client-reconfig-script', cfg.sentinel_client_reconfig_script);
    const results = await Promise.allSettled(
      servers.map((addr) =>
        withRedis(addr, this.opts(), async (c) => {
          for (const [gid, { ip, port }] of resolved) {
            const name = `${this.t.product}-${gid}`;
            await c.call('SENTINEL', 'REMOVE', name).catch(() => undefined);
            await c.call('SENTINEL', 'MONITOR', name, ip, String(port), String(cfg.sentinel_quorum));
            await c.call('SENTINEL', 'SET', name, ...set);
          }
        }),
      ),
    );
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  /**
   * Reconfigures every sentinel (remove this product's masters, then monitor the current masters)
   * and pushes the list to every proxy; out_of_sync is cleared when all of that worked.
   */
  resyncAll(): Promise<void> {
    return this.t.run(async (ctx) => {
      const servers = ctx.sentinel.servers ?? [];
      ctx.sentinel.out_of_sync = true;
      await this.t.cache.updateSentinel(ctx.sentinel);
      try {
        await this.removeGroups(servers);
        await this.monitorGroups(servers, ctx.getGroupMasters());
      } catch (e) {
        throw badGateway(`sentinels resync failed: ${(e as Error).message}`);
      }
      this.masters = new Map();
      await this.t.proxies.resyncSentinels(ctx);
      ctx.sentinel.out_of_sync = false;
      await this.t.cache.updateSentinel(ctx.sentinel);
      this.t.log.info(`sentinels resynced: ${servers.join(', ') || '(none)'}`);
    });
  }

  forgetMaster(gid: number): void {
    this.masters.delete(gid);
  }

  private checkKnown(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      if (!(ctx.sentinel.servers ?? []).includes(addr)) throw notFound(`sentinel-[${addr}] not found`);
    });
  }

  /** INFO of a configured sentinel (unauthenticated API: only configured sentinels). */
  async info(addr: string): Promise<FieldMap> {
    await this.checkKnown(addr);
    return withRedis(addr, { timeoutMs: 1000 }, async (c) => parseInfo(String(await c.call('INFO')))).catch(
      (e: Error) => {
        throw badGateway(e.message);
      },
    );
  }

  /** `{ "<product>-<gid>": {master, slaves} }` as one sentinel sees them. */
  async monitored(addr: string): Promise<Record<string, MonitoredGroup>> {
    await this.checkKnown(addr);
    return withRedis(addr, this.opts(), (c) => this.monitoredOn(c)).catch((e: Error) => {
      throw badGateway(e.message);
    });
  }

  async monitoredOn(c: Redis): Promise<Record<string, MonitoredGroup>> {
    const out: Record<string, MonitoredGroup> = {};
    for (const master of await this.productMasters(c)) {
      const slaves = ((await c.call('SENTINEL', 'SLAVES', master.name!)) as unknown[]).map(pairs);
      out[master.name!] = slaves.length > 0 ? { master, slaves } : { master };
    }
    return out;
  }

  /**
   * Called with the masters each sentinel reported in the last stats round (null: it failed).
   * With a majority of answers, the address with the highest config-epoch wins per group, and a
   * group whose master differs gets the reported server as servers[0] (out_of_sync set: the
   * proxies switched by themselves, the operator resyncs).
   */
  async observe(reports: (Record<string, MonitoredGroup> | null)[]): Promise<void> {
    const ok = reports.filter((r): r is Record<string, MonitoredGroup> => r !== null);
    if (reports.length === 0 || ok.length < 1 + Math.floor(reports.length / 2)) return;
    const best = new Map<number, { addr: string; epoch: number }>();
    for (const r of ok) {
      for (const [name, { master }] of Object.entries(r)) {
        const gid = this.groupOf(name);
        if (gid === undefined || !master.ip || !master.port) continue;
        const epoch = Number(master['config-epoch'] ?? 0);
        const cur = best.get(gid);
        if (!cur || epoch > cur.epoch)
          best.set(gid, { addr: formatAddr(master.ip, Number(master.port)), epoch });
      }
    }
    this.masters = new Map([...best].map(([gid, { addr }]) => [gid, addr]));
    const switches = [...this.masters].filter(([gid, addr]) => {
      const g = this.t.cache.groupList().find((x) => x.id === gid);
      return (
        g && !g.promoting.state && g.servers[0]?.server !== addr && g.servers.some((s) => s.server === addr)
      );
    });
    for (const [gid, addr] of switches) await this.switchMaster(gid, addr);
  }

  private switchMaster(gid: number, addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const g = ctx.group.get(gid);
      if (!g || g.promoting.state) return;
      const i = g.servers.findIndex((s) => s.server === addr);
      if (i <= 0) return;
      [g.servers[0], g.servers[i]] = [g.servers[i]!, g.servers[0]!];
      g.out_of_sync = true;
      await this.t.cache.updateGroup(g);
      this.t.log.warn(`group-[${gid}] master switched to ${addr} by sentinels (group out of sync)`);
    });
  }
}
