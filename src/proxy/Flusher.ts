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
