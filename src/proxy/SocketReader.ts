/**
 * How received bytes reach a session or a backend connection. Through a stream's 'data'
 * events every read costs a fresh 64 KB buffer, a stream push and a next-tick (and in Node 20
 * a Map made when that tick queue drains): more than the request itself. So a client's bare
 * handle reads into one buffer shared by all of them and its session gets an exact-size copy
 * it may keep (a small one is a slice of Node's buffer pool); a backend socket does the same
 * through a SlabReader, except during a burst of big reads.
 */
// Imported: the global Buffer is a getter, called on every use (Buffer.allocUnsafe per read).
import { Buffer } from 'node:buffer';
import type net from 'node:net';
import { copyBytes } from '../utils/copyBytes.js';

/**
 * Every client read, and a backend's outside a burst, lands here first; reads run one at a
 * time, each copied out before the next.
 */
export const READ_BUF = Buffer.allocUnsafe(64 * 1024);

/** An exact-size copy of the first `n` bytes a read put in `room` (READ_BUF unless said). */
export function takeRead(n: number, room: Buffer = READ_BUF): Buffer {
  const chunk = Buffer.allocUnsafe(n);
  copyBytes(room, 0, n, chunk, 0);
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
 * reply spans two reads. So once a read is big, the connection reads into a slab of its own:
 * each read is handed on as a view of the slab and the next one goes just after it, so a
 * reply spanning reads is still one range of memory (see `joinPieces`). A small read is copied
 * out at its exact size, as a client's is, and after a run of them the connection goes back
 * to the shared buffer: an idle or lightly used connection holds no slab, and small replies
 * never keep one alive.
 */
export class SlabReader {
  /** Where the next read lands: READ_BUF, or slab[pos…] during a burst. */
  private room: Buffer = READ_BUF;
  private slab: Buffer | null = null;
  private pos = 0;
  /** Small reads in a row during a burst. */
  private smallReads = 0;

  constructor(private readonly onChunk: ChunkHandler) {}

  opts(): net.OnReadOpts {
    return { buffer: () => this.room, callback: (n) => this.onRead(n) };
  }

  private onRead(n: number): boolean {
    const full = n === this.room.length;
    const slab = this.slab;
    if (slab === null || n < SHARE_MIN) {
      const chunk = takeRead(n, this.room);
      // A big read starts a burst: the next reads go to a slab. A run of small ones ends it.
      if (n >= SHARE_MIN) this.newSlab();
      else if (slab !== null && ++this.smallReads >= SMALL_RUN) this.toShared();
      return this.onChunk(chunk, full);
    }
    this.smallReads = 0;
    const chunk = this.room.subarray(0, n);
    this.pos += n;
    if (SLAB - this.pos < ROOM_MIN) this.newSlab();
    else this.room = slab.subarray(this.pos);
    return this.onChunk(chunk, full);
  }

  private newSlab(): void {
    this.slab = Buffer.allocUnsafeSlow(SLAB);
    this.smallReads = 0;
    this.pos = 0;
    this.room = this.slab;
  }

  /** The slab itself lives on as long as views of it do. */
  private toShared(): void {
    this.slab = null;
    this.room = READ_BUF;
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
/** Small reads in a row that end a burst (one small read in the middle of one does not). */
const SMALL_RUN = 16;
