/** The proxy `Stats` JSON of Codis 3.2 (§3.3), built from the live counters. */
import type { Proxy } from './Proxy.js';

export const enum StatsFlags {
  Cmd = 1,
  Slots = 2,
  Runtime = 4,
}

export function statsJson(proxy: Proxy, flags: number): Record<string, unknown> {
  const st = proxy.stats;
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
  if (flags & StatsFlags.Runtime) {
    const m = process.memoryUsage();
    out.runtime = {
      general: { alloc: m.heapUsed, sys: m.rss, lookups: 0, mallocs: 0, frees: 0 },
      heap: {
        alloc: m.heapUsed,
        sys: m.heapTotal,
        idle: m.heapTotal - m.heapUsed,
        inuse: m.heapUsed,
        objects: 0,
      },
      gc: { num: 0, cpu_fraction: 0, total_pausems: 0 },
      num_procs: 1,
      num_goroutines: 0,
      num_cgo_call: 0,
      mem_offheap: m.external + m.arrayBuffers,
    };
  }
  return out;
}
