/** Proxy memory: peak RSS while the workloads run, and RSS cost of idle client connections. */
import { connect, type Socket } from 'node:net';
import { procMem, sleep } from './proc.js';
import { proxyStats, statsRss, type ProxyProc, type ProxyStatsSample } from './servers.js';

const MB = 1024 * 1024;

/** The proxy's garbage collections over a run, and the commands it served meanwhile. */
export interface GcTotals {
  num: number;
  major: number;
  pauseMs: number;
  ops: number;
}

/**
 * Polls the proxy's RSS. VmHWM is the kernel's exact high-water mark; the admin API's rusage.mem is
 * sampled once a second and kept as a cross-check (and as the only source if /proc is unreadable).
 * The first and last stats of each process give its garbage collections over the run.
 */
export class PeakRss {
  hwm = 0;
  statsMax = 0;
  private procs: ProxyProc[] = [];
  private readonly first = new Map<ProxyProc, ProxyStatsSample>();
  private readonly last = new Map<ProxyProc, ProxyStatsSample>();
  private timer: NodeJS.Timeout | undefined;

  watch(p: ProxyProc): void {
    this.procs.push(p);
    this.timer ??= setInterval(() => void this.sample(), 500);
  }

  private async sample(): Promise<void> {
    for (const p of this.procs) {
      const m = procMem(p.pid);
      if (m) this.hwm = Math.max(this.hwm, m.hwm);
      const s = await proxyStats(p.admin);
      if (s === undefined) continue;
      this.statsMax = Math.max(this.statsMax, s.mem);
      if (!this.first.has(p)) this.first.set(p, s);
      this.last.set(p, s);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.sample();
  }

  /** Summed over the processes watched, from each one's first stats to its last. */
  gc(): GcTotals {
    const t = { num: 0, major: 0, pauseMs: 0, ops: 0 };
    for (const [p, a] of this.first) {
      const b = this.last.get(p)!;
      t.num += b.gc.num - a.gc.num;
      t.major += b.gc.major - a.gc.major;
      t.pauseMs += b.gc.pauseMs - a.gc.pauseMs;
      t.ops += b.ops - a.ops;
    }
    return t;
  }
}

export interface IdleResult {
  conns: number;
  beforeMB: number;
  afterMB: number;
  /** RSS growth per 1,000 connections, from /proc VmRSS. */
  perThousandMB: number;
  /** The same from the admin API's rusage.mem. */
  statsPerThousandMB: number | undefined;
}

/** Waits until VmRSS stops moving (3 reads 500 ms apart within 256 KiB), at most `maxMs`. */
async function settledRss(pid: number, maxMs = 10_000): Promise<number> {
  const reads: number[] = [];
  const until = Date.now() + maxMs;
  while (Date.now() < until) {
    reads.push(procMem(pid)?.rss ?? NaN);
    const last = reads.slice(-3);
    if (last.length === 3 && Math.max(...last) - Math.min(...last) < 256 * 1024) break;
    await sleep(500);
  }
  return reads[reads.length - 1]!;
}

/** rusage.mem is refreshed once a second: wait for two fresh samples and take the later one. */
async function settledStats(admin: string): Promise<number | undefined> {
  await sleep(1100);
  await statsRss(admin);
  await sleep(1100);
  return statsRss(admin);
}

/** Opens a connection and waits for +PONG, so the proxy has a live session for it. */
function pingedSocket(port: number, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1');
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no PONG within ${timeoutMs} ms`));
    }, timeoutMs);
    s.once('connect', () => s.write('*1\r\n$4\r\nPING\r\n'));
    s.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        clearTimeout(t);
        s.removeAllListeners('data');
        if (got.startsWith('+PONG')) resolve(s);
        else reject(new Error(`PING answered ${JSON.stringify(got.slice(0, 100))}`));
      }
    });
    s.once('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/** RSS growth of a proxy when `conns` clients connect, PING once, and then sit idle. */
export async function idleConnections(p: ProxyProc, conns: number): Promise<IdleResult> {
  // One round trip first so lazily created state (backend conns, JIT) is not billed to the idle conns.
  (await pingedSocket(p.port, 5000)).destroy();
  const before = await settledRss(p.pid);
  const statsBefore = await settledStats(p.admin);
  const socks: Socket[] = [];
  try {
    // Batches of 100 keep the listen backlog from overflowing (SYN retries would add seconds).
    for (let i = 0; i < conns; i += 100) {
      const n = Math.min(100, conns - i);
      const batch = await Promise.allSettled(Array.from({ length: n }, () => pingedSocket(p.port, 10_000)));
      for (const r of batch) if (r.status === 'fulfilled') socks.push(r.value);
      const bad = batch.find((r) => r.status === 'rejected');
      if (bad) throw new Error(`connection ${socks.length + 1} of ${conns}: ${String(bad.reason)}`);
    }
    const after = await settledRss(p.pid);
    const statsAfter = await settledStats(p.admin);
    const k = 1000 / conns;
    return {
      conns,
      beforeMB: before / MB,
      afterMB: after / MB,
      perThousandMB: ((after - before) * k) / MB,
      statsPerThousandMB:
        statsBefore !== undefined && statsAfter !== undefined
          ? ((statsAfter - statsBefore) * k) / MB
          : undefined,
    };
  } finally {
    for (const s of socks) s.destroy();
  }
}
