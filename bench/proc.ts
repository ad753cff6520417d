/**
 * Process plumbing for the bench: every child and temp dir is registered so that a normal end,
 * a thrown error or Ctrl-C all leave nothing behind.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { createServer, connect, type Server } from 'node:net';

const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let stopping = false;

/** True once Ctrl-C (or SIGTERM) arrived: nothing new may start, failures are expected. */
export const isStopping = (): boolean => stopping;

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Spawns a registered child: it is SIGKILLed if the bench exits before it does. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  if (stopping) throw new Error('bench is stopping');
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...opts });
  children.add(child);
  child.once('exit', () => children.delete(child));
  // ENOENT etc. arrive as 'error'; without a listener they would crash the bench.
  child.once('error', () => children.delete(child));
  return child;
}

export function trackDir(dir: string): void {
  dirs.add(dir);
}

export function isRunning(child: ChildProcess): boolean {
  return child.exitCode === null && child.signalCode === null;
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: ChildProcess, graceMs = 3000): Promise<void> {
  if (!isRunning(child)) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(t);
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);
}

/** Synchronous: it must also work from the 'exit' event, which cannot await. */
export function killAllSync(): void {
  for (const c of children) if (isRunning(c)) c.kill('SIGKILL');
  children.clear();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  dirs.clear();
}

export function installCleanupHooks(): void {
  process.on('exit', killAllSync);
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      stopping = true;
      process.stderr.write(`\nbench: ${sig}, stopping servers and proxies\n`);
      // Reap the killed children before exiting, or they linger as zombies under init.
      const exits = [...children].map((c) => new Promise((r) => c.once('exit', r)));
      killAllSync();
      void Promise.race([Promise.all(exits), sleep(2000)]).then(() => process.exit(130));
    });
  }
}

function listen(): Promise<Server> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1', exclusive: true }, () => resolve(srv));
  });
}

/** `n` distinct free loopback ports (all held until all are picked, so none repeats). */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let i = 0; i < n; i++) servers.push(await listen());
    return servers.map((s) => (s.address() as { port: number }).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}

export function waitForPort(port: number, ms = 15_000, host = '127.0.0.1'): Promise<void> {
  const until = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = (): void => {
      const s = connect(port, host);
      s.once('connect', () => {
        s.destroy();
        resolve();
      });
      s.once('error', () => {
        s.destroy();
        if (Date.now() > until) reject(new Error(`${host}:${port} did not open within ${ms} ms`));
        else setTimeout(attempt, 50);
      });
    };
    attempt();
  });
}

/** The number after `key:` at the start of a line of a /proc file (NaN when missing). */
function field(text: string, key: string): number {
  return Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
}

/** VmRSS / VmHWM of a local process in bytes (undefined once it is gone). */
export function procMem(pid: number): { rss: number; hwm: number } | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/status`, 'utf8');
    return { rss: field(s, 'VmRSS') * 1024, hwm: field(s, 'VmHWM') * 1024 };
  } catch {
    return undefined;
  }
}

const TICKS_PER_SEC = 100; // USER_HZ on Linux

export interface CpuTimes {
  user: number;
  /** In the kernel: its system calls, and the loopback TCP done in them. */
  system: number;
}

/** User and system (kernel) CPU time of a process so far, ms (undefined off Linux or once it is gone). */
export function cpuTimes(pid: number): CpuTimes | undefined {
  try {
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { user: (Number(f[11]) * 1000) / TICKS_PER_SEC, system: (Number(f[12]) * 1000) / TICKS_PER_SEC };
  } catch {
    return undefined;
  }
}

/** User + system CPU time of a process so far, ms. */
export function cpuMs(pid: number): number | undefined {
  const t = cpuTimes(pid);
  return t === undefined ? undefined : t.user + t.system;
}

/**
 * read and write system calls a process has made so far (/proc/PID/io syscr + syscw: read,
 * readv, write, writev and the like; not epoll or sendmsg). Undefined off Linux or once it is gone.
 */
export function ioCalls(pid: number): number | undefined {
  try {
    const io = readFileSync(`/proc/${pid}/io`, 'utf8');
    const calls = field(io, 'syscr') + field(io, 'syscw');
    return Number.isFinite(calls) ? calls : undefined;
  } catch {
    return undefined;
  }
}

/** The child processes of `pid` (a proxy's workers); none when it has none or is gone. */
export function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** cpuTimes of a process and its children (a proxy's workers) together, each read once. */
export function treeCpuTimes(pid: number): CpuTimes | undefined {
  const sum = cpuTimes(pid);
  if (sum === undefined) return undefined;
  for (const c of childPids(pid)) {
    const t = cpuTimes(c);
    sum.user += t?.user ?? 0;
    sum.system += t?.system ?? 0;
  }
  return sum;
}

/** `of` for a process and its children (a proxy's workers) together. */
export function treeSum(of: (pid: number) => number | undefined, pid: number): number | undefined {
  const own = of(pid);
  if (own === undefined) return undefined;
  return childPids(pid).reduce((sum, c) => sum + (of(c) ?? 0), own);
}

/**
 * CPU time the whole machine has spent busy so far, ms, over all cores: user, nice, system, irq,
 * softirq and steal from /proc/stat (undefined off Linux).
 */
export function machineBusyMs(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    const ticks = user! + nice! + system! + irq! + softirq! + (steal ?? 0);
    return Number.isFinite(ticks) ? (ticks * 1000) / TICKS_PER_SEC : undefined;
  } catch {
    return undefined;
  }
}

/** Runs a command to completion and returns its stdout ('' if it cannot run). */
export function capture(cmd: string, args: string[], timeoutMs = 5000): Promise<string> {
  return new Promise((resolve) => {
    const child = spawnTracked(cmd, args);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', () => resolve(''));
    child.once('close', () => {
      clearTimeout(t);
      resolve(out.trim());
    });
  });
}
