/**
 * Worker thread of the migration bench: `clients` connections to the proxy, each sending one
 * GET or SET (50/50) of a random preloaded key at a time. Closed loop (the next request as soon
 * as the reply came) when `rate` is 0; else paced so that all clients together offer `rate`
 * requests per second, a steady load that leaves the machine room to show real stalls.
 * Its own event loop, so the dashboard polling in the main thread does not add to latencies.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Histogram, type HistogramData } from './histogram.js';
import { PHASES, PhaseClock, wallMs } from './phase.js';
import { RespConn } from './resp.js';
import { benchKey } from './servers.js';
import { slotOf } from '../src/proxy/hash.js';

export interface LoadConfig {
  host: string;
  port: number;
  clients: number;
  keys: number;
  valueBytes: number;
  /** Requests per second offered by all clients together; 0: closed loop. */
  rate: number;
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

/** A request that waited past SLOW_MS: when, how long, and the slot of its key. */
export interface SlowRequest {
  t: number;
  ms: number;
  slot: number;
}

export interface LoadReport {
  phases: PhaseLoad[];
  /** The first requests that took over SLOW_MS. */
  slow: SlowRequest[];
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
const SLOW_MS = 50;
const slow: SlowRequest[] = [];

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

/** ms between two requests of one client when paced (0: closed loop). */
const interval = cfg.rate > 0 ? (cfg.clients * 1000) / cfg.rate : 0;

/** Waits for the client's next turn; a client that fell behind restarts from now instead of bursting. */
async function pace(next: number): Promise<number> {
  const now = wallMs();
  if (next > now) await new Promise((r) => setTimeout(r, next - now));
  return Math.max(next, now - interval) + interval;
}

async function client(): Promise<void> {
  let conn: RespConn | undefined;
  let next = wallMs() + Math.random() * interval;
  while (!clock.stopped()) {
    if (interval > 0) {
      next = await pace(next);
      if (clock.stopped()) break;
    }
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
    if (ms > SLOW_MS && slow.length < 200) slow.push({ t: t0, ms, slot: slotOf(key) });
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
  slow,
  errorSamples: [...errorSamples].map(([m, n]) => `${n} × ${m}`),
  reconnects,
};
parentPort!.postMessage(report);
