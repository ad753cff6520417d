/**
 * The client port of a proxy with workers. The primary holds it: it accepts each connection
 * and hands the bare handle to the serving worker with the fewest clients (in turn among
 * equals). This is the work node:cluster's round robin does, with two differences. The choice
 * follows the client counts the workers report, so long-lived clients spread evenly. And a
 * connection that comes while no worker serves (the first ones are starting, or all died at
 * once) waits here, up to a bound, instead of being refused because the shared socket closed.
 */
import type { Worker } from 'node:cluster';
import type net from 'node:net';
import type { Logger } from '../utils/log.js';
import { takeAccepts } from './accept.js';

/**
 * Primary → worker, with a client connection's handle: and how many clients the other workers
 * have, which the worker admits it against (proxy_max_clients counts the whole proxy's).
 */
export interface HandedClient {
  client: true;
  others: number;
}

/** What a proxy with workers does with its client port, whoever accepts on it. */
export interface ClientPort {
  /** `w` has the state and serves: it gets clients from now on. */
  serve(w: Worker): void;
  /** `w` is gone or going. */
  remove(w: Worker): void;
  /** `w` has its own descriptors of the next `n` clients handed to it. */
  adopted(w: Worker, n: number): void;
  /** A worker reported a new client count. */
  clientsChanged(): void;
  close(): void;
}

interface Closable {
  close?(): void;
  destroy?(): void;
}

export class ClientDispatch implements ClientPort {
  private readonly serving = new Set<Worker>();
  private readonly waiting: unknown[] = [];
  /**
   * Handles sent to each worker that it has not yet confirmed. This process keeps its
   * descriptor until then: node sends a handle again when the first one did not arrive. They
   * count as the worker's clients until it reports them itself.
   */
  private readonly unconfirmed = new Map<Worker, unknown[]>();
  private closed = false;
  private turn = 0;

  constructor(
    private readonly server: net.Server,
    /** A worker's client count as it last reported it. */
    private readonly clientsOf: (w: Worker) => number,
    /** The sum of those counts over every worker. */
    private readonly allClients: () => number,
    private readonly log: Logger,
    private readonly maxWaiting = 1024,
  ) {
    if (!takeAccepts(server, (h) => this.hand(h))) server.on('connection', (s: net.Socket) => this.hand(s));
    server.on('error', (e) => log.error({ err: e }, 'proxy listener error'));
  }

  /** `w` has the state and serves: it takes clients from now on, the waiting ones first. */
  serve(w: Worker): void {
    this.serving.add(w);
    for (const h of this.waiting.splice(0)) this.hand(h);
  }

  /** `w` is gone or going: no more clients for it. */
  remove(w: Worker): void {
    this.serving.delete(w);
    // Whether it took them or not, they may have reached it: never hand them to another. The
    // queue is emptied, not just dropped: a failed send finds its handle already released.
    for (const h of this.unconfirmed.get(w)?.splice(0) ?? []) release(h);
    this.unconfirmed.delete(w);
  }

  /** `w` has its own descriptors of the next `n` clients handed to it. */
  adopted(w: Worker, n: number): void {
    const q = this.unconfirmed.get(w);
    if (q === undefined) return;
    for (const h of q.splice(0, n)) release(h);
  }

  /** The others' count goes with each handed client: nothing to tell meanwhile. */
  clientsChanged(): void {}

  close(): void {
    this.closed = true;
    this.server.close();
    for (const h of this.waiting.splice(0)) release(h);
    for (const q of this.unconfirmed.values()) for (const h of q.splice(0)) release(h);
    this.unconfirmed.clear();
  }

  private hand(handle: unknown): void {
    if (this.closed) {
      release(handle);
      return;
    }
    const w = this.pick();
    if (w === undefined) {
      if (this.waiting.length >= this.maxWaiting) {
        release(handle);
        return;
      }
      if (this.waiting.length === 0) this.log.warn('no proxy worker serves: new clients wait for one');
      this.waiting.push(handle);
      return;
    }
    let q = this.unconfirmed.get(w);
    if (q === undefined) this.unconfirmed.set(w, (q = []));
    const others = this.allClients() - this.clientsOf(w) + this.inFlight() - q.length;
    q.push(handle);
    w.send({ client: true, others } satisfies HandedClient, handle as net.Socket, (err: Error | null) => {
      if (err === null) return;
      // It could not be sent (the worker is dying): the connection is still ours for another.
      const i = q.indexOf(handle);
      if (i < 0) return;
      q.splice(i, 1);
      this.serving.delete(w);
      this.hand(handle);
    });
  }

  /** Handles sent to any worker and not yet confirmed. */
  private inFlight(): number {
    let n = 0;
    for (const q of this.unconfirmed.values()) n += q.length;
    return n;
  }

  /** The worker with the fewest clients; ties go round, so short connections spread too. */
  private pick(): Worker | undefined {
    const list = [...this.serving];
    let best: Worker | undefined;
    let least = Infinity;
    for (let k = 0; k < list.length; k++) {
      const w = list[(this.turn + k) % list.length]!;
      if (!w.isConnected()) continue;
      // A worker confirms the handles it took in the report that counts them: no client counts twice.
      const n = this.clientsOf(w) + (this.unconfirmed.get(w)?.length ?? 0);
      if (n < least) {
        least = n;
        best = w;
      }
    }
    this.turn++;
    return best;
  }
}

/** Closes this process's descriptor of a connection (a bare handle, or a net.Socket). */
function release(handle: unknown): void {
  const h = handle as Closable;
  if (typeof h.destroy === 'function') h.destroy();
  else h.close?.();
}
