/**
 * Pub/sub through the proxy. A client's subscriptions are made on every group's primary, over
 * connections of its own; PUBLISH goes to one group (that of the channel's slot). A message thus
 * reaches each subscriber exactly once, whichever group it was published on, while slots move
 * and after a failover: the subscriptions follow the set of primaries (`sync`).
 *
 * The proxy confirms SUBSCRIBE, UNSUBSCRIBE and their pattern forms itself, with the client's
 * own counts, and drops the servers' confirmations; messages go to the client as the server
 * wrote them (in its protocol: arrays in RESP2, pushes in RESP3).
 */
import net from 'node:net';
import { command, type Proto } from '../resp/encode.js';
import { ReplyScanner, startsWith } from '../resp/ReplyScanner.js';
import type { BackendOptions } from './BackendConn.js';
import type { Router } from './Router.js';
import { groupsInOrder } from './KeyspaceScan.js';

export type SubscriptionKind = 'channel' | 'pattern';

/** What the subscriptions need from their session. */
export interface Subscriber {
  readonly proto: Proto;
  /** A message for the client, as one RESP frame. */
  deliver(frame: Buffer): void;
  /** The last subscription is gone (the connections are closed). */
  unsubscribedAll(): void;
}

/**
 * Unsent bytes past which a subscriber that does not read its messages is dropped, as Redis
 * drops it past `client-output-buffer-limit pubsub 32mb`.
 */
export const PUBSUB_UNSENT_LIMIT = 32 * 1024 * 1024;

/** What a subscribed RESP2 client may send, as Redis says it. */
const SUBSCRIBED_MODE = new Set([
  'SUBSCRIBE',
  'PSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'PING',
  'QUIT',
  'RESET',
]);

/** Redis's error for any other command from a subscribed RESP2 client, or null for these. */
export function refusedWhileSubscribed(name: string): string | null {
  if (SUBSCRIBED_MODE.has(name)) return null;
  const allowed = 'only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context';
  return `ERR Can't execute '${name.toLowerCase()}': ${allowed}`;
}

/** After a lost connection, the next attempt waits this long. */
const RECONNECT_MS = 1000;
const MESSAGE = Buffer.from('$7\r\nmessage\r\n');
const PMESSAGE = Buffer.from('$8\r\npmessage\r\n');

const VERB: Record<SubscriptionKind, { on: string; off: string }> = {
  channel: { on: 'subscribe', off: 'unsubscribe' },
  pattern: { on: 'psubscribe', off: 'punsubscribe' },
};

/** One client's subscriptions, and its connections to the primaries that carry them. */
export class Subscriptions {
  private readonly names: Record<SubscriptionKind, Set<string>> = { channel: new Set(), pattern: new Set() };
  private readonly conns = new Map<string, PubSubConn>();

  constructor(
    private readonly router: Router,
    private readonly client: Subscriber,
  ) {}

  /** Channels and patterns, as Redis counts a client's subscriptions. */
  get count(): number {
    return this.names.channel.size + this.names.pattern.size;
  }

  /** SUBSCRIBE / PSUBSCRIBE: one confirmation per name, with the running count. */
  subscribe(kind: SubscriptionKind, args: readonly Buffer[]): Buffer {
    const added: string[] = [];
    const out: Buffer[] = [];
    for (const a of args) {
      const name = a.toString('latin1');
      if (!this.names[kind].has(name)) added.push(name);
      this.names[kind].add(name);
      out.push(this.confirmation(VERB[kind].on, a, this.count));
    }
    // The connections there are get the new names; those sync() opens subscribe to all of them.
    if (added.length > 0) for (const c of this.conns.values()) c.send(VERB[kind].on, added);
    this.sync();
    return Buffer.concat(out);
  }

  /** UNSUBSCRIBE / PUNSUBSCRIBE: the names given, or all of that kind; a confirmation for each. */
  unsubscribe(kind: SubscriptionKind, args: readonly Buffer[]): Buffer {
    const set = this.names[kind];
    const names = args.length > 0 ? args.map((a) => a.toString('latin1')) : [...set];
    const out: Buffer[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (set.delete(name)) removed.push(name);
      out.push(this.confirmation(VERB[kind].off, Buffer.from(name, 'latin1'), this.count));
    }
    if (names.length === 0) out.push(this.confirmation(VERB[kind].off, null, this.count));
    if (this.count === 0) this.close();
    else if (removed.length > 0) for (const c of this.conns.values()) c.send(VERB[kind].off, removed);
    return Buffer.concat(out);
  }

  /** Connections to exactly the current primaries: new ones get every subscription. */
  sync(): void {
    if (this.count === 0) return;
    const wanted = new Set(groupsInOrder(this.router).map((g) => g.addr));
    for (const [addr, c] of this.conns) {
      if (!wanted.has(addr)) {
        c.close();
        this.conns.delete(addr);
      }
    }
    for (const addr of wanted) {
      if (this.conns.has(addr)) continue;
      const sbc = this.router.primary.get(addr)!;
      const conn = new PubSubConn(sbc.host, sbc.port, this.router.backendOptions, this.client, this.names);
      this.conns.set(addr, conn);
    }
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    this.names.channel.clear();
    this.names.pattern.clear();
    this.client.unsubscribedAll();
  }

  /** `*3 subscribe name count`, or a push in RESP3; a null name when there was nothing to drop. */
  private confirmation(verb: string, name: Buffer | null, count: number): Buffer {
    const head = `${this.client.proto === 3 ? '>' : '*'}3\r\n$${verb.length}\r\n${verb}\r\n`;
    const nameBytes =
      name === null
        ? Buffer.from(this.client.proto === 3 ? '_\r\n' : '$-1\r\n')
        : Buffer.concat([Buffer.from(`$${name.length}\r\n`), name, Buffer.from('\r\n')]);
    return Buffer.concat([Buffer.from(head), nameBytes, Buffer.from(`:${count}\r\n`)]);
  }
}

/** A subscribing connection to one primary: it resubscribes after a reconnect. */
class PubSubConn {
  private socket: net.Socket | null = null;
  private readonly scanner = new ReplyScanner();
  /** The start of a frame that the last chunk did not finish. */
  private pending: Buffer[] = [];
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: BackendOptions,
    private readonly client: Subscriber,
    private readonly names: Record<SubscriptionKind, ReadonlySet<string>>,
  ) {
    this.connect();
  }

  send(verb: string, names: readonly string[]): void {
    this.socket?.write(command([verb, ...names.map((n) => Buffer.from(n, 'latin1'))]));
  }

  close(): void {
    this.closed = true;
    if (this.retry !== null) clearTimeout(this.retry);
    this.socket?.destroy();
  }

  private connect(): void {
    const socket = net.connect({ host: this.host, port: this.port, noDelay: true });
    this.socket = socket;
    this.pending = [];
    this.scanner.reset();
    if (this.opts.auth !== '') socket.write(command(['AUTH', this.opts.auth]));
    if (this.client.proto === 3) socket.write(command(['HELLO', 3]));
    for (const kind of ['channel', 'pattern'] as const) {
      if (this.names[kind].size > 0) this.send(VERB[kind].on, [...this.names[kind]]);
    }
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      if (this.closed || this.socket !== socket) return;
      this.socket = null;
      this.retry = setTimeout(() => {
        this.retry = null;
        if (!this.closed) this.connect();
      }, RECONNECT_MS);
    });
  }

  /** Messages go on to the client; confirmations and handshake replies are the proxy's to drop. */
  private onData(chunk: Buffer): void {
    let pos = 0;
    while (pos < chunk.length) {
      let end: number;
      try {
        end = this.scanner.scan(chunk, pos);
      } catch {
        this.socket?.destroy();
        return;
      }
      if (end < 0) {
        this.pending.push(chunk.subarray(pos));
        return;
      }
      const piece = chunk.subarray(pos, end);
      const frame = this.pending.length > 0 ? Buffer.concat([...this.pending, piece]) : piece;
      this.pending = [];
      const body = frame.indexOf(10) + 1;
      if (startsWith(frame, body, MESSAGE) || startsWith(frame, body, PMESSAGE)) this.client.deliver(frame);
      pos = end;
    }
  }
}
