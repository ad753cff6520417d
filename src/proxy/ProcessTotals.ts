/**
 * What INFO reports of a proxy that runs as several worker processes: each process's counters,
 * CPU and memory, summed. A monitoring tool reads INFO on whichever worker its connection
 * landed on, and must see the whole proxy, not that worker's share.
 */
import { addInto } from './LatencyHistogram.js';
import type { OpStatsJson, Stats } from './Stats.js';

/** One process's part (JSON-safe: it crosses the primary–worker channel). */
export interface ProcessTotals {
  sessionsAlive: number;
  /** Clients waiting on a blocking command. */
  sessionsBlocked: number;
  /** Clients with CLIENT TRACKING on, and the keys remembered for them. */
  sessionsTracking: number;
  trackedKeys: number;
  sessionsTotal: number;
  commands: number;
  qps: number;
  /** Error replies: the proxy's own and Redis's. */
  errorReplies: number;
  /** Error replies by code (INFO's Errorstats). */
  errorCodes: Record<string, number>;
  /** Connections refused past proxy_max_clients (Redis's rejected_connections). */
  rejected: number;
  /** Bytes from and to clients, and KB/s over the last second. */
  netIn: number;
  netOut: number;
  inKbps: number;
  outKbps: number;
  rss: number;
  /** The largest RSS sampled (summed over workers: each one's own peak). */
  rssPeak: number;
  /** CPU time in µs. */
  cpuUser: number;
  cpuSys: number;
  /** Processes that serve clients summed into this (a cluster's primary serves none). */
  workers: number;
  /** When the earliest of them started (ms since the epoch): the proxy's uptime. */
  startedMs: number;
  ops: OpStatsJson[];
  /** Latency histograms by command, with `ops` (INFO's Latencystats). */
  latencies: Record<string, number[]>;
}

/** A process's memory now and at its largest (Rusage). */
export interface MemSample {
  readonly mem: number;
  readonly memPeak: number;
}

/** Its clients that wait on a blocking command, or track keys. */
export interface SessionCounts {
  blocked: number;
  tracking: number;
  trackedKeys: number;
}

/** This process's totals; `ops` and `latencies` only when asked for (INFO commandstats, latencystats). */
export function ownTotals(
  counters: Stats,
  sessions: SessionCounts,
  mem: MemSample,
  startedMs: number,
  withOps: boolean,
): ProcessTotals {
  const cpu = process.cpuUsage();
  return {
    sessionsAlive: counters.sessionsAlive,
    sessionsBlocked: sessions.blocked,
    sessionsTracking: sessions.tracking,
    trackedKeys: sessions.trackedKeys,
    sessionsTotal: counters.sessionsTotal,
    commands: counters.total,
    qps: counters.qps,
    errorReplies: counters.fails + counters.redisErrors,
    errorCodes: Object.fromEntries(counters.errorCodes),
    rejected: counters.rejected,
    netIn: counters.netIn,
    netOut: counters.netOut,
    inKbps: counters.inKbps,
    outKbps: counters.outKbps,
    rss: mem.mem,
    rssPeak: Math.max(mem.memPeak, mem.mem),
    cpuUser: cpu.user,
    cpuSys: cpu.system,
    workers: 1,
    startedMs,
    ops: withOps ? counters.commands() : [],
    latencies: withOps ? counters.latencies() : {},
  };
}

/** The primary of a cluster: it serves no client, so it adds only its CPU and memory. */
export function primaryTotals(mem: MemSample, startedMs: number): ProcessTotals {
  const cpu = process.cpuUsage();
  const rssPeak = Math.max(mem.memPeak, mem.mem);
  return { ...none(), rss: mem.mem, rssPeak, cpuUser: cpu.user, cpuSys: cpu.system, startedMs };
}

function none(): ProcessTotals {
  return {
    sessionsAlive: 0,
    sessionsBlocked: 0,
    sessionsTracking: 0,
    trackedKeys: 0,
    sessionsTotal: 0,
    commands: 0,
    qps: 0,
    errorReplies: 0,
    errorCodes: {},
    rejected: 0,
    netIn: 0,
    netOut: 0,
    inKbps: 0,
    outKbps: 0,
    rss: 0,
    rssPeak: 0,
    cpuUser: 0,
    cpuSys: 0,
    workers: 0,
    startedMs: Infinity,
    ops: [],
    latencies: {},
  };
}

export function sumTotals(parts: readonly ProcessTotals[]): ProcessTotals {
  const sum = none();
  for (const p of parts) {
    sum.sessionsAlive += p.sessionsAlive;
    sum.sessionsBlocked += p.sessionsBlocked;
    sum.sessionsTracking += p.sessionsTracking;
    sum.trackedKeys += p.trackedKeys;
    sum.sessionsTotal += p.sessionsTotal;
    sum.commands += p.commands;
    sum.qps += p.qps;
    sum.errorReplies += p.errorReplies;
    sum.rejected += p.rejected;
    sum.netIn += p.netIn;
    sum.netOut += p.netOut;
    sum.inKbps += p.inKbps;
    sum.outKbps += p.outKbps;
    sum.rss += p.rss;
    sum.rssPeak += p.rssPeak;
    sum.cpuUser += p.cpuUser;
    sum.cpuSys += p.cpuSys;
    sum.workers += p.workers;
    sum.startedMs = Math.min(sum.startedMs, p.startedMs);
    for (const [code, n] of Object.entries(p.errorCodes))
      sum.errorCodes[code] = (sum.errorCodes[code] ?? 0) + n;
    for (const [name, h] of Object.entries(p.latencies)) addInto((sum.latencies[name] ??= []), h);
  }
  sum.ops = mergeOps(parts.map((p) => p.ops));
  return sum;
}

/** Per-command counters of several processes, summed by command and sorted by name. */
export function mergeOps(lists: readonly (readonly OpStatsJson[])[]): OpStatsJson[] {
  const byName = new Map<string, OpStatsJson>();
  for (const list of lists) {
    for (const c of list) {
      const m = byName.get(c.opstr);
      if (m === undefined) {
        byName.set(c.opstr, { ...c });
      } else {
        m.calls += c.calls;
        m.usecs += c.usecs;
        m.fails += c.fails;
        m.redis_errtype += c.redis_errtype;
      }
    }
  }
  return [...byName.values()]
    .map((c) => ({ ...c, usecs_percall: c.calls > 0 ? Math.round(c.usecs / c.calls) : 0 }))
    .sort((a, b) => (a.opstr < b.opstr ? -1 : a.opstr > b.opstr ? 1 : 0));
}
