/**
 * The scaling mode: how throughput grows with the proxy's worker processes (--ncpu N). One
 * codis-proxy per N over the same two redis-servers, all run in interleaved rounds. Where the
 * machine lacks a core for each worker (and room for the client and the servers besides), each
 * proxy process is capped at a share of one core (cpuCap): every worker then stands for one
 * slower core, and the proxy's CPU, not the client's or the servers', is what runs out.
 */
import { availableParallelism } from 'node:os';
import { CAP_PERIOD_US, capMembers, cpuCap, removeCaps, type CpuCap } from './cpuCap.js';
import { childPids, sleep } from './proc.js';
import { preloadTargets, runRounds, type RoundsOptions, type Target } from './rounds.js';
import { listBlock, markdownTable, summarize, textTable, type Row } from './report.js';
import type { MachineFacts } from './results.js';
import { startProxy, startRedis, type Managed, type ProxyProc } from './servers.js';
import type { ProxyAccept } from '../src/proxy/Config.js';

export interface ScalingOptions extends RoundsOptions {
  /** Worker counts to compare, ascending; the first is the base of the ratios. */
  ncpus: readonly number[];
  /** Share of a core each proxy process may use; 0: not capped. */
  share: number;
  /** proxy_accept of every target (ncpu-1 runs as one process, whatever it says). */
  proxyAccept: ProxyAccept;
}

export interface ScalingResult {
  rows: Row[];
  share: number;
  /** redis-benchmark's --threads. */
  clientThreads: number;
  /** One line per target: the cores it used against its cap. */
  usage: string[];
  notes: string[];
}

/** The share used when none is given: uncapped only where each worker has a core and 3 are left. */
export function defaultShare(ncpus: readonly number[], cores = availableParallelism()): number {
  return cores >= Math.max(...ncpus) + 3 ? 0 : 0.2;
}

/**
 * redis-benchmark's threads: one drives capped workers easily, but uncapped ones on a big machine
 * would outrun one client thread; it gets the cores the workers and the two servers leave (up to 8).
 */
export function clientThreads(
  share: number,
  ncpus: readonly number[],
  cores = availableParallelism(),
): number {
  return share > 0 ? 1 : Math.max(1, Math.min(8, cores - Math.max(...ncpus) - 2));
}

const log = (s: string): void => void process.stderr.write(s + '\n');

/** Says how the proxies with workers took their clients, when not as by default. */
export function acceptNotes(accept: ProxyAccept): string[] {
  return accept === 'workers'
    ? ['The proxies with workers ran with proxy_accept = "workers": each worker accepted on the shared port.']
    : [];
}

/** The processes that serve clients: the workers, or the proxy itself when it runs as one. */
function servingPids(p: ProxyProc, n: number): number[] {
  if (n === 1) return [p.pid];
  const pids = childPids(p.pid);
  if (pids.length !== n) throw new Error(`codis-proxy --ncpu ${n} runs ${pids.length} workers, not ${n}`);
  return pids;
}

export async function runScaling(o: ScalingOptions): Promise<ScalingResult> {
  const notes: string[] = acceptNotes(o.proxyAccept);
  const servers: Managed[] = [];
  const proxies: ProxyProc[] = [];
  const caps: CpuCap[] = [];
  try {
    log('starting 2 redis-servers');
    servers.push(await startRedis(), await startRedis());
    const backends = servers.map((s) => s.addr);
    const targets: Target[] = [];
    for (const n of o.ncpus) {
      log(
        `starting codis-proxy --ncpu ${n} (proxy_accept = "${o.proxyAccept}")` +
          (o.share > 0 ? `, each process capped at ${o.share} of a core` : ''),
      );
      const p = await startProxy(backends, { ncpu: n, accept: o.proxyAccept });
      proxies.push(p);
      for (const pid of o.share > 0 ? servingPids(p, n) : []) {
        const cap = cpuCap(o.share);
        caps.push(cap);
        cap.add(pid);
      }
      targets.push({ name: `ncpu-${n}`, kind: 'workers', host: '127.0.0.1', port: p.port, pid: () => p.pid });
    }
    await preloadTargets(o.workloads, targets, notes);
    const threads = clientThreads(o.share, o.ncpus);
    if (threads > 1) log(`redis-benchmark runs with --threads ${threads}`);
    const runs = await runRounds({ ...o, clientThreads: threads }, targets, servers);
    const rows = summarize(
      o.workloads,
      targets.map((t) => t.name),
      runs,
      targets[0]!.name,
    );
    return {
      rows,
      share: o.share,
      clientThreads: threads,
      usage: usage(rows, o),
      notes: [...notes, ...saturation(rows)],
    };
  } finally {
    await Promise.all(proxies.map((p) => p.stop()));
    await Promise.all(servers.map((s) => s.stop()));
    await removeWhenEmpty(caps);
  }
}

/** Per workload and target: the cores the proxy used, against its cap when it had one. */
function usage(rows: readonly Row[], o: ScalingOptions): string[] {
  return rows.map((r) => {
    const n = Number(r.target.slice('ncpu-'.length));
    const used = Number.isFinite(r.cores) ? r.cores.toFixed(2) : '?';
    const what = n === 1 ? 'one process' : `${n} workers and their primary`;
    const cap = o.share > 0 ? ` of a cap of ${(n * o.share).toFixed(2)}` : '';
    return `${r.workload.label}, ${r.target}: ${what} used ${used} cores${cap}`;
  });
}

/** A run that kept (nearly) every core busy measured the machine, not the proxy. */
function saturation(rows: readonly Row[]): string[] {
  const cores = availableParallelism();
  return rows
    .filter((r) => r.busyCores >= 0.9 * cores)
    .map(
      (r) =>
        `${r.workload.label}, ${r.target}: the machine was busy on ${r.busyCores.toFixed(2)} of its ${cores} cores, ` +
        'so this figure is bounded by the machine (client, servers, kernel) as much as by the proxy.',
    );
}

/**
 * The caps' cgroups go once their processes have: a worker still in one after its proxy
 * stopped (its primary was killed, say) is ended first.
 */
async function removeWhenEmpty(caps: readonly CpuCap[]): Promise<void> {
  for (const cap of caps) for (const pid of capMembers(cap)) kill(pid);
  for (let i = 0; i < 50 && caps.some((c) => !c.remove()); i++) await sleep(100);
  removeCaps();
}

function kill(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export function scalingText(r: ScalingResult): string {
  return [capLine(r), '', textTable(r.rows), '', ...r.usage, ...listBlock('notes:', r.notes)].join('\n');
}

function capLine(r: ScalingResult): string {
  return r.share > 0
    ? `Each proxy process (the one process of ncpu-1, each worker of the others) was capped at ${r.share} of a core ` +
        `by a cgroup CPU quota (${CAP_PERIOD_US / 1000} ms period): every worker stands for one core that slow, ` +
        'and the rest of the machine is left to redis-benchmark and the redis-servers.'
    : `Not capped: the workers, redis-benchmark (--threads ${r.clientThreads}) and the redis-servers shared the ` +
        `machine's ${availableParallelism()} cores.`;
}

export function scalingMarkdown(r: ScalingResult, command: string, f: MachineFacts): string {
  const base = r.rows[0]?.base ?? 'ncpu-1';
  return `## Scaling with worker processes

![throughput by worker processes, against ${base}](scaling.svg)

\`${command}\` on ${f.date}: ${f.cores} cores (${f.cpu}), load average ${f.load}, codis-ts ${f.git}.

${capLine(r)}

\`x ${base}\` is the median of the per-round ratio target rps / ${base} rps (the fewest workers). \`CPU µs/req\`
and \`r/w calls/req\` count the primary and all its workers. \`servers r/w calls/req\` grows with the workers:
each has backend connections of its own, so each batches fewer clients' requests into a write.

${markdownTable(r.rows)}

${[...r.usage, ...r.notes].map((l) => `- ${l}`).join('\n')}
`;
}
