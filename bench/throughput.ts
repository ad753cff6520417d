/**
 * The default bench mode: interleaved redis-benchmark rounds against direct redis, codis-proxy,
 * twemproxy when asked and any --vs proxies, then the proxy's memory figures.
 */
import { idleConnections, PeakRss, type GcTotals, type IdleResult } from './memory.js';
import { isRunning, procMem } from './proc.js';
import type { Workload } from './redisBenchmark.js';
import { summarize, type Row } from './report.js';
import { pingOk } from './resp.js';
import { preloadTargets, runRounds, type Target } from './rounds.js';
import { acceptNotes } from './scaling.js';
import { startProxy, startRedis, type Managed, type ProxyProc } from './servers.js';
import { startTwemproxy, type Nutcracker } from './twemproxy.js';
import type { ProxyAccept } from '../src/proxy/Config.js';

/**
 * The `proxy` target is one process whatever the cores (the default would be cores − 1 workers
 * on a bigger machine): its rows compare across machines, and its memory figures, read from its
 * own /proc entry, are the whole proxy's. `--ncpu N` adds worker targets.
 */
const ONE_PROCESS = { ncpu: 1 };

export interface ThroughputOptions {
  rounds: number;
  scale: number;
  workloads: readonly Workload[];
  vs: readonly Target[];
  runTimeoutMs: number;
  idleConns: number;
  /** For each, one more codis-proxy target run with --ncpu N, named ncpu-N. */
  ncpus: readonly number[];
  /** Their proxy_accept. */
  proxyAccept: ProxyAccept;
  /** Run twemproxy over the same redis-servers, as target twemproxy. */
  twemproxy?: Nutcracker;
}

export interface PeerMemory {
  name: string;
  peakRssMB: number;
}

export interface ThroughputResult {
  rows: Row[];
  peakRssMB: number;
  peakStatsRssMB: number;
  /** The one-process proxy's garbage collections over the run (preload included). */
  gc: GcTotals;
  idle: IdleResult | string;
  peers: PeerMemory[];
  notes: string[];
}

const MB = 1024 * 1024;
const log = (s: string): void => void process.stderr.write(s + '\n');

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const notes: string[] = o.ncpus.length > 0 ? acceptNotes(o.proxyAccept) : [];
  const servers: Managed[] = [];
  let proxy: ProxyProc | undefined;
  const withWorkers: ProxyProc[] = [];
  const peers: { name: string; proc: Managed }[] = [];
  const peak = new PeakRss();
  try {
    log('starting 2 redis-servers and codis-proxy');
    servers.push(await startRedis(), await startRedis());
    const backends = servers.map((s) => s.addr);
    proxy = await startProxy(backends, ONE_PROCESS);
    peak.watch(proxy);
    const targets: Target[] = [
      {
        name: 'direct',
        kind: 'direct',
        host: '127.0.0.1',
        port: servers[0]!.port,
        pid: () => servers[0]!.pid,
      },
      { name: 'proxy', kind: 'proxy', host: '127.0.0.1', port: proxy.port, pid: () => proxy?.pid },
    ];
    for (const n of o.ncpus) {
      log(`starting codis-proxy --ncpu ${n} (proxy_accept = "${o.proxyAccept}")`);
      const p = await startProxy(backends, { ncpu: n, accept: o.proxyAccept });
      withWorkers.push(p);
      targets.push({ name: `ncpu-${n}`, kind: 'workers', host: '127.0.0.1', port: p.port, pid: () => p.pid });
    }
    if (o.twemproxy !== undefined) {
      log(`starting twemproxy (${o.twemproxy.bin}, ${o.twemproxy.version})`);
      const p = await startTwemproxy(o.twemproxy.bin, backends);
      peers.push({ name: 'twemproxy', proc: p });
      targets.push({ name: 'twemproxy', kind: 'peer', host: '127.0.0.1', port: p.port, pid: () => p.pid });
    }
    targets.push(...o.vs);
    for (const t of o.vs) {
      if (!(await pingOk(t.host, t.port)))
        throw new Error(`--vs ${t.name}: no PONG from ${t.host}:${t.port}`);
    }

    await preloadTargets(o.workloads, targets, notes);

    const runs = await runRounds(o, targets, servers, async (t, w, round) => {
      if (t.kind !== 'proxy' || !proxy) return;
      const alive = isRunning(proxy.child);
      if (alive && (await pingOk(t.host, t.port))) return;
      const why = alive
        ? 'stopped answering PING'
        : `exited (${proxy.child.exitCode ?? proxy.child.signalCode})`;
      const msg = `codis-proxy ${why} after ${w.id} in round ${round + 1}; restarted it. Last log: ${proxy.logs().slice(-500).trim() || '(empty)'}`;
      notes.push(msg);
      log(msg);
      await proxy.stop();
      proxy = await startProxy(backends, ONE_PROCESS);
      peak.watch(proxy);
      t.port = proxy.port;
    });
    await peak.stop();
    // VmHWM is the process's own peak: no sampling needed for a peer that runs throughout.
    const peerMemory = peers.map(({ name, proc }) => ({
      name,
      peakRssMB: (procMem(proc.pid)?.hwm ?? NaN) / MB,
    }));

    let idle: IdleResult | string;
    log(`measuring RSS growth at ${o.idleConns} idle connections on a fresh proxy`);
    // A fresh proxy: the loaded one's heap is still shrinking after the runs, which would hide the growth.
    await proxy.stop();
    proxy = await startProxy(backends, ONE_PROCESS);
    try {
      idle = await idleConnections(proxy, o.idleConns);
    } catch (e) {
      idle = `failed: ${(e as Error).message}`;
      log(`idle-connection measurement ${idle}`);
    }
    return {
      rows: summarize(
        o.workloads,
        targets.map((t) => t.name),
        runs,
      ),
      peakRssMB: peak.hwm / MB,
      peakStatsRssMB: peak.statsMax / MB,
      gc: peak.gc(),
      idle,
      peers: peerMemory,
      notes,
    };
  } finally {
    await peak.stop();
    await proxy?.stop();
    await Promise.all([...withWorkers, ...peers.map((p) => p.proc)].map((p) => p.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  }
}
