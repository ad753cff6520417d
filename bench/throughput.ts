/**
 * The default bench mode: interleaved redis-benchmark rounds against direct redis, codis-proxy,
 * twemproxy when asked and any --vs proxies, then the proxy's memory figures.
 */
import { idleConnections, PeakRss, type IdleResult } from './memory.js';
import { cpuMs, ioCalls, isRunning, isStopping, machineBusyMs, procMem, treeSum } from './proc.js';
import {
  KEYSPACE,
  runBenchmark,
  VALUE_SIZE,
  type RunOk,
  type RunResult,
  type Workload,
} from './redisBenchmark.js';
import { summarize, type Row, type Runs } from './report.js';
import { pingOk } from './resp.js';
import { hitRate, preload, startProxy, startRedis, type Managed, type ProxyProc } from './servers.js';
import { startTwemproxy, type Nutcracker } from './twemproxy.js';

/**
 * The `proxy` target is one process whatever the cores (the default would be cores − 1 workers
 * on a bigger machine): its rows compare across machines, and its memory figures, read from its
 * own /proc entry, are the whole proxy's. `--ncpu N` adds worker targets.
 */
const ONE_PROCESS = { ncpu: 1 };

export interface Target {
  readonly name: string;
  /**
   * 'workers': a codis-proxy the bench runs with --ncpu (its CPU and r/w calls count its workers too);
   * 'peer': another proxy the bench runs over the same redis-servers.
   */
  readonly kind: 'direct' | 'proxy' | 'workers' | 'peer' | 'vs';
  host: string;
  port: number;
  /** The process serving this target, for its CPU time (none for --vs targets). */
  pid?: () => number | undefined;
}

export interface ThroughputOptions {
  rounds: number;
  scale: number;
  workloads: readonly Workload[];
  vs: readonly Target[];
  runTimeoutMs: number;
  idleConns: number;
  /** For each, one more codis-proxy target run with --ncpu N, named ncpu-N. */
  ncpus: readonly number[];
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
  idle: IdleResult | string;
  peers: PeerMemory[];
  notes: string[];
}

const MB = 1024 * 1024;
const log = (s: string): void => void process.stderr.write(s + '\n');

function describe(r: RunResult): string {
  return r.ok
    ? `${Math.round(r.rps).toLocaleString('en-US')} rps, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.seconds.toFixed(1)} s)`
    : `FAILED: ${r.error}`;
}

/** What a run is measured by, read from /proc just before and just after it (undefined: unknown). */
interface Sample {
  /** The target's own process (with its workers): CPU ms, and read/write calls. */
  cpuMs?: number;
  calls?: number;
  /** Both redis-servers' read/write calls. */
  serverCalls?: number;
  machineBusyMs?: number;
}

function sample(t: Target, servers: readonly Managed[]): Sample {
  const pid = t.pid?.();
  const tree = t.kind === 'workers';
  const own = (of: (pid: number) => number | undefined): number | undefined =>
    pid === undefined ? undefined : tree ? treeSum(of, pid) : of(pid);
  // A --vs target runs over servers of its own.
  const serverCalls = t.kind === 'vs' ? undefined : total(servers.map((s) => ioCalls(s.pid)));
  return { cpuMs: own(cpuMs), calls: own(ioCalls), serverCalls, machineBusyMs: machineBusyMs() };
}

/** The sum, or undefined when one of them is unknown. */
function total(xs: readonly (number | undefined)[]): number | undefined {
  let sum = 0;
  for (const x of xs) {
    if (x === undefined) return undefined;
    sum += x;
  }
  return sum;
}

/** Fills a run's per-request figures from the samples around it. */
function perRequest(r: RunOk, a: Sample, b: Sample, requests: number): void {
  const delta = (k: keyof Sample): number | undefined =>
    a[k] === undefined || b[k] === undefined ? undefined : b[k]! - a[k]!;
  const cpu = delta('cpuMs');
  const calls = delta('calls');
  const serverCalls = delta('serverCalls');
  const busy = delta('machineBusyMs');
  if (cpu !== undefined) r.cpuUs = (cpu * 1000) / requests;
  if (calls !== undefined) r.calls = calls / requests;
  if (serverCalls !== undefined) r.serverCalls = serverCalls / requests;
  if (busy !== undefined) {
    r.machineUs = (busy * 1000) / requests;
    r.busyCores = busy / 1000 / r.seconds;
  }
}

export async function runThroughput(o: ThroughputOptions): Promise<ThroughputResult> {
  const notes: string[] = [];
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
      log(`starting codis-proxy --ncpu ${n}`);
      const p = await startProxy(backends, { ncpu: n });
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

    if (o.workloads.some((w) => w.test === 'get')) {
      for (const t of targets) {
        try {
          const t0 = performance.now();
          await preload(t.host, t.port, KEYSPACE, VALUE_SIZE);
          const hits = await hitRate(t.host, t.port, KEYSPACE, VALUE_SIZE);
          log(
            `preloaded ${KEYSPACE} keys via ${t.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`,
          );
          if (hits < 1)
            notes.push(`After preloading via ${t.name}, only ${(hits * 100).toFixed(1)}% of GETs hit.`);
        } catch (e) {
          const msg = `Preloading ${KEYSPACE} keys via ${t.name} failed (${(e as Error).message}); its GETs may miss.`;
          notes.push(msg);
          log(msg);
        }
      }
    }

    const runs: Runs = new Map(o.workloads.map((w) => [w.id, new Map(targets.map((t) => [t.name, []]))]));
    const hung = new Set<string>();
    for (let round = 0; round < o.rounds; round++) {
      // Rotating the start target spreads warm-up and neighbour noise evenly over the targets.
      const order = targets.map((_, i) => targets[(i + round) % targets.length]!);
      for (const w of o.workloads) {
        const requests = Math.max(1000, Math.round(w.requests * o.scale));
        for (const t of order) {
          const slot = runs.get(w.id)!.get(t.name)!;
          const key = `${w.id}/${t.name}`;
          const tag = `[round ${round + 1}/${o.rounds}] ${w.id.padEnd(12)} ${t.name.padEnd(8)}`;
          // A run that hung once will hang again: don't spend the timeout on it every round.
          if (hung.has(key)) {
            slot[round] = undefined;
            log(`${tag} skipped (hung in an earlier round)`);
            continue;
          }
          const before = sample(t, servers);
          const r = await runBenchmark(w, t.host, t.port, requests, o.runTimeoutMs);
          if (r.ok) perRequest(r, before, sample(t, servers), requests);
          slot[round] = r;
          if (isStopping()) throw new Error('interrupted');
          log(`${tag} ${describe(r)}`);
          if (r.ok) continue;
          if (r.timedOut) hung.add(key);
          if (t.kind === 'proxy' && proxy) {
            const alive = isRunning(proxy.child);
            if (alive && (await pingOk(t.host, t.port))) continue;
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
          }
        }
      }
    }
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
