/**
 * How received bytes reach a session or a backend connection. Through a stream's 'data'
 * events every read costs a fresh 64 KB buffer, a stream push and a next-tick (and in Node 20
 * a Map made when that tick queue drains): more than the request itself. So a client's bare
 * handle reads into one buffer shared by all of them and its session gets an exact-size copy
 * it may keep (a small one is a slice of Node's buffer pool), and a backend socket reads
 * through a SlabReader.
 */
import type net from 'node:net';
import { copyBytes } from '../utils/copyBytes.js';

/** Every client read lands here first; reads run one at a time, each copied out before the next. */
export const READ_BUF = Buffer.allocUnsafe(64 * 1024);

export function takeRead(n: number): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  copyBytes(READ_BUF, 0, n, chunk, 0);
  return chunk;
}

/**
 * `onChunk(chunk, full)`: `full` when the read filled all the room it was given, so more is
 * likely queued in the socket. Returning false pauses the socket.
 */
export type ChunkHandler = (chunk: Buffer, full: boolean) => boolean;

/**
 * A backend socket's reads (`onread` for net.connect). A burst of big replies (LRANGE, MGET,
 * HGETALL) would cost a copy of every byte out of a shared buffer, and another wherever a
 * reply spans two reads. Here small reads are still copied out to an exact size, and the
 * room is reused; a big read is handed on as a view of the slab it landed in, and the next
 * read goes just after it, so a reply spanning reads is still one range of memory (see
 * `joinPieces`). A view keeps its whole slab alive, hence slabs of modest size.
 */
export class SlabReader {
  private slab = Buffer.allocUnsafeSlow(SLAB);
  private pos = 0;
  /** Where the next read lands: slab[pos…]. */
  private room: Buffer = this.slab;

  constructor(private readonly onChunk: ChunkHandler) {}

  opts(): net.OnReadOpts {
    return { buffer: () => this.room, callback: (n) => this.onRead(n) };
  }

  private onRead(n: number): boolean {
    const full = n === this.room.length;
    if (n < SHARE_MIN) {
      const chunk = Buffer.allocUnsafe(n);
      copyBytes(this.room, 0, n, chunk, 0);
      return this.onChunk(chunk, full);
    }
    const chunk = this.room.subarray(0, n);
    this.pos += n;
    if (SLAB - this.pos < ROOM_MIN) {
      this.slab = Buffer.allocUnsafeSlow(SLAB);
      this.pos = 0;
      this.room = this.slab;
    } else {
      this.room = this.slab.subarray(this.pos);
    }
    return this.onChunk(chunk, full);
  }
}

/** The pieces of one reply as one Buffer: a view when they lie end to end in one slab, else a copy. */
export function joinPieces(pieces: Buffer[], total: number): Buffer {
  const first = pieces[0]!;
  let next = first.byteOffset + first.length;
  for (let i = 1; i < pieces.length; i++) {
    const p = pieces[i]!;
    if (p.buffer !== first.buffer || p.byteOffset !== next) return Buffer.concat(pieces, total);
    next += p.length;
  }
  return Buffer.from(first.buffer, first.byteOffset, total);
}

const SLAB = 128 * 1024;
/** A new slab once less than this is left, so reads stay big. */
const ROOM_MIN = 32 * 1024;
/** Reads shorter than this are copied out: small replies then never hold a slab. */
const SHARE_MIN = 8 * 1024;
