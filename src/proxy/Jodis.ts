/**
 * Jodis: the proxy registers itself as an ephemeral node (`/jodis/{product}/proxy-{token}`)
 * so that Jodis clients discover live proxies. The node is re-created whenever it is lost
 * (session expiry, lease loss), and deleted on a clean shutdown.
 */
import type { Client, Ephemeral } from '../coordinator/Client.js';
import type { ProxyModel } from '../models/Proxy.js';
import { jodisPath } from '../models/Store.js';
import { within } from '../utils/deadline.js';
import type { Logger } from '../utils/log.js';
import type { ProxyConfig } from './Config.js';

export interface JodisOptions {
  name: string;
  addr: string;
  auth: string;
  timeoutMs: number;
  compatible: boolean;
  product: string;
  token: string;
}

/** How long a stopping proxy waits for its node to be removed. */
const REMOVE_WAIT_MS = 2000;

export class Jodis {
  readonly path: string;
  private client: Client | null = null;
  private node: Ephemeral | null = null;
  private closed = false;

  constructor(
    private readonly opts: JodisOptions,
    private readonly data: () => Buffer,
    private readonly log: Logger,
  ) {
    this.path = jodisPath(opts.product, opts.token, opts.compatible);
  }

  /** Starts registering; retries in the background until closed. */
  start(): void {
    void this.loop();
  }

  private async loop(): Promise<void> {
    let delay = 1000;
    while (!this.closed) {
      try {
        // Loaded on first use: the coordinator clients (etcd's gRPC above all) are heavy.
        const { newClient } = await import('../coordinator/index.js');
        this.client ??= newClient(this.opts.name, this.opts.addr, this.opts.auth, this.opts.timeoutMs);
        this.node = await this.client.createEphemeral(this.path, this.data());
        this.log.info(`jodis: registered ${this.path} on ${this.opts.name} ${this.opts.addr}`);
        delay = 1000;
        const why = await this.node.lost;
        if (this.closed) return;
        this.log.warn(`jodis: lost ${this.path} (${why?.message ?? 'closed'}); registering again`);
      } catch (e) {
        if (this.closed) return;
        this.log.warn(`jodis: register ${this.path} failed: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, delay));
        delay = Math.min(delay * 2, 15_000);
      }
    }
  }

  /**
   * Removes the node, waiting a short while at most: with the coordinator down, the node goes
   * anyway when the session or lease expires (jodis_timeout), and a stop must not wait for that.
   */
  async close(): Promise<void> {
    this.closed = true;
    try {
      if (this.node) await within(this.node.close(), REMOVE_WAIT_MS, `${this.opts.name} ${this.opts.addr}`);
    } catch (e) {
      this.log.warn(
        `jodis: remove ${this.path} failed (${(e as Error).message}); it goes when its session expires`,
      );
    }
    await this.client?.close();
  }
}

/**
 * A proxy's registration, made by the process that holds its model (one proxy, or the primary
 * of its workers, which all share its address), started at once; null when `jodis_addr` is unset.
 */
export function registerProxy(c: ProxyConfig, model: ProxyModel, log: Logger): Jodis | null {
  if (c.jodis_addr === '') return null;
  const jodis = new Jodis(
    {
      name: c.jodis_name,
      addr: c.jodis_addr,
      auth: c.jodis_auth,
      timeoutMs: c.jodis_timeout,
      compatible: c.jodis_compatible,
      product: c.product_name,
      token: model.token,
    },
    () => Buffer.from(JSON.stringify(nodeData(model), null, 4)),
    log,
  );
  model.jodis_path = jodis.path;
  jodis.start();
  return jodis;
}

/** The node Jodis clients read (Codis's shape). */
function nodeData(model: ProxyModel): Record<string, string> {
  return {
    addr: model.proxy_addr,
    admin: model.admin_addr,
    start: model.start_time,
    state: 'online',
    token: model.token,
  };
}
