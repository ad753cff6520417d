/**
 * One client command on its way through the proxy. Arguments are views into the received
 * bytes; `payload` is what goes to the backend (the client's own bytes when forwarded as is).
 * A command split across backends (MGET, MSET, DEL…) has sub-requests that complete into it,
 * and its `merge` builds the client's reply from theirs.
 */
import type { BackendTask } from './BackendConn.js';
import type { CommandInfo } from './commands/CommandInfo.js';
import { error } from '../resp/encode.js';

/** The one who waits for a top-level request: its Session. */
export interface RequestOwner {
  onRequestDone(req: Request): void;
}

/** Something that counts requests in flight (a Slot, to drain before it switches). */
export interface InflightCounter {
  release(epoch: number): void;
}

/** `Request.route` for requests answered by the proxy itself, and for split multi-key ones. */
export const ROUTE_LOCAL = -1;
export const ROUTE_MULTI = -2;

export type MergeFn = (req: Request) => Buffer;

export class Request implements BackendTask {
  /** Next request of the same session, in arrival order. */
  next: Request | null = null;
  done = false;
  /** The reply bytes for the client (a view into a backend chunk, or made by the proxy). */
  reply: Buffer | null = null;
  /** True when the reply was produced by the proxy because the request failed. */
  failed = false;
  /** Set while the request is counted in a slot's in-flight requests. */
  counter: InflightCounter | null = null;
  /** The counter's epoch when this request was counted. */
  epoch = 0;
  parent: Request | null = null;
  subs: Request[] | null = null;
  private pendingSubs = 0;
  merge: MergeFn | null = null;
  /** Per-request scratch for a merge, e.g. which key indices a sub-request carries. */
  keyIndex: number[] | null = null;
  /** Spreads sessions over parallel connections and replicas; stable per session. */
  seed = 0;
  /** The slot it was routed to, or ROUTE_LOCAL / ROUTE_MULTI. */
  route = ROUTE_LOCAL;
  /** Name of a command missing from the table that was forwarded anyway (for stats). */
  unknownName: string | undefined = undefined;

  constructor(
    readonly owner: RequestOwner | null,
    readonly args: Buffer[],
    public payload: Buffer,
    readonly db: number,
    public info: CommandInfo,
    readonly start: number,
  ) {}

  /** Stops counting the request as in flight (it waits outside any backend for a while). */
  untrack(): void {
    if (this.counter === null) return;
    this.counter.release(this.epoch);
    this.counter = null;
  }

  /** Registers sub-requests; the parent completes when all of them have. */
  split(subs: Request[], merge: MergeFn): void {
    this.subs = subs;
    this.merge = merge;
    this.pendingSubs = subs.length;
    for (const s of subs) s.parent = this;
  }

  onReply(reply: Buffer): void {
    this.reply = reply;
    this.finish();
  }

  onFailure(cause: string): void {
    this.fail('ERR handle response, ' + cause);
  }

  /** Completes with an error reply made by the proxy; `msg` includes the error code. */
  fail(msg: string): void {
    this.failed = true;
    this.reply = error(msg);
    this.finish();
  }

  /** Completes with a reply made by the proxy (local commands). */
  answer(reply: Buffer): void {
    this.reply = reply;
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    if (this.counter !== null) {
      this.counter.release(this.epoch);
      this.counter = null;
    }
    const parent = this.parent;
    if (parent !== null) {
      if (--parent.pendingSubs === 0) parent.mergeSubs();
    } else if (this.owner !== null) {
      this.owner.onRequestDone(this);
    }
  }

  private mergeSubs(): void {
    try {
      this.reply = this.merge!(this);
    } catch (e) {
      this.failed = true;
      this.reply = error('ERR handle response, ' + (e as Error).message);
    }
    this.subs = null;
    this.finish();
  }
}
