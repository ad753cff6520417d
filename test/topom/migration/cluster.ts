/**
 * A product for migration tests: a real dashboard on the filesystem coordinator, groups of one
 * stock redis-server each, proxies brought online through the dashboard (the first created by
 * it, the others going online by themselves with --dashboard), every slot in group 1; and the
 * checks these tests share (progress, where keys live).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { slotOf } from '../../../src/proxy/hash.js';
import type { MoverOptions } from '../../../src/topom/migration/SlotMover.js';
import { startDashboard, type DashboardProcess } from '../../helpers/dashboard.js';
import { startProxy, type ProxyProcess } from '../../helpers/proxy.js';
import { startRedis, type RedisServer } from '../../helpers/redis.js';
import { RespClient } from '../../helpers/resp-client.js';
import { stats, until, waitProxiesOnline } from '../flow.js';

export interface ClusterOptions {
  product: string;
  groups: number;
  proxies: number;
  /** dashboard.toml keys. */
  config?: Record<string, string | number | boolean>;
  /** product_auth: requirepass of the servers, given to the dashboard and the proxies. */
  auth?: string;
}

export interface Cluster {
  readonly product: string;
  readonly root: string;
  d: DashboardProcess;
  readonly masters: RedisServer[];
  readonly proxies: ProxyProcess[];
  readonly config: Record<string, string | number | boolean>;
  /** A new dashboard process on the same port (after stop or kill). */
  restartDashboard(args?: string[]): Promise<DashboardProcess>;
  stop(): Promise<void>;
}

export async function startCluster(o: ClusterOptions): Promise<Cluster> {
  const root = await mkdtemp(join(tmpdir(), `codis-${o.product}-`));
  const masters = await Promise.all(Array.from({ length: o.groups }, () => startRedis({ password: o.auth })));
  const coordinator = { name: 'filesystem', addr: root };
  const config = { ...o.config, ...(o.auth ? { product_auth: o.auth } : {}) };
  let d = await startDashboard({ coordinator, product: o.product, config });
  const proxies: ProxyProcess[] = [];
  const c: Cluster = {
    product: o.product,
    root,
    get d() {
      return d;
    },
    set d(x) {
      d = x;
    },
    masters,
    proxies,
    config,
    async restartDashboard(args = []) {
      d = await startDashboard({ coordinator, product: o.product, config, port: d.port, args });
      return d;
    },
    async stop() {
      await Promise.all(proxies.map((p) => p.kill()));
      await d.stop();
      await Promise.all(masters.map((m) => m.stop()));
      await rm(root, { recursive: true, force: true });
    },
  };
  try {
    for (const [i, m] of masters.entries()) {
      await d.call('PUT', `/api/topom/group/create/:xauth/${i + 1}`);
      await d.call('PUT', `/api/topom/group/add/:xauth/${i + 1}/${m.addr}`);
    }
    const args = ['--product_name', o.product, ...(o.auth ? ['--product_auth', o.auth] : [])];
    for (let i = 0; i < o.proxies; i++) {
      const p = await startProxy({ offline: true, args: i === 0 ? args : [...args, '--dashboard', d.addr] });
      proxies.push(p);
      if (i === 0) await d.call('PUT', `/api/topom/proxy/create/:xauth/${p.admin}`);
    }
    await waitProxiesOnline(d, o.proxies);
    const body = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: 1 }));
    await d.call('PUT', '/api/topom/slots/assign/:xauth', body);
  } catch (e) {
    // What the processes logged says why a proxy did not come online.
    const logs = [
      ...proxies.map((p) => `proxy ${p.admin}:\n${p.logs().slice(-3000)}`),
      `dashboard:\n${d.logs().slice(-3000)}`,
    ].join('\n');
    await c.stop().catch(() => undefined);
    throw new Error(`${(e as Error).message}\n${logs}`);
  }
  return c;
}

export interface SlotProgressJson {
  id: number;
  state: string;
  from: number;
  to: number;
  keys_moved: number;
  keys_left: number;
  found_last_pass: number | null;
  bytes: number;
  reversed?: boolean;
}

export interface ProgressJson {
  interval: number;
  disabled: boolean;
  rate: { keys_per_sec: number; bytes_per_sec: number; batch_keys: number; pause_ms: number };
  progress: {
    status: string;
    paused: boolean;
    stalled?: string;
    running: number;
    pending: number;
    slots_done: number;
    keys_moved: number;
    bytes_moved: number;
    keys_left: number;
    keys_per_sec: number;
    eta_seconds: number | null;
    longest_stall_ms: number;
    slots: SlotProgressJson[];
  };
  actions: { id: number; state: string; from: number; to: number }[];
}

export const progress = (d: DashboardProcess) =>
  d.call<ProgressJson>('GET', '/api/topom/slots/progress/:xauth');

/** Waits until no slot has an action; returns the slot → group map then. */
export async function waitIdle(d: DashboardProcess, ms = 60_000): Promise<number[]> {
  return until(
    'every slot action to finish',
    async () => {
      const st = await stats(d);
      return st.slots.every((m) => !m.action.state) ? st.slots.map((m) => m.group_id) : undefined;
    },
    ms,
  );
}

/** Mover settings for unit tests: small batches, big keys from 1,000 elements, 200 per chunk. */
export const MOVER_OPTS: MoverOptions = {
  auth: '',
  batchKeys: 100,
  pauseMs: () => 0,
  limits: () => ({ keysPerSec: 0, bytesPerSec: 0 }),
  bigKeyElements: 1000,
  bigKeyBytes: 1 << 20,
  chunkElements: 200,
  timeoutMs: 5000,
};

/** Keys whose names land in the given slots (`prefix:n`). */
export function keysInSlots(slots: (s: number) => boolean, n: number, prefix: string): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < n; i++) {
    const k = `${prefix}:${i}`;
    if (slots(slotOf(k))) out.push(k);
  }
  return out;
}

/** Keys whose names land in one slot. */
export function keysInSlot(slot: number, n: number, prefix: string): string[] {
  return keysInSlots((s) => s === slot, n, prefix);
}

/** Every key of db on each server (SCAN), as key → indexes of the servers holding it. */
export async function whereKeys(servers: RedisServer[], db: number): Promise<Map<string, number[]>> {
  const out = new Map<string, number[]>();
  for (const [i, s] of servers.entries()) {
    const c = await s.connect();
    try {
      await c.call('SELECT', db);
      let cursor = '0';
      do {
        const [next, keys] = (await c.call('SCAN', cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
        cursor = next.toString();
        for (const k of keys) {
          const key = k.toString();
          out.set(key, [...(out.get(key) ?? []), i]);
        }
      } while (cursor !== '0');
    } finally {
      c.close();
    }
  }
  return out;
}

/** Asserts each key lives on exactly one server, the master of its slot's group. */
export async function assertPlaced(
  servers: RedisServer[],
  slotGroup: number[],
  keysByDb: Map<number, string[]>,
): Promise<void> {
  for (const [db, keys] of keysByDb) {
    const where = await whereKeys(servers, db);
    for (const k of keys) {
      const on = where.get(k) ?? [];
      const want = slotGroup[slotOf(k)]! - 1;
      if (on.length === 0) continue; // never written (or an unacknowledged write): checked by verify()
      assert.deepEqual(on, [want], `db${db} ${k} (slot ${slotOf(k)}) on ${on} instead of ${want}`);
    }
    for (const [k, on] of where) {
      assert.equal(on.length, 1, `db${db} ${k} on several groups: ${on}`);
      assert.ok(!k.startsWith('__codis_migrating__'), `leftover temporary key ${k}`);
    }
  }
}

/** Writes commands straight to a server in pipelined chunks. */
export async function load(server: RedisServer, db: number, cmds: (string | number)[][]): Promise<void> {
  const c: RespClient = await server.connect();
  try {
    await c.call('SELECT', db);
    for (let i = 0; i < cmds.length; i += 1000) await c.pipeline(cmds.slice(i, i + 1000));
  } finally {
    c.close();
  }
}
