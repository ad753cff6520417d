/**
 * All connections of the proxy to one backend address: per database and protocol, `parallel`
 * pipelined BackendConns. Slots share it by reference count; the last release closes it.
 * Only database 0 in RESP2 is connected eagerly; other databases (unlike Codis) and RESP3 are
 * connected on first use: a product that uses one database over RESP2 then holds one
 * connection per backend, not sixteen.
 */
import { BackendConn, type BackendOptions } from './BackendConn.js';
import type { Proto } from '../resp/encode.js';
import { parseAddr } from '../utils/addr.js';

export class SharedBackendConn {
  refcnt = 0;
  /** RESP2 connections at [db], RESP3 ones at [numDatabases + db]. */
  private readonly conns: (BackendConn[] | undefined)[];
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
  }

  close(): void {
    for (const list of this.conns) if (list) for (const bc of list) bc.close();
    this.conns.fill(undefined);
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
