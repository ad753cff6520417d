/** The bench's command line: its modes, their flags, and the options parsed from them. */
import { parseArgs } from 'node:util';
import { WORKLOADS, type Workload } from './redisBenchmark.js';
import type { MigrationOptions } from './migration.js';
import { defaultShare } from './scaling.js';
import { MAX_PROXY_PROCS, type ProxyAccept } from '../src/proxy/Config.js';
import type { Target } from './rounds.js';
import { findNutcracker, type Nutcracker } from './twemproxy.js';

/** The scaling mode's defaults: many clients, as a proxy worth several processes would have. */
const SCALING_WORKLOADS = ['get-p1-c500', 'set-p1-c500'];
const SCALING_NCPUS = [1, 2, 4];

const USAGE = `usage: npm run bench -- [mode] [options]

modes:
  throughput (default)   redis-benchmark workloads against direct redis, codis-proxy (one process:
                         --ncpu 1) and --vs targets
  migration              a steady GET/SET load through a proxy before, during and after the dashboard
                         migrates slots 0..N-1 from group 1 to group 2; migration speed, source stalls
  scaling                codis-proxy with each --ncpu N (default 1,2,4) over the same redis-servers, in
                         interleaved rounds: how throughput grows with worker processes

options:
  --quick                1 round, -n scaled by 0.1: a smoke run of well under a minute
                         (migration: 100k keys, 128 slots)
  --rounds N             interleaved rounds (default 3); medians are taken over rounds
  --requests-scale X     multiply every workload's -n by X (default 1, or 0.1 with --quick)
  --only a,b             workloads to run: ${WORKLOADS.map((w) => w.id).join(', ')}
                         (default: all but the extras, ${WORKLOADS.filter((w) => w.extra === true)
                           .map((w) => w.id)
                           .join(', ')})
  --vs NAME=HOST:PORT    another proxy to compare (repeatable); it must already run on 127.0.0.1
  --twemproxy            also run twemproxy (nutcracker: $NUTCRACKER, PATH or /usr/sbin; Debian's
                         package nutcracker) over the same two redis-servers, as target twemproxy
  --ncpu N[,N...]        also run codis-proxy with --ncpu N worker processes, as target ncpu-N
                         (its CPU and r/w calls count its workers): how throughput grows with cores
  --proxy-accept WHO     proxy_accept of the ncpu-N proxies: primary (default; it hands each client
                         to a worker) or workers (they accept on the shared port)
  --run-timeout SEC      kill a redis-benchmark run that takes longer (default 60, 20 with --quick)
  --idle-conns N         connections for the idle-memory test (default 1000)
  --write                rewrite bench/RESULTS.md and bench/results.svg (migration: only its section
                         of bench/RESULTS.md; scaling: its section and bench/scaling.svg; the rest is kept)
  -h, --help

migration options:
  --keys N               keys loaded into group 1 (default 1000000)
  --slots N              slots 0..N-1 to migrate (default 512)
  --value-bytes N        value size (default 64)
  --clients N            concurrent load clients (default 20)
  --load-rate N          requests/s the clients offer together, paced (default 10000); 0: closed
                         loop, each client sends its next request as soon as its reply came
  --phase-secs N         length of the before and after phases (default 10)
  --dashboard-conf K=V   a dashboard.toml setting, V in TOML (repeatable), e.g.
                         migration_parallel_slots=512 or migration_pause='"5ms"'
  --bigkey-fields N      before the phases, write one hash of N fields (HSET 1000 fields per command)
                         straight into group 1, in a slot of the migrated range; report how long it took
                         to move and what other clients waited meanwhile (default 0: none)

scaling options (and --ncpu, --proxy-accept, --only, --rounds, --requests-scale, --run-timeout,
--quick, --write):
  --core-share X         cap each proxy process (each worker) at X of a core, 0.1 to 1, with a cgroup
                         CPU quota (needs root and the cpu controller); 0: no cap. Default: no cap
                         when the machine has a core per worker and 3 more, else 0.2
  --only                 default here: ${SCALING_WORKLOADS.join(', ')}`;

const MIGRATION_FLAGS = [
  'keys',
  'slots',
  'value-bytes',
  'clients',
  'load-rate',
  'phase-secs',
  'dashboard-conf',
  'bigkey-fields',
];
const THROUGHPUT_FLAGS = [
  'rounds',
  'requests-scale',
  'only',
  'vs',
  'twemproxy',
  'ncpu',
  'proxy-accept',
  'run-timeout',
  'idle-conns',
];
const SCALING_FLAGS = [
  'rounds',
  'requests-scale',
  'only',
  'ncpu',
  'proxy-accept',
  'run-timeout',
  'core-share',
];
/** The flags each mode takes beside --quick and --write; another mode's are refused. */
const MODE_FLAGS: Record<string, readonly string[]> = {
  throughput: THROUGHPUT_FLAGS,
  migration: MIGRATION_FLAGS,
  scaling: SCALING_FLAGS,
};

export interface BenchOptions {
  quick: boolean;
  rounds: number;
  scale: number;
  workloads: Workload[];
  vs: Target[];
  ncpus: number[];
  /** proxy_accept of the proxies with workers. */
  proxyAccept: ProxyAccept;
  /** Scaling: the share of a core each proxy process may use (0: not capped). */
  coreShare: number;
  /** nutcracker when --twemproxy was given. */
  twemproxy?: Nutcracker;
  runTimeoutMs: number;
  idleConns: number;
  write: boolean;
  /** How this run was invoked, for RESULTS.md. */
  command: string;
  migration: MigrationOptions;
}

export function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n\n${USAGE}\n`);
  process.exit(2);
}

function positive(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number, got ${JSON.stringify(v)}`);
  return n;
}

export function parseOptions(argv: string[]): { mode: string; opts: BenchOptions } {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      quick: { type: 'boolean', default: false },
      rounds: { type: 'string' },
      'requests-scale': { type: 'string' },
      only: { type: 'string' },
      vs: { type: 'string', multiple: true, default: [] },
      ncpu: { type: 'string' },
      'proxy-accept': { type: 'string' },
      'core-share': { type: 'string' },
      // No default: `given` must see it only when it was passed.
      twemproxy: { type: 'boolean' },
      'run-timeout': { type: 'string' },
      'idle-conns': { type: 'string' },
      write: { type: 'boolean', default: false },
      keys: { type: 'string' },
      slots: { type: 'string' },
      'value-bytes': { type: 'string' },
      clients: { type: 'string' },
      'load-rate': { type: 'string' },
      'phase-secs': { type: 'string' },
      'dashboard-conf': { type: 'string', multiple: true, default: [] },
      'bigkey-fields': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    process.exit(0);
  }
  if (positionals.length > 1) fail(`one mode at most, got ${positionals.join(' ')}`);
  const mode = positionals[0] ?? 'throughput';
  const given = (names: string[]): string[] =>
    names.filter((n) => {
      const v = (values as Record<string, unknown>)[n];
      return v !== undefined && !(Array.isArray(v) && v.length === 0);
    });
  const own = MODE_FLAGS[mode];
  if (own === undefined) fail(`unknown mode ${JSON.stringify(mode)}`);
  const all = [...new Set(Object.values(MODE_FLAGS).flat())];
  const foreign = given(all.filter((f) => !own.includes(f)));
  if (foreign.length) fail(`--${foreign.join(', --')} not used by mode ${mode}`);
  const quick = values.quick;
  const count = (name: string, v: string | undefined, dflt: number, max = Infinity): number => {
    const n = positive(name, v, dflt);
    if (!Number.isInteger(n) || n > max) fail(`${name} must be an integer of at most ${max}, got ${v}`);
    return n;
  };
  let workloads =
    mode === 'scaling'
      ? WORKLOADS.filter((w) => SCALING_WORKLOADS.includes(w.id))
      : WORKLOADS.filter((w) => w.extra !== true);
  if (values.only !== undefined) {
    const ids = values.only
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    const unknown = ids.filter((id) => !WORKLOADS.some((w) => w.id === id));
    if (unknown.length || ids.length === 0)
      fail(`unknown workload(s) in --only: ${unknown.join(', ') || '(none)'}`);
    workloads = WORKLOADS.filter((w) => ids.includes(w.id));
  }
  const vs = values.vs.map((spec): Target => {
    const m = /^([\w.-]+)=([\w.-]+):(\d+)$/.exec(spec);
    if (!m) fail(`--vs wants NAME=HOST:PORT, got ${JSON.stringify(spec)}`);
    const [, name, host, port] = m;
    if (['direct', 'proxy'].includes(name!)) fail(`--vs name ${name} is taken`);
    return { name: name!, kind: 'vs', host: host!, port: Number(port) };
  });
  const ncpus = (values.ncpu ?? '')
    .split(',')
    .filter((v) => v.trim() !== '')
    .map((v) => count('--ncpu', v.trim(), 1, MAX_PROXY_PROCS));
  if (values.ncpu !== undefined && ncpus.length === 0) fail('--ncpu wants N[,N...]');
  if (new Set(ncpus).size !== ncpus.length) fail('--ncpu values must be distinct');
  if (mode === 'scaling' && ncpus.length === 0) ncpus.push(...SCALING_NCPUS);
  const share =
    mode !== 'scaling'
      ? 0
      : values['core-share'] === undefined
        ? defaultShare(ncpus)
        : Number(values['core-share']);
  if (!(share === 0 || (share >= 0.1 && share <= 1)))
    fail(`--core-share must be 0 (no cap) or from 0.1 to 1, got ${values['core-share']}`);
  const proxyAccept = values['proxy-accept'] ?? 'primary';
  if (proxyAccept !== 'primary' && proxyAccept !== 'workers')
    fail(`--proxy-accept must be primary or workers, got ${JSON.stringify(proxyAccept)}`);
  if (vs.some((t) => /^ncpu-\d+$/.test(t.name))) fail('--vs names ncpu-N are taken');
  if (new Set(vs.map((t) => t.name)).size !== vs.length) fail('--vs names must be distinct');
  let twemproxy: Nutcracker | undefined;
  if (values.twemproxy === true) {
    if (vs.some((t) => t.name === 'twemproxy')) fail('--vs name twemproxy is taken by --twemproxy');
    twemproxy = findNutcracker();
    if (twemproxy === undefined)
      fail('--twemproxy: nutcracker not found (apt-get install nutcracker, or set NUTCRACKER to its path)');
  }
  return {
    mode,
    opts: {
      quick,
      rounds: Math.round(positive('--rounds', values.rounds, quick ? 1 : 3)),
      scale: positive('--requests-scale', values['requests-scale'], quick ? 0.1 : 1),
      workloads,
      vs,
      // Ascending: the scaling mode's ratios are against the fewest workers.
      ncpus: mode === 'scaling' ? ncpus.sort((a, b) => a - b) : ncpus,
      proxyAccept,
      coreShare: share,
      twemproxy,
      runTimeoutMs: positive('--run-timeout', values['run-timeout'], quick ? 20 : 60) * 1000,
      idleConns: Math.round(positive('--idle-conns', values['idle-conns'], 1000)),
      write: values.write,
      command: ['npm run bench', ...(argv.length ? ['--', ...argv] : [])].join(' '),
      migration: {
        keys: count('--keys', values.keys, quick ? 100_000 : 1_000_000),
        slots: count('--slots', values.slots, quick ? 128 : 512, 1024),
        valueBytes: count('--value-bytes', values['value-bytes'], 64, 512 * 1024 * 1024),
        clients: count('--clients', values.clients, 20, 10_000),
        loadRate:
          values['load-rate'] === '0' ? 0 : count('--load-rate', values['load-rate'], 10_000, 10_000_000),
        phaseSecs: positive('--phase-secs', values['phase-secs'], 10),
        dashboardConf: values['dashboard-conf'].map((kv) => {
          const m = /^(\w+)=(.+)$/.exec(kv);
          if (!m) fail(`--dashboard-conf wants KEY=VALUE, got ${JSON.stringify(kv)}`);
          return `${m[1]} = ${m[2]}`;
        }),
        bigkeyFields:
          values['bigkey-fields'] === '0'
            ? 0
            : count('--bigkey-fields', values['bigkey-fields'], 0, 100_000_000),
        pendingTimeoutMs: 30_000,
        stuckTimeoutMs: 120_000,
      },
    },
  };
}
