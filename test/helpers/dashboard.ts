/**
 * A real codis-dashboard process (bin/codis-dashboard) on a free loopback port, for integration
 * tests, with a small client for its admin API.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topomXAuth } from '../../src/utils/xauth.js';
import { freePort } from './ports.js';
import { ROOT } from './proxy.js';

export const DASHBOARD_BIN = join(ROOT, 'bin/codis-dashboard');

export interface Coordinator {
  /** filesystem | etcd | zookeeper */
  name: string;
  /** fs root folder, or comma-separated addresses */
  addr: string;
  auth?: string;
}

export interface DashboardOptions {
  coordinator: Coordinator;
  product: string;
  /** Extra dashboard.toml keys (override the helper's). */
  config?: Record<string, string | number | boolean>;
  /** Extra command-line flags. */
  args?: string[];
  /** A fixed admin port (e.g. to restart on the same address). */
  port?: number;
  /** Resolve as soon as the process exits, instead of waiting for it to serve (for refusals). */
  expectExit?: boolean;
}

export interface ApiResult<T = unknown> {
  status: number;
  body: T;
}

export interface DashboardProcess {
  readonly port: number;
  /** `127.0.0.1:PORT` */
  readonly addr: string;
  readonly xauth: string;
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  /** `:xauth` in the path is replaced by the dashboard xauth; never throws on HTTP errors. */
  api<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
  /** Like api() but expects 200 and returns the body. */
  call<T = unknown>(method: string, path: string, body?: unknown): Promise<T>;
  logs(): string;
  /** SIGTERM (clean close, lock released) and wait for exit. */
  stop(): Promise<number | null>;
  /** SIGKILL (the lock stays behind). */
  kill(): Promise<number | null>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function tomlValue(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

export async function startDashboard(opts: DashboardOptions): Promise<DashboardProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'codis-dashboard-test-'));
  const port = opts.port ?? (await freePort());
  const keys: Record<string, string | number | boolean> = {
    coordinator_name: opts.coordinator.name,
    coordinator_addr: opts.coordinator.addr,
    ...(opts.coordinator.auth ? { coordinator_auth: opts.coordinator.auth } : {}),
    product_name: opts.product,
    admin_addr: `127.0.0.1:${port}`,
    ...opts.config,
  };
  const conf = join(dir, 'dashboard.toml');
  await writeFile(
    conf,
    Object.entries(keys)
      .map(([k, v]) => `${k} = ${tomlValue(v)}\n`)
      .join(''),
  );
  const args = [DASHBOARD_BIN, '--config', conf, '--log-level', 'INFO', ...(opts.args ?? [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  let log = '';
  const onOut = (d: Buffer) => {
    log += d.toString();
    if (log.length > 512 * 1024) log = log.slice(-256 * 1024);
  };
  child.stdout!.on('data', onOut);
  child.stderr!.on('data', onOut);
  const exited = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      live.delete(child);
      r(code);
    }),
  );
  void exited.then(() => rm(dir, { recursive: true, force: true }));
  const addr = `127.0.0.1:${port}`;
  const xauth = topomXAuth(opts.product);

  const api = async <T>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> => {
    const res = await fetch(`http://${addr}${path.replace(':xauth', xauth)}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      signal: AbortSignal.timeout(60_000),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: res.status, body: parsed as T };
  };
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const r = await api<T>(method, path, body);
    if (r.status !== 200) throw new Error(`${method} ${path} → ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  const stopWith = async (sig: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    return exited;
  };
  const handle: DashboardProcess = {
    port,
    addr,
    xauth,
    child,
    exited,
    api,
    call,
    logs: () => log,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
  if (opts.expectExit) return handle;

  // Ready when it owns the product: GET /topom answers 200.
  const deadline = Date.now() + 20_000;
  let done = false;
  void exited.then(() => (done = true));
  for (;;) {
    if (done) throw new Error(`codis-dashboard exited with ${child.exitCode}: ${log}`);
    const ok = await fetch(`http://${addr}/topom/model`, { signal: AbortSignal.timeout(1000) })
      .then(
        async () =>
          (await api('GET', '/api/topom/xping/:xauth')).status === 200 &&
          (await api('GET', '/topom')).status === 200,
      )
      .catch(() => false);
    if (ok) return handle;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`codis-dashboard not serving within 20 s: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}
