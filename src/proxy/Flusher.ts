/**
 * Batches socket writes per event-loop turn. Sessions and backend connections queue bytes
 * during the poll phase (every readable socket is handled there); one setImmediate then
 * flushes each of them with a single write. Many clients' requests thus leave for a backend
 * in one syscall, and a client gets all its replies of a turn in one.
 *
 * A backend's writes wait one turn more (`scheduleLateFlush`). That turn's poll does not
 * block, since an immediate is pending, and it takes in the requests of clients whose bytes
 * came while this turn ran. Under load each server so gets fewer, bigger writes and is woken
 * less often (at 50 clients, -P 1: about 30 % fewer writes, 9 % more requests per second);
 * a lone request waits only for that one non-blocking poll.
 */
export interface Flushable {
  /** Set while the target is queued (in either queue), so it is queued at most once. */
  flushQueued: boolean;
  flush(): void;
}

class FlushQueue {
  private queue: Flushable[] = [];
  private spare: Flushable[] = [];
  private scheduled = false;

  /** Queues `t`; true when the queue needs a run scheduled. */
  add(t: Flushable): boolean {
    if (t.flushQueued) return false;
    t.flushQueued = true;
    this.queue.push(t);
    if (this.scheduled) return false;
    this.scheduled = true;
    return true;
  }

  run(): void {
    this.scheduled = false;
    const q = this.queue;
    this.queue = this.spare;
    for (let i = 0; i < q.length; i++) {
      const t = q[i]!;
      t.flushQueued = false;
      t.flush();
    }
    q.length = 0;
    this.spare = q;
  }
}

const thisTurn = new FlushQueue();
const nextTurn = new FlushQueue();

function runThisTurn(): void {
  thisTurn.run();
}

function runNextTurn(): void {
  nextTurn.run();
}

/** An immediate queued while immediates run waits for the next turn, after its poll. */
function toNextTurn(): void {
  setImmediate(runNextTurn);
}

/** Flushes `t` once this turn's reads are handled. */
export function scheduleFlush(t: Flushable): void {
  if (thisTurn.add(t)) setImmediate(runThisTurn);
}

/** Flushes `t` after the next turn's (non-blocking) poll. */
export function scheduleLateFlush(t: Flushable): void {
  if (nextTurn.add(t)) setImmediate(toNextTurn);
}
