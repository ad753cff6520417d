/**
 * The servers' own view of stalls: redis' SLOWLOG records every command that ran longer than a
 * threshold, timed inside the server (a MIGRATE includes its synchronous exchange with the
 * target). Unlike a client's PING, it is not inflated when the client is slow to be scheduled.
 */
import type { RespConn } from './resp.js';

export const SLOWLOG_THRESHOLD_US = 1000;

export interface SlowPhase {
  /** Commands slower than the threshold. */
  count: number;
  longestMs: number;
  /** `MIGRATE of 500 keys`, `EVAL (503 args)` */
  longestCommand: string;
  /** Sum of their durations: time the server spent in slow commands. */
  totalMs: number;
  /** By command name: how many were slow and the longest (ms). */
  byName: Record<string, { count: number; maxMs: number }>;
}

export async function startSlowlog(conn: RespConn): Promise<void> {
  for (const cmd of [
    ['CONFIG', 'SET', 'slowlog-log-slower-than', String(SLOWLOG_THRESHOLD_US)],
    ['CONFIG', 'SET', 'slowlog-max-len', '100000'],
    ['SLOWLOG', 'RESET'],
  ]) {
    const r = await conn.call(cmd);
    if (r !== 'OK') throw new Error(`${cmd.join(' ')} replied ${String(r)}`);
  }
}

function describe(args: unknown): [name: string, text: string] {
  if (!Array.isArray(args) || args.length === 0) return ['?', '?'];
  const words = args.map(String);
  const name = words[0]!.toUpperCase();
  // The slow log keeps 32 arguments at most, the last one saying how many it left out.
  const more = /^\.\.\. \((\d+) more arguments\)$/.exec(words[words.length - 1]!);
  const argc = more ? words.length - 1 + Number(more[1]) : words.length;
  const keys = words.findIndex((w) => w.toUpperCase() === 'KEYS');
  if (name === 'MIGRATE') {
    const n = keys >= 0 ? argc - keys - 1 : 1;
    return [name, `MIGRATE of ${n} key${n === 1 ? '' : 's'}`];
  }
  return [name, `${name} (${argc} args)`];
}

/** Reads and clears the slow log: what ran slowly since the previous call. */
export async function takeSlowlog(conn: RespConn): Promise<SlowPhase> {
  const [entries, reset] = await conn.pipeline(
    [
      ['SLOWLOG', 'GET', '-1'],
      ['SLOWLOG', 'RESET'],
    ],
    30_000,
  );
  if (!Array.isArray(entries) || reset !== 'OK') throw new Error(`SLOWLOG replied ${String(entries)}`);
  const out: SlowPhase = { count: 0, longestMs: 0, longestCommand: '-', totalMs: 0, byName: {} };
  for (const e of entries) {
    if (!Array.isArray(e) || typeof e[2] !== 'number') continue;
    const ms = e[2] / 1000;
    out.count++;
    out.totalMs += ms;
    const [name, text] = describe(e[3]);
    if (ms > out.longestMs) [out.longestMs, out.longestCommand] = [ms, text];
    const n = (out.byName[name] ??= { count: 0, maxMs: 0 });
    n.count++;
    n.maxMs = Math.max(n.maxMs, ms);
  }
  return out;
}
