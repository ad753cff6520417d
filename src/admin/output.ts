/**
 * What codis-admin prints: JSON as Go's MarshalIndent (4 spaces, Go's escapes, then a newline, as
 * `fmt.Println(string(b))`), and the few text tables of Codis (`--proxy-status`, `--group-status`,
 * `--rebalance`). Formatting is pure: the functions return text, the commands write it.
 */
import { jsonEncode } from '../models/Store.js';

/** Where a command writes; the CLI uses stdout/stderr, tests can collect the text. */
export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** `-v`: debug lines on stderr. */
  verbose: boolean;
  /** stdout is a terminal: progress lines are rewritten in place. */
  tty?: boolean;
}

export const processIo = (verbose = false): Io => ({
  out: (t) => void process.stdout.write(t),
  err: (t) => void process.stderr.write(t),
  verbose,
  tty: process.stdout.isTTY === true,
});

/** One value as indented JSON plus a newline; `undefined` prints `null` as Go prints a nil value. */
export function jsonText(value: unknown): string {
  return `${value === undefined ? 'null' : jsonEncode(value).toString('utf8')}\n`;
}

export function debug(io: Io, msg: string): void {
  if (io.verbose) io.err(`[DEBUG] ${msg}\n`);
}

const padInt = (n: number, width: number) => {
  const s = String(Math.abs(n)).padStart(width - (n < 0 ? 1 : 0), '0');
  return n < 0 ? `-${s}` : s;
};
const maxLen = (xs: Iterable<string>) => Math.max(0, ...[...xs].map((x) => x.length));

/** A stats entry as the dashboard serves it (§4.13): RedisStats or ProxyStats. */
export interface StatsEntry {
  stats?: Record<string, unknown> | null;
  error?: unknown;
  timeout?: boolean;
  unixtime?: number;
}

/** `[?]` no entry, `[E]` error, `[T]` timeout or no stats, otherwise null (the caller decides). */
function statusMark(entry: StatsEntry | undefined | null): string | null {
  if (entry === undefined || entry === null) return '[?]';
  if (entry.error !== undefined && entry.error !== null) return '[E]';
  if (entry.timeout || entry.stats === undefined || entry.stats === null) return '[T]';
  return null;
}

export interface ProxyRow {
  id?: number;
  token: string;
  admin_addr: string;
  proxy_addr: string;
}

/**
 * `--proxy-status`: `[S] proxy-<id> [T] <token> [A] <admin> [P] <proxy>` per proxy, ids
 * zero-padded to the widest, addresses left-aligned to the longest (trailing spaces included, as Go).
 */
export function proxyStatusLines(models: ProxyRow[], stats: Record<string, StatsEntry | undefined>): string {
  const wid = maxLen(models.map((p) => String(p.id ?? 0)));
  const wa = maxLen(models.map((p) => p.admin_addr));
  const wp = maxLen(models.map((p) => p.proxy_addr));
  return models
    .map((p) => {
      const mark = statusMark(stats[p.token]) ?? '[ ]';
      const id = padInt(p.id ?? 0, wid);
      return `${mark} proxy-${id} [T] ${p.token} [A] ${p.admin_addr.padEnd(wa)} [P] ${p.proxy_addr.padEnd(wp)}\n`;
    })
    .join('');
}

export interface GroupRow {
  id: number;
  servers: { server: string }[];
}

/**
 * `--group-status`: `[S] group-<gid> [<idx>] <addr>` per server and, when its INFO is known,
 * `      ==> <master_addr>:<master_link_status>` (or `NO:ONE`). `[ ]` is as expected (index 0 has
 * no master, the others follow servers[0] with the link up), `[X]` is not.
 */
export function groupStatusLines(groups: GroupRow[], stats: Record<string, StatsEntry | undefined>): string {
  const wgid = maxLen(groups.map((g) => String(g.id)));
  const widx = maxLen(groups.flatMap((g) => g.servers.map((_, i) => String(i))));
  const waddr = maxLen(groups.flatMap((g) => g.servers.map((s) => s.server)));
  let text = '';
  for (const g of groups) {
    g.servers.forEach((x, i) => {
      const entry = stats[x.server];
      const line = `group-${padInt(g.id, wgid)} [${padInt(i, widx)}] ${x.server.padEnd(waddr)}`;
      const mark = statusMark(entry);
      if (mark !== null) {
        text += `${mark} ${line}\n`;
        return;
      }
      const info = entry!.stats as Record<string, unknown>;
      const master =
        typeof info.master_addr === 'string'
          ? `${info.master_addr}:${String(info.master_link_status ?? '')}`
          : 'NO:ONE';
      const expect = i === 0 ? 'NO:ONE' : `${g.servers[0]!.server}:up`;
      text += `${master === expect ? '[ ]' : '[X]'} ${line}      ==> ${master}\n`;
    });
  }
  return text;
}

/**
 * `--rebalance`: the plan `{"<sid>": gid}` as ranges of consecutive slots going to the same
 * group, `[%04d,%04d] => <gid>`, then `done`; or `nothing changes`.
 */
export function rebalanceLines(plan: Record<string, number>): string {
  const sids = Object.keys(plan)
    .map(Number)
    .sort((a, b) => a - b);
  if (sids.length === 0) return 'nothing changes\n';
  const p4 = (n: number) => padInt(n, 4);
  let text = '';
  let beg = sids[0]!;
  let end = beg;
  let gid = plan[String(beg)]!;
  for (const sid of sids.slice(1)) {
    const g = plan[String(sid)]!;
    if (sid === end + 1 && g === gid) {
      end = sid;
      continue;
    }
    text += `[${p4(beg)},${p4(end)}] => ${gid}\n`;
    beg = end = sid;
    gid = g;
  }
  text += `[${p4(beg)},${p4(end)}] => ${gid}\n`;
  return `${text}done\n`;
}

/** `12.3k`, `4.5M`. */
export function shortCount(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

/** `40s`, `3m05s`, `1h02m`; `?` when unknown. */
export function shortSeconds(s: number | null | undefined): string {
  if (s === null || s === undefined || !Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface WaitProgress {
  done: number;
  total: number;
  /** Keys moved since the wait began, and an estimate of the keys left. */
  moved: number;
  left: number;
  keysPerSec: number;
  eta: number | null;
  paused?: boolean;
  problem?: string;
}

/** `migrated 123/512 slots, 45% keys, 12.3k keys/s, ETA 40s` (+ paused, + the stall reason). */
export function progressLine(p: WaitProgress): string {
  const all = p.moved + p.left;
  const pct = all > 0 ? Math.floor((100 * p.moved) / all) : p.total > 0 && p.done === p.total ? 100 : 0;
  let line =
    `migrated ${p.done}/${p.total} slots, ${pct}% keys, ${shortCount(p.keysPerSec)} keys/s, ` +
    `ETA ${p.done === p.total ? '0s' : shortSeconds(p.eta)}`;
  if (p.paused) line += ' [paused]';
  if (p.problem) line += ` — ${p.problem}`;
  return line;
}
