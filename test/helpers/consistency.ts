/**
 * A consistency checker in the spirit of antirez's consistency-test: clients write through
 * proxies while slots move, each remembering exactly what was acknowledged; afterwards the
 * data must hold every acknowledged write and nothing that was never attempted.
 *
 * Each key has a single writer, so "what the value may be" is exact: the last acknowledged
 * write, or one of the writes attempted after it that failed or timed out (their effect is
 * unknown). Counters allow for unknown increments the same way. Transactions (MULTI/EXEC on
 * two keys of one slot) write a counter and a list together.
 */
import { RedisError, RespClient, type Reply } from './resp-client.js';

export interface CheckerOptions {
  /** Proxy ports; clients are spread over them. */
  ports: number[];
  clients: number;
  /** Databases to write in (the client SELECTs one). */
  dbs: number[];
  /** Keys per client per kind. */
  keysPerClient: number;
  /** Reply timeout per command, ms. */
  timeoutMs?: number;
}

interface KeyState {
  db: number;
  /** Last acknowledged value (null: never acknowledged). */
  acked: string | null;
  /** Values written after the last ack whose outcome is unknown. */
  unknown: string[];
}

interface CounterState {
  db: number;
  acked: number;
  unknown: number;
}

interface ListState {
  db: number;
  acked: string[];
  unknown: string[];
}

export interface CheckReport {
  ops: number;
  errors: number;
  /** Reads during the run that returned a value the client never wrote. */
  staleReads: string[];
  /** Final-state violations: lost acknowledged writes or phantom values. */
  violations: string[];
}

const TTL_S = 100_000;

export class ConsistencyChecker {
  private readonly strings = new Map<string, KeyState>();
  private readonly counters = new Map<string, CounterState>();
  private readonly lists = new Map<string, ListState>();
  private readonly hashes = new Map<string, KeyState>();
  private ops = 0;
  private errors = 0;
  private readonly staleReads: string[] = [];
  private running = false;
  private loops: Promise<void>[] = [];

  constructor(private readonly opts: CheckerOptions) {}

  /** Starts the clients; they run until stop(). */
  async start(): Promise<void> {
    this.running = true;
    for (let c = 0; c < this.opts.clients; c++) {
      const port = this.opts.ports[c % this.opts.ports.length]!;
      const db = this.opts.dbs[c % this.opts.dbs.length]!;
      const client = await this.connect(port, db);
      this.loops.push(this.loop(c, db, port, client));
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async connect(port: number, db: number): Promise<RespClient> {
    const client = await RespClient.connect(port, '127.0.0.1', { timeoutMs: this.opts.timeoutMs ?? 10_000 });
    await client.call('SELECT', db);
    return client;
  }

  private async loop(c: number, db: number, port: number, client: RespClient): Promise<void> {
    const n = this.opts.keysPerClient;
    let seq = 0;
    try {
      while (this.running) {
        if (client.closed) {
          // The proxy went away (killed, restarting): what was in flight is an unknown outcome;
          // come back when it listens again.
          try {
            client = await this.connect(port, db);
          } catch {
            await new Promise((r) => setTimeout(r, 100));
          }
          continue;
        }
        const i = seq % n;
        const v = `c${c}-v${seq++}`;
        switch (seq % 7) {
          case 0:
            await this.set(client, db, `str:${c}:${i}`, v);
            break;
          case 1:
            await this.incr(client, db, `ctr:{c${c}}:${i}`);
            break;
          case 2:
            await this.mset(client, db, c, i, v);
            break;
          case 3:
            await this.push(client, db, `list:${c}:${i % 4}`, v);
            break;
          case 4:
            await this.hset(client, db, `hash:${c}:${i % 4}`, v);
            break;
          case 5:
            await this.transaction(client, db, c, i, v);
            break;
          default:
            await this.read(client, `str:${c}:${i}`);
        }
      }
    } finally {
      client.close();
    }
  }

  private async send(client: RespClient, ...args: (string | number)[]): Promise<Reply | undefined> {
    this.ops++;
    try {
      const r = await client.call(...args);
      if (r instanceof RedisError) {
        this.errors++;
        return undefined;
      }
      return r;
    } catch {
      this.errors++;
      return undefined;
    }
  }

  private state(map: Map<string, KeyState>, key: string, db: number): KeyState {
    let s = map.get(key);
    if (s === undefined) map.set(key, (s = { db, acked: null, unknown: [] }));
    return s;
  }

  private async set(client: RespClient, db: number, key: string, v: string): Promise<void> {
    const s = this.state(this.strings, key, db);
    const r = await this.send(client, 'SET', key, v, 'EX', TTL_S);
    if (r === 'OK') {
      s.acked = v;
      s.unknown = [];
    } else s.unknown.push(v);
  }

  private async mset(client: RespClient, db: number, c: number, i: number, v: string): Promise<void> {
    const keys = [`m:{c${c}g${i % 3}}:a`, `m:{c${c}g${i % 3}}:b`, `m2:${c}:${i}`];
    const states = keys.map((k) => this.state(this.strings, k, db));
    const r = await this.send(client, 'MSET', ...keys.flatMap((k) => [k, v]));
    for (const s of states) {
      if (r === 'OK') {
        s.acked = v;
        s.unknown = [];
      } else s.unknown.push(v);
    }
  }

  private async incr(client: RespClient, db: number, key: string): Promise<void> {
    const s = this.counter(key, db);
    const r = await this.send(client, 'INCR', key);
    if (typeof r === 'number') s.acked++;
    else s.unknown++;
  }

  /**
   * MULTI, INCR and RPUSH on two keys of one slot, EXEC: acknowledged when EXEC answers with
   * both replies; otherwise both writes are of unknown outcome.
   */
  private async transaction(client: RespClient, db: number, c: number, i: number, v: string): Promise<void> {
    const tag = `{c${c}t${i % 4}}`;
    const ctr = this.counter(`txc:${tag}`, db);
    const list = this.list(`txl:${tag}`, db);
    this.ops++;
    const exec = await client
      .pipeline([['MULTI'], ['INCR', `txc:${tag}`], ['RPUSH', `txl:${tag}`, v], ['EXEC']])
      .then(
        (r) => r[3],
        () => undefined,
      );
    if (Array.isArray(exec) && typeof exec[0] === 'number' && typeof exec[1] === 'number') {
      ctr.acked++;
      list.acked.push(v);
    } else {
      this.errors++;
      ctr.unknown++;
      list.unknown.push(v);
    }
  }

  private counter(key: string, db: number): CounterState {
    let s = this.counters.get(key);
    if (s === undefined) this.counters.set(key, (s = { db, acked: 0, unknown: 0 }));
    return s;
  }

  private list(key: string, db: number): ListState {
    let s = this.lists.get(key);
    if (s === undefined) this.lists.set(key, (s = { db, acked: [], unknown: [] }));
    return s;
  }

  private async push(client: RespClient, db: number, key: string, v: string): Promise<void> {
    const s = this.list(key, db);
    const r = await this.send(client, 'RPUSH', key, v);
    if (typeof r === 'number') s.acked.push(v);
    else s.unknown.push(v);
  }

  private async hset(client: RespClient, db: number, key: string, v: string): Promise<void> {
    const s = this.state(this.hashes, key, db);
    const r = await this.send(client, 'HSET', key, 'f', v);
    if (typeof r === 'number') {
      s.acked = v;
      s.unknown = [];
    } else s.unknown.push(v);
  }

  /** Read-your-writes while slots move: a read sees the last ack or a pending write. */
  private async read(client: RespClient, key: string): Promise<void> {
    const s = this.strings.get(key);
    if (s === undefined) return;
    const r = await this.send(client, 'GET', key);
    if (r === undefined) return;
    const got = r === null ? null : String(r);
    if (got !== s.acked && !s.unknown.includes(got ?? '')) {
      this.staleReads.push(`${key}: read ${got}, last acknowledged ${s.acked}`);
    }
  }

  /** Checks the final state through `port` (a proxy); returns every problem found. */
  async verify(port: number): Promise<CheckReport> {
    const violations: string[] = [];
    const client = await RespClient.connect(port, '127.0.0.1', { timeoutMs: 30_000 });
    const byDb = <T extends { db: number }>(m: Map<string, T>) => {
      const out = new Map<number, [string, T][]>();
      for (const e of m) {
        const list = out.get(e[1].db) ?? [];
        list.push(e);
        out.set(e[1].db, list);
      }
      return out;
    };
    try {
      for (const [db, entries] of byDb(this.strings)) {
        await client.call('SELECT', db);
        for (const [key, s] of entries) {
          const r = await client.call('GET', key);
          const got = r === null ? null : String(r);
          if (got === s.acked || (got !== null && s.unknown.includes(got))) continue;
          violations.push(
            `db${db} ${key}: ${got} but acknowledged ${s.acked} (unknown: ${s.unknown.length})`,
          );
        }
        for (const [key, s] of entries.filter(([k]) => k.startsWith('str:')).slice(0, 50)) {
          const ttl = (await client.call('TTL', key)) as number;
          if (s.acked !== null && s.unknown.length === 0 && !(ttl > TTL_S - 600)) {
            violations.push(`db${db} ${key}: TTL ${ttl}, expected about ${TTL_S}`);
          }
        }
      }
      for (const [db, entries] of byDb(this.counters)) {
        await client.call('SELECT', db);
        for (const [key, s] of entries) {
          const v = Number(String((await client.call('GET', key)) ?? '0'));
          if (v < s.acked || v > s.acked + s.unknown) {
            violations.push(`db${db} ${key}: ${v}, acknowledged ${s.acked} (+${s.unknown} unknown)`);
          }
        }
      }
      for (const [db, entries] of byDb(this.lists)) {
        await client.call('SELECT', db);
        for (const [key, s] of entries) {
          const got = ((await client.call('LRANGE', key, 0, -1)) as Buffer[]).map(String);
          const acked = got.filter((x) => !s.unknown.includes(x));
          if (
            acked.join(',') !== s.acked.join(',') ||
            got.some((x) => !s.acked.includes(x) && !s.unknown.includes(x))
          ) {
            violations.push(`db${db} ${key}: ${got.length} items, acknowledged ${s.acked.length}`);
          }
        }
      }
      for (const [db, entries] of byDb(this.hashes)) {
        await client.call('SELECT', db);
        for (const [key, s] of entries) {
          const r = await client.call('HGET', key, 'f');
          const got = r === null ? null : String(r);
          if (got !== s.acked && !(got !== null && s.unknown.includes(got))) {
            violations.push(`db${db} ${key}: ${got} but acknowledged ${s.acked}`);
          }
        }
      }
    } finally {
      client.close();
    }
    return { ops: this.ops, errors: this.errors, staleReads: this.staleReads, violations };
  }

  /** Every key the checker wrote, by database (to check each lives on exactly one group). */
  keysByDb(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const m of [this.strings, this.counters, this.lists, this.hashes] as Map<string, { db: number }>[]) {
      for (const [k, s] of m) out.set(s.db, [...(out.get(s.db) ?? []), k]);
    }
    return out;
  }
}
