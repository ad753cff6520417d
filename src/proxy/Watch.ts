/**
 * WATCH through the proxy. Watched keys belong to a server connection, so a client that
 * watches sends its WATCH, and later its EXEC, on a backend connection of its own to the group
 * of the watched slot. Until EXEC, its other commands for that server go there too and run in
 * the order it sent them: its own write to a watched key aborts its transaction, as in Redis.
 * The watched keys and the transaction's keys must share one slot (as in Redis Cluster).
 *
 * The watch is lost when the slot leaves that server (a migration, a failover) or the
 * connection drops, since the keys may then change unseen. EXEC answers a null reply, as Redis
 * does when a watched key was modified, and the client's retry loop runs again on the new
 * group. A watch made while its slot migrates is made on the target, after its keys moved
 * there: every write to them goes to the target from then on.
 */
import { Handling } from './commands/CommandInfo.js';
import { nilArray, OK } from '../resp/encode.js';
import { forwardMigrating } from './forward.js';
import type { BackendConn } from './BackendConn.js';
import type { OwnConn } from './OwnConn.js';
import type { OwnRoute, Request } from './Request.js';
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';

export class Watch implements OwnRoute {
  /** The connection the first WATCH went to, once it is routed. */
  private conn: BackendConn | null = null;
  private addr = '';
  /** The connection's socket count then: a reconnect loses the watch. */
  private socket = 0;
  /** UNWATCH, DISCARD or RESET ended it before EXEC. */
  private ended = false;

  constructor(
    /** Every watched key is in this slot. */
    readonly slotId: number,
    private readonly own: OwnConn,
  ) {}

  route(router: Router, slot: Slot, req: Request): boolean {
    // WATCH and EXEC are the transaction commands that reach a backend; they must come here.
    const must = req.info.handling === Handling.Transaction;
    if (!must && (this.conn === null || this.ended)) return false;
    if (must && this.conn === null && !this.ended && req.info.name === 'WATCH') this.bind(slot, req);
    if (this.ended || !this.holds(slot, req)) {
      if (!must) return false;
      this.lost(req);
      return true;
    }
    if (slot.migrate !== null) {
      if (!must) return false;
      forwardMigrating(router, slot, req, this.conn);
      return true;
    }
    slot.track(req);
    this.conn!.push(req);
    return true;
  }

  /** UNWATCH, DISCARD, RESET: the server forgets the keys too. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.conn?.call(['UNWATCH'], noop, noop);
  }

  private bind(slot: Slot, req: Request): void {
    const bc = this.own.to(slot.backend!, req.db, req.proto);
    this.conn = bc;
    this.addr = slot.backend!.addr;
    this.socket = bc.sockets;
  }

  /** The watch still stands for this request: same server and socket, same db and protocol. */
  private holds(slot: Slot, req: Request): boolean {
    const bc = this.conn;
    return (
      bc !== null &&
      bc.isOpen() &&
      bc.sockets === this.socket &&
      slot.backend!.addr === this.addr &&
      bc.db === req.db &&
      bc.proto === req.proto
    );
  }

  /**
   * EXEC on a lost watch fails as on a modified key; a later WATCH is answered, as it can only
   * add keys to a watch that already failed.
   */
  private lost(req: Request): void {
    if (req.info.name !== 'EXEC') return req.answer(OK);
    req.answer(nilArray(req.proto));
    // EXEC never reached the server: what the connection still watches must not outlive it.
    this.end();
  }
}

function noop(): void {}
