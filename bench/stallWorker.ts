/**
 * Worker thread of the migration bench: PINGs each redis-server directly every `intervalMs` on
 * a connection of its own and records how long each PONG took. A MIGRATE (or any slow command)
 * blocks the server for everyone, so the longest PING wait on the source is its longest stall.
 * The worker's own timer lateness is recorded too: on a shared box it bounds the noise.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Histogram, type HistogramData } from './histogram.js';
import { PHASES, PhaseClock, wallMs } from './phase.js';
import { RespConn } from './resp.js';

export interface StallConfig {
  targets: { name: string; host: string; port: number }[];
  intervalMs: number;
  timeoutMs: number;
  phase: SharedArrayBuffer;
}

export interface StallPhase {
  rtt: HistogramData;
  /** When the longest wait of this phase began (ms since the epoch). */
  maxAt: number;
  failures: number;
}

export interface StallReport {
  /** By target name, then phase. */
  targets: Record<string, StallPhase[]>;
  /** Timer lateness of this worker (how late a 10 ms sleep woke up), per phase. */
  timerLag: HistogramData[];
}

const cfg = workerData as StallConfig;
const clock = new PhaseClock(cfg.phase);
const lag = PHASES.map(() => new Histogram());

async function probe(host: string, port: number): Promise<StallPhase[]> {
  const out = PHASES.map(() => ({ rtt: new Histogram(), maxAt: NaN, failures: 0 }));
  let conn: RespConn | undefined;
  while (!clock.stopped()) {
    const phase = clock.get();
    const p = out[phase]!;
    const t0 = wallMs();
    try {
      conn ??= await RespConn.open(host, port, cfg.timeoutMs);
      const r = await conn.call(['PING'], cfg.timeoutMs);
      if (r !== 'PONG') p.failures++;
    } catch {
      p.failures++;
      conn?.close();
      conn = undefined;
    }
    const ms = wallMs() - t0;
    if (!(ms <= p.rtt.maxUs / 1000)) p.maxAt = t0;
    p.rtt.record(ms);
    const wait = Math.max(0, cfg.intervalMs - ms);
    const s0 = wallMs();
    await new Promise((r) => setTimeout(r, wait));
    lag[phase]!.record(Math.max(0, wallMs() - s0 - wait));
  }
  conn?.close();
  return out.map((p) => ({ ...p, rtt: p.rtt.toJSON() }));
}

const results = await Promise.all(cfg.targets.map((t) => probe(t.host, t.port)));
const report: StallReport = {
  targets: Object.fromEntries(cfg.targets.map((t, i) => [t.name, results[i]!])),
  timerLag: lag.map((h) => h.toJSON()),
};
parentPort!.postMessage(report);
