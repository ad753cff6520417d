/**
 * Moves one big key without freezing either server: a single MIGRATE of a 5-million-field
 * hash would block the source (DUMP) and the target (RESTORE) for seconds. Instead, while the
 * proxies hold requests for that key only, its elements are copied in small chunks to a
 * temporary key on the target, the TTL is restored, the temporary key is RENAMEd into place
 * (O(1)) and the source copy is UNLINKed (freed in the background).
 *
 * `shouldStop` is asked after every chunk: a move that stops (its slot's migration is aborted,
 * the dashboard closes) drops the temporary key and leaves the source untouched. A key that
 * expires while it is copied is not resurrected on the target.
 */
import type { Redis } from 'ioredis';

export interface KeyHolder {
  /** Resolves when every proxy holds requests for the key and none is still running. */
  hold(slot: number, db: number, key: Buffer): Promise<void>;
  release(slot: number, db: number, key: Buffer): Promise<void>;
}

export interface BigKeyResult {
  moved: boolean;
  elements: number;
  bytes: number;
  /** Longest single call on the source, ms. */
  longestMs: number;
}

const TMP_PREFIX = Buffer.from('__codis_migrating__:');

/** Copies `key` from `src` to `dst` (both connected to the same db) in chunks of `chunk` elements. */
export async function moveBigKey(
  src: Redis,
  dst: Redis,
  key: Buffer,
  chunk: number,
  onChunk?: (elements: number, bytes: number) => Promise<void>,
  shouldStop?: () => boolean,
): Promise<BigKeyResult> {
  let longestMs = 0;
  const timed = async <T>(p: Promise<T>): Promise<T> => {
    const t0 = Date.now();
    try {
      return await p;
    } finally {
      longestMs = Math.max(longestMs, Date.now() - t0);
    }
  };
  const type = String(await src.type(key));
  if (type === 'none') return { moved: false, elements: 0, bytes: 0, longestMs };
  if (type === 'stream')
    throw new Error('streams are moved whole with MIGRATE (consumer groups must come along)');
  const tmp = Buffer.concat([TMP_PREFIX, key]);
  await dst.unlink(tmp);
  let elements = 0;
  let bytes = 0;
  let stopped = false;
  const write = async (args: (Buffer | string | number)[], n: number, size: number) => {
    await dst.callBuffer(args[0] as string, args.slice(1));
    elements += n;
    bytes += size;
    await onChunk?.(n, size);
    if (shouldStop?.()) stopped = true;
  };
  const dropped = async (): Promise<BigKeyResult> => {
    await dst.unlink(tmp);
    return { moved: false, elements, bytes, longestMs };
  };
  if (type === 'string') {
    const len = Number(await src.strlen(key));
    const step = Math.max(chunk, 1) * 1024;
    await dst.set(tmp, '');
    for (let off = 0; off < len && !stopped; off += step) {
      const part = await timed(src.getrangeBuffer(key, off, Math.min(off + step, len) - 1));
      await write(['APPEND', tmp, part], 1, part.length);
    }
  } else if (type === 'list') {
    const len = Number(await src.llen(key));
    for (let i = 0; i < len && !stopped; i += chunk) {
      const items = await timed(src.lrangeBuffer(key, i, i + chunk - 1));
      if (items.length > 0) await write(['RPUSH', tmp, ...items], items.length, sizeOf(items));
    }
  } else {
    const scan = type === 'hash' ? 'HSCAN' : type === 'set' ? 'SSCAN' : 'ZSCAN';
    const add = type === 'hash' ? 'HSET' : type === 'set' ? 'SADD' : 'ZADD';
    let cursor = '0';
    do {
      const [next, flat] = (await timed(src.callBuffer(scan, [key, cursor, 'COUNT', chunk]))) as [
        Buffer,
        Buffer[],
      ];
      cursor = next.toString();
      if (flat.length === 0) continue;
      // ZSCAN gives member, score; ZADD wants score, member.
      const args = type === 'zset' ? swapPairs(flat) : flat;
      await write([add, tmp, ...args], type === 'set' ? flat.length : flat.length / 2, sizeOf(flat));
    } while (cursor !== '0' && !stopped);
  }
  if (stopped) return dropped();
  const ttl = Number(await src.pttl(key));
  // -2: the key expired meanwhile (nothing else touches it while it is held).
  if (ttl === -2) return dropped();
  if (ttl > 0) await dst.pexpire(tmp, ttl);
  await dst.rename(tmp, key);
  await timed(src.unlink(key));
  return { moved: true, elements, bytes, longestMs };
}

function swapPairs(flat: Buffer[]): Buffer[] {
  const out = new Array<Buffer>(flat.length);
  for (let i = 0; i + 1 < flat.length; i += 2) {
    out[i] = flat[i + 1]!;
    out[i + 1] = flat[i]!;
  }
  return out;
}

function sizeOf(items: Buffer[]): number {
  let n = 0;
  for (const b of items) n += b.length;
  return n;
}
