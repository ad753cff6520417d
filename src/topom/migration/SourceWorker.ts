/**
 * The migration of every slot leaving one source group: passes over the source master (one
 * SlotMover pass serves all of them, whatever their targets), then the slots a full pass found
 * no key of are completed together. A big key still being copied when a pass ends keeps its
 * slot for the next pass, while the other slots complete and new ones join. Slots join before
 * any pass (`add`) and can be taken out at any time (`detach`, then `quiesce` waits until no
 * batch can still move them). A failed pass or completion is reported and tried again 5 s
 * later; addresses are looked up again each time (a master may change).
 */
import { newPassResult, SlotMover, type MoverOptions } from './SlotMover.js';
import type { MigrationProgress, SlotJob } from './Progress.js';
import { sleep } from './RateLimiter.js';

const RETRY_MS = 5000;

/** What a worker needs from the Migrator. */
export interface WorkerHost {
  readonly progress: MigrationProgress;
  readonly signal: AbortSignal;
  moverOptions(): MoverOptions;
  holder: ConstructorParameters<typeof SlotMover>[2];
  /** Master of a group ('' for none). */
  master(gid: number): string;
  /** Keys on a server (last stats sample). */
  keysOn(addr: string): number;
  /** Completes the jobs (one push); returns the slots completed. */
  complete(jobs: SlotJob[]): Promise<number[]>;
  failed(area: string, e: unknown): void;
  succeeded(area: string): void;
  /** A job ended (completed, or its slot changed under it). */
  ended(job: SlotJob, done: boolean): void;
}

export class SourceWorker {
  private readonly active = new Set<number>();
  /** Found done by a pass; completion is being tried. */
  private readonly finishing = new Set<number>();
  private targets = new Map<number, string>();
  private mover: SlotMover | undefined;
  private running: Promise<void> | undefined;
  /** Wakes a worker that waits for a big-key copy when a slot joins. */
  private wake: (() => void) | undefined;

  constructor(
    readonly gid: number,
    private readonly host: WorkerHost,
  ) {}

  get size(): number {
    return this.active.size + this.finishing.size;
  }

  /** Adds a slot (to the next pass, or straight to completion when already finished). */
  add(sid: number, finished = false): void {
    (finished ? this.finishing : this.active).add(sid);
    this.wake?.();
    this.ensure();
  }

  /** Takes a slot out: no batch started from now on moves it. */
  detach(sid: number): void {
    this.active.delete(sid);
    this.finishing.delete(sid);
    this.targets.delete(sid);
  }

  /** Resolves when no batch of the current pass is running. */
  async quiesce(): Promise<void> {
    await this.mover?.quiesce();
  }

  private ensure(): void {
    if (this.running || this.host.signal.aborted) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.size > 0) this.ensure();
    });
  }

  /** Resolves when the worker has stopped (after the signal aborted, or with nothing left). */
  async done(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.mover?.close();
    this.mover = undefined;
  }

  private async run(): Promise<void> {
    const area = `group-${this.gid}`;
    while (this.size > 0 && !this.host.signal.aborted) {
      try {
        await this.cycle();
        this.host.succeeded(area);
      } catch (e) {
        if (this.host.signal.aborted) break;
        this.host.failed(area, e);
        await sleep(RETRY_MS, this.host.signal);
      }
    }
    this.close();
  }

  private jobs(sids: Iterable<number>): SlotJob[] {
    const out: SlotJob[] = [];
    for (const sid of sids) {
      const j = this.host.progress.jobs.get(sid);
      if (j) out.push(j);
    }
    return out;
  }

  private async finish(): Promise<void> {
    const jobs = this.jobs(this.finishing);
    if (jobs.length === 0) return;
    const completed = new Set(await this.host.complete(jobs));
    for (const j of jobs) {
      if (!this.finishing.delete(j.sid)) continue;
      this.host.ended(j, completed.has(j.sid));
    }
  }

  private async cycle(): Promise<void> {
    const h = this.host;
    await this.finish();
    const jobs = this.jobs(this.active);
    if (jobs.length === 0) return;
    const copying = this.mover?.copyingSlot;
    if (copying !== undefined && jobs.every((j) => j.sid === copying)) {
      // Another pass now would only find the key being copied: wait for the copy or a new slot.
      await Promise.race([this.mover!.bigSettled(), new Promise<void>((r) => (this.wake = r))]);
      this.wake = undefined;
      return;
    }
    const source = this.gid === 0 ? '' : h.master(this.gid);
    if (source === '') {
      // An offline slot (or a source without servers) has no keys to move.
      for (const j of jobs) this.moveToFinishing(j.sid);
      return this.finish();
    }
    const targets = new Map<number, string>();
    for (const j of jobs) {
      const addr = h.master(j.to);
      if (addr === '') throw new Error(`slot-[${j.sid}]: target group-[${j.to}] has no master`);
      targets.set(j.sid, addr);
    }
    this.targets = targets;
    const mover = await this.moverFor(source);
    const src = h.progress.source(this.gid, source);
    const result = newPassResult();
    h.progress.passStarted(src, result, jobs, h.keysOn(source));
    try {
      await mover.pass(targets, h.signal, result, false);
    } catch (e) {
      h.progress.passEnded(src, result, jobs, false);
      throw e;
    }
    const full = !h.signal.aborted;
    const still = jobs.filter((j) => targets.has(j.sid));
    h.progress.passEnded(src, result, still, full);
    if (!full) return;
    for (const j of still)
      if ((result.slots.get(j.sid)?.found ?? 0) === 0 && !mover.owes(j.sid)) this.moveToFinishing(j.sid);
    await this.finish();
  }

  private moveToFinishing(sid: number): void {
    if (this.active.delete(sid)) this.finishing.add(sid);
  }

  /** The mover for the source master; one for an old master is let finish its big-key copy first. */
  private async moverFor(source: string): Promise<SlotMover> {
    if (this.mover && this.mover.source !== source) {
      await this.mover.quiesce();
      this.close();
    }
    this.mover ??= new SlotMover(source, this.host.moverOptions(), this.host.holder);
    return this.mover;
  }
}
