/**
 * Migration progress people can read: per slot (state, keys moved, keys found by the last full
 * pass, an estimate of the keys left, bytes, rate, ETA), per source (pass, database, keys
 * scanned, longest stall), and a summary with a status line. Numbers are live: a pass fills its
 * PassResult as it goes and this reads it.
 *
 * Keys left: before the first full pass of a slot, the source's keys divided by the slots it
 * holds, minus the keys moved; after a pass, the keys it found and did not move. Rates are over
 * the last 10 s; ETA = keys left / keys per second (or, when only a verifying pass is left, the
 * time to scan the rest of the source).
 */
import type { PassResult } from './SlotMover.js';

const WINDOW_MS = 10_000;

export interface SlotJob {
  sid: number;
  from: number;
  to: number;
  /** The migration was turned around by an abort. */
  reversed: boolean;
  started: number;
  passes: number;
  /** Keys and bytes moved by finished passes. */
  moved: number;
  bytes: number;
  /** Keys found (and not moved) by the last full pass; null before one. */
  foundLast: number | null;
  leftLast: number | null;
  /** Estimated keys of the slot when it started. */
  estimate: number;
  /** The pass running now, if any. */
  live?: PassResult;
}

export interface SourceState {
  gid: number;
  addr: string;
  passes: number;
  keys: number;
  live?: PassResult;
  passStarted: number;
  longestStallMs: number;
  error: string;
}

type Sample = [t: number, keys: number, bytes: number];

function rate(samples: Sample[]): [number, number] {
  if (samples.length < 2) return [0, 0];
  const a = samples[0]!;
  const b = samples[samples.length - 1]!;
  const dt = (b[0] - a[0]) / 1000;
  return dt <= 0 ? [0, 0] : [(b[1] - a[1]) / dt, (b[2] - a[2]) / dt];
}

function push(samples: Sample[], s: Sample): void {
  samples.push(s);
  while (samples.length > 2 && s[0] - samples[0]![0] > WINDOW_MS) samples.shift();
}

export class MigrationProgress {
  readonly jobs = new Map<number, SlotJob>();
  readonly sources = new Map<number, SourceState>();
  /** Totals since the dashboard started (finished slots included). */
  keysMoved = 0;
  bytesMoved = 0;
  slotsDone = 0;
  longestStallMs = 0;
  private readonly samples: Sample[] = [];
  private readonly slotSamples = new Map<number, Sample[]>();

  start(job: Omit<SlotJob, 'started' | 'passes' | 'moved' | 'bytes' | 'foundLast' | 'leftLast'>): SlotJob {
    const j: SlotJob = {
      ...job,
      started: Date.now(),
      passes: 0,
      moved: 0,
      bytes: 0,
      foundLast: null,
      leftLast: null,
    };
    this.jobs.set(j.sid, j);
    return j;
  }

  drop(sid: number, done: boolean): void {
    const j = this.jobs.get(sid);
    if (!j) return;
    this.fold(j);
    this.jobs.delete(sid);
    this.slotSamples.delete(sid);
    if (done) this.slotsDone++;
  }

  source(gid: number, addr: string): SourceState {
    let s = this.sources.get(gid);
    if (!s)
      this.sources.set(
        gid,
        (s = { gid, addr, passes: 0, keys: 0, passStarted: 0, longestStallMs: 0, error: '' }),
      );
    s.addr = addr;
    return s;
  }

  passStarted(src: SourceState, result: PassResult, jobs: SlotJob[], keys: number): void {
    src.live = result;
    src.keys = keys;
    src.passStarted = Date.now();
    for (const j of jobs) j.live = result;
  }

  /** Folds a pass into the slots it served; a full one also gives what is left. */
  passEnded(src: SourceState, result: PassResult, jobs: SlotJob[], full: boolean): void {
    if (full) src.passes++;
    src.live = undefined;
    src.longestStallMs = Math.max(src.longestStallMs, result.longestStallMs);
    this.longestStallMs = Math.max(this.longestStallMs, result.longestStallMs);
    for (const j of jobs) {
      const p = result.slots.get(j.sid);
      if (j.live !== result) continue;
      this.fold(j);
      if (!full) continue;
      j.passes++;
      j.foundLast = p?.found ?? 0;
      j.leftLast = Math.max(0, (p?.found ?? 0) - (p?.moved ?? 0));
    }
  }

  /** Moves the live counts of a job's pass into its totals. */
  private fold(j: SlotJob): void {
    const p = j.live?.slots.get(j.sid);
    if (p) {
      j.moved += p.moved;
      j.bytes += p.bytes;
      this.keysMoved += p.moved;
      this.bytesMoved += p.bytes;
    }
    if (j.live) this.longestStallMs = Math.max(this.longestStallMs, j.live.longestStallMs);
    j.live = undefined;
  }

  private liveOf(j: SlotJob): { moved: number; bytes: number; found: number } {
    const p = j.live?.slots.get(j.sid);
    return { moved: j.moved + (p?.moved ?? 0), bytes: j.bytes + (p?.bytes ?? 0), found: p?.found ?? 0 };
  }

  keysLeft(j: SlotJob): number {
    const live = this.liveOf(j);
    const pass = live.moved - j.moved;
    if (j.leftLast === null) return Math.max(0, j.estimate - live.moved);
    return Math.max(0, j.leftLast - pass);
  }

  /** Records a sample for the rates (called about once a second). */
  tick(): void {
    const now = Date.now();
    let keys = this.keysMoved;
    let bytes = this.bytesMoved;
    for (const j of this.jobs.values()) {
      const live = this.liveOf(j);
      keys += live.moved - j.moved;
      bytes += live.bytes - j.bytes;
      let s = this.slotSamples.get(j.sid);
      if (!s) this.slotSamples.set(j.sid, (s = []));
      push(s, [now, live.moved, live.bytes]);
    }
    push(this.samples, [now, keys, bytes]);
  }

  /** Seconds until the running slots are done, or null when unknown. */
  eta(keysLeft: number): number | null {
    const [kps] = rate(this.samples);
    if (keysLeft > 0) return kps > 0 ? Math.ceil(keysLeft / kps) : null;
    let eta = 0;
    for (const s of this.sources.values()) {
      if (!s.live) continue;
      const secs = (Date.now() - s.passStarted) / 1000;
      const speed = secs > 0 ? s.live.scanned / secs : 0;
      if (speed <= 0) return null;
      eta = Math.max(eta, Math.ceil(Math.max(0, s.keys - s.live.scanned) / speed));
    }
    return eta;
  }

  slotJson(j: SlotJob, state: string): Record<string, unknown> {
    const live = this.liveOf(j);
    const [kps, bps] = rate(this.slotSamples.get(j.sid) ?? []);
    const left = this.keysLeft(j);
    return {
      id: j.sid,
      state,
      from: j.from,
      to: j.to,
      ...(j.reversed ? { reversed: true } : {}),
      pass: j.passes + (j.live ? 1 : 0),
      keys_moved: live.moved,
      found_last_pass: j.foundLast,
      found_this_pass: live.found,
      keys_left: left,
      bytes: live.bytes,
      keys_per_sec: Math.round(kps),
      bytes_per_sec: Math.round(bps),
      eta_seconds: left > 0 ? (kps > 0 ? Math.ceil(left / kps) : null) : 0,
      elapsed_ms: Date.now() - j.started,
    };
  }

  /** Totals, rates and ETA (null: unknown, e.g. slots wait to start); `pending` slots hold keysLeftPending. */
  summary(keysLeftPending: number, pending = 0): Record<string, unknown> {
    let left = keysLeftPending;
    let running = 0;
    for (const j of this.jobs.values()) {
      left += this.keysLeft(j);
      running++;
    }
    const [kps, bps] = rate(this.samples);
    let keys = this.keysMoved;
    let bytes = this.bytesMoved;
    for (const j of this.jobs.values()) {
      const live = this.liveOf(j);
      keys += live.moved - j.moved;
      bytes += live.bytes - j.bytes;
    }
    let stall = this.longestStallMs;
    for (const s of this.sources.values()) stall = Math.max(stall, s.live?.longestStallMs ?? 0);
    return {
      running,
      slots_done: this.slotsDone,
      keys_moved: keys,
      bytes_moved: bytes,
      keys_left: left,
      keys_per_sec: Math.round(kps),
      bytes_per_sec: Math.round(bps),
      eta_seconds: running > 0 ? this.eta(left) : pending > 0 ? null : 0,
      longest_stall_ms: stall,
    };
  }

  sourcesJson(): Record<string, unknown>[] {
    return [...this.sources.values()].map((s) => ({
      group_id: s.gid,
      addr: s.addr,
      passes: s.passes,
      scanning: s.live ? { db: s.live.db, scanned: s.live.scanned, of: s.keys } : null,
      longest_stall_ms: Math.max(s.longestStallMs, s.live?.longestStallMs ?? 0),
      ...(s.error ? { error: s.error } : {}),
    }));
  }
}

/** `12.3k`, `4.5M`: short numbers for status lines. */
export function short(n: number): string {
  if (n < 1000) return String(Math.round(n));
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`;
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`;
  return `${(n / 1e9).toFixed(1)}G`;
}

export function shortBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MB`;
  return `${(n / 1024 ** 3).toFixed(1)} GB`;
}

export function shortDuration(s: number | null): string {
  if (s === null) return '?';
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
