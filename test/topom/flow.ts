/**
 * Shared steps of the dashboard integration tests (one product: groups of stock redis-servers,
 * proxies, a dashboard on some coordinator).
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DashboardProcess } from '../helpers/dashboard.js';
import { PROXY_BIN, PROXY_NODE_FLAGS, waitForPort } from '../helpers/proxy.js';
import type { RedisServer } from '../helpers/redis.js';
import { RespClient, toText } from '../helpers/resp-client.js';

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls f until it returns a truthy value (or throws after ms, with the last error). */
export async function until<T>(what: string, f: () => Promise<T> | T, ms = 15_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await f();
      if (v) return v as NonNullable<T>;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(100);
  }
}

export interface GroupJson {
  id: number;
  servers: {
    server: string;
    datacenter: string;
    action: { state?: string; index?: number };
    replica_group: boolean;
  }[];
  promoting: { state?: string };
  out_of_sync: boolean;
}

export interface StatsJson {
  slots: { id: number; group_id: number; action: { state?: string; target_id?: number; index?: number } }[];
  group: { models: GroupJson[]; stats: Record<string, { stats?: Record<string, string> }> };
  proxy: {
    models: { id: number; token: string; admin_addr: string; proxy_addr: string }[];
    stats: Record<string, { stats?: { online: boolean }; error?: unknown }>;
  };
  slot_action: { interval: number; disabled: boolean; executor: number };
  sentinels: { model: { servers?: string[]; out_of_sync: boolean } };
}

export const stats = (d: DashboardProcess) => d.call<StatsJson>('GET', '/api/topom/stats/:xauth');

/** Groups 1..n, each with [master, replica] servers; returns when every replica follows its master. */
export async function setupGroups(d: DashboardProcess, servers: RedisServer[][]): Promise<void> {
  for (const [i, list] of servers.entries()) {
    const gid = i + 1;
    assert.equal(await d.call('PUT', `/api/topom/group/create/:xauth/${gid}`), 'OK');
    for (const s of list) await d.call('PUT', `/api/topom/group/add/:xauth/${gid}/${s.addr}`);
  }
  for (const list of servers)
    for (const s of list) await d.call('PUT', `/api/topom/group/action/create/:xauth/${s.addr}`);
  await until('sync actions to finish and replicas to be linked', async () => {
    const st = await stats(d);
    const done = st.group.models.every((g) => g.servers.every((s) => s.action.state === 'synced'));
    if (!done) return false;
    for (const [master, ...replicas] of servers) {
      for (const r of replicas) {
        const role = toText(await r.call('ROLE')) as (string | number)[];
        if (role[0] !== 'slave' || `${role[1]}:${role[2]}` !== master!.addr || role[3] !== 'connected')
          return false;
      }
    }
    return true;
  });
}

/** Assigns the slots evenly over groups 1..n (ranges in id order). */
export async function assignAll(d: DashboardProcess, n: number): Promise<void> {
  const per = Math.ceil(1024 / n);
  const body = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: Math.floor(id / per) + 1 }));
  assert.equal(await d.call('PUT', '/api/topom/slots/assign/:xauth', body), 'OK');
}

/** Waits until the dashboard lists `n` proxies and every one of them reports online. */
export async function waitProxiesOnline(d: DashboardProcess, n: number, ms = 20_000): Promise<StatsJson> {
  return until(
    `${n} proxies online`,
    async () => {
      const st = await stats(d);
      const ok =
        st.proxy.models.length === n &&
        st.proxy.models.every((p) => st.proxy.stats[p.token]?.stats?.online === true);
      if (ok) return st;
      // Thrown, so that a timeout says what the dashboard saw last.
      const seen = st.proxy.models.map((p) => {
        const s = st.proxy.stats[p.token];
        return `${p.admin_addr}: ${s === undefined ? 'no stats yet' : JSON.stringify(s.error ?? { online: s.stats?.online })}`;
      });
      throw new Error(`the dashboard lists ${st.proxy.models.length} (${seen.join('; ')})`);
    },
    ms,
  );
}

/** Waits until the proxy at this admin port says it is online (its own view, not the dashboard's). */
export function waitProxyUp(adminPort: number, ms = 20_000): Promise<boolean> {
  return until(
    `proxy :${adminPort} online`,
    async () => {
      const r = await fetch(`http://127.0.0.1:${adminPort}/proxy/stats`, {
        signal: AbortSignal.timeout(1000),
      });
      return ((await r.json()) as { online?: boolean }).online === true;
    },
    ms,
  );
}

/** SET through one proxy, GET through the other. */
export async function checkTraffic(
  writer: number,
  reader: number,
  prefix: string,
  keys = 100,
): Promise<void> {
  const w = await RespClient.connect(writer);
  const r = await RespClient.connect(reader);
  try {
    const sets = await w.pipeline(Array.from({ length: keys }, (_, i) => ['SET', `${prefix}:${i}`, `v${i}`]));
    assert.deepEqual(sets.map(toText), Array(keys).fill('OK'));
    const gets = await r.pipeline(Array.from({ length: keys }, (_, i) => ['GET', `${prefix}:${i}`]));
    assert.deepEqual(
      gets.map(toText),
      Array.from({ length: keys }, (_, i) => `v${i}`),
    );
  } finally {
    w.destroy();
    r.destroy();
  }
}

export interface FixedProxy {
  child: ChildProcess;
  exited: Promise<number | null>;
  logs(): string;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A codis-proxy on given ports (startProxy picks new ones): restarting on the same ports gives the
 * same token, as a real restart does.
 */
export async function spawnProxyAt(
  product: string,
  port: number,
  adminPort: number,
  args: string[] = [],
): Promise<FixedProxy> {
  const dir = await mkdtemp(join(tmpdir(), 'codis-proxy-fixed-'));
  const conf = join(dir, 'proxy.toml');
  await writeFile(
    conf,
    `product_name = "${product}"\nproxy_addr = "127.0.0.1:${port}"\nadmin_addr = "127.0.0.1:${adminPort}"\n`,
  );
  const child = spawn(
    process.execPath,
    [...PROXY_NODE_FLAGS, PROXY_BIN, '--config', conf, '--log-level', 'WARN', ...args],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let log = '';
  child.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  void exited.then(() => rm(dir, { recursive: true, force: true }));
  process.once('exit', () => child.kill('SIGKILL'));
  await Promise.race([
    Promise.all([waitForPort(port), waitForPort(adminPort)]),
    exited.then((c) => {
      throw new Error(`codis-proxy exited with ${c}: ${log}`);
    }),
  ]);
  const end = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return { child, exited, logs: () => log, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/** What the API must leave untouched after refused calls. */
export async function productState(d: DashboardProcess): Promise<unknown> {
  const st = await stats(d);
  return {
    slots: st.slots,
    groups: st.group.models,
    proxies: st.proxy.models,
    sentinels: st.sentinels.model,
  };
}
