/**
 * What every throughput-style mode shares: the targets, their preload, and interleaved rounds of
 * redis-benchmark runs, each measured by the CPU and system calls read from /proc around it.
 */
import { cpuTimes, ioCalls, isStopping, machineBusyMs, treeCpuTimes, treeSum } from './proc.js';
import {
  KEYSPACE,
  runBenchmark,
  VALUE_SIZE,
  type RunOk,
  type RunResult,
  type Workload,
} from './redisBenchmark.js';
import type { Runs } from './report.js';
import { hitRate, preload, type Managed } from './servers.js';

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

export interface RoundsOptions {
  rounds: number;
  scale: number;
  workloads: readonly Workload[];
  runTimeoutMs: number;
  /** redis-benchmark threads (default 1). */
  clientThreads?: number;
}

const log = (s: string): void => void process.stderr.write(s + '\n');

export function describe(r: RunResult): string {
  return r.ok
    ? `${Math.round(r.rps).toLocaleString('en-US')} rps, p50 ${r.p50} ms, p99 ${r.p99} ms (${r.seconds.toFixed(1)} s)`
    : `FAILED: ${r.error}`;
}

/** What a run is measured by, read from /proc just before and just after it (undefined: unknown). */
interface Sample {
  /** The target's own process (with its workers): CPU ms, and read/write calls. */
  cpuMs?: number;
  /** The part of cpuMs spent in the kernel. */
  systemMs?: number;
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
  const times = pid === undefined ? undefined : tree ? treeCpuTimes(pid) : cpuTimes(pid);
  return {
    cpuMs: times === undefined ? undefined : times.user + times.system,
    systemMs: times?.system,
    calls: own(ioCalls),
    serverCalls,
    machineBusyMs: machineBusyMs(),
  };
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
  const system = delta('systemMs');
  const calls = delta('calls');
  const serverCalls = delta('serverCalls');
  const busy = delta('machineBusyMs');
  if (cpu !== undefined) {
    r.cpuUs = (cpu * 1000) / requests;
    r.cores = cpu / 1000 / r.seconds;
    if (system !== undefined && cpu > 0) r.systemShare = system / cpu;
  }
  if (calls !== undefined) r.calls = calls / requests;
  if (serverCalls !== undefined) r.serverCalls = serverCalls / requests;
  if (busy !== undefined) {
    r.machineUs = (busy * 1000) / requests;
    r.busyCores = busy / 1000 / r.seconds;
  }
}

/** SETs every key the GET runs can pick through each target, so their GETs hit (failures go to `notes`). */
export async function preloadTargets(
  workloads: readonly Workload[],
  targets: readonly Target[],
  notes: string[],
): Promise<void> {
  if (!workloads.some((w) => w.test === 'get')) return;
  for (const t of targets) {
    try {
      const t0 = performance.now();
      await preload(t.host, t.port, KEYSPACE, VALUE_SIZE);
      const hits = await hitRate(t.host, t.port, KEYSPACE, VALUE_SIZE);
      log(`preloaded ${KEYSPACE} keys via ${t.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
      if (hits < 1)
        notes.push(`After preloading via ${t.name}, only ${(hits * 100).toFixed(1)}% of GETs hit.`);
    } catch (e) {
      const msg = `Preloading ${KEYSPACE} keys via ${t.name} failed (${(e as Error).message}); its GETs may miss.`;
      notes.push(msg);
      log(msg);
    }
  }
}

/**
 * `o.rounds` rounds in which every target runs each workload; the starting target turns from
 * round to round. `onFailed` hears of each failed run (to restart what broke, say).
 */
export async function runRounds(
  o: RoundsOptions,
  targets: readonly Target[],
  servers: readonly Managed[],
  onFailed?: (t: Target, w: Workload, round: number) => Promise<void>,
): Promise<Runs> {
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
        const r = await runBenchmark(w, t.host, t.port, requests, o.runTimeoutMs, o.clientThreads);
        if (r.ok) perRequest(r, before, sample(t, servers), requests);
        slot[round] = r;
        if (isStopping()) throw new Error('interrupted');
        log(`${tag} ${describe(r)}`);
        if (r.ok) continue;
        if (r.timedOut) hung.add(key);
        if (onFailed) await onFailed(t, w, round);
      }
    }
  }
  return runs;
}
