/**
 * The dashboard's migration worker for one source group: walks every database of the source
 * master with SCAN, computes each key's slot itself (stock Redis keeps no per-slot index),
 * and moves the keys of every migrating slot in batches with `MIGRATE … KEYS …`. Many slots,
 * going to several targets, are served by one pass. A slot is done when a full pass over
 * every database finds none of its keys. Big keys go through BigKeyMover under a key hold.
 */
import { Redis } from 'ioredis';
import { slotOfRange } from '../../proxy/hash.js';
import { parseAddr } from '../../utils/addr.js';
import { moveBigKey, type KeyHolder } from './BigKeyMover.js';
import { RateLimiter, sleep, type RateLimits } from './RateLimiter.js';

export interface MoverOptions {
  auth: string;
  /** Keys per MIGRATE call. */
  batchKeys: number;
  /** Pause between batches, ms (live). */
  pauseMs: () => number;
  limits: () => RateLimits;
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
}

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
  out[i] = {t, n}
end
return out`;

export class SlotMover {
  private readonly conns = new Map<string, Redis>();

  constructor(
    private readonly source: string,
    private readonly opts: MoverOptions,
    private readonly holder: KeyHolder,
  ) {}

  /**
   * One full pass: every database of the source, every key of `targets` (slot → target
   * address) moved. Stops early (between batches) when `signal` aborts.
   */
  async pass(targets: ReadonlyMap<number, string>, signal?: AbortSignal): Promise<PassResult> {
    const result: PassResult = { slots: new Map(), longestStallMs: 0 };
    for (const s of targets.keys()) result.slots.set(s, { found: 0, moved: 0, bytes: 0 });
    const limiter = new RateLimiter(this.opts.limits);
    for (const db of await this.databases()) {
      const src = this.conn(this.source, db);
      let cursor = '0';
      do {
        if (signal?.aborted) return result;
        const [next, keys] = (await src.scanBuffer(cursor, 'COUNT', this.opts.batchKeys)) as [
          Buffer,
          Buffer[],
        ];
        cursor = next.toString();
        const byTarget = new Map<string, { keys: Buffer[]; slots: number[] }>();
        for (const k of keys) {
          const slot = slotOfRange(k, 0, k.length);
          const target = targets.get(slot);
          if (target === undefined) continue;
          result.slots.get(slot)!.found++;
          let b = byTarget.get(target);
          if (b === undefined) byTarget.set(target, (b = { keys: [], slots: [] }));
          b.keys.push(k);
          b.slots.push(slot);
        }
        for (const [target, b] of byTarget) {
          const moved = await this.moveBatch(db, target, b.keys, b.slots, result);
          await sleep(limiter.account(moved.keys, moved.bytes), signal);
        }
        if (byTarget.size > 0) await sleep(this.opts.pauseMs(), signal);
      } while (cursor !== '0');
    }
    return result;
  }

  private async moveBatch(
    db: number,
    target: string,
    keys: Buffer[],
    slots: number[],
    result: PassResult,
  ): Promise<{ keys: number; bytes: number }> {
    const src = this.conn(this.source, db);
    const sizes = (await src.call('EVAL', SIZE_PROBE, keys.length, ...keys)) as [string, number][];
    const small: Buffer[] = [];
    const smallSlots: number[] = [];
    let bytes = 0;
    let movedKeys = 0;
    for (let i = 0; i < keys.length; i++) {
      const [type, n] = sizes[i]!;
      if (type === 'none') continue;
      const big =
        type !== 'stream' && (type === 'string' ? n > this.opts.bigKeyBytes : n > this.opts.bigKeyElements);
      if (!big) {
        small.push(keys[i]!);
        smallSlots.push(slots[i]!);
        continue;
      }
      const r = await this.moveBig(db, target, slots[i]!, keys[i]!);
      const p = result.slots.get(slots[i]!)!;
      if (r.moved) p.moved++;
      p.bytes += r.bytes;
      bytes += r.bytes;
      movedKeys++;
    }
    if (small.length > 0) {
      const { host, port } = parseAddr(target);
      const args: (string | number | Buffer)[] = [host, port, '', db, this.opts.timeoutMs];
      if (this.opts.auth !== '') args.push('AUTH', this.opts.auth);
      args.push('KEYS', ...small);
      const t0 = Date.now();
      await src.call('MIGRATE', ...args);
      result.longestStallMs = Math.max(result.longestStallMs, Date.now() - t0);
      for (let i = 0; i < small.length; i++) {
        const p = result.slots.get(smallSlots[i]!)!;
        p.moved++;
        p.bytes += small[i]!.length;
        bytes += small[i]!.length;
      }
      movedKeys += small.length;
    }
    return { keys: movedKeys, bytes };
  }

  private async moveBig(db: number, target: string, slot: number, key: Buffer) {
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
