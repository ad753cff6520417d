/**
 * The client port of a proxy whose workers accept (proxy_accept = "workers"). The primary
 * bound it and gives each serving worker the socket once; the kernel then hands a connection
 * to whichever worker accepts first. No message crosses per connection, so a client that
 * connects for one request costs what it costs a single process. The workers admit clients
 * against the others' counts, which this passes on as each report comes (a worker reports a
 * changed count within COUNT_REPORT_MS, and before it answers anything).
 */
import type { Worker } from 'node:cluster';
import type net from 'node:net';
import type { ClientPort } from './ClientDispatch.js';
import type { SharedPort } from './ClientListener.js';

/** Primary → worker, with the client port's socket: listen on it. */
export interface SharedListen {
  listen: true;
}

/** Primary → worker: the other workers' clients, which proxy_max_clients counts too. */
export interface OthersClients {
  othersAlive: number;
}

export class SharedAccept implements ClientPort {
  private readonly serving = new Set<Worker>();

  constructor(
    private readonly port: SharedPort,
    private readonly clientsOf: (w: Worker) => number,
    private readonly allClients: () => number,
  ) {}

  serve(w: Worker): void {
    this.serving.add(w);
    w.send({ listen: true } satisfies SharedListen, this.port.handle as net.Socket);
    this.clientsChanged();
  }

  /** Its copy of the socket closes with it; the others' counts change once it is forgotten. */
  remove(w: Worker): void {
    this.serving.delete(w);
    this.clientsChanged();
  }

  adopted(): void {}

  /**
   * At once, not batched: a report that a worker sends before its answer to the primary is
   * passed on before that answer is, so a client that saw the answer (INFO) finds every
   * worker knowing the count.
   */
  clientsChanged(): void {
    const all = this.allClients();
    for (const w of this.serving) {
      if (w.isConnected()) w.send({ othersAlive: all - this.clientsOf(w) } satisfies OthersClients);
    }
  }

  close(): void {
    this.serving.clear();
    this.port.handle.close?.();
  }
}
