/**
 * A backend connection of one client's own, for what a connection shared by many clients
 * cannot carry: a blocking command (Blocking.ts), watched keys (Watch.ts). It is kept for the
 * client's next such command while it still reaches the same server in the same database and
 * protocol. When the client is done with it, one for waiting commands goes back to its server's
 * SharedBackendConn for another client (takeWaiting); one with watched keys is closed.
 */
import type { Proto } from '../resp/encode.js';
import type { BackendConn } from './BackendConn.js';
import type { Router } from './Router.js';
import type { SharedBackendConn } from './SharedBackendConn.js';

export class OwnConn {
  private conn: BackendConn | null = null;
  /** Where `conn` came from: a waiting one goes back there when done with. */
  private from: SharedBackendConn | null = null;

  /** `waits`: its commands may wait on the server for as long as they like (no receive timeout). */
  constructor(
    private readonly router: Router,
    private readonly waits: boolean,
  ) {}

  /** A connection to `sbc`'s server in `db` and `proto`: the one in hand when it fits, else a new one. */
  to(sbc: SharedBackendConn, db: number, proto: Proto): BackendConn {
    const bc = this.conn;
    if (
      bc !== null &&
      bc.isOpen() &&
      bc.host === sbc.host &&
      bc.port === sbc.port &&
      bc.db === db &&
      bc.proto === proto
    ) {
      return bc;
    }
    this.close();
    this.conn = this.router.privateConn(sbc, db, proto, this.waits);
    this.from = sbc;
    return this.conn;
  }

  /** The connection in hand, if any. */
  get current(): BackendConn | null {
    return this.conn;
  }

  /**
   * Done with the connection: one for waiting commands goes back to its server for another
   * client (SharedBackendConn.giveBack closes it if something is still in flight on it); one
   * with watched keys is closed, what is in flight on it failing.
   */
  close(): void {
    const bc = this.conn;
    if (bc === null) return;
    if (this.waits) this.from!.giveBack(bc);
    else bc.close();
    this.conn = null;
    this.from = null;
  }
}
