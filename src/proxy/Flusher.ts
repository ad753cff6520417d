/**
 * Batches socket writes per event-loop turn. Sessions and backend connections queue bytes
 * during the poll phase (every readable socket is handled there); one setImmediate then
 * flushes each of them with a single write. Many clients' requests thus leave for a backend
 * in one syscall, and a client gets all its replies of a turn in one.
 */
export interface Flushable {
  /** Set by the Flusher while the target is queued, so it is queued at most once per turn. */
  flushQueued: boolean;
  flush(): void;
}

let queue: Flushable[] = [];
let spare: Flushable[] = [];
let scheduled = false;

function run(): void {
  scheduled = false;
  const q = queue;
  queue = spare;
  for (let i = 0; i < q.length; i++) {
    const t = q[i]!;
    t.flushQueued = false;
    t.flush();
  }
  q.length = 0;
  spare = q;
}

export function scheduleFlush(t: Flushable): void {
  if (t.flushQueued) return;
  t.flushQueued = true;
  queue.push(t);
  if (!scheduled) {
    scheduled = true;
    setImmediate(run);
  }
}

/**
 * Writes a list of buffers with as few calls as possible: small pieces are joined into one
 * buffer (one copy), large ones go out as they are; several pieces leave corked (one writev).
 * Returns socket.write's back-pressure signal.
 */
export function writeBuffers(
  socket: { write(b: Buffer): boolean; cork(): void; uncork(): void },
  bufs: Buffer[],
  total: number,
): boolean {
  if (bufs.length === 1) return socket.write(bufs[0]!);
  if (total <= JOIN_LIMIT && !hasBigPiece(bufs)) return socket.write(Buffer.concat(bufs, total));
  socket.cork();
  let ok = true;
  let run: Buffer[] = [];
  let runLen = 0;
  const flushRun = () => {
    if (run.length > 0) ok = socket.write(run.length === 1 ? run[0]! : Buffer.concat(run, runLen));
    run = [];
    runLen = 0;
  };
  for (const b of bufs) {
    if (b.length >= BIG_PIECE) {
      flushRun();
      ok = socket.write(b);
    } else {
      run.push(b);
      runLen += b.length;
      if (runLen >= JOIN_LIMIT) flushRun();
    }
  }
  flushRun();
  socket.uncork();
  return ok;
}

function hasBigPiece(bufs: Buffer[]): boolean {
  for (let i = 0; i < bufs.length; i++) if (bufs[i]!.length >= BIG_PIECE) return true;
  return false;
}

/** Up to this many bytes are joined into one buffer before writing. */
export const JOIN_LIMIT = 256 * 1024;
/** A piece this large is written as it is (a big value is never copied). */
export const BIG_PIECE = 16 * 1024;
