/**
 * The bench's codis-dashboard (filesystem coordinator in a private temp dir) and the few admin API
 * calls the migration bench makes: groups, proxy online, slot assignment, slot actions, stats.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topomXAuth } from '../src/utils/xauth.js';
import { freePorts, removeDir, sleep, spawnTracked, stopChild, trackDir } from './proc.js';
import { ROOT } from './servers.js';

const DASHBOARD_BIN = join(ROOT, 'bin/codis-dashboard');

/** One slot in `GET /api/topom/stats/:xauth`; anything else the executor adds is kept as is. */
export interface SlotStat {
  id: number;
  group_id: number;
  action: { state?: string; target_id?: number; index?: number; [k: string]: unknown };
}

export interface DashboardStats {
  slots: SlotStat[];
  slot_action?: Record<string, unknown>;
  proxy: {
    models: { token: string; admin_addr: string }[];
    stats: Record<string, { stats?: { online?: boolean } }>;
  };
}

export interface Dashboard {
  readonly addr: string;
  readonly product: string;
  /** `:xauth` in the path is replaced; resolves with the status and the parsed body. */
  api(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }>;
  /** Like api(), but anything other than 200 throws. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  stats(): Promise<DashboardStats>;
  logs(): string;
  stop(): Promise<void>;
}

/** `extra`: more dashboard.toml lines, `key = <TOML value>` as given (e.g. `migration_pause = "5ms"`). */
export async function startDashboard(product: string, extra: readonly string[] = []): Promise<Dashboard> {
  const dir = mkdtempSync(join(tmpdir(), 'codis-bench-dashboard-'));
  trackDir(dir);
  const [port] = await freePorts(1);
  const addr = `127.0.0.1:${port}`;
  const conf = join(dir, 'dashboard.toml');
  writeFileSync(
    conf,
    [
      'coordinator_name = "filesystem"',
      `coordinator_addr = ${JSON.stringify(join(dir, 'coordinator'))}`,
      `product_name = ${JSON.stringify(product)}`,
      `admin_addr = "${addr}"`,
      ...extra,
    ].join('\n') + '\n',
  );
  const child = spawnTracked(process.execPath, [DASHBOARD_BIN, '--config', conf, '--log-level', 'INFO']);
  let log = '';
  const keep = (d: Buffer): void => {
    log += d.toString();
    if (log.length > 256 * 1024) log = log.slice(-128 * 1024);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const xauth = topomXAuth(product);

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`http://${addr}${path.replace(':xauth', xauth)}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed };
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await api(method, path, body);
    if (r.status !== 200)
      throw new Error(`dashboard ${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as T;
  };
  const d: Dashboard = {
    addr,
    product,
    api,
    call,
    stats: () => call<DashboardStats>('GET', '/api/topom/stats/:xauth'),
    logs: () => log,
    stop: async () => {
      await stopChild(child, 5000);
      removeDir(dir);
    },
  };
  // Serving once it owns the product and is online (GET /topom answers 503 until then).
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`codis-dashboard exited (${child.exitCode ?? child.signalCode}): ${log}`);
    const ok = await api('GET', '/topom')
      .then((r) => r.status === 200)
      .catch(() => false);
    if (ok) return d;
    if (Date.now() > deadline) throw new Error(`codis-dashboard not serving within 30 s: ${log}`);
    await sleep(100);
  }
}

/** Polls f every 100 ms until it returns true; throws after `ms`. */
export async function until(what: string, f: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last = '';
  for (;;) {
    try {
      if (await f()) return;
    } catch (e) {
      last = `: ${(e as Error).message}`;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last}`);
    await sleep(100);
  }
}

/** Groups 1..n with one master each (no replicas, so no sync actions are needed). */
export async function createGroups(d: Dashboard, masters: readonly string[]): Promise<void> {
  for (const [i, addr] of masters.entries()) {
    await d.call('PUT', `/api/topom/group/create/:xauth/${i + 1}`);
    await d.call('PUT', `/api/topom/group/add/:xauth/${i + 1}/${addr}`);
  }
}

export async function waitProxyOnline(d: Dashboard, adminAddr: string): Promise<void> {
  await until(`proxy ${adminAddr} online in the dashboard`, async () => {
    const st = await d.stats();
    const p = st.proxy.models.find((m) => m.admin_addr === adminAddr);
    return p !== undefined && st.proxy.stats[p.token]?.stats?.online === true;
  });
}

/** Every slot to one group (online assignment: pushed to the proxies, no data moved). */
export async function assignAllTo(d: Dashboard, gid: number): Promise<void> {
  const body = Array.from({ length: 1024 }, (_, id) => ({ id, group_id: gid }));
  await d.call('PUT', '/api/topom/slots/assign/:xauth', body);
}
