/**
 * The `runtime` part of Codis's proxy stats (Go's runtime.MemStats there): this process's heap
 * and its garbage collections, observed as they happen, so an operator can tell GC pauses from
 * slow backends.
 */
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

export interface RuntimeJson {
  general: { alloc: number; sys: number; lookups: number; mallocs: number; frees: number };
  heap: { alloc: number; sys: number; idle: number; inuse: number; objects: number };
  /** `num_major`: the full (mark-compact) collections among `num`. */
  gc: { num: number; num_major: number; cpu_fraction: number; total_pausems: number };
  num_procs: number;
  num_goroutines: number;
  num_cgo_call: number;
  mem_offheap: number;
}

export class Runtime {
  private num = 0;
  private major = 0;
  private pauseMs = 0;
  private readonly since = performance.now();
  private readonly observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) this.count(e);
  });

  constructor() {
    this.observer.observe({ entryTypes: ['gc'] });
  }

  private count(e: PerformanceEntry): void {
    this.num++;
    this.pauseMs += e.duration;
    const kind = (e as { detail?: { kind?: number } }).detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) this.major++;
  }

  toJson(): RuntimeJson {
    const m = process.memoryUsage();
    const upMs = performance.now() - this.since;
    return {
      general: { alloc: m.heapUsed, sys: m.rss, lookups: 0, mallocs: 0, frees: 0 },
      heap: {
        alloc: m.heapUsed,
        sys: m.heapTotal,
        idle: m.heapTotal - m.heapUsed,
        inuse: m.heapUsed,
        objects: 0,
      },
      gc: {
        num: this.num,
        num_major: this.major,
        // Of the wall time since start: a proxy process runs its JavaScript on one thread.
        cpu_fraction: upMs > 0 ? this.pauseMs / upMs : 0,
        total_pausems: Math.round(this.pauseMs),
      },
      num_procs: 1,
      num_goroutines: 0,
      num_cgo_call: 0,
      mem_offheap: m.external + m.arrayBuffers,
    };
  }

  close(): void {
    this.observer.disconnect();
  }
}

/** The runtime of a proxy made of several processes: sums, and the mean GC fraction. */
export function mergeRuntime(parts: readonly RuntimeJson[]): RuntimeJson {
  const sum = (f: (r: RuntimeJson) => number): number => parts.reduce((a, r) => a + f(r), 0);
  const heap = {
    alloc: sum((r) => r.heap.alloc),
    sys: sum((r) => r.heap.sys),
    idle: sum((r) => r.heap.idle),
    inuse: sum((r) => r.heap.inuse),
    objects: 0,
  };
  return {
    general: { alloc: heap.alloc, sys: sum((r) => r.general.sys), lookups: 0, mallocs: 0, frees: 0 },
    heap,
    gc: {
      num: sum((r) => r.gc.num),
      num_major: sum((r) => r.gc.num_major),
      cpu_fraction: parts.length > 0 ? sum((r) => r.gc.cpu_fraction) / parts.length : 0,
      total_pausems: sum((r) => r.gc.total_pausems),
    },
    num_procs: sum((r) => r.num_procs),
    num_goroutines: 0,
    num_cgo_call: 0,
    mem_offheap: sum((r) => r.mem_offheap),
  };
}
