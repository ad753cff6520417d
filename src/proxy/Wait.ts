/**
 * WAIT numreplicas timeout. Redis counts the replicas that acknowledged the last write the
 * client made on its connection. Through the proxy, a client's writes went over connections
 * shared with other clients, to whichever groups its keys live on, and a WAIT there would hold
 * up everyone on that connection. So the proxy runs WAIT on every group's primary, over a
 * connection of the client's own (kept for its next WAIT, closed with it), and answers the
 * smallest count: how many replicas of every group have the client's writes.
 *
 * A connection's WAIT waits for that connection's own last write, and the client's own
 * connection wrote nothing. So an SPUBLISH to a channel of the proxy's goes first: Redis always
 * replicates SPUBLISH (and nobody receives it: sharded channels have no patterns), which makes
 * the WAIT that follows it wait for everything the primary ran before it. The session starts a
 * WAIT only once the client's earlier commands are answered, so their writes are among those.
 */
import { error, integer } from '../resp/encode.js';
import { integerReply } from '../resp/ReplyScanner.js';
import type { BackendConn } from './BackendConn.js';
import { OwnConn } from './OwnConn.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';

/** Replicated and received by nobody: only an exact SSUBSCRIBE of this name could see it. */
const WAIT_MARK_CHANNEL = '__codis_wait__';
const MARK = ['SPUBLISH', WAIT_MARK_CHANNEL, ''];

/** A client's WAITs: a connection of its own to each primary. */
export class Waits {
  private readonly own = new Map<string, OwnConn>();
  /** WAITs whose client has earlier commands still unanswered, in order. */
  private queued: Request[] = [];
  private out = 0;

  constructor(private readonly router: Router) {}

  /** A WAIT is out (INFO counts the client as blocked, as Redis does). */
  get busy(): boolean {
    return this.out > 0;
  }

  /** The connections a WAIT is out on. */
  blockedOn(): BackendConn[] {
    const out: BackendConn[] = [];
    for (const own of this.own.values())
      if (own.current !== null && own.current.pending > 0) out.push(own.current);
    return out;
  }

  queue(req: Request): void {
    this.queued.push(req);
  }

  /** `first` is the client's oldest unanswered request: a WAIT that is starts now. */
  startReady(first: Request | null): void {
    while (this.queued.length > 0 && this.queued[0] === first) this.run(this.queued.shift()!);
  }

  /** Runs the (checked) WAIT on every primary. */
  private run(req: Request): void {
    const pool = this.router.primary;
    const addrs = pool.addrs();
    if (addrs.length === 0)
      return req.fail('ERR handle request, WAIT has no backend to run on: no slot is online');
    for (const [addr, own] of this.own) {
      if (!addrs.includes(addr)) {
        own.close();
        this.own.delete(addr);
      }
    }
    this.out++;
    let left = addrs.length;
    let least = Infinity;
    let failure: Buffer | null = null;
    const done = () => {
      if (--left > 0) return;
      this.out--;
      req.answer(failure ?? integer(least));
    };
    for (const addr of addrs) {
      let own = this.own.get(addr);
      if (own === undefined) this.own.set(addr, (own = new OwnConn(this.router, true)));
      const bc = own.to(pool.get(addr)!, req.db, req.proto);
      const fail = (cause: string) =>
        (failure ??= error(`ERR handle request, WAIT failed on ${addr}: ${cause}`));
      bc.call(
        MARK,
        (r) => {
          // Without the mark, the WAIT after it would not wait for anything.
          if (r[0] === 0x2d)
            fail(`SPUBLISH (Redis 7 or later is needed) answered ${r.toString('utf8', 1, r.length - 2)}`);
        },
        fail,
      );
      bc.call(
        req.args,
        (r) => {
          const n = integerReply(r, 0, r.length);
          if (r[0] === 0x2d) failure ??= r;
          else if (Number.isNaN(n)) fail('not an integer reply');
          else least = Math.min(least, n);
          done();
        },
        (cause) => {
          fail(cause);
          done();
        },
      );
    }
  }

  /** The client is gone: a WAIT it left ends with its connections. */
  close(): void {
    for (const req of this.queued) req.fail('ERR handle request, WAIT cancelled: the client left');
    this.queued = [];
    for (const own of this.own.values()) own.close();
    this.own.clear();
  }
}
