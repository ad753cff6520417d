/**
 * One client's subscribing connection to one primary. It resubscribes after a reconnect, and
 * counts the server's confirmations: a client is told it is subscribed only once the servers
 * are (`afterConfirmed`), so a PUBLISH it causes next is received and counted, as from Redis.
 */
import net from 'node:net';
import { command, type Proto } from '../resp/encode.js';
import { FrameSplitter } from '../resp/FrameSplitter.js';
import { startsWith } from '../resp/ReplyScanner.js';
import type { BackendOptions } from './BackendConn.js';

/** Where a connection's messages go, and the protocol they are in. */
export interface MessageSink {
  readonly proto: Proto;
  deliver(frame: Buffer, from: PubSubConn): void;
}

/** The names a connection subscribes to on every (re)connect, besides its sharded channels. */
export interface EverywhereNames {
  readonly channel: ReadonlySet<string>;
  readonly pattern: ReadonlySet<string>;
}

export const VERBS = {
  channel: { on: 'subscribe', off: 'unsubscribe' },
  pattern: { on: 'psubscribe', off: 'punsubscribe' },
  shard: { on: 'ssubscribe', off: 'sunsubscribe' },
} as const;

/** After a lost connection, the next attempt waits this long. */
const RECONNECT_MS = 1000;
/** The frames passed on to the client: everything else a server sends here is the proxy's. */
const MESSAGES = ['message', 'pmessage', 'smessage'].map((m) => Buffer.from(`$${m.length}\r\n${m}\r\n`));

/** The frame, whose first element starts at `body`, is a message (not a confirmation). */
function isMessage(frame: Buffer, body: number): boolean {
  for (let i = 0; i < MESSAGES.length; i++) if (startsWith(frame, body, MESSAGES[i]!)) return true;
  return false;
}

interface Waiter {
  /** Replies (confirmations, handshake) that must have come. */
  upTo: number;
  done: () => void;
}

export class PubSubConn {
  private socket: net.Socket | null = null;
  /** The sharded channels whose slots this primary serves. */
  private shards = new Set<string>();
  private readonly frames = new FrameSplitter();
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  /** Replies the current socket owes (one per name subscribed or dropped, one per handshake command), and those it gave. */
  private owed = 0;
  private got = 0;
  private waiters: Waiter[] = [];

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: BackendOptions,
    private readonly sink: MessageSink,
    private readonly names: EverywhereNames,
  ) {
    this.connect();
  }

  /** Subscribes to the sharded channels that came here, unsubscribes those that left. */
  shardsAre(now: ReadonlySet<string>): void {
    const gone = [...this.shards].filter((n) => !now.has(n));
    const added = [...now].filter((n) => !this.shards.has(n));
    this.shards = new Set(now);
    if (gone.length > 0) this.send(VERBS.shard.off, gone);
    if (added.length > 0) this.send(VERBS.shard.on, added);
  }

  send(verb: string, names: readonly string[]): void {
    if (this.socket === null) return; // the reconnect subscribes to what is wanted then
    this.socket.write(command([verb, ...names.map((n) => Buffer.from(n, 'latin1'))]));
    this.owed += names.length;
  }

  /**
   * Calls `done` once the server has answered everything sent so far, or the connection is gone
   * (a reconnect subscribes again; the caller bounds the wait for a server that never answers).
   */
  afterConfirmed(done: () => void): void {
    if (this.socket === null || this.got >= this.owed) return done();
    this.waiters.push({ upTo: this.owed, done });
  }

  close(): void {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.socket?.destroy();
    this.releaseAll();
  }

  private connect(): void {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.frames.reset();
    this.owed = 0;
    this.got = 0;
    if (this.opts.auth !== '') this.handshake(command(['AUTH', this.opts.auth]));
    if (this.sink.proto === 3) this.handshake(command(['HELLO', 3]));
    for (const kind of ['channel', 'pattern'] as const) {
      if (this.names[kind].size > 0) this.send(VERBS[kind].on, [...this.names[kind]]);
    }
    if (this.shards.size > 0) this.send(VERBS.shard.on, [...this.shards]);
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.releaseAll();
      if (this.closed) return;
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.closed) this.connect();
      }, RECONNECT_MS);
    });
  }

  private handshake(bytes: Buffer): void {
    this.socket!.write(bytes);
    this.owed++;
  }

  /** Messages go on to the client; confirmations and handshake replies are the proxy's to count. */
  private onData(chunk: Buffer): void {
    try {
      this.frames.feed(chunk, (frame) => {
        if (frame[0] === 0x2d) {
          // A refused AUTH or subscription: reconnecting retries it (a fixed password, a restart).
          this.socket?.destroy();
          return false;
        }
        if (isMessage(frame, frame.indexOf(10) + 1)) this.sink.deliver(frame, this);
        else this.confirmed();
        return true;
      });
    } catch {
      this.socket?.destroy();
    }
  }

  private confirmed(): void {
    this.got++;
    while (this.waiters.length > 0 && this.waiters[0]!.upTo <= this.got) this.waiters.shift()!.done();
  }

  private releaseAll(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w.done();
  }
}
