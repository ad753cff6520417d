/**
 * The dashboard's Redis and Sentinel clients (ioredis): one-off connections for admin operations,
 * a pool of long-lived connections for the stats loop, INFO parsing, and the REPLICAOF sequence.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { parseAddr } from '../utils/addr.js';

export interface ConnOptions {
  /** product_auth; '' or undefined: no AUTH (sentinels). */
  auth?: string;
  /** Connect and per-command timeout. */
  timeoutMs: number;
}

function options(addr: string, o: ConnOptions): RedisOptions {
  const { host, port } = parseAddr(addr);
  return {
    host,
    port,
    password: o.auth ? o.auth : undefined,
    connectTimeout: o.timeoutMs,
    commandTimeout: o.timeoutMs,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    enableReadyCheck: false,
  };
}

/** Runs fn on a fresh connection, always closed afterwards. Errors name the address. */
export async function withRedis<T>(addr: string, o: ConnOptions, fn: (c: Redis) => Promise<T>): Promise<T> {
  let c: Redis;
  try {
    c = new Redis(options(addr, o));
  } catch (e) {
    throw new Error(`redis ${addr}: ${(e as Error).message}`, { cause: e });
  }
  let lastError: Error | undefined;
  c.on('error', (e: Error) => (lastError = e));
  try {
    await c.connect();
    return await fn(c);
  } catch (e) {
    if (e instanceof NotRedisError) throw e;
    // ioredis reports a refused connection as "Connection is closed."; the error event says why.
    const why =
      lastError && /connection is closed/i.test((e as Error).message)
        ? lastError.message
        : (e as Error).message;
    throw new Error(`redis ${addr}: ${why}`, { cause: e });
  } finally {
    c.disconnect();
  }
}

/** INFO text → flat field map (sections dropped). */
export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const l = line.trim();
    if (l === '' || l.startsWith('#')) continue;
    const i = l.indexOf(':');
    if (i > 0) out[l.slice(0, i)] = l.slice(i + 1);
  }
  return out;
}

/** Codis's server INFO map: INFO plus `master_addr` for replicas (maxmemory is already in INFO). */
export async function serverInfo(c: Redis): Promise<Record<string, string>> {
  const info = parseInfo(String(await c.call('INFO')));
  if (info.master_host !== undefined && info.master_port !== undefined)
    info.master_addr = `${info.master_host}:${info.master_port}`;
  if (info.maxmemory === undefined) {
    const r = (await c.call('CONFIG', 'GET', 'maxmemory').catch(() => [])) as string[];
    if (r.length >= 2) info.maxmemory = String(r[1]);
  }
  return info;
}

/**
 * Checks that addr is a stock redis-server we can use: it answers PING and INFO with product_auth,
 * and is neither a codis-proxy nor a sentinel. Returns its INFO.
 */
export async function checkRedisServer(addr: string, o: ConnOptions): Promise<Record<string, string>> {
  return withRedis(addr, o, async (c) => {
    const pong = String(await c.call('PING'));
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`);
    const info = await serverInfo(c);
    if (info.codis_version !== undefined || info.proxy_addr !== undefined)
      throw new NotRedisError(`server-[${addr}] is a codis-proxy, not a redis-server`);
    if (info.redis_mode === 'sentinel')
      throw new NotRedisError(`server-[${addr}] is a redis-sentinel, not a redis-server`);
    if (info.redis_version === undefined)
      throw new NotRedisError(`server-[${addr}] is not a redis-server (no redis_version in INFO)`);
    return info;
  });
}

export class NotRedisError extends Error {}

export const NO_ONE = 'NO:ONE';

/**
 * Points a server at `master` ("host:port"), or makes it a master (`NO:ONE`), as Codis's SetMaster:
 * in one MULTI/EXEC, CONFIG SET masterauth, REPLICAOF, CONFIG REWRITE, CLIENT KILL TYPE normal.
 * Differences: a server already in the wanted role only gets masterauth (no resync, no client
 * kill); CONFIG REWRITE failing because the server has no config file is not an error.
 */
export async function setMaster(c: Redis, master: string, auth: string): Promise<void> {
  const role = (await c.call('ROLE')) as unknown[];
  let already: boolean;
  if (master === NO_ONE) already = role[0] === 'master';
  else {
    const { host, port } = parseAddr(master);
    already = role[0] === 'slave' && String(role[1]) === host && Number(role[2]) === port;
  }
  const cmds: string[][] = [['CONFIG', 'SET', 'masterauth', auth]];
  if (!already) {
    if (master === NO_ONE) cmds.push(['REPLICAOF', 'NO', 'ONE']);
    else {
      const { host, port } = parseAddr(master);
      cmds.push(['REPLICAOF', host, String(port)]);
    }
    cmds.push(['CONFIG', 'REWRITE']);
    cmds.push(['CLIENT', 'KILL', 'TYPE', 'normal']);
  }
  const results = (await c.multi(cmds.map(([name, ...args]) => [name!.toLowerCase(), ...args])).exec()) ?? [];
  for (const [err] of results) {
    if (!err) continue;
    if (/without a config file/i.test(err.message)) continue;
    throw err;
  }
}

/** Long-lived connections per address for the stats loop; addresses not retained are closed. */
export class RedisPool {
  private readonly conns = new Map<string, Redis>();

  constructor(private readonly o: ConnOptions) {}

  get(addr: string): Redis {
    let c = this.conns.get(addr);
    if (!c) {
      c = new Redis({
        ...options(addr, this.o),
        lazyConnect: false,
        retryStrategy: (times: number) => Math.min(100 * times, 1000),
      });
      c.on('error', () => undefined);
      this.conns.set(addr, c);
    }
    return c;
  }

  /** Waits (up to ms) for the connection to be ready; false when it is not. */
  async ready(c: Redis, ms: number): Promise<boolean> {
    if (c.status === 'ready') return true;
    return new Promise<boolean>((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        c.off('ready', onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const timer = setTimeout(() => done(false), ms);
      c.once('ready', onReady);
    });
  }

  retain(addrs: Set<string>): void {
    for (const [addr, c] of this.conns) {
      if (!addrs.has(addr)) {
        c.disconnect();
        this.conns.delete(addr);
      }
    }
  }

  close(): void {
    this.retain(new Set());
  }
}
