/**
 * The harness of the compatibility tests (test/proxy/compat-*.test.ts): every scripted command is sent to a
 * fresh redis-server and through the proxy (in front of two others), and the replies must be equal: over
 * RESP2, and again over RESP3 in a second set of servers.
 * `compatSuite()` starts the servers for the calling test file; the rest are pure helpers for the scripts.
 */
import { before, after } from 'node:test';
import assert from 'node:assert/strict';
import { isDeepStrictEqual } from 'node:util';
import { keyOn, owner, startProxy, type ProxyProcess } from './proxy.js';
import { RedisError, startRedis, type Arg, type RedisServer, type Reply, type RespClient } from './redis.js';
import { RespParser } from './resp-client.js';
import { RawConn } from './raw-conn.js';

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
/**
 * `n` distinct members whose values are those of `pairs`: a flat [member, value, …] array (RESP2), or
 * [[member, value], …] (RESP3).
 */
export const pairsOf =
  (pairs: Record<string, string>, n: number) =>
  (reply: Reply): boolean => {
    const r = Array.isArray(reply) && reply.every(Array.isArray) ? reply.flat() : reply;
    return (
      Array.isArray(r) &&
      r.length === 2 * n &&
      new Set(r.filter((_, i) => i % 2 === 0).map(String)).size === n &&
      r.every((x, i) => (i % 2 === 0 ? String(x) in pairs : pairs[String(r[i - 1])] === String(x)))
    );
  };

// ---------------------------------------------------------------- the servers

export interface CompatSuite {
  /** Every redis-server of both protocols' worlds, for setup an operator does around the proxy. */
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

/** One side of a world: the reply to a command, with its bytes where the world keeps them (RESP3). */
type Side = (cmd: readonly Arg[]) => Promise<{ reply: Reply; raw: string | null }>;

/** One protocol's servers: [0] and [1] behind the proxy, [2] the reference, and a client of each side. */
interface World {
  readonly proto: 2 | 3;
  readonly servers: RedisServer[];
  readonly proxy: ProxyProcess;
  /** The reference server's side, then the proxy's. */
  readonly sides: readonly [Side, Side];
  /** The RESP2 world's clients: [direct, via the proxy]. */
  readonly clients: readonly RespClient[];
  close(): void;
}

async function startWorld(proto: 2 | 3): Promise<World> {
  const servers = await Promise.all([startRedis(), startRedis(), startRedis()]);
  const proxy = await startProxy({ backends: [servers[0]!.addr, servers[1]!.addr] });
  if (proto === 2) {
    const clients = await Promise.all([servers[2]!.connect(), proxy.connect()]);
    const side =
      (c: RespClient): Side =>
      async (cmd) => ({ reply: await c.call(...cmd), raw: null });
    const close = () => clients.forEach((c) => c.destroy());
    return { proto, servers, proxy, sides: [side(clients[0]), side(clients[1])], clients, close };
  }
  // RESP3: raw connections, so that replies can be compared byte for byte as well as parsed.
  const conns = await Promise.all([RawConn.open(servers[2]!.port), RawConn.open(proxy.port)]);
  for (const c of conns) assert.match(await c.send([['HELLO', 3]]), /^%7\r\n/);
  const side =
    (c: RawConn): Side =>
    async (cmd) => {
      const raw = await c.send([cmd]);
      const replies = new RespParser().feed(Buffer.from(raw, 'latin1'));
      assert.equal(replies.length, 1, `one reply to ${String(cmd[0])}: ${JSON.stringify(raw.slice(0, 80))}`);
      return { reply: replies[0]!, raw };
    };
  const close = () => conns.forEach((c) => c.close());
  return { proto, servers, proxy, sides: [side(conns[0]), side(conns[1])], clients: [], close };
}

async function stopWorld(w: World | undefined): Promise<void> {
  if (w === undefined) return;
  w.close();
  await w.proxy.stop();
  await Promise.all(w.servers.map((s) => s.stop()));
}

/**
 * Registers the calling test file's `before` and `after`. Every script runs twice, in worlds of their
 * own: RESP2 clients, and RESP3 clients (after HELLO 3), whose deterministic replies must also be Redis's
 * bytes exactly. The accessors are the RESP2 world's; read them once `before` ran.
 */
export function compatSuite(): CompatSuite {
  let worlds: World[] = [];

  before(async () => {
    worlds = await Promise.all([startWorld(2), startWorld(3)]);
  });

  after(async () => {
    await Promise.all(worlds.map(stopWorld));
  });

  async function same(steps: Step[]): Promise<void> {
    const problems: string[] = [];
    for (const s of steps) {
      const { cmd, check, error = false } = Array.isArray(s) ? { cmd: s, check: equal } : s;
      const what = cmd.map((a) => JSON.stringify(String(a).slice(0, 40)).slice(1, -1)).join(' ');
      const results = await Promise.all(worlds.map((w) => Promise.all(w.sides.map((side) => side(cmd)))));
      results.forEach(([d, p], i) => {
        const label = `RESP${worlds[i]!.proto} ${what}`;
        if (d!.reply instanceof RedisError !== error)
          problems.push(`${label}: script expects error=${error}, Redis ${show(d!.reply)}`);
        const why = check(d!.reply, p!.reply);
        if (why !== undefined) problems.push(`${label}: ${why}`);
        else if (check === equal && d!.raw !== p!.raw)
          problems.push(
            `${label}: bytes differ: Redis ${JSON.stringify(d!.raw)}, proxy ${JSON.stringify(p!.raw)}`,
          );
      });
    }
    assert.deepEqual(problems, []);
  }

  async function assertKeyspaceSpread(): Promise<void> {
    const keysOf = async (s: RedisServer) =>
      ((await s.call('KEYS', '*')) as Buffer[]).map((k) => k.toString('latin1'));
    for (const { servers } of worlds) {
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
  }

  return {
    get servers() {
      return worlds.flatMap((w) => w.servers);
    },
    get direct() {
      return worlds[0]!.clients[0]!;
    },
    get viaProxy() {
      return worlds[0]!.clients[1]!;
    },
    same,
    assertKeyspaceSpread,
  };
}
