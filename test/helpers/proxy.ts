/**
 * A real codis-proxy process (bin/codis-proxy) on free loopback ports, for integration tests.
 * Slots are either given as a static table (--fillslots) or spread evenly over `backends`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PROXY_BIN, PROXY_NODE_FLAGS, ROOT } from '../../bench/servers.js';
import { slotOf } from '../../src/proxy/hash.js';
import { proxyXAuth } from '../../src/utils/xauth.js';
import { freePort } from './ports.js';
import { RespClient, type ClientOptions } from './resp-client.js';
import { startRedis, type RedisServer } from './redis.js';
import { after, before } from 'node:test';

export { PROXY_BIN, PROXY_NODE_FLAGS, ROOT };

export interface SlotSpec {
  id: number;
  backend_addr?: string;
  backend_addr_group_id?: number;
  migrate_from?: string;
  migrate_from_group_id?: number;
  migrate_bigkey_elements?: number;
  migrate_bigkey_bytes?: number;
  locked?: boolean;
  replica_groups?: string[][];
}

export interface ProxyOptions {
  /** Slots 0..1023 spread in equal ranges over these addresses (group ids 1..n). */
  backends?: string[];
  /** A static slot table instead (--fillslots). */
  slots?: SlotSpec[];
  /** Extra proxy.toml lines, e.g. `session_auth = "pw"`. */
  config?: Record<string, string | number | boolean>;
  /** Extra command-line flags. */
  args?: string[];
  /** Do not fill slots / go online. */
  offline?: boolean;
  /** Fixed ports (e.g. to restart a proxy at the same address); free ones otherwise. */
  port?: number;
  adminPort?: number;
  /** Listen for clients on this unix socket (proto_type "unix") instead of a TCP port. */
  unixPath?: string;
}

export interface ProxyProcess {
  readonly port: number;
  readonly adminPort: number;
  readonly admin: string;
  readonly child: ChildProcess;
  connect(opts?: ClientOptions): Promise<RespClient>;
  logs(): string;
  /** The first match of `pattern` in what the proxy logs from this call on. */
  nextLog(pattern: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** SIGTERM and wait for exit. */
  stop(): Promise<void>;
  kill(): Promise<void>;
  exited: Promise<number | null>;
}

/** Proxies still running when the test process exits are killed, never leaked. */
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function evenSlots(backends: string[]): SlotSpec[] {
  const per = Math.ceil(1024 / backends.length);
  return Array.from({ length: 1024 }, (_, id) => {
    const g = Math.floor(id / per);
    return { id, backend_addr: backends[g], backend_addr_group_id: g + 1 };
  });
}

/** `evenSlots` over the servers, with `slot` migrating to its owner from `source` (group 3). */
export function slotsMigrating(
  servers: readonly { addr: string }[],
  slot: number,
  source: string,
): SlotSpec[] {
  return evenSlots(servers.map((s) => s.addr)).map((s) =>
    s.id === slot ? { ...s, migrate_from: source, migrate_from_group_id: 3 } : s,
  );
}

/** Backend index that owns a key's slot under `evenSlots` (the default) over two backends. */
export const owner = (key: string | Buffer) => (slotOf(key) < 512 ? 0 : 1);
/** The first `${base}:N` owned by backend `b` (of two, slots split evenly). */
export function keyOn(base: string, b: number): string {
  for (let i = 0; ; i++) if (owner(`${base}:${i}`) === b) return `${base}:${i}`;
}

function tomlValue(v: string | number | boolean): string {
  return typeof v === 'string' ? JSON.stringify(v) : String(v);
}

/** Waits until a loopback TCP port (or a unix socket path) accepts connections. */
export function waitForPort(port: number | string, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((res, rej) => {
    const attempt = () => {
      const s = typeof port === 'string' ? net.connect(port) : net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        res();
      });
      s.once('error', () => {
        if (Date.now() > until) rej(new Error(`${port} did not open within ${ms} ms`));
        else setTimeout(attempt, 25);
      });
    };
    attempt();
  });
}

/** Until the proxy's admin API says it is online (no event tells it from outside). */
async function waitOnline(adminPort: number, ms = 10_000): Promise<void> {
  for (const deadline = Date.now() + ms; ;) {
    const stats = (await (await fetch(`http://127.0.0.1:${adminPort}/proxy/stats`)).json()) as {
      online?: boolean;
    };
    if (stats.online === true) return;
    if (Date.now() > deadline) throw new Error(`the proxy on admin port ${adminPort} did not go online`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function startProxy(opts: ProxyOptions = {}): Promise<ProxyProcess> {
  const dir = await mkdtemp(join(tmpdir(), 'codis-proxy-test-'));
  const port = opts.port ?? (await freePort());
  const adminPort = opts.adminPort ?? (await freePort());
  const settings: Record<string, string | number | boolean> = {
    product_name: 'test',
    proxy_addr: `127.0.0.1:${port}`,
    admin_addr: `127.0.0.1:${adminPort}`,
    ...(opts.unixPath !== undefined ? { proto_type: 'unix', proxy_addr: opts.unixPath } : {}),
    ...opts.config,
  };
  const lines = Object.entries(settings).map(([k, v]) => `${k} = ${tomlValue(v)}`);
  const conf = join(dir, 'proxy.toml');
  await writeFile(conf, lines.join('\n') + '\n');
  const args = [
    ...PROXY_NODE_FLAGS,
    PROXY_BIN,
    '--config',
    conf,
    '--log-level',
    'WARN',
    ...(opts.args ?? []),
  ];
  if (!opts.offline) {
    const slots = opts.slots ?? evenSlots(opts.backends ?? []);
    const file = join(dir, 'slots.json');
    await writeFile(file, JSON.stringify(slots));
    args.push('--fillslots', file);
  }
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);
  child.once('exit', () => live.delete(child));
  let log = '';
  // Each waiter of nextLog reads only what came after it started waiting.
  const waiters = new Set<(chunk: string) => void>();
  const onOut = (d: Buffer) => {
    const chunk = d.toString();
    log += chunk;
    if (log.length > 256 * 1024) log = log.slice(-128 * 1024);
    for (const w of waiters) w(chunk);
  };
  const nextLog = (pattern: RegExp, ms = 10_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      let seen = '';
      const timer = setTimeout(() => {
        waiters.delete(waiter);
        reject(new Error(`the proxy logged no ${pattern} within ${ms} ms; its log:\n${log.slice(-4000)}`));
      }, ms);
      const waiter = (chunk: string) => {
        seen += chunk;
        const m = pattern.exec(seen);
        if (m === null) return;
        clearTimeout(timer);
        waiters.delete(waiter);
        resolve(m);
      };
      waiters.add(waiter);
    });
  child.stdout!.on('data', onOut);
  child.stderr!.on('data', onOut);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const cleanup = () => rm(dir, { recursive: true, force: true });
  void exited.then(cleanup);
  try {
    const ready = async () => {
      await Promise.all([waitForPort(opts.unixPath ?? port), waitForPort(adminPort)]);
      // The ports open before --fillslots takes the proxy online: a client then would be told
      // the router is offline.
      if (!opts.offline) await waitOnline(adminPort);
    };
    await Promise.race([
      ready(),
      exited.then((code) => {
        throw new Error(`codis-proxy exited with ${code}: ${log}`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  let stopping = false;
  // A proxy that dies on its own fails the tests after it with bare ECONNREFUSED: its log says why.
  child.once('exit', (code, signal) => {
    if (!stopping && code !== 0) {
      process.stderr.write(
        `codis-proxy :${port} exited with ${code ?? signal}; its log:\n${log.slice(-16_000)}\n`,
      );
    }
  });
  const stopWith = async (sig: NodeJS.Signals) => {
    stopping = true;
    if (child.exitCode === null && child.signalCode === null) child.kill(sig);
    await exited;
  };
  return {
    port,
    adminPort,
    admin: `127.0.0.1:${adminPort}`,
    child,
    exited,
    connect: (o?: ClientOptions) =>
      opts.unixPath !== undefined
        ? RespClient.connectPath(opts.unixPath, o)
        : RespClient.connect(port, '127.0.0.1', o),
    logs: () => log,
    nextLog,
    stop: () => stopWith('SIGTERM'),
    kill: () => stopWith('SIGKILL'),
  };
}

/** The pids of a proxy's worker processes (`--ncpu`): the primary's children. */
/**
 * While `during` runs, 8 clients each connect, PING and close in a loop; returns the PONGs. A
 * connection lost with a dying worker (reset, or no answer within 500 ms) is passed over.
 */
export async function pingChurnDuring(proxy: ProxyProcess, during: () => Promise<void>): Promise<number> {
  let churning = true;
  let pongs = 0;
  const churner = async () => {
    while (churning) {
      try {
        const c = await proxy.connect({ timeoutMs: 500, connectTimeoutMs: 500 });
        if ((await c.call('PING')) === 'PONG') pongs++;
        c.destroy();
      } catch {
        // reset or timed out with the dying worker
      }
    }
  };
  const churn = Promise.all(Array.from({ length: 8 }, churner));
  try {
    await during();
  } finally {
    churning = false;
    await churn;
  }
  return pongs;
}

/** The processes that hold the listening socket of a TCP port (ss shows each one's descriptor). */
export function listeningPids(port: number): number[] {
  const out = execFileSync('ss', ['-tlnpH', `( sport = :${port} )`]).toString();
  return [...out.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1])).sort((a, b) => a - b);
}

export function workerPids(proxy: ProxyProcess): number[] {
  try {
    const out = execFileSync('pgrep', ['-P', String(proxy.child.pid)])
      .toString()
      .trim();
    return out.split('\n').map(Number);
  } catch {
    return []; // pgrep exits 1 when the primary has no child at that moment
  }
}

/**
 * PUT `/api/proxy/<op>/<xauth>[/<arg>]` on a proxy that `startProxy` started (product "test",
 * no product_auth).
 */
export async function putProxyAdmin(
  proxy: ProxyProcess,
  op: string,
  arg?: string,
  body?: unknown,
): Promise<Response> {
  const model = (await (await fetch(`http://${proxy.admin}/api/proxy/model`)).json()) as { token: string };
  const xauth = proxyXAuth('test', '', model.token);
  return fetch(`http://${proxy.admin}/api/proxy/${op}/${xauth}${arg === undefined ? '' : `/${arg}`}`, {
    method: 'PUT',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** Points one slot of a running proxy at `addr` (group `groupId`), as the dashboard's fillslots does. */
export async function fillSlot(
  proxy: ProxyProcess,
  slot: number,
  addr: string,
  groupId: number,
): Promise<void> {
  const spec = [{ id: slot, backend_addr: addr, backend_addr_group_id: groupId }];
  const res = await putProxyAdmin(proxy, 'fillslots', undefined, spec);
  if (res.status !== 200)
    throw new Error(`fillslots of slot ${slot}: HTTP ${res.status} ${await res.text()}`);
}

/** Two redis-servers and a proxy over them, as `proxyOverTwoGroups` keeps them. */
export interface TwoGroups {
  /** Group 1 (slots 0..511), then group 2 (512..1023). */
  readonly servers: readonly RedisServer[];
  readonly proxy: ProxyProcess;
  /** A client connected to the proxy, when asked for (`client: true`). */
  readonly client: RespClient;
}

/**
 * Registers the calling test file's `before` (two fresh redis-servers, a proxy with the slots
 * split evenly over them, and a client of it if `client`) and `after` (all stopped). Read the
 * fields once `before` ran.
 */
export function proxyOverTwoGroups(
  opts: Omit<ProxyOptions, 'backends'> & { client?: boolean } = {},
): TwoGroups {
  const { client: withClient = false, ...proxyOpts } = opts;
  let servers: RedisServer[] = [];
  let proxy: ProxyProcess | undefined;
  let client: RespClient | undefined;
  before(async () => {
    servers = await Promise.all([startRedis(), startRedis()]);
    proxy = await startProxy({ ...proxyOpts, backends: servers.map((s) => s.addr) });
    if (withClient) client = await proxy.connect();
  });
  after(async () => {
    client?.destroy();
    await proxy?.stop();
    await Promise.all(servers.map((s) => s.stop()));
  });
  return {
    get servers() {
      return servers;
    },
    get proxy() {
      return proxy!;
    },
    get client() {
      return client!;
    },
  };
}
