/**
 * Blocking commands (BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD BLOCK…). Blocked on a pipelined
 * connection shared by many clients, one would hold up all the others, so each client that
 * blocks gets a backend connection of its own, kept for its next blocking call (a worker's
 * BRPOP loop reuses it) and closed with the client.
 *
 * While blocked, a command is not counted in its slot's in-flight requests: a slot could never
 * switch groups under a client waiting for minutes. Instead, when the slot starts moving (or
 * moves), its blocked commands are cancelled with an error, and the client retries on the new
 * group; while the slot migrates, blocking commands on it are refused the same way. A command
 * the client sends after a blocking one runs at once on a shared connection, not after it (its
 * reply still comes in order).
 */
import type { Proto } from '../resp/encode.js';
import type { BackendConn } from './BackendConn.js';
import type { Request } from './Request.js';
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';

/** What the blocked commands of a slot get when it moves: the client should retry. */
export function movedCause(slot: Slot): string {
  return `blocking command cancelled: slot ${slot.id} is moving to another group; retry`;
}

/** A client's own backend connection for its blocking commands. */
export class BlockingConn {
  private conn: BackendConn | null = null;
  private slot: Slot | null = null;

  constructor(private readonly router: Router) {}

  forward(req: Request, slotId: number): void {
    const slot = this.router.slots[slotId]!;
    if (slot.backend === null) return req.fail('ERR handle request, slot is not ready, may be offline');
    if (slot.migrate !== null || slot.blocked) return req.fail('ERR handle response, ' + movedCause(slot));
    if (!this.fits(slot, req.db, req.proto)) {
      this.close();
      this.conn = this.router.privateConn(slot.backend, req.db, req.proto);
    }
    this.slot?.blockers.delete(this.conn!);
    this.slot = slot;
    slot.blockers.add(this.conn!);
    this.conn!.push(req);
  }

  /** The connection in hand is open and reaches the slot's server in the request's db and protocol. */
  private fits(slot: Slot, db: number, proto: Proto): boolean {
    const [bc, to] = [this.conn, slot.backend!];
    return (
      bc !== null &&
      bc.isOpen() &&
      bc.host === to.host &&
      bc.port === to.port &&
      bc.db === db &&
      bc.proto === proto
    );
  }

  /** The client is gone: a command it left blocked ends with the connection. */
  close(): void {
    if (this.conn === null) return;
    this.slot?.blockers.delete(this.conn);
    this.conn.close();
    this.conn = null;
    this.slot = null;
  }
}
