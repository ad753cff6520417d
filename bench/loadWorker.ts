/**
 * Worker thread of the migration bench: `clients` closed-loop connections to the proxy, each
 * sending one GET or SET (50/50) of a random preloaded key as soon as the previous reply came.
 * Its own event loop, so the dashboard polling in the main thread does not add to latencies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Histogram, type HistogramData } from './histogram.js';
import { PHASES, PhaseClock, wallMs } from './phase.js';
import { RespConn } from './resp.js';
import { benchKey } from './servers.js';

export interface LoadConfig {
  host: string;
  port: number;
  clients: number;
  keys: number;
  valueBytes: number;
  timeoutMs: number;
  phase: SharedArrayBuffer;
}

export interface LoadSecond {
  /** Start of this second, ms since the epoch. */
  t: number;
  ops: number;
  errors: number;
  maxMs: number;
}

export interface PhaseLoad {
  latency: HistogramData;
  ops: number;
  errors: number;
  /** GETs answered nil or with a value of the wrong size: every key exists, so a miss is a loss. */
  misses: number;
  /** Wall time of the first and last request started in this phase. */
  first: number;
  last: number;
}

export interface LoadReport {
  phases: PhaseLoad[];
  seconds: LoadSecond[];
  errorSamples: string[];
  reconnects: number;
}

const cfg = workerData as LoadConfig;
const clock = new PhaseClock(cfg.phase);
const value = Buffer.alloc(cfg.valueBytes, 'v');
const started = Math.floor(wallMs() / 1000) * 1000;
const hists = PHASES.map(() => new Histogram());
const phases = PHASES.map((): Omit<PhaseLoad, 'latency'> => ({
  ops: 0,
  errors: 0,
  misses: 0,
  first: NaN,
  last: NaN,
}));
const seconds: LoadSecond[] = [];
const errorSamples = new Map<string, number>();
let reconnects = 0;

function second(t: number): LoadSecond {
  const i = Math.floor((t - started) / 1000);
  while (seconds.length <= i)
    seconds.push({ t: started + seconds.length * 1000, ops: 0, errors: 0, maxMs: 0 });
  return seconds[i]!;
}

function noteError(msg: string): void {
  // Keep the first few distinct messages; digits vary (slot ids, addresses), so fold them.
  const key = msg.replace(/\d+/g, 'N').slice(0, 160);
  if (errorSamples.has(key) || errorSamples.size < 8) errorSamples.set(key, (errorSamples.get(key) ?? 0) + 1);
}

async function client(): Promise<void> {
  let conn: RespConn | undefined;
  while (!clock.stopped()) {
    if (!conn) {
      try {
        conn = await RespConn.open(cfg.host, cfg.port, cfg.timeoutMs);
      } catch (e) {
        noteError(`connect: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
    }
    const phase = clock.get();
    const key = benchKey(Math.floor(Math.random() * cfg.keys));
    const get = Math.random() < 0.5;
    const t0 = wallMs();
    let failed = false;
    let miss = false;
    try {
      const r = await conn.call(get ? ['GET', key] : ['SET', key, value], cfg.timeoutMs);
      if (r instanceof Error) {
        failed = true;
        noteError(r.message);
      } else if (get) miss = !Buffer.isBuffer(r) || r.length !== cfg.valueBytes;
      else if (r !== 'OK') {
        failed = true;
        noteError(`SET replied ${String(r)}`);
      }
    } catch (e) {
      failed = true;
      noteError((e as Error).message);
      conn.close();
      conn = undefined;
      reconnects++;
    }
    const t1 = wallMs();
    const ms = t1 - t0;
    hists[phase]!.record(ms);
    const p = phases[phase]!;
    p.ops++;
    if (failed) p.errors++;
    if (miss) p.misses++;
    if (!(p.first <= t0)) p.first = t0;
    p.last = t0;
    const s = second(t1);
    s.ops++;
    if (failed) s.errors++;
    if (ms > s.maxMs) s.maxMs = ms;
  }
  conn?.close();
}

await Promise.all(Array.from({ length: cfg.clients }, () => client()));
const report: LoadReport = {
  phases: phases.map((p, i) => ({ ...p, latency: hists[i]!.toJSON() })),
  seconds,
  errorSamples: [...errorSamples].map(([m, n]) => `${n} × ${m}`),
  reconnects,
};
parentPort!.postMessage(report);
