/**
 * Back-pressure for one client: how many of its requests may be out at the backends, and
 * when its connection is read. Past `session_max_pipeline` unanswered requests, or when the
 * client does not read its replies, reading stops until things drain, so a client can never
 * make the proxy hold unbounded memory.
 *
 * The window of requests out is sized from a byte budget and the client's recent largest
 * reply: a client that does not read gets a small window, so the replies it makes the proxy
 * hold stay bounded (not session_max_pipeline × reply size).
 */
import { Fifo } from '../utils/Fifo.js';
import type { ClientConn } from './ClientConn.js';
import type { Request } from './Request.js';
import type { SessionOptions } from './SessionHost.js';

/**
 * Requests a new client may have out before the proxy has seen its reply sizes, and the
 * reply size assumed until then (64 × 64 KB = the 4 MB default budget).
 */
const INITIAL_WINDOW = 64;
const INITIAL_REPLY_SCALE = 64 * 1024;

/** Where deferred requests go once the window has room. */
export interface FlowOwner {
  sendNow(req: Request): void;
}

export class ClientFlow {
  /** Requests handed to the router whose replies are not yet written to the client. */
  outstanding = 0;
  private window = INITIAL_WINDOW;
  /** Recent largest reply size (decays slowly). */
  private replyScale = INITIAL_REPLY_SCALE;
  /** The client is not reading: nothing more is sent for it until its connection drains. */
  private slow = false;
  private readonly deferred = new Fifo<Request>(4);
  private sendTimer: NodeJS.Timeout | null = null;
  private readingPaused = false;

  constructor(
    private readonly conn: ClientConn,
    private readonly options: SessionOptions,
    private readonly owner: FlowOwner,
  ) {}

  /** True when the request may go now; otherwise it waits its turn here. */
  admit(req: Request): boolean {
    if (this.outstanding < this.window) return true;
    this.deferred.push(req);
    return false;
  }

  get hasDeferred(): boolean {
    return this.deferred.length > 0;
  }

  /** A reply of `len` bytes was written to the client. */
  replied(len: number): void {
    this.replyScale = Math.max(len, this.replyScale * 0.99);
  }

  /** Sends deferred requests while the window allows: replies in flight stay within a byte budget. */
  sendDeferred(): void {
    if (this.slow) return;
    const o = this.options;
    this.window = Math.min(o.maxPipeline, Math.max(1, Math.floor(o.replyBudgetBytes / this.replyScale)));
    while (this.deferred.length > 0 && this.outstanding < this.window)
      this.owner.sendNow(this.deferred.shift()!);
  }

  /** A write left bytes unsent: past the send buffer, the client counts as not reading. */
  waitDrain(): void {
    if (this.conn.unsent < this.options.sendBufferBytes) return;
    this.slow = true;
    this.window = 0;
    this.pauseReading();
    if (this.sendTimer === null && this.options.sendTimeoutMs > 0) {
      this.sendTimer = setTimeout(() => this.conn.destroy(), this.options.sendTimeoutMs);
    }
  }

  /** The client read what was unsent: its deferred requests may go. */
  onDrain(): void {
    this.stopTimer();
    this.slow = false;
    this.sendDeferred();
  }

  /** Reading paused for back-pressure resumes once the client reads and the pipeline has room. */
  resumeIfDrained(pending: number): void {
    const room = pending < this.options.maxPipeline && this.deferred.length === 0;
    if (this.readingPaused && this.sendTimer === null && room) this.resumeReading();
  }

  /** After a read: too much out or waiting stops reading. */
  afterRead(pending: number): void {
    if (pending >= this.options.maxPipeline || this.deferred.length > 0) this.pauseReading();
  }

  pauseReading(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.conn.pause();
  }

  resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    this.conn.resume();
  }

  stopTimer(): void {
    if (this.sendTimer !== null) clearTimeout(this.sendTimer);
    this.sendTimer = null;
  }
}
