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
 * own counts, once the servers have confirmed theirs: a PUBLISH the client causes after its
 * confirmation then reaches it, and counts it, as with one Redis. Messages go to the client as
 * the server wrote them (in its protocol: arrays in RESP2, pushes in RESP3), in turn with its
 * replies, so none comes before the confirmation of its subscription.
 */
import type { Proto } from '../resp/encode.js';
import type { Router } from './Router.js';
import { groupsInOrder } from './KeyspaceScan.js';
import { PubSubConn, VERBS as VERB, type MessageSink } from './PubSubConn.js';
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

/** Channels and patterns, made on every primary. */
type Everywhere = Record<'channel' | 'pattern', Set<string>>;

/** A confirmation held until the servers it waits on have confirmed, and the messages that precede it. */
interface Barrier {
  readonly waiting: Set<PubSubConn>;
  readonly early: Buffer[];
}

/** One client's subscriptions, and its connections to the primaries that carry them. */
export class Subscriptions implements MessageSink {
  private readonly names: Everywhere = { channel: new Set(), pattern: new Set() };
  /** Sharded channels, each made on the primary of its slot. */
  private readonly shards = new Set<string>();
  private readonly conns = new Map<string, PubSubConn>();
  /** (Un)subscriptions the servers have not all confirmed yet, oldest first. */
  private readonly barriers: Barrier[] = [];

  constructor(
    private readonly router: Router,
    private readonly client: Subscriber,
  ) {}

  get proto(): Proto {
    return this.client.proto;
  }

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

  /**
   * SUBSCRIBE / PSUBSCRIBE / SSUBSCRIBE: one confirmation per name, with the running count,
   * given to `answer` once the servers are subscribed.
   */
  subscribe(kind: SubscriptionKind, args: readonly Buffer[], answer: (reply: Buffer) => void): void {
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
    this.afterServers(Buffer.concat(out), answer);
  }

  /**
   * The UNSUBSCRIBEs: the names given, or all of that kind; a confirmation for each, given to
   * `answer` once the servers have dropped them.
   */
  unsubscribe(kind: SubscriptionKind, args: readonly Buffer[], answer: (reply: Buffer) => void): void {
    const set = this.set(kind);
    const names = args.length > 0 ? args.map((a) => a.toString('latin1')) : [...set];
    const out: Buffer[] = [];
    const removed: string[] = [];
    for (const name of names) {
      if (set.delete(name)) removed.push(name);
      out.push(this.confirmation(VERB[kind].off, Buffer.from(name, 'latin1'), this.countOf(kind)));
    }
    if (names.length === 0) out.push(this.confirmation(VERB[kind].off, null, this.countOf(kind)));
    const reply = Buffer.concat(out);
    if (kind !== 'shard' && removed.length > 0)
      for (const c of this.conns.values()) c.send(VERB[kind].off, removed);
    if (this.count > 0) {
      // Sharded channels left, or no channel or pattern any more: fewer primaries may be needed.
      this.sync();
      return this.afterServers(reply, answer);
    }
    if (kind === 'shard') for (const c of this.conns.values()) c.shardsAre(NONE);
    // The last one: the connections close once the servers have dropped it, unless the client
    // subscribed again meanwhile (pipelined).
    this.afterServers(reply, answer, () => {
      if (this.count === 0) this.close();
    });
  }

  /**
   * Answers a (un)subscription with `reply` once every connection has the server's answers to
   * what was sent on it, or after the connect timeout: a server that takes connections and
   * never answers must not hold the client's replies forever (its subscriptions are made when
   * it does answer). `before` runs first (the last UNSUBSCRIBE closes the connections there).
   */
  private afterServers(reply: Buffer, answer: (reply: Buffer) => void, before?: () => void): void {
    const barrier: Barrier = { waiting: new Set(this.conns.values()), early: [] };
    const release = () => {
      if (!this.barriers.includes(barrier)) return;
      clearTimeout(timer);
      this.barriers.splice(this.barriers.indexOf(barrier), 1);
      before?.();
      answer(barrier.early.length === 0 ? reply : Buffer.concat([...barrier.early, reply]));
    };
    this.barriers.push(barrier);
    const timer = setTimeout(release, this.router.backendOptions.connectTimeoutMs);
    for (const c of barrier.waiting) {
      c.afterConfirmed(() => {
        barrier.waiting.delete(c);
        if (barrier.waiting.size === 0) release();
      });
    }
    if (barrier.waiting.size === 0) release();
  }

  /**
   * A message from `from`. One that came before the server confirmed a pending (un)subscription
   * was published before it, so the client gets it before that confirmation, as from Redis.
   */
  deliver(frame: Buffer, from: PubSubConn): void {
    for (const b of this.barriers) {
      if (b.waiting.has(from)) {
        b.early.push(frame);
        return;
      }
    }
    this.client.deliver(frame);
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
        conn = new PubSubConn(sbc.host, sbc.port, this.router.backendOptions, this, this.names);
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
