/**
 * One client command on its way through the proxy. It keeps the received bytes of the
 * command; `payload` is what goes to the backend (the client's own bytes when forwarded as
 * is), and the argument views are made only when something needs them.
 * A command split across backends (MGET, MSET, DEL…) has sub-requests that complete into it,
 * and its `merge` builds the client's reply from theirs.
 */
import type { BackendTask } from './BackendTask.js';
import type { CommandInfo } from './commands/CommandInfo.js';
import { error, type Proto } from '../resp/encode.js';
import { splitMultiBulk } from '../resp/RawCommand.js';
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';

/** The one who waits for a top-level request: its Session. */
export interface RequestOwner {
  onRequestDone(req: Request): void;
  /** More parts of a streamed reply arrived (`req.parts`). */
  onRequestPart(req: Request): void;
}

/** Something that counts requests in flight (a Slot, to drain before it switches). */
export interface InflightCounter {
  release(epoch: number): void;
}

/** `Request.route` for requests answered by the proxy itself, and for split multi-key ones. */
export const ROUTE_LOCAL = -1;
export const ROUTE_MULTI = -2;
/** Not a request: a pub/sub message the session sends its client in turn with the replies. */
export const ROUTE_PUSH = -3;

/** A route of a client's own that the router tries before the slot's shared connections. */
export interface OwnRoute {
  /** True when it took the request (sent or answered it); false leaves it to the router. */
  route(router: Router, slot: Slot, req: Request): boolean;
}

export type MergeFn = (req: Request) => Buffer;

export class Request implements BackendTask {
  /** Next request of the same session, in arrival order. */
  next: Request | null = null;
  done = false;
  /**
   * The reply for the client is replyData[replyStart, replyEnd): a backend's received chunk
   * (no view is made unless asked for), or bytes made by the proxy.
   */
  replyData: Buffer | null = null;
  replyStart = 0;
  replyEnd = 0;
  /**
   * A big reply streamed through: its parts not yet written to the client (the last part
   * joins them when done), or null for a reply held whole.
   */
  parts: Buffer[] | null = null;
  /** Bytes of the streamed reply so far. */
  partsLen = 0;
  /** Some of the streamed reply went to the client: an error can no longer replace it. */
  partsWritten = false;
  /** True when the reply was produced by the proxy because the request failed. */
  failed = false;
  /** Sent under CLIENT REPLY OFF or SKIP: its reply is dropped, not written. */
  silent = false;
  /** Read from the primary even where replicas serve reads (a tracking client's: Invalidations.ts). */
  primaryOnly = false;
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
  /**
   * The protocol its session speaks. It goes to a backend connection that speaks the same,
   * so the reply is the client's as it comes.
   */
  proto: Proto = 2;
  /** The slot it was routed to, or ROUTE_LOCAL / ROUTE_MULTI. */
  route = ROUTE_LOCAL;
  /** Name of a command missing from the table that was forwarded anyway (for stats). */
  unknownName: string | undefined = undefined;
  /** A transaction's EXEC: the backend's replies to MULTI and the queued commands come first. */
  skipReplies = 0;
  /** A transaction's EXEC: the keys of its commands (moved first while their slot migrates). */
  txKeys: Buffer[] | null = null;
  /** Sent while its client watches keys: the router asks the watch first (Watch.ts). */
  own: OwnRoute | null = null;

  /** The bytes sent to the backend are payload[payloadStart, payloadEnd). */
  payloadStart: number;
  payloadEnd: number;
  private argv: Buffer[] | null;

  /** `args` null: they are the multi-bulk at payload[payloadStart…], made on first use. */
  constructor(
    readonly owner: RequestOwner | null,
    args: Buffer[] | null,
    public payload: Buffer,
    payloadStart: number,
    payloadEnd: number,
    readonly db: number,
    public info: CommandInfo,
    readonly start: number,
  ) {
    this.argv = args;
    this.payloadStart = payloadStart;
    this.payloadEnd = payloadEnd;
  }

  /** Argument views into the received bytes. */
  get args(): Buffer[] {
    this.argv ??= splitMultiBulk(this.payload, this.payloadStart);
    return this.argv;
  }

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

  /** The reply's first byte, its RESP type (0x2d `-` for an error), read without a view; -1 without one. */
  replyType(): number {
    const d = this.replyData;
    return d === null || this.replyEnd <= this.replyStart ? -1 : d[this.replyStart]!;
  }

  /** The reply bytes (a view into the backend's chunk), once done. */
  get reply(): Buffer | null {
    const d = this.replyData;
    if (d === null || (this.replyStart === 0 && this.replyEnd === d.length)) return d;
    return d.subarray(this.replyStart, this.replyEnd);
  }

  onReplyPart(parts: readonly Buffer[]): boolean {
    // A split command merges whole replies.
    if (this.done || this.parent !== null || this.owner === null) return false;
    this.parts ??= [];
    for (const p of parts) {
      this.parts.push(p);
      this.partsLen += p.length;
    }
    this.owner.onRequestPart(this);
    return true;
  }

  onReply(data: Buffer, start: number, end: number): void {
    if (this.done) return;
    if (this.parts !== null) {
      this.parts.push(data.subarray(start, end));
      this.partsLen += end - start;
      this.finish();
      return;
    }
    this.replyData = data;
    this.replyStart = start;
    this.replyEnd = end;
    this.finish();
  }

  onFailure(cause: string): void {
    this.fail('ERR handle response, ' + cause);
  }

  /** Completes with an error reply made by the proxy: its text with the error code, or the encoded reply. */
  fail(msg: string | Buffer): void {
    if (this.done) return;
    this.failed = true;
    // The parts not yet written are dropped; if some were, the session closes the connection.
    this.parts = null;
    this.answer(typeof msg === 'string' ? error(msg) : msg);
  }

  /** Completes with a reply made by the proxy (local commands). */
  answer(reply: Buffer): void {
    this.onReply(reply, 0, reply.length);
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
    let reply: Buffer;
    try {
      reply = this.merge!(this);
    } catch (e) {
      this.failed = true;
      reply = error('ERR handle response, ' + (e as Error).message);
    }
    this.subs = null;
    this.answer(reply);
  }
}
