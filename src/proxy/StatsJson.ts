/** The proxy `Stats` JSON of Codis 3.2 (§3.3), built from the live counters. */
import { mergeOps } from './ProcessTotals.js';
import type { Proxy } from './Proxy.js';
import { mergeRuntime, type RuntimeJson } from './Runtime.js';
import type { OpStatsJson } from './Stats.js';

export const enum StatsFlags {
  Cmd = 1,
  Slots = 2,
  Runtime = 4,
}

export function statsJson(proxy: Proxy, flags: number): Record<string, unknown> {
  const st = proxy.counters;
  const sentinels: Record<string, unknown> = {};
  if (proxy.sentinels.length > 0) sentinels.servers = proxy.sentinels;
  if (proxy.sentinelMasters !== null) sentinels.masters = proxy.sentinelMasters;
  if (proxy.router.switched) sentinels.switched = true;
  const ops: Record<string, unknown> = {
    total: st.total,
    fails: st.fails,
    redis: { errors: st.redisErrors },
    qps: st.qps,
  };
  if (flags & StatsFlags.Cmd) ops.cmd = st.commands();
  const out: Record<string, unknown> = {
    online: proxy.online,
    closed: proxy.closed,
    sentinels,
    ops,
    sessions: { total: st.sessionsTotal, alive: st.sessionsAlive },
    rusage: proxy.rusage.toJson(),
    backend: { primary_only: proxy.config.backend_primary_only },
  };
  if (flags & StatsFlags.Runtime) out.runtime = proxy.runtime.toJson();
  return out;
}

type Json = Record<string, unknown>;

/** Sums the stats of a cluster's workers into one Codis stats object. */
export function mergeStats(
  parts: Json[],
  own: { online: boolean; closed: boolean; primaryMem: number },
): Json {
  const first = parts[0] ?? {};
  const ops = { total: 0, fails: 0, redis: { errors: 0 }, qps: 0 } as Json & { redis: { errors: number } };
  const cmds: OpStatsJson[][] = [];
  const sessions = { total: 0, alive: 0 };
  let cpu = 0;
  let mem = own.primaryMem;
  for (const p of parts) {
    const o = p.ops as {
      total: number;
      fails: number;
      qps: number;
      redis: { errors: number };
      cmd?: OpStatsJson[];
    };
    (ops.total as number) += o.total;
    (ops.fails as number) += o.fails;
    (ops.qps as number) += o.qps;
    ops.redis.errors += o.redis.errors;
    if (o.cmd) cmds.push(o.cmd);
    const s = p.sessions as { total: number; alive: number };
    sessions.total += s.total;
    sessions.alive += s.alive;
    const r = p.rusage as { cpu: number; mem: number };
    cpu += r.cpu;
    mem += r.mem;
  }
  if (cmds.length > 0) ops.cmd = mergeOps(cmds);
  const out: Json = {
    ...first,
    online: own.online,
    closed: own.closed,
    ops,
    sessions,
    rusage: { ...(first.rusage as Json), cpu, mem },
  };
  // The workers' runtime: they serve the clients. The primary's memory is in rusage.mem.
  if (first.runtime) out.runtime = mergeRuntime(parts.map((p) => p.runtime as RuntimeJson));
  return out;
}
