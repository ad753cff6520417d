/**
 * Pub/sub through the proxy. A client's subscriptions are made on every group's primary, over
 * connections of its own; PUBLISH goes to one group (that of the channel's slot). A message thus
 * reaches each subscriber exactly once, whichever group it was published on, while slots move
 * and after a failover: the subscriptions follow the set of primaries (`sync`).
 *
 * Sharded channels (SSUBSCRIBE, SPUBLISH) live on the group of their slot only, as in Redis
 * Cluster. When that slot moves, the subscription moves with it to the new group, so the client
 * keeps its subscription (a message published during the switch may be missed, as pub/sub
 * never promises delivery).
 *
 * The proxy confirms SUBSCRIBE, UNSUBSCRIBE and their pattern forms itself, with the client's
 * own counts, and drops the servers' confirmations; messages go to the client as the server
 * wrote them (in its protocol: arrays in RESP2, pushes in RESP3).
 */
import net from 'node:net';
import { command, type Proto } from '../resp/encode.js';
import { FrameSplitter } from '../resp/FrameSplitter.js';
import { startsWith } from '../resp/ReplyScanner.js';
import type { BackendOptions } from './BackendConn.js';
import type { Router } from './Router.js';
import { groupsInOrder } from './KeyspaceScan.js';
import { keySlot } from './routing.js';

export type SubscriptionKind = 'channel' | 'pattern' | 'shard';

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
  'SSUBSCRIBE',
  'UNSUBSCRIBE',
  'PUNSUBSCRIBE',
  'SUNSUBSCRIBE',
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
/** The frames passed on to the client: everything else a server sends here is the proxy's. */
const MESSAGES = ['message', 'pmessage', 'smessage'].map((m) => Buffer.from(`$${m.length}\r\n${m}\r\n`));

/** The frame, whose first element starts at `body`, is a message (not a confirmation). */
function isMessage(frame: Buffer, body: number): boolean {
  for (let i = 0; i < MESSAGES.length; i++) if (startsWith(frame, body, MESSAGES[i]!)) return true;
  return false;
}

const VERB: Record<SubscriptionKind, { on: string; off: string }> = {
  channel: { on: 'subscribe', off: 'unsubscribe' },
  pattern: { on: 'psubscribe', off: 'punsubscribe' },
  shard: { on: 'ssubscribe', off: 'sunsubscribe' },
};

/** Channels and patterns, made on every primary. */
type Everywhere = Record<'channel' | 'pattern', Set<string>>;

/** One client's subscriptions, and its connections to the primaries that carry them. */
export class Subscriptions {
  private readonly names: Everywhere = { channel: new Set(), pattern: new Set() };
  /** Sharded channels, each made on the primary of its slot. */
  private readonly shards = new Set<string>();
  private readonly conns = new Map<string, PubSubConn>();

  constructor(
    private readonly router: Router,
    private readonly client: Subscriber,
  ) {}

  /** Every subscription: the client is subscribed while there is one. */
  get count(): number {
    return this.names.channel.size + this.names.pattern.size + this.shards.size;
  }

  /** The count Redis confirms a (un)subscription with: sharded channels are counted apart. */
  private countOf(kind: SubscriptionKind): number {
    return kind === 'shard' ? this.shards.size : this.names.channel.size + this.names.pattern.size;
  }

  /** How many of that kind the client has (CLIENT LIST's sub, psub and ssub). */
  sizeOf(kind: SubscriptionKind): number {
    return this.set(kind).size;
  }

  private set(kind: SubscriptionKind): Set<string> {
    return kind === 'shard' ? this.shards : this.names[kind];
  }

  /** SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, with the running count. */
  subscribe(kind: SubscriptionKind, args: readonly Buffer[]): Buffer {
    const set = this.set(kind);
    const added: string[] = [];
    const out: Buffer[] = [];
    for (const a of args) {
      const name = a.toString('latin1');
      if (!set.has(name)) added.push(name);
      set.add(name);
      out.push(this.confirmation(VERB[kind].on, a, this.countOf(kind)));
    }
    // The connections there are get the new names; those sync() opens subscribe to all of them.
    if (added.length > 0 && kind !== 'shard')
      for (const c of this.conns.values()) c.send(VERB[kind].on, added);
    this.sync();
    return Buffer.concat(out);
  }

  /** The UNSUBSCRIBEs: the names given, or all of that kind; a confirmation for each. */
  unsubscribe(kind: SubscriptionKind, args: readonly Buffer[]): Buffer {
    const set = this.set(kind);
    const names = args.length > 0 ? args.map((a) => a.toString('latin1')) : [...set];
    const out: Buffer[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (set.delete(name)) removed.push(name);
      out.push(this.confirmation(VERB[kind].off, Buffer.from(name, 'latin1'), this.countOf(kind)));
    }
    if (names.length === 0) out.push(this.confirmation(VERB[kind].off, null, this.countOf(kind)));
    if (this.count === 0) {
      this.close();
    } else {
      if (kind !== 'shard' && removed.length > 0)
        for (const c of this.conns.values()) c.send(VERB[kind].off, removed);
      // Sharded channels left, or no channel or pattern any more: fewer primaries may be needed.
      this.sync();
    }
    return Buffer.concat(out);
  }

  /**
   * Connections to exactly the primaries needed (all of them while there are channels or
   * patterns, else those of the sharded channels' slots); each sharded channel on its slot's.
   */
  sync(): void {
    if (this.count === 0) return;
    const owners = new Map<string, Set<string>>();
    for (const name of this.shards) {
      const addr = this.router.slots[keySlot(Buffer.from(name, 'latin1'))]!.backend?.addr;
      if (addr === undefined) continue; // an offline slot: made again once it has a group
      let set = owners.get(addr);
      if (set === undefined) owners.set(addr, (set = new Set()));
      set.add(name);
    }
    const everywhere = this.names.channel.size + this.names.pattern.size > 0;
    const wanted = everywhere
      ? new Set(groupsInOrder(this.router).map((g) => g.addr))
      : new Set(owners.keys());
    for (const [addr, c] of this.conns) {
      if (!wanted.has(addr)) {
        c.close();
        this.conns.delete(addr);
      }
    }
    for (const addr of wanted) {
      let conn = this.conns.get(addr);
      if (conn === undefined) {
        const sbc = this.router.primary.get(addr)!;
        conn = new PubSubConn(sbc.host, sbc.port, this.router.backendOptions, this.client, this.names);
        this.conns.set(addr, conn);
      }
      conn.shardsAre(owners.get(addr) ?? NONE);
    }
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    this.names.channel.clear();
    this.names.pattern.clear();
    this.shards.clear();
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

const NONE: ReadonlySet<string> = new Set();

/** A subscribing connection to one primary: it resubscribes after a reconnect. */
class PubSubConn {
  private socket: net.Socket | null = null;
  /** The sharded channels whose slots this primary serves. */
  private shards = new Set<string>();
  private readonly frames = new FrameSplitter();
  private closed = false;
  private retry: NodeJS.Timeout | null = null;

  constructor(
    private readonly host: string,
    private readonly port: number,
    private readonly opts: BackendOptions,
    private readonly client: Subscriber,
    private readonly names: Readonly<Everywhere>,
  ) {
    this.connect();
  }

  /** Subscribes to the sharded channels that came here, unsubscribes those that left. */
  shardsAre(now: ReadonlySet<string>): void {
    const gone = [...this.shards].filter((n) => !now.has(n));
    const added = [...now].filter((n) => !this.shards.has(n));
    this.shards = new Set(now);
    if (gone.length > 0) this.send(VERB.shard.off, gone);
    if (added.length > 0) this.send(VERB.shard.on, added);
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
    this.frames.reset();
    if (this.opts.auth !== '') socket.write(command(['AUTH', this.opts.auth]));
    if (this.client.proto === 3) socket.write(command(['HELLO', 3]));
    for (const kind of ['channel', 'pattern'] as const) {
      if (this.names[kind].size > 0) this.send(VERB[kind].on, [...this.names[kind]]);
    }
    if (this.shards.size > 0) this.send(VERB.shard.on, [...this.shards]);
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
    try {
      this.frames.feed(chunk, (frame) => {
        if (frame[0] === 0x2d) {
          // A refused AUTH or subscription: reconnecting retries it (a fixed password, a restart).
          this.socket?.destroy();
          return false;
        }
        if (isMessage(frame, frame.indexOf(10) + 1)) this.client.deliver(frame);
        return true;
      });
    } catch {
      this.socket?.destroy();
    }
  }
}
