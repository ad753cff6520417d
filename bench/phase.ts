/**
 * The phases of the migration bench, shared by the main thread and its workers through one
 * Int32 in a SharedArrayBuffer: every request and probe is counted in the phase current when
 * it started, with no message round trip at the boundaries.
 */
export const PHASES = ['warmup', 'before', 'during', 'after'] as const;
export type PhaseName = (typeof PHASES)[number];
/** The value that tells workers to finish their in-flight requests and report. */
export const STOP = PHASES.length;

export class PhaseClock {
  private readonly cell: Int32Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4)) {
    this.cell = new Int32Array(buffer);
  }

  get(): number {
    return Atomics.load(this.cell, 0);
  }

  set(phase: number): void {
    Atomics.store(this.cell, 0, phase);
  }

  stopped(): boolean {
    return this.get() >= STOP;
  }
}

/** Milliseconds since the epoch with sub-ms precision, comparable between threads. */
export const wallMs = (): number => performance.timeOrigin + performance.now();
