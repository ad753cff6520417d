/**
 * The dashboard's migration worker for one source group: walks every database of the source
 * master with SCAN, computes each key's slot itself (stock Redis keeps no per-slot index),
 * and moves the keys of every migrating slot in batches with `MIGRATE … REPLACE KEYS …`. Many
 * slots, going to several targets, are served by one pass. A slot is done when a full pass over
 * every database finds none of its keys. Big keys go through BigKeyMover under a key hold.
 *
 * `targets` may change while a pass runs: a slot taken out is no longer moved from the next
 * batch on (its big key, if one is being copied, is dropped), and `quiesce()` resolves once no
 * batch that could still touch it is running. REPLACE is safe: while a key exists on the
 * source, the source copy is the live one (proxies move a key before writing it on the target),
 * so a copy left on the target by a MIGRATE that failed half-way is overwritten.
 */
import { Redis } from 'ioredis';
import { slotOfRange } from '../../proxy/hash.js';
import { parseAddr } from '../../utils/addr.js';
import { moveBigKey, type KeyHolder } from './BigKeyMover.js';
import { RateLimiter, sleep, type RateLimits } from './RateLimiter.js';

export interface MoverOptions {
  auth: string;
  /** Keys per SCAN batch (and at most per MIGRATE call). */
  batchKeys: number;
  /** Approximate bytes per MIGRATE call at most (a batch is split); no limit when absent. */
  batchBytes?: number;
  /** Pause between batches, ms (live). */
  pauseMs: () => number;
  limits: () => RateLimits;
  /** Shared by several movers (one global rate); a limiter per pass when absent. */
  limiter?: RateLimiter;
  /** Awaited before each SCAN batch: pausing migration waits here. */
  gate?: (signal?: AbortSignal) => Promise<void>;
  /** A key with more elements than this, or more bytes, is moved in chunks. */
  bigKeyElements: number;
  bigKeyBytes: number;
  /** Elements per chunk of a big key. */
  chunkElements: number;
  timeoutMs: number;
}

/** What one pass found and moved, per slot. */
export interface SlotProgress {
  /** Keys of the slot seen on the source in this pass (0 ⇒ the slot is done). */
  found: number;
  moved: number;
  bytes: number;
}

export interface PassResult {
  slots: Map<number, SlotProgress>;
  /** Longest single MIGRATE or chunk call on the source, ms. */
  longestStallMs: number;
  /** Keys scanned so far in this pass, and the database being scanned (live). */
  scanned: number;
  db: number;
}

export function newPassResult(): PassResult {
  return { slots: new Map(), longestStallMs: 0, scanned: 0, db: 0 };
}

function stat(result: PassResult, slot: number): SlotProgress {
  let p = result.slots.get(slot);
  if (p === undefined) result.slots.set(slot, (p = { found: 0, moved: 0, bytes: 0 }));
  return p;
}

/** Per key: type, elements (bytes for a string) and approximate bytes. */
const SIZE_PROBE = `
local out = {}
for i, k in ipairs(KEYS) do
  local t = redis.call('TYPE', k).ok
  local n = 0
  if t == 'string' then n = redis.call('STRLEN', k)
  elseif t == 'list' then n = redis.call('LLEN', k)
  elseif t == 'hash' then n = redis.call('HLEN', k)
  elseif t == 'set' then n = redis.call('SCARD', k)
  elseif t == 'zset' then n = redis.call('ZCARD', k)
  elseif t == 'stream' then n = redis.call('XLEN', k) end
  local b = n
  if t ~= 'string' and t ~= 'none' then b = redis.call('MEMORY', 'USAGE', k, 'SAMPLES', 5) or 0 end
  out[i] = {t, n, b}
end
return out`;

export class SlotMover {
  private readonly conns = new Map<string, Redis>();
  private busy: Promise<number> | undefined;
  /**
   * The big key being copied beside the passes (at most one): small keys keep moving while it
   * does, instead of waiting the tens of seconds a big key takes, and with `waitBig` off the
   * pass can end (and its other slots complete) before the copy does.
   */
  private big: { db: number; key: Buffer; slot: number; done: Promise<void> } | undefined;
  private bigError: unknown;
  /** The pass running now: a big copy that ends is credited to it (or to the next one). */
  private current: PassResult | undefined;
  private carried: { slot: number; moved: number; bytes: number; longestMs: number }[] = [];
  /** The targets of the latest pass: a big copy outliving its pass stops once its slot leaves them. */
  private liveTargets: ReadonlyMap<number, string> = new Map();

  constructor(
    readonly source: string,
    private readonly opts: MoverOptions,
    private readonly holder: KeyHolder,
  ) {}

  /** Slot of the big key being copied, if any. */
  get copyingSlot(): number | undefined {
    return this.big?.slot;
  }

  /**
   * Whether a big key of `slot` is still being copied or was copied with its key not yet
   * credited to a pass. Such a slot must not be completed even when a pass found none of its
   * keys: the copy deletes the source key before it lets go of the key hold on the proxies, so a
   * pass can see the slot empty before the key is counted.
   */
  owes(slot: number): boolean {
    return this.big?.slot === slot || this.carried.some((c) => c.slot === slot);
  }

  /**
   * One full pass: every database of the source, every key of `targets` (slot → target
   * address) moved. Stops early (between batches) when `signal` aborts. `result` (filled as the
   * pass goes) lets a caller watch it. With `waitBig` off, a big key still being copied at the
   * end keeps copying; its slot was found (not done) by this pass, and the next pass skips it.
   */
  async pass(
    targets: ReadonlyMap<number, string>,
    signal?: AbortSignal,
    result: PassResult = newPassResult(),
    waitBig = true,
  ): Promise<PassResult> {
    for (const s of targets.keys()) stat(result, s);
    this.current = result;
    this.liveTargets = targets;
    for (const c of this.carried.splice(0)) this.credit(c.slot, c.moved, c.bytes, c.longestMs);
    try {
      await this.walk(targets, result, signal);
      if (waitBig || signal?.aborted) await this.bigSettled();
      this.throwBigError();
    } finally {
      this.current = undefined;
    }
    return result;
  }

  private async walk(targets: ReadonlyMap<number, string>, result: PassResult, signal?: AbortSignal) {
    const limiter = this.opts.limiter ?? new RateLimiter(this.opts.limits);
    for (const db of await this.databases()) {
      result.db = db;
      const src = this.conn(this.source, db);
      let cursor = '0';
      do {
        await this.opts.gate?.(signal);
        if (signal?.aborted) return;
        const [next, keys] = (await src.scanBuffer(cursor, 'COUNT', this.opts.batchKeys)) as [
          Buffer,
          Buffer[],
        ];
        cursor = next.toString();
        result.scanned += keys.length;
        const work = this.moveChunk(db, keys, targets, result, limiter, signal);
        this.busy = work;
        let wait: number;
        try {
          wait = await work;
        } finally {
          this.busy = undefined;
        }
        await sleep(wait, signal);
      } while (cursor !== '0');
    }
  }

  /** Resolves when no batch and no big-key copy is running (one started after a slot left `targets` skips it). */
  async quiesce(): Promise<void> {
    while (this.busy) await this.busy.catch(() => undefined);
    await this.bigSettled();
  }

  /** Resolves when no big-key copy is running (a copy stops by itself when its slot is dropped). */
  async bigSettled(): Promise<void> {
    while (this.big) await this.big.done;
  }

  /** A failed big-key copy fails the pass that sees it. */
  private throwBigError(): void {
    const e = this.bigError;
    this.bigError = undefined;
    if (e !== undefined) throw e;
  }

  private credit(slot: number, moved: number, bytes: number, longestMs: number): void {
    const r = this.current;
    if (r === undefined) {
      this.carried.push({ slot, moved, bytes, longestMs });
      return;
    }
    r.longestStallMs = Math.max(r.longestStallMs, longestMs);
    const p = stat(r, slot);
    p.moved += moved;
    p.bytes += bytes;
  }

  /** Moves the keys of one SCAN batch; returns how long to wait before the next batch. */
  private async moveChunk(
    db: number,
    keys: Buffer[],
    targets: ReadonlyMap<number, string>,
    result: PassResult,
    limiter: RateLimiter,
    signal?: AbortSignal,
  ): Promise<number> {
    const byTarget = new Map<string, { keys: Buffer[]; slots: number[] }>();
    for (const k of keys) {
      const slot = slotOfRange(k, 0, k.length);
      const target = targets.get(slot);
      if (target === undefined) continue;
      stat(result, slot).found++;
      let b = byTarget.get(target);
      if (b === undefined) byTarget.set(target, (b = { keys: [], slots: [] }));
      b.keys.push(k);
      b.slots.push(slot);
    }
    let wait = 0;
    for (const [target, b] of byTarget) {
      if (signal?.aborted) break;
      const moved = await this.moveBatch(db, target, b.keys, b.slots, targets, result, signal);
      wait += limiter.account(moved.keys, moved.bytes);
    }
    return byTarget.size > 0 ? wait + this.opts.pauseMs() : wait;
  }

  private async moveBatch(
    db: number,
    target: string,
    keys: Buffer[],
    slots: number[],
    targets: ReadonlyMap<number, string>,
    result: PassResult,
    signal?: AbortSignal,
  ): Promise<{ keys: number; bytes: number }> {
    const src = this.conn(this.source, db);
    const wanted = (slot: number) => targets.get(slot) === target && !signal?.aborted;
    const sizes = (await src.call('EVAL', SIZE_PROBE, keys.length, ...keys)) as [string, number, number][];
    const small: Buffer[] = [];
    const smallSlots: number[] = [];
    const smallBytes: number[] = [];
    let bytes = 0;
    let movedKeys = 0;
    for (let i = 0; i < keys.length; i++) {
      const [type, n, size] = sizes[i]!;
      if (type === 'none') continue;
      const big =
        type !== 'stream' && (type === 'string' ? n > this.opts.bigKeyBytes : n > this.opts.bigKeyElements);
      if (!wanted(slots[i]!)) continue;
      if (!big) {
        small.push(keys[i]!);
        smallSlots.push(slots[i]!);
        smallBytes.push(keys[i]!.length + size);
        continue;
      }
      const slot = slots[i]!;
      const key = keys[i]!;
      const copying = this.big;
      if (copying !== undefined && copying.db === db && copying.key.equals(key)) continue;
      await this.bigSettled(); // one big key at a time
      this.throwBigError();
      const dropped = () => this.liveTargets.get(slot) !== target || signal?.aborted === true;
      const done = this.moveBig(db, target, slot, key, dropped)
        .then((r) => this.credit(slot, r.moved ? 1 : 0, r.bytes, r.longestMs))
        .catch((e: unknown) => {
          this.bigError ??= e;
        })
        .finally(() => {
          this.big = undefined;
        });
      this.big = { db, key, slot, done };
    }
    // A slot taken out while big keys moved is left alone.
    for (let i = small.length - 1; i >= 0; i--) {
      if (wanted(smallSlots[i]!)) continue;
      small.splice(i, 1);
      smallSlots.splice(i, 1);
      smallBytes.splice(i, 1);
    }
    // One MIGRATE per run of keys up to batchBytes (at least one key), so that a batch of large
    // values does not freeze the source.
    for (let from = 0; from < small.length;) {
      let to = from + 1;
      let size = smallBytes[from]!;
      while (to < small.length && size + smallBytes[to]! <= (this.opts.batchBytes ?? Infinity))
        size += smallBytes[to++]!;
      await this.migrate(db, target, small.slice(from, to), result);
      for (let i = from; i < to; i++) {
        const p = stat(result, smallSlots[i]!);
        p.moved++;
        p.bytes += smallBytes[i]!;
      }
      movedKeys += to - from;
      bytes += size;
      from = to;
    }
    return { keys: movedKeys, bytes };
  }

  private async migrate(db: number, target: string, keys: Buffer[], result: PassResult): Promise<void> {
    const { host, port } = parseAddr(target);
    const args: (string | number | Buffer)[] = [host, port, '', db, this.opts.timeoutMs, 'REPLACE'];
    if (this.opts.auth !== '') args.push('AUTH', this.opts.auth);
    args.push('KEYS', ...keys);
    const t0 = Date.now();
    await this.conn(this.source, db).call('MIGRATE', ...args);
    result.longestStallMs = Math.max(result.longestStallMs, Date.now() - t0);
  }

  private async moveBig(db: number, target: string, slot: number, key: Buffer, stop: () => boolean) {
    await this.holder.hold(slot, db, key);
    try {
      return await moveBigKey(
        this.conn(this.source, db),
        this.conn(target, db),
        key,
        this.opts.chunkElements,
        async () => {
          // Each chunk is short; the pause lets other clients' requests in between.
          await sleep(Math.min(this.opts.pauseMs(), 5));
        },
        stop,
      );
    } finally {
      await this.holder.release(slot, db, key);
    }
  }

  /** Databases of the source that hold keys (INFO keyspace). */
  private async databases(): Promise<number[]> {
    const info = String(await this.conn(this.source, 0).info('keyspace'));
    const dbs = [...info.matchAll(/^db(\d+):keys=(\d+)/gm)]
      .filter((m) => Number(m[2]) > 0)
      .map((m) => Number(m[1]));
    return dbs;
  }

  private conn(addr: string, db: number): Redis {
    const id = `${addr}/${db}`;
    let c = this.conns.get(id);
    if (c === undefined) {
      const { host, port } = parseAddr(addr);
      c = new Redis({
        host,
        port,
        db,
        password: this.opts.auth || undefined,
        lazyConnect: false,
        maxRetriesPerRequest: 2,
        commandTimeout: this.opts.timeoutMs + 5000,
        enableReadyCheck: false,
      });
      c.on('error', () => {});
      this.conns.set(id, c);
    }
    return c;
  }

  close(): void {
    for (const c of this.conns.values()) c.disconnect();
    this.conns.clear();
  }
}
