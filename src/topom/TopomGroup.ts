/**
 * Groups and their servers (Codis topom_group.go), on stock Redis: create/remove groups, add/remove
 * servers (checked to be reachable redis-servers with product_auth), promote a replica, replica
 * groups, sync actions (REPLICAOF jobs run by a background loop) and the group status.
 */
import { newGroup, newGroupServer, type Group } from '../models/Group.js';
import {
  ActionFinished,
  ActionNothing,
  ActionPending,
  ActionPrepared,
  ActionPreparing,
  ActionSynced,
  ActionSyncedFailed,
  ActionSyncing,
} from '../models/SlotMapping.js';
import { addrProblem } from '../utils/addr.js';
import { badRequest, conflict, notFound } from '../utils/http.js';
import { checkGroupId, type Context } from './context.js';
import { Loop } from './loop.js';
import { checkRedisServer, NO_ONE, NotRedisError, serverInfo, setMaster, withRedis } from './redis.js';
import { badGateway } from './TopomProxy.js';
import type { Topom } from './Topom.js';

const CHECK_TIMEOUT_MS = 1000;
const SYNC_TIMEOUT_MS = 30_000;

export interface ServerStatus {
  server: string;
  /** `NO:ONE` for the master, `<master>:up` for a replica. */
  expected: string;
  /** From the last INFO sample: `NO:ONE`, `<master_addr>:<master_link_status>`, or '' when unknown. */
  actual: string;
  ok: boolean;
  error?: string;
}

export class TopomGroup {
  private loop: Loop | undefined;

  constructor(private readonly t: Topom) {}

  private checkAddr(addr: string): void {
    const problem = addrProblem(addr);
    if (problem) throw badRequest(`invalid server address ${JSON.stringify(addr)}: ${problem}`);
  }

  private notPromoting(g: Group): void {
    if (g.promoting.state) throw conflict(`group-[${g.id}] is promoting`);
  }

  private async save(ctx: Context, g: Group): Promise<void> {
    await this.t.cache.updateGroup(g);
    ctx.group.set(g.id, g);
  }

  /** Marks the sentinel list out of sync (servers changed) when sentinels are configured. */
  private async sentinelOutOfSync(ctx: Context): Promise<void> {
    if ((ctx.sentinel.servers ?? []).length === 0 || ctx.sentinel.out_of_sync) return;
    ctx.sentinel.out_of_sync = true;
    await this.t.cache.updateSentinel(ctx.sentinel);
  }

  create(gid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      checkGroupId(gid);
      if (ctx.group.has(gid)) throw conflict(`group-[${gid}] already exists`);
      await this.save(ctx, newGroup(gid));
      this.t.log.info(`group-[${gid}] created`);
    });
  }

  /** Only an empty group that no slot uses (its master went last, refused while it held keys). */
  remove(gid: number): Promise<void> {
    return this.t.run(async (ctx) => {
      const g = ctx.getGroup(gid);
      if (g.servers.length > 0) throw conflict(`group-[${gid}] isn't empty`);
      if (ctx.isGroupInUse(gid)) throw conflict(`group-[${gid}] is still used by slots`);
      await this.t.cache.deleteGroup(gid);
      ctx.group.delete(gid);
      this.t.log.info(`group-[${gid}] removed`);
    });
  }

  /**
   * Refuses (409) when the master still holds keys (INFO keyspace): they would be lost with the
   * group (a migration that did not finish, data restored from an old RDB, …). An unreachable
   * master cannot be checked; it is let go with a warning.
   */
  private async checkNoKeys(gid: number, addr: string): Promise<void> {
    let info: Record<string, string>;
    try {
      info = await withRedis(addr, { auth: this.t.productAuth, timeoutMs: CHECK_TIMEOUT_MS }, serverInfo);
    } catch (e) {
      this.t.log.warn(`group-[${gid}] master ${addr}: keys not checked, ${(e as Error).message}`);
      return;
    }
    const dbs = Object.entries(info)
      .filter(([k, v]) => /^db\d+$/.test(k) && Number(/keys=(\d+)/.exec(v)?.[1] ?? 0) > 0)
      .map(([k, v]) => `${k} ${/keys=(\d+)/.exec(v)?.[1]} keys`);
    if (dbs.length > 0)
      throw conflict(
        `group-[${gid}] master ${addr} still holds keys (${dbs.join(', ')}): migrate its slots away ` +
          `(or flush it if the data is not needed) before removing it`,
      );
  }

  private async resync(ctx: Context, g: Group): Promise<void> {
    this.notPromoting(g);
    await this.t.proxies.resyncSlotMappings(ctx, ctx.getSlotMappingsByGroupId(g.id));
    if (g.out_of_sync) {
      g.out_of_sync = false;
      await this.save(ctx, g);
    }
  }

  resyncGroup(gid: number): Promise<void> {
    return this.t.run(async (ctx) => this.resync(ctx, ctx.getGroup(gid)));
  }

  resyncAll(): Promise<void> {
    return this.t.run(async (ctx) => {
      for (const g of ctx.groups()) await this.resync(ctx, g);
    });
  }

  /** Appends a server (a replica unless the group was empty). */
  addServer(gid: number, addr: string, datacenter = ''): Promise<void> {
    return this.t.run(async (ctx) => {
      this.checkAddr(addr);
      const g = ctx.getGroup(gid);
      if (ctx.hasServer(addr)) throw conflict(`server-[${addr}] already exists`);
      this.notPromoting(g);
      try {
        await checkRedisServer(addr, { auth: this.t.productAuth, timeoutMs: CHECK_TIMEOUT_MS });
      } catch (e) {
        if (e instanceof NotRedisError) throw conflict(e.message);
        throw badGateway(`server-[${addr}] is not a reachable redis-server: ${(e as Error).message}`);
      }
      await this.sentinelOutOfSync(ctx);
      g.servers.push(newGroupServer(addr, datacenter));
      await this.save(ctx, g);
      this.t.log.info(
        `group-[${gid}] added server ${addr}${datacenter ? ` (datacenter ${datacenter})` : ''}`,
      );
    });
  }

  delServer(gid: number, addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const g = ctx.getGroup(gid);
      const index = ctx.getGroupIndex(g, addr);
      this.notPromoting(g);
      if (index === 0 && (g.servers.length !== 1 || ctx.isGroupInUse(gid)))
        throw conflict(`group-[${gid}] can't remove master, still in use`);
      if (index === 0) await this.checkNoKeys(gid, addr);
      await this.sentinelOutOfSync(ctx);
      if (index !== 0 && g.servers[index]!.replica_group) g.out_of_sync = true;
      g.servers.splice(index, 1);
      if (g.servers.length === 0) g.out_of_sync = false;
      await this.save(ctx, g);
      this.t.log.info(`group-[${gid}] removed server ${addr}`);
    });
  }

  /**
   * Makes addr the master (resumable: preparing → prepared, slots locked on every proxy →
   * finished, servers reordered and REPLICAOF NO ONE sent → slots pushed unlocked). Unlike Codis,
   * the other servers then get pending sync actions, so that they follow the new master.
   */
  promote(gid: number, addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const g = ctx.getGroup(gid);
      const index = ctx.getGroupIndex(g, addr);
      if (g.promoting.state) {
        if (index !== (g.promoting.index ?? 0))
          throw conflict(`group-[${gid}] is promoting index = ${g.promoting.index ?? 0}`);
      } else if (index === 0) throw conflict(`group-[${gid}] can't promote master`);
      const moving = ctx.slots.filter(
        (m) =>
          m.action.state &&
          m.action.state !== ActionPending &&
          (m.group_id === gid || m.action.target_id === gid),
      );
      if (moving.length > 0)
        throw conflict(
          `group-[${gid}] takes part in ${moving.length} running slot migration(s) ` +
            `(slot-[${moving[0]!.id}] ${moving[0]!.action.state}, group-[${moving[0]!.group_id}] → ` +
            `group-[${moving[0]!.action.target_id}]): promote once they finish, or abort them ` +
            `(codis-admin --slot-action --abort --sid=ID)`,
        );
      const slots = () => ctx.getSlotMappingsByGroupId(gid);
      let state = g.promoting.state ?? ActionNothing;
      if (state === ActionNothing) {
        this.t.log.warn(`group-[${gid}] will promote index = ${index} (${addr})`);
        g.promoting = { index, state: ActionPreparing };
        await this.save(ctx, g);
        state = ActionPreparing;
      }
      if (state === ActionPreparing) {
        g.promoting.state = ActionPrepared;
        try {
          await this.t.proxies.resyncSlotMappings(ctx, slots());
        } catch (e) {
          this.t.log.warn(`group-[${gid}] resync-rollback to preparing`);
          g.promoting.state = ActionPreparing;
          await this.t.proxies.resyncSlotMappings(ctx, slots()).catch(() => undefined);
          throw e;
        }
        await this.save(ctx, g);
        state = ActionPrepared;
      }
      if (state === ActionPrepared) {
        if ((ctx.sentinel.servers ?? []).length > 0) {
          await this.sentinelOutOfSync(ctx);
          await this.t.sentinels.removeGroups(ctx.sentinel.servers ?? [], [gid]).catch((e) => {
            this.t.log.warn(`group-[${gid}] remove sentinels failed: ${(e as Error).message}`);
          });
          this.t.sentinels.forgetMaster(gid);
        }
        const i = g.promoting.index ?? 0;
        const others = g.servers.filter((_, k) => k !== i && k !== 0);
        g.servers = [g.servers[i]!, ...others, g.servers[0]!];
        for (const s of g.servers) s.action = {};
        g.promoting = { state: ActionFinished };
        await this.save(ctx, g);
        const master = g.servers[0]!.server;
        await withRedis(master, { auth: this.t.productAuth, timeoutMs: SYNC_TIMEOUT_MS }, (c) =>
          setMaster(c, NO_ONE, this.t.productAuth),
        ).catch((e) => this.t.log.warn(`group-[${gid}] ${master} REPLICAOF NO ONE failed: ${e.message}`));
      }
      await this.t.proxies.resyncSlotMappings(ctx, slots());
      let next = ctx.maxSyncActionIndex();
      g.servers.forEach((s, k) => (s.action = k === 0 ? {} : { index: ++next, state: ActionPending }));
      g.promoting = {};
      g.out_of_sync = false;
      await this.save(ctx, g);
      this.loop?.kick();
      this.t.log.warn(`group-[${gid}] promoted ${g.servers[0]!.server}`);
    });
  }

  replicaGroups(gid: number, addr: string, value: boolean): Promise<void> {
    return this.t.run(async (ctx) => {
      const g = ctx.getGroup(gid);
      const index = ctx.getGroupIndex(g, addr);
      this.notPromoting(g);
      g.servers[index]!.replica_group = value;
      if (g.servers.length > 1 && ctx.isGroupInUse(gid)) g.out_of_sync = true;
      await this.save(ctx, g);
    });
  }

  replicaGroupsAll(value: boolean): Promise<void> {
    return this.t.run(async (ctx) => {
      const groups = ctx.groups();
      for (const g of groups) this.notPromoting(g);
      for (const g of groups) {
        if (g.servers.every((s) => s.replica_group === value)) continue;
        for (const s of g.servers) s.replica_group = value;
        if (g.servers.length > 1 && ctx.isGroupInUse(g.id)) g.out_of_sync = true;
        await this.save(ctx, g);
      }
    });
  }

  /** Queues a sync action: the server will follow its group's master (or be the master). */
  syncCreate(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const [g, index] = ctx.getGroupByServer(addr);
      this.notPromoting(g);
      const s = g.servers[index]!;
      if (s.action.state === ActionPending) throw conflict(`server-[${addr}] action already exist`);
      s.action = { index: ctx.maxSyncActionIndex() + 1, state: ActionPending };
      await this.save(ctx, g);
      this.loop?.kick();
    });
  }

  syncRemove(addr: string): Promise<void> {
    return this.t.run(async (ctx) => {
      const [g, index] = ctx.getGroupByServer(addr);
      this.notPromoting(g);
      const s = g.servers[index]!;
      if (!s.action.state) throw notFound(`server-[${addr}] action doesn't exist`);
      s.action = {};
      await this.save(ctx, g);
    });
  }

  start(): void {
    this.loop = new Loop(
      () => this.processSyncAction(),
      1000,
      (e) => this.t.log.warn(`sync action: ${(e as Error).message}`),
      5000,
    ).start(100);
  }

  async stop(): Promise<void> {
    await this.loop?.stop();
  }

  /**
   * One sync action: the pending server with the lowest index (its group not promoting; one left
   * `syncing` by a dashboard that stopped comes first) is marked
   * `syncing`, sent REPLICAOF (outside the dashboard mutex), then marked `synced` or
   * `synced_failed`. Returns 0 (run again at once) when it did one.
   */
  async processSyncAction(): Promise<number | void> {
    if (!this.t.online) return;
    const job = await this.t.run(async (ctx) => {
      let best: { g: Group; i: number } | undefined;
      for (const g of ctx.groups()) {
        if (g.promoting.state) continue;
        g.servers.forEach((s, i) => {
          if (s.action.state !== ActionPending && s.action.state !== ActionSyncing) return;
          if (!best || (s.action.index ?? 0) < (best.g.servers[best.i]!.action.index ?? 0)) best = { g, i };
        });
      }
      if (!best) return undefined;
      const { g, i } = best;
      g.servers[i]!.action = { state: ActionSyncing };
      await this.save(ctx, g);
      return { gid: g.id, addr: g.servers[i]!.server, master: i === 0 ? NO_ONE : g.servers[0]!.server };
    });
    if (!job) return;
    let error: string | undefined;
    try {
      await withRedis(job.addr, { auth: this.t.productAuth, timeoutMs: SYNC_TIMEOUT_MS }, (c) =>
        setMaster(c, job.master, this.t.productAuth),
      );
      this.t.log.info(`server-[${job.addr}] of group-[${job.gid}] follows ${job.master}`);
    } catch (e) {
      error = (e as Error).message;
      this.t.log.warn(`server-[${job.addr}] sync action failed: ${error}`);
    }
    await this.t.run(async (ctx) => {
      const g = ctx.group.get(job.gid);
      const s = g?.servers.find((x) => x.server === job.addr);
      if (!g || !s || s.action.state !== ActionSyncing) return;
      s.action = { state: error === undefined ? ActionSynced : ActionSyncedFailed };
      await this.save(ctx, g);
    });
    return 0;
  }

  /** INFO of a group server (unauthenticated API: only addresses that are servers of a group). */
  info(addr: string): Promise<Record<string, string>> {
    return this.t
      .run(async (ctx) => {
        ctx.getGroupByServer(addr);
      })
      .then(() =>
        withRedis(addr, { auth: this.t.productAuth, timeoutMs: CHECK_TIMEOUT_MS }, serverInfo).catch(
          (e: Error) => {
            throw badGateway(e.message);
          },
        ),
      );
  }

  /** Expected vs actual master links of every server, from the last stats sample. */
  status(): Promise<Record<string, ServerStatus[]>> {
    return this.t.run(async (ctx) => {
      const out: Record<string, ServerStatus[]> = {};
      for (const g of ctx.groups()) {
        out[String(g.id)] = g.servers.map((s, i) => {
          const expected = i === 0 ? NO_ONE : `${g.servers[0]!.server}:up`;
          const sample = this.t.stats.redisSample(s.server);
          const st: ServerStatus = { server: s.server, expected, actual: '', ok: false };
          if (sample?.stats) {
            const info = sample.stats;
            st.actual = info.master_addr ? `${info.master_addr}:${info.master_link_status ?? ''}` : NO_ONE;
            st.ok = st.actual === expected;
          } else if (sample?.error) st.error = String(sample.error.Cause);
          else if (sample?.timeout) st.error = 'timeout';
          return st;
        });
      }
      return out;
    });
  }
}
