/**
 * All connections of the proxy to one backend address: per database and protocol, `parallel`
 * pipelined BackendConns. Slots share it by reference count; the last release closes it.
 * Only database 0 in RESP2 is connected eagerly; other databases (unlike Codis) and RESP3 are
 * connected on first use: a product that uses one database over RESP2 then holds one
 * connection per backend, not sixteen. It also hands out the connections of clients' own for
 * commands that wait on the server, and keeps a few their clients left for the next ones.
 */
import { BackendConn, type BackendOptions } from './BackendConn.js';
import type { Proto } from '../resp/encode.js';
import { parseAddr } from '../utils/addr.js';

/** Idle connections for waiting commands kept per backend: enough for a few clients at a time. */
const IDLE_WAITING_MAX = 4;

export class SharedBackendConn {
  refcnt = 0;
  /** RESP2 connections at [db], RESP3 ones at [numDatabases + db]. */
  private readonly conns: (BackendConn[] | undefined)[];
  /** Connections for waiting commands that their clients left idle (takeWaiting). */
  private readonly idle: BackendConn[] = [];
  private closed = false;
  readonly host: string;
  readonly port: number;

  constructor(
    readonly addr: string,
    private readonly opts: BackendOptions,
    private readonly parallel: number,
    private readonly numDatabases: number,
  ) {
    const { host, port } = parseAddr(addr);
    this.host = host;
    this.port = port;
    this.conns = new Array<BackendConn[] | undefined>(2 * numDatabases);
    this.dbConns(0, 2);
  }

  /**
   * The connection for `db` in `proto`: with parallel > 1, the first connected one from a
   * seed-chosen start, so sessions spread over them; when none is connected, `must` still
   * returns one (the request then waits or fails there), otherwise null.
   */
  get(db: number, seed: number, must: boolean, proto: Proto = 2): BackendConn | null {
    const list = this.dbConns(db, proto);
    if (list.length === 1) {
      const bc = list[0]!;
      return must || bc.isConnected() ? bc : null;
    }
    for (let i = 0; i < list.length; i++) {
      const bc = list[(seed + i) % list.length]!;
      if (bc.isConnected()) return bc;
    }
    return must ? list[seed % list.length]! : null;
  }

  keepAlive(): void {
    for (const list of this.conns) if (list) for (const bc of list) bc.keepAlive();
    // Idle ones too: a server's `timeout` would close them.
    for (const bc of this.idle) bc.keepAlive();
  }

  /**
   * A connection of one client's own for commands that wait on the server (blocking commands,
   * WAIT): no receive timeout, and its id on the server known for CLIENT UNBLOCK. One that an
   * earlier client left idle is taken first: it is connected already, so the command reaches the
   * server at once rather than after a connect, and clients that block once per connection
   * (a job runner per request, say) cost the server no connect each.
   */
  takeWaiting(db: number, proto: Proto): BackendConn {
    const idle = this.idle;
    for (let i = idle.length - 1; i >= 0; i--) {
      const bc = idle[i]!;
      const lost = !bc.isOpen() || !bc.isConnected();
      if (!lost && (bc.db !== db || bc.proto !== proto)) continue;
      idle.splice(i, 1);
      if (!lost) return bc;
      bc.close();
    }
    return new BackendConn(this.host, this.port, db, { ...this.opts, recvTimeoutMs: 0, askId: true }, proto);
  }

  /**
   * A connection from takeWaiting whose client is done with it: kept for the next one when it is
   * idle and connected, else closed (a command still blocked on it ends with it).
   */
  giveBack(bc: BackendConn): void {
    const usable = bc.isOpen() && bc.isConnected() && bc.pending === 0;
    if (this.closed || !usable || this.idle.length >= IDLE_WAITING_MAX) bc.close();
    else this.idle.push(bc);
  }

  close(): void {
    for (const list of this.conns) if (list) for (const bc of list) bc.close();
    this.conns.fill(undefined);
    for (const bc of this.idle) bc.close();
    this.idle.length = 0;
    this.closed = true;
  }

  private dbConns(db: number, proto: Proto): BackendConn[] {
    const at = proto === 2 ? db : this.numDatabases + db;
    let list = this.conns[at];
    if (list === undefined) {
      list = [];
      for (let i = 0; i < this.parallel; i++) {
        list.push(new BackendConn(this.host, this.port, db, this.opts, proto));
      }
      this.conns[at] = list;
    }
    return list;
  }
}

/** Backends by address, shared by the slots that route to them. */
export class SharedBackendConnPool {
  private readonly pool = new Map<string, SharedBackendConn>();

  constructor(
    private readonly opts: BackendOptions,
    private readonly parallel: number,
    private readonly numDatabases: number,
  ) {}

  retain(addr: string): SharedBackendConn {
    let sbc = this.pool.get(addr);
    if (sbc === undefined) {
      sbc = new SharedBackendConn(addr, this.opts, Math.max(1, this.parallel), this.numDatabases);
      this.pool.set(addr, sbc);
    }
    sbc.refcnt++;
    return sbc;
  }

  release(sbc: SharedBackendConn): void {
    if (--sbc.refcnt > 0) return;
    sbc.close();
    if (this.pool.get(sbc.addr) === sbc) this.pool.delete(sbc.addr);
  }

  get(addr: string): SharedBackendConn | undefined {
    return this.pool.get(addr);
  }

  addrs(): string[] {
    return [...this.pool.keys()];
  }

  keepAlive(): void {
    for (const sbc of this.pool.values()) sbc.keepAlive();
  }

  close(): void {
    for (const sbc of this.pool.values()) sbc.close();
    this.pool.clear();
  }
}
