/**
 * Blocking commands (BLPOP, BRPOP, BLMOVE, BZPOPMIN, XREAD BLOCK…). Blocked on a pipelined
 * connection shared by many clients, one would hold up all the others, so each client that
 * blocks gets a backend connection of its own, kept for its next blocking call (a worker's
 * BRPOP loop reuses it). When the client leaves, a connection with nothing blocked on it serves
 * the next client that blocks; one still blocked is closed, which ends the command on the server.
 *
 * While blocked, a command is not counted in its slot's in-flight requests: a slot could never
 * switch groups under a client waiting for minutes. Instead, when the slot starts moving (or
 * moves), its blocked commands are cancelled with an error, and the client retries on the new
 * group; while the slot migrates, blocking commands on it are refused the same way. A command
 * the client sends after a blocking one runs at once on a shared connection, not after it (its
 * reply still comes in order).
 */
import type { BackendConn } from './BackendConn.js';
import type { Request } from './Request.js';
import { OwnConn } from './OwnConn.js';
import type { Router } from './Router.js';
import type { Slot } from './Slot.js';

/** What the blocked commands of a slot get when it moves: the client should retry. */
export function movedCause(slot: Slot): string {
  return `blocking command cancelled: slot ${slot.id} is moving to another group; retry`;
}

/** Where a client's blocking commands go: a backend connection of its own. */
export class BlockingConn {
  private readonly own: OwnConn;
  /** The connection and slot of the last blocking command. */
  private conn: BackendConn | null = null;
  private slot: Slot | null = null;

  constructor(private readonly router: Router) {
    this.own = new OwnConn(router, true);
  }

  forward(req: Request, slotId: number): void {
    const slot = this.router.slots[slotId]!;
    if (slot.backend === null) return req.fail('ERR handle request, slot is not ready, may be offline');
    if (slot.migrate !== null || slot.blocked) return req.fail('ERR handle response, ' + movedCause(slot));
    const bc = this.own.to(slot.backend, req.db, req.proto);
    if (this.conn !== null) this.slot?.blockers.delete(this.conn);
    this.conn = bc;
    this.slot = slot;
    slot.blockers.add(bc);
    bc.push(req);
  }

  /** A blocking command is out. */
  get busy(): boolean {
    return this.conn !== null && this.conn.pending > 0;
  }

  /** The connection a blocking command is out on, if one is. */
  blockedOn(): BackendConn[] {
    return this.busy ? [this.conn!] : [];
  }

  /** The client is gone: a command it left blocked ends with the connection. */
  close(): void {
    if (this.conn !== null) this.slot?.blockers.delete(this.conn);
    this.own.close();
    this.conn = null;
    this.slot = null;
  }
}
