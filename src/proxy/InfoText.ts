/**
 * The text of INFO, picked by section as Redis picks it: no argument or `default` gives the
 * default sections, `all` and `everything` add Commandstats, and named sections (any case)
 * add themselves. Monitoring tools read these fields by their Redis names.
 */
import type { OpStatsJson } from './Stats.js';

export type InfoFields = Record<string, string | number>;

/** The proxy's state, by INFO section (Redis's names, then the proxy's own). */
export interface InfoSnapshot {
  server: InfoFields;
  clients: InfoFields;
  memory: InfoFields;
  persistence: InfoFields;
  stats: InfoFields;
  replication: InfoFields;
  cpu: InfoFields;
  /** Modules: none, as a stock Redis without any. */
  modules: InfoFields;
  /** `errorstat_<CODE>: count=N`. */
  errorstats: InfoFields;
  /** `latency_percentiles_usec_<command>`: empty unless Latencystats is asked for. */
  latencystats: InfoFields;
  cluster: InfoFields;
  /** Summed over the primaries (KeyspaceInfo); empty unless the Keyspace section is asked for. */
  keyspace: InfoFields;
  proxy: InfoFields;
  /** Per-command counters, read only when Commandstats is asked for. */
  commands: () => readonly OpStatsJson[];
}

const ORDER = [
  'server',
  'clients',
  'memory',
  'persistence',
  'stats',
  'replication',
  'cpu',
  'modules',
  'commandstats',
  'errorstats',
  'latencystats',
  'cluster',
  'keyspace',
  'proxy',
] as const;
type Section = (typeof ORDER)[number];

const TITLES: Record<Section, string> = {
  server: 'Server',
  clients: 'Clients',
  memory: 'Memory',
  persistence: 'Persistence',
  stats: 'Stats',
  replication: 'Replication',
  cpu: 'CPU',
  modules: 'Modules',
  commandstats: 'Commandstats',
  errorstats: 'Errorstats',
  latencystats: 'Latencystats',
  cluster: 'Cluster',
  keyspace: 'Keyspace',
  proxy: 'Proxy',
};

/** Not in the default set, as in Redis. */
const EXTRA: ReadonlySet<Section> = new Set(['commandstats', 'latencystats']);

/** The sections INFO's arguments ask for; unknown names ask for nothing. */
function infoSections(args: readonly string[]): Set<Section> {
  const out = new Set<Section>();
  const names = args.length === 0 ? ['default'] : args.map((a) => a.toLowerCase());
  for (const name of names) {
    if (name === 'default' || name === 'all' || name === 'everything') {
      for (const s of ORDER) if (name !== 'default' || !EXTRA.has(s)) out.add(s);
    } else if ((ORDER as readonly string[]).includes(name)) {
      out.add(name as Section);
    }
  }
  return out;
}

/** Whether INFO's arguments ask for the per-command counters or latencies. */
export function wantsPerCommand(args: readonly string[]): boolean {
  const want = infoSections(args);
  return want.has('commandstats') || want.has('latencystats');
}

/** Whether INFO's arguments ask for a section (Keyspace and Stats take a round trip to the servers). */
export function wantsSection(args: readonly string[], section: Section): boolean {
  return infoSections(args).has(section);
}

export function infoText(args: readonly string[], snap: InfoSnapshot): string {
  const want = infoSections(args);
  const out: string[] = [];
  for (const s of ORDER) {
    if (!want.has(s)) continue;
    const lines = s === 'commandstats' ? commandLines(snap.commands()) : fieldLines(snap[s]);
    out.push(`# ${TITLES[s]}`, ...lines, '');
  }
  return out.join('\r\n');
}

function fieldLines(fields: InfoFields): string[] {
  return Object.entries(fields).map(([k, v]) => `${k}:${v}`);
}

/**
 * Redis's `cmdstat_<name>` lines. A command the proxy answered with an error of its own
 * (refused, wrong arity, backend down) counts as rejected; an error reply from Redis as failed.
 */
function commandLines(ops: readonly OpStatsJson[]): string[] {
  return ops.map((o) => {
    const perCall = o.calls > 0 ? (o.usecs / o.calls).toFixed(2) : '0.00';
    return (
      `cmdstat_${o.opstr.toLowerCase()}:calls=${o.calls},usec=${o.usecs},usec_per_call=${perCall},` +
      `rejected_calls=${o.fails},failed_calls=${o.redis_errtype}`
    );
  });
}

/** Seconds of CPU as Redis prints them (used_cpu_sys:0.123456). */
export function cpuSeconds(micros: number): string {
  return (micros / 1e6).toFixed(6);
}
