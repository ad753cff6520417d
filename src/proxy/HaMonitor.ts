/**
 * The proxy follows Sentinel failovers by itself (Codis §1.12), before the dashboard resyncs
 * it: it subscribes to `+switch-master` on every sentinel the dashboard pushed, and on each
 * switch (and at start) asks them all for `SENTINEL masters`; the product's masters
 * (`<product>-<gid>`), highest config-epoch winning, are handed to the router once a majority
 * of the sentinels answered.
 *
 * ioredis is loaded only when a proxy is given sentinels: most proxies never need it, and it
 * would add megabytes to every proxy's memory.
 */
import type { Redis } from 'ioredis';
import { formatAddr, parseAddr } from '../utils/addr.js';
import type { Logger } from '../utils/log.js';

export type MastersHandler = (masters: Map<number, string>) => void;

const QUERY_TIMEOUT_MS = 5000;

let redisClass: Promise<typeof Redis> | undefined;
function loadRedis(): Promise<typeof Redis> {
  redisClass ??= import('ioredis').then((m) => m.Redis);
  return redisClass;
}

export class HaMonitor {
  private readonly subs: Redis[] = [];
  private closed = false;
  private refreshing = false;
  private again = false;
  private readonly pattern: RegExp;

  constructor(
    product: string,
    private readonly servers: string[],
    private readonly onMasters: MastersHandler,
    private readonly log: Logger,
  ) {
    this.pattern = new RegExp(`^${product.replace(/[.-]/g, '\\$&')}-(\\d+)$`);
  }

  start(): void {
    void this.subscribe();
  }

  private async subscribe(): Promise<void> {
    const Redis = await loadRedis();
    for (const addr of this.servers) {
      if (this.closed) return;
      const { host, port } = parseAddr(addr);
      const sub = new Redis({
        host,
        port,
        lazyConnect: false,
        maxRetriesPerRequest: null,
        enableReadyCheck: false,
      });
      sub.on('error', () => {});
      sub.on('ready', () => void this.refresh());
      sub.on('message', (_channel: string, msg: string) => {
        const name = msg.split(' ')[0] ?? '';
        if (this.pattern.test(name)) {
          this.log.warn(`sentinel ${addr}: +switch-master ${msg}`);
          void this.refresh();
        }
      });
      void sub.subscribe('+switch-master').catch(() => {});
      this.subs.push(sub);
    }
  }

  /** Asks every sentinel for the product's masters; one refresh at a time, repeated if asked meanwhile. */
  async refresh(): Promise<void> {
    if (this.refreshing) {
      this.again = true;
      return;
    }
    this.refreshing = true;
    try {
      do {
        this.again = false;
        const masters = await this.query();
        if (masters !== null && !this.closed) this.onMasters(masters);
      } while (this.again && !this.closed);
    } finally {
      this.refreshing = false;
    }
  }

  private async query(): Promise<Map<number, string> | null> {
    const Redis = await loadRedis();
    const best = new Map<number, { addr: string; epoch: number }>();
    let answered = 0;
    await Promise.all(
      this.servers.map(async (addr) => {
        const { host, port } = parseAddr(addr);
        const c = new Redis({
          host,
          port,
          lazyConnect: true,
          maxRetriesPerRequest: 0,
          connectTimeout: QUERY_TIMEOUT_MS,
          // A sentinel that accepts but never answers must not stall every later refresh.
          commandTimeout: QUERY_TIMEOUT_MS,
        });
        c.on('error', () => {});
        try {
          await c.connect();
          const list = (await c.call('SENTINEL', 'masters')) as string[][];
          answered++;
          for (const flat of list) {
            const m = new Map<string, string>();
            for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
            const gid = this.pattern.exec(m.get('name') ?? '')?.[1];
            if (gid === undefined) continue;
            const epoch = Number(m.get('config-epoch') ?? 0);
            const prev = best.get(Number(gid));
            if (prev === undefined || epoch > prev.epoch) {
              best.set(Number(gid), { addr: formatAddr(m.get('ip') ?? '', Number(m.get('port'))), epoch });
            }
          }
        } catch (e) {
          this.log.warn(`sentinel ${addr}: SENTINEL masters failed: ${(e as Error).message}`);
        } finally {
          c.disconnect();
        }
      }),
    );
    if (answered <= this.servers.length / 2) {
      this.log.warn(`sentinels: lost majority (${answered}/${this.servers.length})`);
      return null;
    }
    return new Map([...best].map(([gid, v]) => [gid, v.addr]));
  }

  close(): void {
    this.closed = true;
    for (const s of this.subs) s.disconnect();
    this.subs.length = 0;
  }
}
