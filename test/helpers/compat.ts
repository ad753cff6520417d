/**
 * The harness of the compatibility tests (test/proxy/compat-*.test.ts): every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal.
 * `compatSuite()` starts the servers for the calling test file; the rest are pure helpers for the scripts.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { keyOn, owner, startProxy, type ProxyProcess } from './proxy.js';
import { RedisError, startRedis, type Arg, type RedisServer, type Reply, type RespClient } from './redis.js';

export type Plain = string | number | null | { error: string } | Plain[];
/** Returns why a pair of replies (direct, proxy) does not match, or undefined. */
export type Check = (direct: Reply, proxy: Reply) => string | undefined;
export type Step = Arg[] | { cmd: Arg[]; check: Check; error?: boolean };

export const plain = (r: Reply): Plain =>
  r instanceof RedisError
    ? { error: r.message }
    : Buffer.isBuffer(r)
      ? r.toString('latin1')
      : Array.isArray(r)
        ? r.map(plain)
        : r;
export const show = (r: Reply) => JSON.stringify(plain(r)).slice(0, 300);
/** Equal once each reply went through `norm`. */
export const equalBy =
  (norm: (r: Reply) => unknown): Check =>
  (d, p) =>
    isDeepStrictEqual(norm(d), norm(p)) ? undefined : `Redis ${show(d)}, proxy ${show(p)}`;
export const equal: Check = equalBy(plain);
/** Same error reply from both. */
export const err = (...cmd: Arg[]): Step => ({ cmd, check: equal, error: true });
/** Equal once the top-level arrays are sorted (unordered sets). */
export const sorted = (...cmd: Arg[]): Step => ({
  cmd,
  check: equalBy((r) => (Array.isArray(r) ? r.map(show).sort() : show(r))),
});
/** Each reply, by itself, must pass `valid` (nondeterministic output: shape and membership). */
export const shape = (valid: (r: Reply) => boolean, ...cmd: Arg[]): Step => ({
  cmd,
  check: (d, p) => (valid(d) && valid(p) ? undefined : `invalid reply: Redis ${show(d)}, proxy ${show(p)}`),
});
/** Integers within `tol` of each other (TTLs); negative codes (-1, -2) must be equal. */
export const near = (tol: number, ...cmd: Arg[]): Step => ({
  cmd,
  check: (d, p) =>
    typeof d === 'number' && typeof p === 'number' && (d < 0 || p < 0 ? d === p : Math.abs(d - p) <= tol)
      ? undefined
      : `Redis ${show(d)}, proxy ${show(p)} (tolerance ${tol})`,
});

/** Keys sharing the tag of a key owned by backend `b`: tagged('x', 1)('a') → '{x:N}a'. */
export function tagged(base: string, b: number): (k: string) => string {
  const tag = keyOn(base, b);
  return (k) => `{${tag}}${k}`;
}

// ---------------------------------------------------------------- membership validators (for `shape`)

const text = (r: Reply) => (Buffer.isBuffer(r) ? r.toString() : undefined);
/** An array of `n` items (a single item if n is undefined) from `universe`; distinct unless n < 0. */
export const picks =
  (universe: readonly string[], n?: number) =>
  (r: Reply): boolean => {
    if (n === undefined) return universe.includes(text(r) ?? '\0');
    if (!Array.isArray(r) || r.length !== Math.abs(n)) return false;
    const items = r.map((x) => text(x) ?? '\0');
    return items.every((x) => universe.includes(x)) && (n < 0 || new Set(items).size === items.length);
  };
/** A flat [member, value, …] array of `n` distinct members whose values are those of `pairs`. */
export const pairsOf =
  (pairs: Record<string, string>, n: number) =>
  (r: Reply): boolean =>
    Array.isArray(r) &&
    r.length === 2 * n &&
    new Set(r.filter((_, i) => i % 2 === 0).map(String)).size === n &&
    r.every((x, i) => (i % 2 === 0 ? String(x) in pairs : pairs[String(r[i - 1])] === String(x)));

// ---------------------------------------------------------------- the servers

export interface CompatSuite {
  /** [0] and [1] serve behind the proxy (slots split evenly), [2] is the reference; set by `before`. */
  readonly servers: readonly RedisServer[];
  /** A connection to the reference server. */
  readonly direct: RespClient;
  /** A connection to the proxy. */
  readonly viaProxy: RespClient;
  /** Runs the steps on both sides in lockstep; reports every mismatch at once. */
  same(steps: Step[]): Promise<void>;
  /** After the families ran: the proxy's two backends together hold exactly the reference keyspace. */
  assertKeyspaceSpread(): Promise<void>;
}

/**
 * Registers the calling test file's `before` (three redis-servers, a proxy in front of the first two, a
 * connection to each side) and `after` (all stopped). Read the connections once `before` ran.
 */
export function compatSuite(): CompatSuite {
  let servers: RedisServer[] = [];
  let proxy: ProxyProcess | undefined;
  let direct: RespClient;
  let viaProxy: RespClient;

  before(async () => {
    servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
    proxy = await startProxy({ backends: [servers[0]!.addr, servers[1]!.addr] });
    direct = await servers[2]!.connect();
    viaProxy = await proxy.connect();
  });

  after(async () => {
    direct?.destroy();
    viaProxy?.destroy();
    await proxy?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });

  async function same(steps: Step[]): Promise<void> {
    const problems: string[] = [];
    for (const s of steps) {
      const { cmd, check, error = false } = Array.isArray(s) ? { cmd: s, check: equal } : s;
      const [d, p] = await Promise.all([direct.call(...cmd), viaProxy.call(...cmd)]);
      const what = cmd.map((a) => JSON.stringify(String(a).slice(0, 40)).slice(1, -1)).join(' ');
      if (d instanceof RedisError !== error)
        problems.push(`${what}: script expects error=${error}, Redis ${show(d)}`);
      const why = check(d, p);
      if (why !== undefined) problems.push(`${what}: ${why}`);
    }
    assert.deepEqual(problems, []);
  }

  async function assertKeyspaceSpread(): Promise<void> {
    const keysOf = async (s: RedisServer) =>
      ((await s.call('KEYS', '*')) as Buffer[]).map((k) => k.toString('latin1'));
    const [reference, ...held] = await Promise.all([servers[2]!, servers[0]!, servers[1]!].map(keysOf));
    assert.deepEqual([...held[0]!, ...held[1]!].sort(), reference!.sort());
    for (const b of [0, 1]) {
      assert.ok(held[b]!.length >= 2, `backend ${b} holds only ${held[b]!.length} keys`);
      for (const k of held[b]!) {
        assert.equal(
          owner(Buffer.from(k, 'latin1')),
          b,
          `${JSON.stringify(k)} is on backend ${b}, not its slot owner`,
        );
      }
    }
  }

  return {
    get servers() {
      return servers;
    },
    get direct() {
      return direct;
    },
    get viaProxy() {
      return viaProxy;
    },
    same,
    assertKeyspaceSpread,
  };
}
