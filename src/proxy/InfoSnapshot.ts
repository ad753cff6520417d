/**
 * The proxy's INFO fields, by section, from its counters (summed over workers) and its routing
 * state. Field names are Redis's where Redis has the field, so monitoring tools read them.
 */
import os from 'node:os';
import type { ProxyConfig } from './Config.js';
import { REDIS_VERSION } from './commands/table.generated.js';
import { cpuSeconds, type InfoFields, type InfoSnapshot } from './InfoText.js';
import { percentile } from './LatencyHistogram.js';
import type { ProcessTotals } from './ProcessTotals.js';
import type { InfoAsk } from './ProxyInfo.js';
import type { Router } from './Router.js';
import { RUN_ID } from '../utils/runId.js';
import { VERSION } from '../utils/version.js';

/** What the snapshot reads of the proxy besides its totals. */
export interface InfoSource {
  readonly config: ProxyConfig;
  /** `host:port` clients connect to. */
  readonly proxyAddr: string;
  readonly router: Router;
}

export function infoSnapshot(src: InfoSource, t: ProcessTotals, ask: InfoAsk): InfoSnapshot {
  const mem = t.rss;
  const router = src.router;
  return {
    server: {
      redis_version: REDIS_VERSION,
      // Tools and test suites read these as a redis-server gives them; a proxy has no git build.
      redis_git_sha1: '00000000',
      redis_git_dirty: 0,
      redis_mode: 'standalone',
      codis_version: VERSION,
      os: `${os.type()} ${os.release()} ${os.machine()}`,
      arch_bits: 64,
      process_id: process.pid,
      process_supervised: 'no',
      run_id: RUN_ID,
      tcp_port: Number(src.proxyAddr.split(':').pop()),
      server_time_usec: Math.round((performance.timeOrigin + performance.now()) * 1000),
      uptime_in_seconds: Math.floor((Date.now() - t.startedMs) / 1000),
      uptime_in_days: Math.floor((Date.now() - t.startedMs) / 86_400_000),
      executable: process.argv[1] ?? process.execPath,
    },
    clients: {
      connected_clients: t.sessionsAlive,
      maxclients: src.config.proxy_max_clients,
      blocked_clients: t.sessionsBlocked,
      tracking_clients: t.sessionsTracking,
    },
    memory: {
      used_memory: mem,
      used_memory_rss: mem,
      used_memory_human: human(mem),
      used_memory_peak: t.rssPeak,
      used_memory_peak_human: human(t.rssPeak),
    },
    persistence: { loading: 0 },
    stats: {
      total_connections_received: t.sessionsTotal,
      total_commands_processed: t.commands,
      instantaneous_ops_per_sec: t.qps,
      total_net_input_bytes: t.netIn,
      total_net_output_bytes: t.netOut,
      instantaneous_input_kbps: t.inKbps.toFixed(2),
      instantaneous_output_kbps: t.outKbps.toFixed(2),
      rejected_connections: t.rejected,
      tracking_total_keys: t.trackedKeys,
      total_error_replies: t.errorReplies,
      ...ask.servers.stats,
    },
    // The proxy replicates nothing itself: the fields monitoring reads, as a replica-less master's.
    replication: {
      role: 'master',
      connected_slaves: 0,
      master_failover_state: 'no-failover',
      master_replid: RUN_ID,
      master_replid2: '0'.repeat(40),
      master_repl_offset: 0,
      second_repl_offset: -1,
      repl_backlog_active: 0,
      repl_backlog_size: 0,
      repl_backlog_first_byte_offset: 0,
      repl_backlog_histlen: 0,
    },
    cpu: {
      used_cpu_sys: cpuSeconds(t.cpuSys),
      used_cpu_user: cpuSeconds(t.cpuUser),
      used_cpu_sys_children: cpuSeconds(0),
      used_cpu_user_children: cpuSeconds(0),
    },
    modules: {},
    errorstats: Object.fromEntries(
      Object.entries(t.errorCodes).map(([code, n]) => [`errorstat_${code}`, `count=${n}`]),
    ),
    latencystats: latencyFields(t.latencies),
    cluster: { cluster_enabled: 0 },
    keyspace: ask.servers.keyspace,
    proxy: {
      product_name: src.config.product_name,
      online: router.online ? 1 : 0,
      slots_online: router.slots.filter((s) => s.backend !== null).length,
      backends: router.primary.addrs().join(','),
      session_db: ask.session.db,
      workers: t.workers,
    },
    commands: () => t.ops,
  };
}

/**
 * Redis's `latency_percentiles_usec_<command>:p50=…,p99=…,p99.9=…` (its default
 * latency-tracking-info-percentiles), measured from a command's receipt to its reply.
 */
function latencyFields(latencies: Record<string, number[]>): InfoFields {
  const out: InfoFields = {};
  for (const name of Object.keys(latencies).sort()) {
    const h = latencies[name]!;
    const at = PERCENTILES.map((p) => `p${p}=${percentile(h, p).toFixed(3)}`);
    out[`latency_percentiles_usec_${name.toLowerCase()}`] = at.join(',');
  }
  return out;
}

const PERCENTILES = [50, 99, 99.9];

function human(bytes: number): string {
  return `${(bytes / 1048576).toFixed(2)}M`;
}
