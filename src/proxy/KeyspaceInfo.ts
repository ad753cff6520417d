/**
 * INFO's Keyspace section for the whole product: every primary's `dbN:keys=..,expires=..`
 * lines summed per database, so monitoring that reads key counts from INFO (as it does from a
 * single Redis) sees all groups, not one.
 */
import type { InfoFields } from './InfoText.js';

/** One backend's answer to `INFO keyspace` (and stats); text null when it failed or did not answer. */
export interface KeyspaceAnswer {
  addr: string;
  text: string | null;
}

/**
 * Sums the counters of each `dbN` line over the backends that answered. `avg_ttl` is an
 * average, so it is weighted by each backend's `expires`. Backends that did not answer are
 * named in `backends_unanswered`, so a partial sum is never mistaken for the whole.
 */
export function mergeKeyspace(answers: readonly KeyspaceAnswer[]): InfoFields {
  const dbs = new Map<number, Map<string, number>>();
  const unanswered: string[] = [];
  for (const a of answers) {
    if (a.text === null) {
      unanswered.push(a.addr);
      continue;
    }
    for (const [db, fields] of parseKeyspace(a.text)) {
      const sum = dbs.get(db) ?? new Map<string, number>();
      dbs.set(db, sum);
      const expires = fields.get('expires') ?? 0;
      for (const [k, v] of fields) {
        const add = k === 'avg_ttl' ? v * expires : v;
        sum.set(k, (sum.get(k) ?? 0) + add);
      }
    }
  }
  const out: InfoFields = {};
  for (const db of [...dbs.keys()].sort((a, b) => a - b)) {
    const sum = dbs.get(db)!;
    const expires = sum.get('expires') ?? 0;
    const parts: string[] = [];
    for (const [k, v] of sum) {
      const value = k === 'avg_ttl' ? (expires > 0 ? Math.round(v / expires) : 0) : v;
      parts.push(`${k}=${value}`);
    }
    out[`db${db}`] = parts.join(',');
  }
  if (unanswered.length > 0) out['backends_unanswered'] = unanswered.join(',');
  return out;
}

/** The Stats counters of the keys themselves, and of MIGRATE's connections, which only the servers have. */
const SERVER_STATS = [
  'keyspace_hits',
  'keyspace_misses',
  'expired_keys',
  'evicted_keys',
  'migrate_cached_sockets',
];

/** SERVER_STATS summed over the servers that answered (a primary's text has Keyspace too). */
export function sumServerStats(answers: readonly KeyspaceAnswer[]): InfoFields {
  const sum = new Map<string, number>(SERVER_STATS.map((k) => [k, 0]));
  for (const a of answers) {
    for (const m of a.text?.matchAll(/^(\w+):(\d+)\r?$/gm) ?? []) {
      if (sum.has(m[1]!)) sum.set(m[1]!, sum.get(m[1]!)! + Number(m[2]));
    }
  }
  return Object.fromEntries(sum);
}

/** `db0:keys=3,expires=1,avg_ttl=100` lines by database; other lines are ignored. */
function parseKeyspace(text: string): Map<number, Map<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const line of text.split('\n')) {
    const m = /^db(\d+):(.*?)\r?$/.exec(line);
    if (m === null) continue;
    const fields = new Map<string, number>();
    for (const pair of m[2]!.split(',')) {
      const eq = pair.indexOf('=');
      const v = Number(pair.slice(eq + 1));
      if (eq > 0 && Number.isFinite(v)) fields.set(pair.slice(0, eq), v);
    }
    out.set(Number(m[1]), fields);
  }
  return out;
}
