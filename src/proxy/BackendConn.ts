/**
 * One pipelined connection to a backend Redis for one database.
 *
 * Requests are appended to a write batch (flushed once per event-loop turn) and to an
 * in-flight FIFO; replies are matched to requests in order by finding reply boundaries,
 * never decoding values. A lost connection fails everything in flight and reconnects with
 * back-off; MASTERDOWN/LOADING replies mark the connection stale until INFO says it is well.
 */
import { Buffer } from 'node:buffer';
import net from 'node:net';
import { Fifo } from '../utils/Fifo.js';
import { integerReply, ReplyScanner, startsWith } from '../resp/ReplyScanner.js';
import { command, type Proto } from '../resp/encode.js';
import { NOT_QUEUED, scheduleFlush, scheduleLateFlush, type Flushable } from './Flusher.js';
import { BIG_PIECE, JOIN_LIMIT, restartIdleTimer, SocketSink, writeBuffers } from './SocketWriter.js';
import { joinPieces, SlabReader } from './SocketReader.js';
import { copyBytes } from '../utils/copyBytes.js';
import { InternalTask, type BackendTask } from './BackendTask.js';

export const enum BackendState {
  Down = 0,
  Connected = 1,
  /** Connected, but the server answered MASTERDOWN or LOADING: avoid it for replica reads. */
  DataStale = 2,
}

export interface BackendOptions {
  /** `product_auth`: sent as AUTH on connect when non-empty. */
  auth: string;
  recvTimeoutMs: number;
  keepAliveMs: number;
  connectTimeoutMs: number;
  /** A connection of one client's own learns its id on the server, for CLIENT UNBLOCK. */
  askId?: boolean;
}

const RETRY_MIN_MS = 50;
/** A reply this large is handed on in parts as it arrives. */
const STREAM_MIN = 1024 * 1024;
/** Bytes read in one go before a backend yields the rest of the turn (see onChunk). */
const YIELD_BYTES = 256 * 1024;
/**
 * Requests queued on a connection before its write stops waiting for the next turn's poll.
 * With 500 clients, waiting every time kept the event loop from ever blocking: it polled
 * twice as often, with smaller batches and more writes, and some runs lost a seventh of
 * their throughput.
 */
const LATE_FLUSH_MAX = 16;
const RETRY_MAX_MS = 5000;
const MASTERDOWN = Buffer.from('-MASTERDOWN');
const LOADING = Buffer.from('-LOADING');

export class BackendConn implements Flushable {
  state: BackendState = BackendState.Down;
  flushQueued = NOT_QUEUED;
  private socket: net.Socket | null = null;
  private sink: SocketSink | null = null;
  private closed = false;
  private fails = 0;
  /** While set, the server is considered down and new requests fail at once. */
  private retryTimer: NodeJS.Timeout | null = null;
  /** Sent and unsent tasks in order; the last `unsent` of them wait for the next flush. */
  private readonly inflight = new Fifo<BackendTask>(64);
  private unsent = 0;
  private readonly scanner = new ReplyScanner();
  /** The head task's reply so far, while it spans chunks. */
  private partial: Buffer[] = [];
  private partialLen = 0;
  /** The head task takes its reply in parts (a big reply streamed through). */
  private streaming = false;
  /** Bytes of full reads in a row: the socket had more queued than one read takes. */
  private burst = 0;
  /** Reading stopped for the rest of this turn, to resume at the next flush. */
  private yielded = false;
  /** Sockets opened so far: what a client's WATCH set up on one is gone with it. */
  sockets = 0;
  private lastError = '';
  /** Its CLIENT ID on the server (with `askId`), or 0 while unknown. */
  serverId = 0;
  /** Why the connection went down last: requests refused while it waits to reconnect say so. */
  private downReason = '';

  constructor(
    readonly host: string,
    readonly port: number,
    readonly db: number,
    private readonly opts: BackendOptions,
    /** RESP3 connections serve RESP3 clients: their replies go out as Redis wrote them. */
    readonly proto: Proto = 2,
  ) {
    this.connect();
  }

  get addr(): string {
    return `${this.host.includes(':') ? `[${this.host}]` : this.host}:${this.port}`;
  }

  isConnected(): boolean {
    return this.state === BackendState.Connected;
  }

  get pending(): number {
    return this.inflight.length;
  }

  push(task: BackendTask): void {
    if (this.closed || this.retryTimer !== null) {
      task.onFailure(this.closed ? 'backend conn closed' : `backend conn reset, ${this.downReason}`);
      return;
    }
    this.inflight.push(task);
    // A small batch waits one more poll to grow; a big one is worth its write now.
    if (++this.unsent < LATE_FLUSH_MAX) scheduleLateFlush(this);
    else scheduleFlush(this);
  }

  /** Sends a command of the proxy's own and calls back with its raw reply or a failure. */
  call(args: (Buffer | string | number)[], reply: (r: Buffer) => void, fail: (cause: string) => void): void {
    this.push(new InternalTask(command(args), reply, fail));
  }

  /**
   * Writes the unsent tasks' payloads: small ones copied into one buffer (one write), a
   * batch with big ones through writeBuffers (big payloads are never copied).
   */
  flush(): void {
    const socket = this.socket;
    const sink = this.sink;
    if (this.yielded) this.resumeReading();
    const n = this.unsent;
    if (socket === null || sink === null || n === 0) return;
    this.unsent = 0;
    const q = this.inflight;
    const first = q.length - n;
    // backend_recv_timeout counts from here when nothing was awaited: replies restart it.
    if (first === 0) restartIdleTimer(socket);
    if (n === 1) {
      const t = q.at(first)!;
      sink.write(t.payload.subarray(t.payloadStart, t.payloadEnd));
      return;
    }
    let total = 0;
    let big = false;
    for (let i = first; i < q.length; i++) {
      const t = q.at(i)!;
      const len = t.payloadEnd - t.payloadStart;
      total += len;
      if (len >= BIG_PIECE) big = true;
    }
    if (big || total > JOIN_LIMIT) {
      const bufs: Buffer[] = [];
      for (let i = first; i < q.length; i++) {
        const t = q.at(i)!;
        bufs.push(t.payload.subarray(t.payloadStart, t.payloadEnd));
      }
      writeBuffers(sink, bufs, total);
      return;
    }
    const out = Buffer.allocUnsafe(total);
    let p = 0;
    for (let i = first; i < q.length; i++) {
      const t = q.at(i)!;
      p += copyBytes(t.payload, t.payloadStart, t.payloadEnd, out, p);
    }
    sink.write(out);
  }

  /** Keep-alive: PING when healthy, INFO when stale to learn whether it recovered. */
  keepAlive(): void {
    if (this.closed || this.socket === null || this.inflight.length > 0) return;
    if (this.state === BackendState.DataStale) {
      this.call(
        ['INFO'],
        (r) => {
          const s = r.toString('latin1');
          if (!/master_link_status:down/.test(s) && !/loading:1/.test(s)) this.state = BackendState.Connected;
        },
        () => {},
      );
    } else {
      this.call(['PING'], noop, noop);
    }
  }

  /** `cause`: what the requests still in flight fail with. */
  close(cause = 'backend conn closed'): void {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.socket?.destroy();
    this.failAll(cause);
  }

  isOpen(): boolean {
    return !this.closed;
  }

  private connect(): void {
    this.sockets++;
    const socket = net.connect({
      host: this.host,
      port: this.port,
      noDelay: true,
      onread: new SlabReader((chunk, full) => this.onChunk(chunk, full)).opts(),
    });
    this.socket = socket;
    this.sink = new SocketSink(socket);
    this.scanner.reset();
    this.partial = [];
    this.partialLen = 0;
    this.streaming = false;
    this.burst = 0;
    this.yielded = false;
    if (this.opts.keepAliveMs > 0) socket.setKeepAlive(true, this.opts.keepAliveMs);
    const connectTimer = setTimeout(
      () => socket.destroy(new Error('connect timeout')),
      this.opts.connectTimeoutMs,
    );
    socket.once('connect', () => {
      clearTimeout(connectTimer);
      if (this.opts.recvTimeoutMs > 0) socket.setTimeout(this.opts.recvTimeoutMs);
    });
    socket.on('timeout', () => {
      if (this.inflight.length > 0) socket.destroy(new Error('i/o timeout'));
    });
    socket.on('error', (err) => {
      this.lastError = err.message;
    });
    socket.on('close', () => {
      clearTimeout(connectTimer);
      if (this.socket === socket) this.onClosed();
    });
    this.handshake();
  }

  /** AUTH, HELLO 3 and SELECT go first on every new connection; a refusal drops the connection. */
  private handshake(): void {
    const socket = this.socket!;
    const check = (what: string) => (r: Buffer) => {
      if (r[0] === 0x2d) {
        this.lastError = `${what} failed: ${r.toString('utf8', 1, r.length - 2)}`;
        socket.destroy();
      }
    };
    const first: BackendTask[] = [];
    if (this.opts.auth !== '') first.push(new InternalTask(command(['AUTH', this.opts.auth]), check('AUTH')));
    if (this.proto === 3) first.push(new InternalTask(command(['HELLO', 3]), check('HELLO 3')));
    if (this.db !== 0) first.push(new InternalTask(command(['SELECT', this.db]), check('SELECT')));
    this.serverId = 0;
    const learnId = (r: Buffer) => (this.serverId = r[0] === 0x3a ? integerReply(r, 0, r.length) : 0);
    if (this.opts.askId === true) first.push(new InternalTask(command(['CLIENT', 'ID']), learnId));
    first.push(
      new InternalTask(command(['PING']), (r) => {
        if (r[0] !== 0x2d) {
          this.state = BackendState.Connected;
          this.fails = 0;
        } else if (startsWith(r, 0, MASTERDOWN) || startsWith(r, 0, LOADING)) {
          this.state = BackendState.DataStale;
          this.fails = 0;
        }
      }),
    );
    // A new socket starts with nothing queued (push() refuses work between connections),
    // so the handshake is the first thing on the wire.
    for (const t of first) this.push(t);
  }

  /**
   * A backend with a long queue of replies (a burst of big ones) would otherwise be read to
   * the end before any client gets its reply or any new request leaves: libuv reads a
   * stream up to 32 times per readable event. After YIELD_BYTES in full reads the connection
   * stops until this turn's flushes are done, so replies go out and new requests reach the
   * server while the rest is still queued, and proxy and server work at the same time.
   */
  private onChunk(chunk: Buffer, full: boolean): boolean {
    this.onData(chunk);
    if (!full) {
      this.burst = 0;
      return true;
    }
    this.burst += chunk.length;
    if (this.burst < YIELD_BYTES || this.socket === null || this.socket.destroyed) return true;
    this.burst = 0;
    this.yielded = true;
    scheduleFlush(this);
    return false;
  }

  private resumeReading(): void {
    this.yielded = false;
    const socket = this.socket;
    if (socket !== null && !socket.destroyed) socket.resume();
  }

  private onData(chunk: Buffer): void {
    let pos = 0;
    const len = chunk.length;
    while (pos < len) {
      let end: number;
      try {
        end = this.scanner.scan(chunk, pos);
      } catch (e) {
        this.socket?.destroy(e as Error);
        return;
      }
      if (end < 0) {
        this.hold(pos === 0 ? chunk : chunk.subarray(pos));
        return;
      }
      const task = this.inflight.at(0);
      if (task === undefined) {
        this.socket?.destroy(new Error('unexpected reply from backend'));
        return;
      }
      if (task.skipReplies > 0) {
        task.skipReplies--;
        if (this.partial.length > 0) {
          this.partial = [];
          this.partialLen = 0;
        }
        pos = end;
        continue;
      }
      this.inflight.shift();
      if (this.streaming) {
        this.streaming = false;
        this.deliver(task, chunk, pos, end);
      } else if (this.partial.length > 0) {
        this.partial.push(chunk.subarray(pos, end));
        const reply = joinPieces(this.partial, this.partialLen + end - pos);
        this.partial = [];
        this.partialLen = 0;
        this.deliver(task, reply, 0, reply.length);
      } else {
        this.deliver(task, chunk, pos, end);
      }
      pos = end;
      // A reply can make us drop the connection (a refused AUTH): the rest of the chunk
      // belongs to nobody then.
      if (this.socket === null || this.socket.destroyed) return;
    }
  }

  /**
   * Keeps a piece of an unfinished reply. A reply past STREAM_MIN goes on to its task in
   * parts, so a big value is neither held whole nor copied into one buffer.
   */
  private hold(piece: Buffer): void {
    const task = this.inflight.at(0);
    if (this.streaming) {
      task!.onReplyPart!([piece]);
      return;
    }
    this.partial.push(piece);
    this.partialLen += piece.length;
    if (
      this.partialLen >= STREAM_MIN &&
      task?.skipReplies === 0 &&
      task.onReplyPart?.(this.partial) === true
    ) {
      this.streaming = true;
      this.partial = [];
      this.partialLen = 0;
    }
  }

  private deliver(task: BackendTask, data: Buffer, start: number, end: number): void {
    if (data[start] === 0x2d && (startsWith(data, start, MASTERDOWN) || startsWith(data, start, LOADING))) {
      this.state = BackendState.DataStale;
    }
    task.onReply(data, start, end);
  }

  private onClosed(): void {
    this.socket = null;
    this.sink = null;
    this.state = BackendState.Down;
    this.downReason = this.lastError || 'connection closed';
    this.failAll(`backend conn failure, ${this.downReason}`);
    this.lastError = '';
    if (this.closed) return;
    this.fails++;
    const delay = this.fails <= 1 ? 0 : Math.min(RETRY_MIN_MS * 2 ** (this.fails - 2), RETRY_MAX_MS);
    if (delay === 0) {
      this.connect();
      return;
    }
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      if (!this.closed) this.connect();
    }, delay);
  }

  private failAll(cause: string): void {
    this.unsent = 0;
    for (let t = this.inflight.shift(); t !== undefined; t = this.inflight.shift()) t.onFailure(cause);
  }
}

function noop(): void {}
