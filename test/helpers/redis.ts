/**
 * Real redis-server processes for integration tests: free loopback port, private temp dir, readiness
 * by PING, and no leaks (every live server is SIGKILLed and its dir removed when the test process exits).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { RedisError, RespClient, type Arg, type Reply } from './resp-client.js';

export interface RedisOptions {
  /** Extra redis-server arguments, after ours (so they win), e.g. ['--maxmemory', '10mb']. */
  args?: string[];
  /** Sets requirepass and masterauth; call() and connect() authenticate with it. */
  password?: string;
  /** A fixed port instead of a free one (no retry on EADDRINUSE). */
  port?: number;
  /** Bound on the readiness wait. Default 10 000 ms. */
  startTimeoutMs?: number;
}

export interface RedisServer {
  readonly port: number;
  /** `127.0.0.1:PORT` */
  readonly addr: string;
  /** pid of the current (or last) process. */
  readonly pid: number;
  readonly dir: string;
  readonly password: string | undefined;
  readonly running: boolean;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), remove the temp dir. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit; the dir is kept so that restart() works. */
  kill(): Promise<void>;
  /** Stops the process if running (SIGTERM) and starts a new one on the same port and dir. */
  restart(): Promise<void>;
  /** SIGSTOP / SIGCONT: the server keeps its connections but answers nothing. */
  pause(): void;
  resume(): void;
  /** A command on a shared connection (reconnected as needed); error replies resolve as RedisError. */
  call(...args: Arg[]): Promise<Reply>;
  /** A new authenticated connection, owned by the caller. */
  connect(): Promise<RespClient>;
  /** The server's recent stdout/stderr. */
  logs(): string;
}

const BIN =
  process.env.REDIS_SERVER ??
  (existsSync('/usr/bin/redis-server') ? '/usr/bin/redis-server' : 'redis-server');
const LOG_LIMIT = 64 * 1024;
const live = new Set<RedisProcess>();
let hooksInstalled = false;

/** Synchronous last-resort cleanup: 'exit' handlers cannot await. */
function killAllSync(): void {
  for (const r of live) r.killSync();
  live.clear();
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  // A test that forgot stop(): the loop is empty (children are unref'd), so stop them properly here,
  // which also reaps them; 'exit' (e.g. after process.exit()) can only SIGKILL.
  process.on('beforeExit', () => {
    const running = [...live].filter((r) => r.running);
    if (running.length > 0) void Promise.all(running.map((r) => r.stop().catch(() => undefined)));
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      killAllSync();
      // Keep the default action (exit by signal) unless someone else handles it.
      if (process.listenerCount(sig) === 0) process.kill(process.pid, sig);
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class StartError extends Error {
  constructor(
    message: string,
    readonly addrInUse: boolean,
  ) {
    super(message);
  }
}

class RedisProcess implements RedisServer {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private output = '';
  private client: Promise<RespClient> | undefined;
  private lastPid = 0;
  private stopped = false;

  constructor(
    public port: number,
    readonly dir: string,
    readonly password: string | undefined,
    private readonly extraArgs: string[],
    private readonly startTimeoutMs: number,
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  get pid(): number {
    return this.lastPid;
  }

  get running(): boolean {
    const c = this.child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  logs(): string {
    return this.output;
  }

  /** Spawns redis-server and waits until it answers PING as itself. */
  async spawn(): Promise<void> {
    // prettier-ignore
    const args = [
      '--port', String(this.port),
      '--bind', '127.0.0.1',
      '--save', '',
      '--appendonly', 'no',
      '--repl-diskless-sync-delay', '0',
      '--dir', this.dir,
      '--daemonize', 'no',
      '--enable-debug-command', 'local',
      ...(this.password !== undefined ? ['--requirepass', this.password, '--masterauth', this.password] : []),
      ...this.extraArgs,
    ];
    this.output = '';
    const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    installHooks();
    live.add(this);
    const keep = (b: Buffer): void => {
      this.output = (this.output + b.toString('utf8')).slice(-LOG_LIMIT);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // A forgotten server must not keep the test process alive; the exit hook kills it.
    child.unref();
    (child.stdout as unknown as { unref?: () => void } | null)?.unref?.();
    (child.stderr as unknown as { unref?: () => void } | null)?.unref?.();
    this.exited = new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.once('error', (e) => {
        this.output += `\nspawn error: ${e.message}`;
        resolve();
      });
    });
    this.lastPid = child.pid ?? 0;
    await this.waitReady(child);
  }

  private async waitReady(child: ChildProcess): Promise<void> {
    const deadline = Date.now() + this.startTimeoutMs;
    let delay = 5;
    let exited = false;
    void this.exited.then(() => (exited = true));
    child.ref(); // keep the loop alive while waiting
    try {
      while (Date.now() < deadline) {
        if (exited || !this.running) {
          const inUse = /address already in use/i.test(this.output);
          throw new StartError(
            `redis-server on port ${this.port} exited (${child.exitCode ?? child.signalCode}): ${this.output.trim()}`,
            inUse,
          );
        }
        if (await this.answersAsSelf(child.pid ?? -1)) return;
        await Promise.race([sleep(delay), this.exited]);
        delay = Math.min(delay * 2, 100);
      }
      throw new StartError(`redis-server on port ${this.port} not ready in ${this.startTimeoutMs} ms`, false);
    } finally {
      child.unref();
    }
  }

  /** PONG from the process we spawned (another one may have won a port race). */
  private async answersAsSelf(pid: number): Promise<boolean> {
    let c: RespClient | undefined;
    try {
      c = await RespClient.connect(this.port, '127.0.0.1', {
        connectTimeoutMs: 1000,
        timeoutMs: 2000,
        password: this.password,
      });
      if ((await c.call('PING')) !== 'PONG') return false;
      const info = await c.call('INFO', 'server');
      return Buffer.isBuffer(info) && info.toString().includes(`\r\nprocess_id:${pid}\r\n`);
    } catch {
      return false;
    } finally {
      c?.destroy();
    }
  }

  /** Sends `sig` and waits for exit, escalating to SIGKILL after graceMs. */
  private async terminate(sig: NodeJS.Signals, graceMs = 5000): Promise<void> {
    const child = this.child;
    if (!child || !this.running) return;
    child.ref();
    try {
      child.kill(sig);
      if (sig !== 'SIGKILL') child.kill('SIGCONT'); // a paused server must run to handle SIGTERM
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), graceMs)));
      const ok = await Promise.race([this.exited.then(() => true), timeout]);
      clearTimeout(timer);
      if (!ok) {
        child.kill('SIGKILL');
        await this.exited;
      }
    } finally {
      child.unref();
    }
  }

  private async dropClient(): Promise<void> {
    const p = this.client;
    this.client = undefined;
    if (p) (await p.catch(() => undefined))?.destroy();
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.dropClient();
    await this.terminate('SIGTERM');
    live.delete(this);
    await rm(this.dir, { recursive: true, force: true });
  }

  async kill(): Promise<void> {
    await this.dropClient();
    await this.terminate('SIGKILL');
  }

  async restart(): Promise<void> {
    if (this.stopped) throw new Error('restart() after stop()');
    await this.dropClient();
    await this.terminate('SIGTERM');
    await this.spawn();
  }

  pause(): void {
    if (this.running) this.child!.kill('SIGSTOP');
  }

  resume(): void {
    if (this.running) this.child!.kill('SIGCONT');
  }

  connect(): Promise<RespClient> {
    return RespClient.connect(this.port, '127.0.0.1', { password: this.password });
  }

  async call(...args: Arg[]): Promise<Reply> {
    let client = this.client ? await this.client.catch(() => undefined) : undefined;
    if (!client || client.closed) {
      this.client = this.connect();
      client = await this.client;
    }
    return client.call(...args);
  }

  killSync(): void {
    if (this.running) {
      try {
        process.kill(this.child!.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Starts a redis-server on a free 127.0.0.1 port (retrying if another process takes the port first). */
export async function startRedis(opts: RedisOptions = {}): Promise<RedisServer> {
  const dir = await mkdtemp(join(tmpdir(), 'codis-ts-redis-'));
  const attempts = opts.port === undefined ? 5 : 1;
  for (let i = 1; ; i++) {
    const port = opts.port ?? (await freePort());
    const r = new RedisProcess(port, dir, opts.password, opts.args ?? [], opts.startTimeoutMs ?? 10_000);
    try {
      await r.spawn();
      return r;
    } catch (e) {
      await r.kill().catch(() => undefined);
      live.delete(r);
      if (i < attempts && e instanceof StartError && e.addrInUse) continue;
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }
}

/** Runs fn with n fresh servers and always stops them. */
export async function withRedis<T>(
  n: number,
  fn: (servers: RedisServer[]) => Promise<T>,
  opts: RedisOptions = {},
): Promise<T> {
  const started = await Promise.allSettled(Array.from({ length: n }, () => startRedis(opts)));
  const servers = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  try {
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    return await fn(servers);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

/** Calls of `cmd` (lower case) on a server since it started or its last CONFIG RESETSTAT. */
export async function commandCalls(server: RedisServer, cmd: string): Promise<number> {
  const info = String(await server.call('INFO', 'commandstats'));
  return Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(info)?.[1] ?? 0);
}

export { RedisError, RespClient, type Arg, type Reply };
