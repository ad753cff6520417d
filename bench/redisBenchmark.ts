/** Workload definitions and one bounded redis-benchmark run with its --csv output parsed. */
import { spawnTracked } from './proc.js';

export const KEYSPACE = 100_000;
export const VALUE_SIZE = 64;

export interface Workload {
  readonly id: string;
  readonly label: string;
  /** redis-benchmark -t name. */
  readonly test: 'set' | 'get' | 'mset' | 'lrange_600';
  readonly pipeline: number;
  readonly clients: number;
  /** -n at --requests-scale 1: a proxy run takes ~2-4 s on a 2-core box (direct runs are faster). */
  readonly requests: number;
  /** Run only when named in --only: not one of the table rows. */
  readonly extra?: boolean;
  /** A new connection for every request (redis-benchmark -k 0), as short-lived clients do. */
  readonly reconnect?: boolean;
}

export const WORKLOADS: readonly Workload[] = [
  { id: 'set-p1', label: 'SET -P 1 c50', test: 'set', pipeline: 1, clients: 50, requests: 100_000 },
  { id: 'get-p1', label: 'GET -P 1 c50', test: 'get', pipeline: 1, clients: 50, requests: 100_000 },
  { id: 'set-p16', label: 'SET -P 16 c50', test: 'set', pipeline: 16, clients: 50, requests: 600_000 },
  { id: 'get-p16', label: 'GET -P 16 c50', test: 'get', pipeline: 16, clients: 50, requests: 600_000 },
  // redis-benchmark's mset test sends MSET with 10 keys.
  { id: 'mset', label: 'MSET(10) c50', test: 'mset', pipeline: 1, clients: 50, requests: 50_000 },
  { id: 'set-p1-c500', label: 'SET -P 1 c500', test: 'set', pipeline: 1, clients: 500, requests: 100_000 },
  { id: 'get-p1-c500', label: 'GET -P 1 c500', test: 'get', pipeline: 1, clients: 500, requests: 100_000 },
  // Big replies (about 42 KB each) from one list: one backend, the bytes path rather than the
  // per-request one. An extra: its buffers would lift the run's peak RSS above the table rows'.
  {
    id: 'lrange600',
    label: 'LRANGE_600 c50',
    test: 'lrange_600',
    pipeline: 1,
    clients: 50,
    requests: 20_000,
    extra: true,
  },
  // Clients that connect for one request and leave (-k 0): the cost of a connection's accept,
  // set-up and close, which a pooled client never pays. An extra.
  {
    id: 'get-reconnect',
    label: 'GET new conn c50',
    test: 'get',
    pipeline: 1,
    clients: 50,
    requests: 20_000,
    extra: true,
    reconnect: true,
  },
];

/** The row name redis-benchmark prints for each -t test. */
const CSV_NAME: Record<Workload['test'], string> = {
  set: 'SET',
  get: 'GET',
  mset: 'MSET (10 keys)',
  lrange_600: 'LRANGE_600 (first 600 elements)',
};

export interface RunOk {
  ok: true;
  rps: number;
  p50: number;
  p99: number;
  seconds: number;
  /** CPU time (user + system) the target's own process spent per request, µs; absent when unknown. */
  cpuUs?: number;
  /** Cores the target's own process kept busy on average during the run. */
  cores?: number;
  /** The part of cpuUs spent in the kernel (0..1). */
  systemShare?: number;
  /** read/write system calls the target's own process made per request. */
  calls?: number;
  /** read/write system calls both redis-servers made per request (direct: the one it is, the other idle). */
  serverCalls?: number;
  /** CPU time the whole machine spent per request (every process, the kernel's too), µs. */
  machineUs?: number;
  /** Cores the machine kept busy on average during the run. */
  busyCores?: number;
}

export interface RunFail {
  ok: false;
  error: string;
  timedOut: boolean;
  command: string;
}

export type RunResult = RunOk | RunFail;

/** `threads` > 1: redis-benchmark's own threads, for targets one client thread cannot saturate. */
export function benchArgs(w: Workload, host: string, port: number, requests: number, threads = 1): string[] {
  return [
    ...['-h', host, '-p', String(port), '-t', w.test, '-n', String(requests), '-c', String(w.clients)],
    ...['-P', String(w.pipeline), '-r', String(KEYSPACE), '-d', String(VALUE_SIZE), '--csv'],
    ...(threads > 1 ? ['--threads', String(threads)] : []),
    ...(w.reconnect === true ? ['-k', '0'] : []),
  ];
}

/** Splits one CSV line of redis-benchmark (every field is double-quoted, none contains a quote). */
function csvFields(line: string): string[] {
  return line.trim().replace(/^"|"$/g, '').split('","');
}

export function parseCsv(stdout: string, test: Workload['test']): { rps: number; p50: number; p99: number } {
  const lines = stdout.split(/\r?\n/).filter((l) => l.startsWith('"'));
  const header = lines.find((l) => l.startsWith('"test"'));
  const row = lines.find((l) => csvFields(l)[0] === CSV_NAME[test]);
  if (!header || !row) throw new Error(`no "${CSV_NAME[test]}" row in redis-benchmark output`);
  const h = csvFields(header);
  const f = csvFields(row);
  const col = (name: string): number => {
    const v = Number(f[h.indexOf(name)]);
    if (!Number.isFinite(v)) throw new Error(`bad ${name} in: ${row}`);
    return v;
  };
  return { rps: col('rps'), p50: col('p50_latency_ms'), p99: col('p99_latency_ms') };
}

/** Error lines worth showing from stderr (redis-benchmark repeats them per reply). */
function firstErrors(stderr: string): string {
  const lines = [...new Set(stderr.split(/\r?\n/).filter((l) => l.trim() !== ''))];
  return lines.slice(0, 3).join(' | ').slice(0, 400);
}

/**
 * One redis-benchmark run, killed after `timeoutMs`: it waits forever for replies that never come,
 * so without the bound a proxy bug would hang the whole bench.
 */
export function runBenchmark(
  w: Workload,
  host: string,
  port: number,
  requests: number,
  timeoutMs: number,
  threads = 1,
) {
  const args = benchArgs(w, host, port, requests, threads);
  const command = `redis-benchmark ${args.join(' ')}`;
  return new Promise<RunResult>((resolve) => {
    const t0 = performance.now();
    const child = spawnTracked(process.env.REDIS_BENCHMARK ?? 'redis-benchmark', args);
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => {
      if (err.length < 64 * 1024) err += d.toString();
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const fail = (error: string): void => resolve({ ok: false, error, timedOut, command });
    child.once('error', (e) => {
      clearTimeout(timer);
      fail(`cannot run redis-benchmark: ${e.message}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const seconds = (performance.now() - t0) / 1000;
      if (timedOut) return fail(`hung: no result after ${timeoutMs / 1000} s (killed). ${firstErrors(err)}`);
      if (code !== 0) return fail(`exit ${code ?? signal}: ${firstErrors(err + out)}`);
      // Error replies still count as requests in redis-benchmark, so rps alone would look fine.
      if (/error/i.test(err)) return fail(`error replies: ${firstErrors(err)}`);
      try {
        resolve({ ok: true, seconds, ...parseCsv(out, w.test) });
      } catch (e) {
        fail(`${(e as Error).message}; stdout: ${out.slice(0, 300)} stderr: ${firstErrors(err)}`);
      }
    });
  });
}
