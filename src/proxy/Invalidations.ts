/**
 * Client-side caching (CLIENT TRACKING) through the proxy. The servers cannot track a client's
 * reads, which reach them over shared connections, so the proxy tracks them itself, as Redis does
 * (key → the clients that read it), and learns of every change from the servers: while any client
 * tracks, one RESP3 connection per primary asks its server for `CLIENT TRACKING ON BCAST`, which
 * reports every key written there, whichever client wrote it. Each report goes on to the clients
 * that read the key (or whose BCAST prefixes match it), and the key is forgotten until read again.
 *
 * A report could be lost while such a connection is down or being made: every tracking client
 * is then told to drop its whole cache (Redis's null invalidation, as after FLUSHALL), once
 * when the connection is lost and again once its replacement tracks.
 */
import net from 'node:net';
import { command } from '../resp/encode.js';
import { FrameSplitter } from '../resp/FrameSplitter.js';
import type { BackendOptions } from './BackendConn.js';
import { groupsInOrder } from './KeyspaceScan.js';
import type { Router } from './Router.js';

/** A tracking client, as the hub sees it (ClientTracking.ts). */
export interface Tracker {
  /** BCAST mode: told of every key its prefixes match, read or not. */
  readonly bcast: boolean;
  /** A BCAST prefix of its matches the key (every key without prefixes). */
  matches(key: Buffer): boolean;
  /** These keys changed (null: every key may have, drop all). */
  invalidate(keys: Buffer[] | null): void;
}

const RECONNECT_MS = 1000;

/** The clients that read a key: most keys have one, kept without a set (a third of the memory). */
type Readers = Tracker | Set<Tracker>;

function* each(r: Readers): Iterable<Tracker> {
  if (r instanceof Set) yield* r;
  else yield r;
}

export class Invalidations {
  private readonly trackers = new Set<Tracker>();
  /** The BCAST ones among them, told of every change their prefixes match. */
  private readonly bcasters = new Set<Tracker>();
  /** Key (latin1) → the clients that read it since its last change. */
  private readonly readers = new Map<string, Readers>();
  private readonly conns = new Map<string, InvalidationConn>();

  /**
   * `maxKeys`: keys remembered for all clients at most (proxy_tracking_max_keys); past it the
   * oldest are invalidated, as Redis does past tracking-table-max-keys.
   */
  constructor(
    private readonly router: Router,
    private readonly maxKeys: number,
  ) {}

  /** Keys remembered now (INFO's tracking_total_keys). */
  get keyCount(): number {
    return this.readers.size;
  }

  get clientCount(): number {
    return this.trackers.size;
  }

  /**
   * Starts tracking for `t`: settles once every primary reports its changes, or fails naming
   * the server that cannot (the client's CLIENT TRACKING ON then gets that error).
   */
  add(t: Tracker): Promise<void> {
    // The first client needs no null invalidation when the connections are made for it
    // (ClientTracking drops what it read before they tracked); clients tracking already do.
    const others = this.trackers.size > 0;
    this.trackers.add(t);
    if (t.bcast) this.bcasters.add(t);
    this.sync(others);
    return Promise.all([...this.conns.values()].map((c) => c.ready)).then(() => undefined);
  }

  remove(t: Tracker, keys: Iterable<string>): void {
    this.trackers.delete(t);
    this.bcasters.delete(t);
    for (const k of keys) this.forget(k, t);
    if (this.trackers.size === 0) this.sync(false);
  }

  /** `t` read `key`: the next change of it is reported to `t`. */
  remember(t: Tracker, key: string): boolean {
    const r = this.readers.get(key);
    if (r === undefined) {
      if (this.readers.size >= this.maxKeys) this.evictOldest();
      this.readers.set(key, t);
      return true;
    }
    if (r === t || (r instanceof Set && r.has(t))) return false;
    if (r instanceof Set) r.add(t);
    else this.readers.set(key, new Set([r, t]));
    return true;
  }

  forget(key: string, t: Tracker): void {
    const r = this.readers.get(key);
    if (r === t) this.readers.delete(key);
    else if (r instanceof Set && r.delete(t) && r.size === 0) this.readers.delete(key);
  }

  /**
   * Connections to exactly the primaries there are while anyone tracks; none otherwise.
   * `announce`: a new connection drops every client's cache once it tracks (clients cached
   * from that primary without its reports).
   */
  sync(announce = true): void {
    const wanted = new Set(this.trackers.size > 0 ? groupsInOrder(this.router).map((g) => g.addr) : []);
    for (const [addr, c] of this.conns) {
      if (wanted.has(addr)) continue;
      c.close();
      this.conns.delete(addr);
    }
    for (const addr of wanted) {
      if (this.conns.has(addr)) continue;
      const pool = this.router.primary.get(addr);
      if (pool === undefined) continue;
      const conn = new InvalidationConn(
        addr,
        pool.host,
        pool.port,
        this.router.backendOptions,
        this,
        announce,
      );
      this.conns.set(addr, conn);
    }
  }

  /** A server's report: `keys` changed there (null: it was flushed). */
  changed(keys: Buffer[] | null): void {
    if (keys === null) return this.dropAll();
    const out = new Map<Tracker, Buffer[]>();
    const add = (t: Tracker, k: Buffer) => {
      const list = out.get(t);
      if (list === undefined) out.set(t, [k]);
      else list.push(k);
    };
    for (const k of keys) {
      const name = k.toString('latin1');
      const r = this.readers.get(name);
      if (r !== undefined) {
        this.readers.delete(name);
        for (const t of each(r)) add(t, k);
      }
    }
    for (const t of this.bcasters) for (const k of keys) if (t.matches(k)) add(t, k);
    for (const [t, list] of out) t.invalidate(list);
  }

  /** Reports may have been missed: every client drops its cache, and nothing stays remembered. */
  dropAll(): void {
    this.readers.clear();
    for (const t of this.trackers) t.invalidate(null);
  }

  private evictOldest(): void {
    const [key, r] = this.readers.entries().next().value as [string, Readers];
    this.readers.delete(key);
    const k = Buffer.from(key, 'latin1');
    for (const t of each(r)) t.invalidate([k]);
  }

  close(): void {
    this.trackers.clear();
    this.bcasters.clear();
    this.sync(false);
  }
}

/** One primary's report of every key written on it (CLIENT TRACKING ON BCAST over RESP3). */
class InvalidationConn {
  private socket: net.Socket | null = null;
  private readonly frames = new FrameSplitter();
  /** Replies still expected to the handshake; tracking is on once none are left. */
  private handshake = 0;
  private tracking = false;
  private closed = false;
  private retry: NodeJS.Timeout | null = null;
  private handshakeTimer: NodeJS.Timeout | null = null;
  /** The attempt under way, settled when it tracks or fails. */
  private attempt: Promise<void> = Promise.resolve();
  private settle: ((err?: Error) => void) | null = null;

  constructor(
    private readonly addr: string,
    private readonly host: string,
    private readonly port: number,
    private readonly opts: BackendOptions,
    private readonly hub: Invalidations,
    /** Drop every client's cache once this connection tracks (always after a reconnect). */
    private announce: boolean,
  ) {
    this.connect();
  }

  /** Settles when the server reports its changes, or fails naming it. */
  get ready(): Promise<void> {
    return this.tracking ? Promise.resolve() : this.attempt;
  }

  close(): void {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.socket?.destroy();
    this.done(new Error(`tracking on ${this.addr} stopped`));
  }

  private done(err?: Error): void {
    const settle = this.settle;
    this.settle = null;
    settle?.(err);
  }

  private connect(): void {
    this.attempt = new Promise((resolve, reject) => {
      this.settle = (err) => (err === undefined ? resolve() : reject(err));
    });
    // Only a CLIENT TRACKING ON waits on it, and answers the failure.
    this.attempt.catch(() => {});
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.frames.reset();
    const hello = this.opts.auth === '' ? ['HELLO', '3'] : ['HELLO', '3', 'AUTH', 'default', this.opts.auth];
    socket.write(Buffer.concat([command(hello), command(['CLIENT', 'TRACKING', 'ON', 'BCAST'])]));
    this.handshake = 2;
    // A server that takes the connection and never answers must not hold CLIENT TRACKING ON.
    const ms = this.opts.connectTimeoutMs;
    const timer = setTimeout(() => this.fail(`no answer within ${ms} ms`), ms);
    timer.unref();
    this.handshakeTimer = timer;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (e) => this.fail(e.message));
    socket.on('close', () => {
      clearTimeout(timer);
      if (this.closed || this.socket !== socket) return;
      this.socket = null;
      this.tracking = false;
      this.done(new Error(`tracking on ${this.addr}: connection closed`));
      // Writes there may go unreported until the next connection tracks.
      this.hub.dropAll();
      this.announce = true;
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.closed) this.connect();
      }, RECONNECT_MS);
    });
  }

  private fail(why: string): void {
    this.done(new Error(`tracking on ${this.addr}: ${why}`));
    this.socket?.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      this.frames.feed(chunk, (frame) => this.onFrame(frame));
    } catch {
      this.fail('bad reply');
    }
  }

  private onFrame(frame: Buffer): boolean {
    if (frame[0] === 0x3e) {
      const keys = invalidatedKeys(frame);
      if (keys !== undefined) this.hub.changed(keys);
    } else if (frame[0] === 0x2d) {
      this.fail(frame.toString('utf8', 1, frame.length - 2));
      return false;
    } else if (this.handshake > 0 && --this.handshake === 0) {
      if (this.handshakeTimer !== null) clearTimeout(this.handshakeTimer);
      this.tracking = true;
      // Tracking is on from here: what clients cached before may be stale.
      if (this.announce) this.hub.dropAll();
      this.done();
    }
    return true;
  }
}

const INVALIDATE = Buffer.from('>2\r\n$10\r\ninvalidate\r\n');

/**
 * The keys of an `invalidate` push (null for a flush), or undefined for another push. Each key
 * is a view into the frame.
 */
export function invalidatedKeys(frame: Buffer): Buffer[] | null | undefined {
  if (frame.length < INVALIDATE.length || !frame.subarray(0, INVALIDATE.length).equals(INVALIDATE)) {
    return undefined;
  }
  let p = INVALIDATE.length;
  if (frame[p] === 0x5f || frame[p + 1] === 0x2d) return null; // `_` or `*-1`
  const nl = frame.indexOf(10, p);
  const n = Number(frame.toString('latin1', p + 1, nl - 1));
  p = nl + 1;
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const eol = frame.indexOf(10, p);
    const len = Number(frame.toString('latin1', p + 1, eol - 1));
    keys.push(frame.subarray(eol + 1, eol + 1 + len));
    p = eol + 1 + len + 2;
  }
  return keys;
}
