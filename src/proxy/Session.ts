/**
 * One client connection: decodes requests, routes each one (local answer, split, or slot),
 * and writes replies back in request order, batched once per event-loop turn. Its
 * back-pressure is ClientFlow's.
 */
import { performance } from 'node:perf_hooks';
import type { RawCommand } from '../resp/RawCommand.js';
import { ProtocolError, RequestDecoder, type RequestSink } from '../resp/RequestDecoder.js';
import { Handling, type CommandInfo } from './commands/CommandInfo.js';
import { lookupRange, namedInfo, UNKNOWN } from './commands/Mapper.js';
import { dispatchMulti, multiKind } from './Coalesce.js';
import { NOT_QUEUED, scheduleFlush, type Flushable } from './Flusher.js';
import { BIG_PIECE } from './SocketWriter.js';
import type { ClientConn, ConnOwner } from './ClientConn.js';
import { dropReply, unwrittenBytes, writeParts, writeReplies } from './ReplyWriter.js';
import {
  checkCommand,
  CROSSSLOT,
  isRefusal,
  fastRoute,
  keySlot,
  NOT_FAST,
  slotOfKeys,
  unknownCommand,
} from './routing.js';
import { auth, localHandler, type ClientIo, type ReplyMode, type SessionState } from './LocalCommands.js';
import type { SessionHost } from './SessionHost.js';
import { Request, ROUTE_LOCAL, ROUTE_MULTI, ROUTE_PUSH, type RequestOwner } from './Request.js';
import { PUBSUB_UNSENT_LIMIT, refusedWhileSubscribed, Subscriptions, type Subscriber } from './PubSub.js';
import { ClientFlow, type FlowOwner } from './ClientFlow.js';
import { ANSWERED, runsAtOnce, Transaction } from './Transaction.js';
import { Waiting } from './Waiting.js';
import { HeldCommands } from './ClientPause.js';
import { OwnConn } from './OwnConn.js';
import type { Watch } from './Watch.js';
import type { ClientTracking } from './ClientTracking.js';
import type { Proto } from '../resp/encode.js';

const EMPTY = Buffer.alloc(0);

export class Session
  implements RequestSink, RequestOwner, Flushable, SessionState, ConnOwner, Subscriber, FlowOwner
{
  db = 0;
  authorized: boolean;
  name: Buffer | null = null;
  proto: Proto = 2;
  replyMode: ReplyMode = 'on';
  quit = false;
  /** Commands queued since MULTI. */
  tx: Transaction | null = null;
  /** Its watched keys, from WATCH to EXEC, DISCARD or UNWATCH. */
  watch: Watch | null = null;
  /** The client's own backend connections, once it sent a blocking command, WAIT or WATCH. */
  waiting: Waiting | null = null;
  private watchOwn: OwnConn | null = null;
  /** Its subscriptions, while it has some. */
  private subs: Subscriptions | null = null;
  tracking: ClientTracking | null = null;
  flushQueued = NOT_QUEUED;
  private remoteAddr: string | undefined;
  readonly since = Date.now();
  private head: Request | null = null;
  private tail: Request | null = null;
  private pending = 0;
  private readonly decoder: RequestDecoder;
  /** performance.now() of the last read: the start time of the requests in it. */
  private lastRead = performance.now();
  /** Commands held by CLIENT PAUSE, once one was. */
  private held: HeldCommands | null = null;
  /** What it sent last (its subcommand, once checked). */
  lastInfo: CommandInfo | null = null;
  closed = false;
  private readonly flow: ClientFlow;
  /** The last flush waited one turn for the rest of a partly answered batch. */
  private heldBack = false;

  /**
   * `seed` spreads sessions over their backend's parallel connections: this process's count
   * of sessions, as ids (which a cluster's workers interleave) would put all of one worker's
   * on the same connection.
   */
  constructor(
    readonly id: number,
    private readonly conn: ClientConn,
    private readonly host: SessionHost,
    private readonly seed: number,
  ) {
    const o = host.options;
    this.authorized = host.sessionAuth === '';
    this.decoder = new RequestDecoder(o.limits);
    this.flow = new ClientFlow(conn, o, this);
    conn.attach(this);
  }

  /** `address:port` of the client (asked of the connection on first use). */
  get remote(): string {
    this.remoteAddr ??= this.conn.remote;
    return this.remoteAddr;
  }

  onData(chunk: Buffer): void {
    if (this.quit) return;
    this.lastRead = performance.now();
    this.host.counters.netIn += chunk.length;
    try {
      this.decoder.feed(chunk, this);
    } catch (e) {
      if (!(e instanceof ProtocolError)) throw e;
      this.protocolError(e.message);
      return;
    }
    this.flow.afterRead(this.pending);
  }

  /**
   * ms since the client last sent anything (`now` from performance.now()); past
   * session_recv_timeout the proxy drops it.
   */
  idleFor(now: number): number {
    return now - this.lastRead;
  }

  io(): ClientIo {
    return { fd: this.conn.fd, queryBytes: this.decoder.buffered, unsent: this.conn.unsent };
  }

  onRequest(cmd: RawCommand): void {
    if (this.quit) return;
    let info = lookupRange(cmd.data, cmd.argStart(0), cmd.argEnd(0));
    // Redis shows what it runs: not a command it does not know.
    if (this.host.monitors.active && (info !== undefined || this.host.options.forwardUnknown)) {
      this.host.monitors.feed(this, cmd, info);
    }
    if (info !== undefined && this.authorized && this.plain && !this.host.pause.active) {
      // The common commands are routed from offsets, with no argument views made.
      const route = fastRoute(info, cmd);
      if (route !== NOT_FAST) {
        const req = this.enqueue(this.request(null, cmd, info));
        req.seed = this.seed;
        this.forward(req, route, cmd);
        return;
      }
    }
    const args = cmd.args();
    let unknownName: string | undefined;
    if (info === undefined) {
      if (!this.host.options.forwardUnknown) {
        this.tx?.abort();
        this.enqueue(this.request(args, cmd, UNKNOWN)).fail(unknownCommand(args));
        return;
      }
      info = UNKNOWN;
      unknownName = args[0]!.toString('latin1').toUpperCase();
    }
    const req = this.enqueue(this.request(args, cmd, info));
    req.seed = this.seed;
    if (unknownName !== undefined) req.unknownName = unknownName;
    this.handle(req, info);
  }

  /** `args` null: the request makes them from its bytes if it ever needs them. */
  private request(args: Buffer[] | null, cmd: RawCommand, info: CommandInfo): Request {
    this.lastInfo = info;
    const req = new Request(this, args, cmd.data, cmd.start, cmd.end, this.db, info, this.lastRead);
    req.proto = this.proto;
    if (this.replyMode !== 'on') {
      req.silent = true;
      if (this.replyMode === 'skip') this.replyMode = 'on';
    }
    return req;
  }

  private enqueue(req: Request): Request {
    if (this.tail === null) this.head = req;
    else this.tail.next = req;
    this.tail = req;
    this.pending++;
    return req;
  }

  private handle(req: Request, info: CommandInfo): void {
    if (this.held?.holding === true || this.host.pause.holds(req, info, this.tx)) {
      this.held ??= new HeldCommands(this.host.pause, (r, i) => this.handle(r, i));
      return this.held.hold(req, info);
    }
    const args = req.args;
    const queued = this.tx !== null && !runsAtOnce(info);
    if (this.tracking !== null) this.tracking.onCommand(req, info, queued);
    if (queued) return this.tx!.queue(req, info);
    const checked = checkCommand(info, args);
    if (isRefusal(checked)) return req.fail(checked);
    if (info.name === 'AUTH') return req.answer(auth(this.host, this, args));
    if (!this.authorized && info.name !== 'QUIT' && info.name !== 'HELLO') {
      return req.fail('NOAUTH Authentication required.');
    }
    const notNow = this.proto === 2 && this.subscribed ? refusedWhileSubscribed(checked.name) : null;
    if (notNow !== null) return req.fail(notNow);
    if (info === UNKNOWN) return this.forward(req, args.length > 1 ? keySlot(args[1]!) : 0);
    info = checked;
    req.info = this.lastInfo = namedInfo(info, args);
    switch (info.handling) {
      case Handling.Local:
        return localHandler(info)(this.host, this, req);
      case Handling.Coalesce:
        return this.forward(req, ROUTE_MULTI);
      case Handling.Transaction: {
        const slot = Transaction.control(this, req, this.host.options.limits);
        return slot === ANSWERED ? undefined : this.forward(req, slot);
      }
    }
    const slot = slotOfKeys(info, args);
    if (slot >= 0) this.forward(req, slot);
    else req.fail(CROSSSLOT);
  }

  /** Its commands wait for CLIENT PAUSE to end (INFO counts it blocked). */
  get paused(): boolean {
    return this.held?.holding === true;
  }

  /** Hands a request to the router, unless ClientFlow's window makes it wait. */
  private forward(req: Request, route: number, cmd: RawCommand | null = null): void {
    req.route = route;
    if (this.flow.admit(req)) this.send(req, cmd);
  }

  sendNow(req: Request): void {
    this.send(req, null);
  }

  /** `cmd`: the request as just decoded, which a split command reads instead of decoding it again. */
  private send(req: Request, cmd: RawCommand | null): void {
    this.flow.outstanding++;
    if (req.route === ROUTE_MULTI) {
      // While watching, one on a single slot goes whole, in order with the watch (Watch.ts).
      const slot = this.watch === null ? -1 : slotOfKeys(req.info, req.args);
      if (slot < 0) return dispatchMulti(this.host.router, req, multiKind(req.info.name), cmd);
      req.route = slot;
    }
    if (req.info.blocks?.(req.args) === true) {
      this.waiting ??= new Waiting(this.host.router);
      this.waiting.block(req, req.route);
    } else {
      req.own ??= this.watch;
      this.host.router.dispatch(req, req.route);
    }
  }

  watchConn(): OwnConn {
    this.watchOwn ??= new OwnConn(this.host.router, false);
    return this.watchOwn;
  }

  /** No transaction, subscription or tracking to look at for each command. */
  private get plain(): boolean {
    return this.tx === null && this.subs === null && this.tracking === null && this.held?.holding !== true;
  }

  onRequestDone(req: Request): void {
    if (req === this.head) scheduleFlush(this);
  }

  /** A big reply streams through as it arrives once every reply before it is out. */
  onRequestPart(req: Request): void {
    if (this.closed || req.silent) req.parts = [];
    else if (req === this.head && !writeParts(this.conn, req)) this.flow.waitDrain();
  }

  flush(): void {
    if (this.closed) return;
    if (!this.heldBack && this.partlyAnswered()) {
      // A pipelined batch spread over several backends comes back in pieces, often one turn
      // apart: waiting one turn (a poll that does not block) saves the client a write and a read.
      this.heldBack = true;
      scheduleFlush(this);
      return;
    }
    this.heldBack = false;
    const stats = this.host.counters;
    const now = performance.now();
    const first = this.head;
    let count = 0;
    let total = 0;
    let big = false;
    let broke = false;
    let cut = false;
    let req = first;
    while (req !== null && req.done) {
      // Part of its reply is out already: the error that replaced the rest cannot follow it.
      if (req.partsWritten && req.failed) {
        cut = true;
        break;
      }
      if (req.route !== ROUTE_PUSH) {
        stats.record(req, (now - req.start) * 1000);
        if (req.route !== ROUTE_LOCAL) this.flow.outstanding--;
      }
      if (req.silent) dropReply(req);
      if (this.tracking !== null) this.tracking.replied(req);
      const len = unwrittenBytes(req);
      count++;
      total += len;
      if (len >= BIG_PIECE || req.parts !== null) big = true;
      const bytes = req.parts === null ? len : req.partsLen;
      stats.netOut += bytes;
      this.flow.replied(bytes);
      if (req.failed && this.host.options.breakOnFailure) broke = true;
      req = req.next;
      this.pending--;
    }
    this.head = req;
    if (req === null) this.tail = null;
    this.waiting?.startReady(req);
    if (total > 0 && !writeReplies(this.conn, first!, count, total, big)) this.flow.waitDrain();
    if (cut) {
      this.conn.destroy();
      return;
    }
    if (req !== null && req.parts !== null) this.onRequestPart(req);
    this.flow.sendDeferred();
    if (broke || (this.quit && this.head === null)) {
      this.closeAfterReplies();
      return;
    }
    if (!this.quit) this.flow.resumeIfDrained(this.pending);
  }

  /**
   * Ends the connection once the replies are out, like Redis after QUIT. Input that still
   * comes is dropped (ClientConn.end reads on until the client's FIN).
   */
  private closeAfterReplies(): void {
    this.quit = true;
    this.conn.end();
    this.flow.resumeReading();
  }

  /**
   * The client sent its FIN after its commands (`printf ... | nc -N`): like Redis, it gets
   * the replies to what it sent, then the connection ends.
   */
  onEnd(): void {
    this.quit = true;
    // Redis drops a blocked client that hangs up; its reply could never come otherwise. One
    // that CLIENT PAUSE holds is dropped too, its held commands not run, as Redis drops it.
    this.waiting?.close();
    if (this.held?.holding === true) return this.conn.destroy();
    if (this.head === null) this.closeAfterReplies();
  }

  /** Some replies are ready, and some of the requests sent with them are still out. */
  private partlyAnswered(): boolean {
    let req = this.head;
    while (req !== null && req.done) req = req.next;
    return req !== null && req !== this.head && req.route !== ROUTE_LOCAL && !this.flow.hasDeferred;
  }

  onDrain(): void {
    this.flow.onDrain();
    if (!this.quit) this.flow.resumeIfDrained(this.pending);
  }

  /**
   * Malformed input: the error goes out after the replies to the requests before it, then
   * only this connection closes.
   */
  private protocolError(msg: string): void {
    this.enqueue(new Request(this, [], EMPTY, 0, 0, this.db, UNKNOWN, this.lastRead)).fail(
      'ERR Protocol error: ' + msg,
    );
    this.quit = true;
  }

  onClose(): void {
    if (this.closed) return;
    this.closed = true;
    this.flow.stopTimer();
    this.waiting?.close();
    this.watchOwn?.close();
    this.host.monitors.delete(this);
    this.held?.drop();
    this.subs?.close();
    this.tracking?.stop();
    this.host.sessionClosed(this);
  }

  /** WAIT starts once the client's earlier commands are answered: it must follow their writes. */
  waitReplicas(req: Request): void {
    this.waiting ??= new Waiting(this.host.router);
    this.waiting.wait(req, this.head);
  }

  get subscribed(): boolean {
    return this.subs !== null && this.subs.count > 0;
  }

  subscriptions(): Subscriptions {
    this.subs ??= new Subscriptions(this.host.router, this);
    return this.subs;
  }

  unsubscribedAll(): void {
    this.subs = null;
  }

  /** The primaries may have changed: subscriptions follow them. */
  topologyChanged(): void {
    this.subs?.sync();
  }

  /** A pub/sub message or a MONITOR line for the client, sent in turn with the replies before it. */
  deliver(frame: Buffer): void {
    if (this.closed || this.quit) return;
    if (this.conn.unsent > PUBSUB_UNSENT_LIMIT) return this.conn.destroy(); // as Redis drops it
    const msg = this.enqueue(new Request(this, [], EMPTY, 0, 0, this.db, UNKNOWN, performance.now()));
    msg.route = ROUTE_PUSH;
    msg.answer(frame);
  }

  /** Closes the connection from the proxy's side (shutdown). */
  close(): void {
    this.conn.destroy();
  }
}
