/**
 * The connection under a ZkClient: one node-zookeeper-client at a time, replaced by a new one
 * (a new session) when the server expires the session, and calls on it bounded in time.
 *
 * The server expires a session once it has not heard from it for the timeout, but the client only
 * learns so when it reconnects: past the timeout without a connection, the session's ephemerals
 * are reported lost (`lost`). `connected` is told on every (re)connect, for watches to re-arm.
 */
import zookeeper from 'node-zookeeper-client';

type Zk = zookeeper.Client;
export type Callback<T> = (err: Error | zookeeper.Exception | null, value?: T) => void;

/** How long calls wait for a lost connection to come back before failing (see connected()). */
const CONNECT_WAIT_MS = 10_000;
/** How long close() lets a connect attempt happen first. */
const CLOSE_CONNECT_WAIT_MS = 1000;

export interface SessionEvents {
  connected(): void;
  lost(why: string): void;
}

export class ZkSession {
  private zk: Zk;
  /** Callers of connected() waiting for the current client to connect. */
  private readonly waiters = new Set<() => void>();
  /** When the connection was lost (or first tried); 0 while connected. */
  private downSince = Date.now();
  private closed = false;

  constructor(
    private readonly addr: string,
    private readonly timeoutMs: number,
    private readonly authInfo: Buffer | undefined,
    private readonly events: SessionEvents,
  ) {
    this.zk = this.open();
  }

  private open(): Zk {
    const zk = zookeeper.createClient(this.addr, {
      sessionTimeout: this.timeoutMs,
      spinDelay: 200,
      retries: 0,
    });
    if (this.authInfo) zk.addAuthInfo('digest', this.authInfo);
    let silence: NodeJS.Timeout | undefined;
    zk.on('disconnected', () => {
      if (zk === this.zk && this.downSince === 0) this.downSince = Date.now();
      silence ??= setTimeout(() => this.events.lost('no connection for the session timeout'), this.timeoutMs);
      silence.unref();
    });
    zk.on('connected', () => {
      clearTimeout(silence);
      silence = undefined;
      if (zk !== this.zk) return;
      this.downSince = 0;
      this.waiters.forEach((wake) => wake());
      this.events.connected();
    });
    zk.once('expired', () => {
      clearTimeout(silence);
      zk.close();
      if (this.closed) return;
      this.events.lost('session expired');
      this.zk = this.open();
    });
    zk.connect();
    return zk;
  }

  /**
   * The connected client. Without a connection, a call waits for one until `deadline`, and at
   * most CONNECT_WAIT_MS after it was lost: a reconnect (to another server of the ensemble) takes
   * far less, and once that is over, calls fail at once, naming the server, instead of each
   * waiting out the timeout while ZooKeeper is down.
   */
  private connected(deadline: number): Promise<Zk> {
    if (this.zk.getState() === zookeeper.State.SYNC_CONNECTED) return Promise.resolve(this.zk);
    const now = Date.now();
    const until = Math.min(deadline, (this.downSince || now) + Math.min(this.timeoutMs, CONNECT_WAIT_MS));
    if (until <= now) {
      const secs = Math.round((now - this.downSince) / 1000);
      return Promise.reject(new Error(`not connected to ${this.addr} (for ${secs} s)`));
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`not connected to ${this.addr} within ${until - now} ms`));
      }, until - now);
      const wake = () => {
        this.waiters.delete(wake);
        clearTimeout(timer);
        resolve(this.zk);
      };
      this.waiters.add(wake);
    });
  }

  /**
   * One library call as a promise, bounded by the timeout (waiting for the connection included):
   * a request sent just before the server went away is not answered until the library gives up.
   * Errors keep their ZooKeeper code.
   */
  async call<T>(fn: (zk: Zk, cb: Callback<T>) => void): Promise<T> {
    const deadline = Date.now() + this.timeoutMs;
    const zk = await this.connected(deadline);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${this.timeoutMs} ms`)),
        Math.max(0, deadline - Date.now()),
      );
      fn(zk, (err, value) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(value as T);
      });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    // The library crashes when closed before its socket exists: let a connect attempt happen first
    // (one to a server that is down fails at once; a shutdown must not wait out the timeout).
    await this.connected(Date.now() + Math.min(this.timeoutMs, CLOSE_CONNECT_WAIT_MS)).catch(() => undefined);
    this.zk.close();
  }
}
