/** The bench's own redis-servers and codis-proxy, on free loopback ports and private temp dirs. */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePorts, removeDir, spawnTracked, stopChild, trackDir, waitForPort } from './proc.js';
import { RespConn, waitPong } from './resp.js';
import type { ProxyAccept } from '../src/proxy/Config.js';

/** dist/bench/ → repository root. */
export const ROOT = resolve(import.meta.dirname, '../..');
export const PROXY_BIN = join(ROOT, 'bin/codis-proxy');
/** The node flags of the bin's shebang: a proxy started with process.execPath runs as the bin would. */
export const PROXY_NODE_FLAGS = (/^#!.*\bnode\b(.*)$/m.exec(readFileSync(PROXY_BIN, 'utf8'))?.[1] ?? '')
  .split(' ')
  .filter((f) => f.startsWith('--'));
const REDIS_BIN = process.env.REDIS_SERVER ?? 'redis-server';

export interface Managed {
  readonly port: number;
  readonly addr: string;
  readonly pid: number;
  readonly child: ChildProcess;
  logs(): string;
  stop(): Promise<void>;
}

function keepLog(child: ChildProcess): () => string {
  let log = '';
  const add = (d: Buffer): void => {
    log += d.toString();
    if (log.length > 64 * 1024) log = log.slice(-32 * 1024);
  };
  child.stdout?.on('data', add);
  child.stderr?.on('data', add);
  return () => log;
}

async function started(
  child: ChildProcess,
  ports: number[],
  what: string,
  logs: () => string,
): Promise<void> {
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code, sig) => reject(new Error(`${what} exited (${code ?? sig}): ${logs()}`)));
    child.once('error', (e) => reject(new Error(`${what}: ${e.message}`)));
  });
  exited.catch(() => undefined); // only observed while starting
  await Promise.race([Promise.all(ports.map((p) => waitForPort(p))), exited]);
}

export async function startRedis(): Promise<Managed> {
  const dir = mkdtempSync(join(tmpdir(), 'codis-bench-redis-'));
  trackDir(dir);
  const [port] = await freePorts(1);
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    'no',
  ];
  const child = spawnTracked(REDIS_BIN, args);
  const logs = keepLog(child);
  try {
    await started(child, [port!], 'redis-server', logs);
  } catch (e) {
    child.kill('SIGKILL');
    removeDir(dir);
    throw e;
  }
  return managed(child, port!, dir, logs);
}

/** A started child serving on loopback `port`; stopping it also removes its temp dir. */
export function managed(child: ChildProcess, port: number, dir: string, logs: () => string): Managed {
  return {
    port,
    addr: `127.0.0.1:${port}`,
    pid: child.pid!,
    child,
    logs,
    stop: async () => {
      await stopChild(child);
      removeDir(dir);
    },
  };
}

export interface ProxyProc extends Managed {
  readonly adminPort: number;
  readonly admin: string;
}

/** Slots 0..1023 in equal contiguous ranges over `backends` (group ids 1..n). */
export function evenSlots(backends: readonly string[]): object[] {
  const per = Math.ceil(1024 / backends.length);
  return Array.from({ length: 1024 }, (_, id) => {
    const g = Math.floor(id / per);
    return { id, backend_addr: backends[g], backend_addr_group_id: g + 1 };
  });
}

/**
 * A codis-proxy with a static slot table over `backends` (--fillslots), or, with `dashboard`, one
 * that goes online through that dashboard (`product` must be the dashboard's) and gets its slots
 * from it; the caller then waits for it to be online.
 */
export async function startProxy(
  backends: readonly string[],
  opts: { dashboard?: string; product?: string; ncpu?: number; accept?: ProxyAccept } = {},
): Promise<ProxyProc> {
  const dir = mkdtempSync(join(tmpdir(), 'codis-bench-proxy-'));
  trackDir(dir);
  const [port, adminPort] = await freePorts(2);
  const conf = join(dir, 'proxy.toml');
  const slots = join(dir, 'slots.json');
  writeFileSync(
    conf,
    [
      `product_name = ${JSON.stringify(opts.product ?? 'codis-bench')}`,
      `proxy_addr = "127.0.0.1:${port}"`,
      `admin_addr = "127.0.0.1:${adminPort}"`,
      // The default (1000) would refuse the idle-connection test and the 500-client runs' headroom.
      'proxy_max_clients = 20000',
      `proxy_accept = "${opts.accept ?? 'primary'}"`,
    ].join('\n') + '\n',
  );
  writeFileSync(slots, JSON.stringify(evenSlots(backends)));
  const mode = opts.dashboard === undefined ? ['--fillslots', slots] : ['--dashboard', opts.dashboard];
  if (opts.ncpu !== undefined) mode.push('--ncpu', String(opts.ncpu));
  // node directly (not via a shell) so that child.pid is the proxy itself, for /proc memory reads;
  // with the node flags of the bin's `#!` line, as when the bin runs by itself.
  const args = [...PROXY_NODE_FLAGS, PROXY_BIN, '--config', conf, ...mode, '--log-level', 'WARN'];
  const child = spawnTracked(process.execPath, args);
  const logs = keepLog(child);
  try {
    await started(child, [port!, adminPort!], 'codis-proxy', logs);
    if (opts.dashboard === undefined && !(await waitPong('127.0.0.1', port!, 10_000)))
      throw new Error(`codis-proxy does not answer PING within 10 s: ${logs()}`);
  } catch (e) {
    child.kill('SIGKILL');
    removeDir(dir);
    throw e;
  }
  return { ...managed(child, port!, dir, logs), adminPort: adminPort!, admin: `127.0.0.1:${adminPort}` };
}

/** What the bench reads from a proxy's stats: its RSS, commands served and garbage collections. */
export interface ProxyStatsSample {
  mem: number;
  ops: number;
  gc: { num: number; major: number; pauseMs: number };
}

/** The proxy's stats from its admin API, or undefined when it does not answer within 2 s. */
export async function proxyStats(admin: string): Promise<ProxyStatsSample | undefined> {
  try {
    const res = await fetch(`http://${admin}/proxy/stats`, { signal: AbortSignal.timeout(2000) });
    const body = (await res.json()) as {
      ops?: { total?: number };
      rusage?: { mem?: unknown };
      runtime?: { gc?: { num?: number; num_major?: number; total_pausems?: number } };
    };
    const mem = body.rusage?.mem;
    if (typeof mem !== 'number') return undefined;
    const gc = body.runtime?.gc;
    return {
      mem,
      ops: body.ops?.total ?? 0,
      gc: { num: gc?.num ?? 0, major: gc?.num_major ?? 0, pauseMs: gc?.total_pausems ?? 0 },
    };
  } catch {
    return undefined;
  }
}

/** `rusage.mem` from the admin API, or undefined when it does not answer within 2 s. */
export async function statsRss(admin: string): Promise<number | undefined> {
  return (await proxyStats(admin))?.mem;
}

/** redis-benchmark's key for `__rand_int__` = i: 12 zero-padded digits. */
export const benchKey = (i: number): string => `key:${String(i).padStart(12, '0')}`;

/**
 * SETs every key redis-benchmark can pick (-r `keyspace`) through the target itself, so GET runs hit
 * on every target and the proxy's keys land on the right shard.
 */
export async function preload(
  host: string,
  port: number,
  keyspace: number,
  valueSize: number,
): Promise<void> {
  const value = Buffer.alloc(valueSize, 'x');
  const conn = await RespConn.open(host, port);
  try {
    const batch = 1000;
    for (let i = 0; i < keyspace; i += batch) {
      const cmds: (string | Buffer)[][] = [];
      for (let k = i; k < Math.min(keyspace, i + batch); k++) cmds.push(['SET', benchKey(k), value]);
      const replies = await conn.pipeline(cmds, 15_000);
      const bad = replies.find((r) => r !== 'OK');
      if (bad !== undefined) throw new Error(`SET reply ${bad instanceof Error ? bad.message : String(bad)}`);
    }
  } finally {
    conn.close();
  }
}

/** Fraction of `sample` random bench keys that GET returns with a value of `valueSize` bytes. */
export async function hitRate(host: string, port: number, keyspace: number, valueSize: number, sample = 500) {
  const conn = await RespConn.open(host, port);
  try {
    const cmds = Array.from({ length: sample }, () => [
      'GET',
      benchKey(Math.floor(Math.random() * keyspace)),
    ]);
    const replies = await conn.pipeline(cmds, 10_000);
    return replies.filter((r) => Buffer.isBuffer(r) && r.length === valueSize).length / sample;
  } finally {
    conn.close();
  }
}
