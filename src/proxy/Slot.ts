/**
 * One of the 1024 slots: where its keys live (backend), where they are coming from during a
 * migration (migrate), which replicas may serve its reads, and whether it is held.
 * Codis guards a slot with a RW lock and a reference count; here a `held` queue stands for
 * the lock and an in-flight counter for the references: a slot that is locked, or that waits
 * for its in-flight requests to drain before switching backend, queues new requests.
 */
import type { BigKeyLimits } from '../models/Slot.js';
import { Fifo } from '../utils/Fifo.js';
import type { BackendConn } from './BackendConn.js';
import type { SharedBackendConn } from './SharedBackendConn.js';
import type { InflightCounter, Request } from './Request.js';

export const enum ForwardMethod {
  Sync = 0,
  SemiAsync = 1,
}

/** The replica groups of a slot that has none: one shared array, not one per slot. */
export const NO_REPLICAS: readonly (readonly SharedBackendConn[])[] = [];

export class Slot implements InflightCounter {
  // The fields every request reads or counts come first, close together: a multi-key command
  // touches up to one slot per key, and each slot object it reaches is a likely cache miss.
  backend: SharedBackendConn | null = null;
  migrate: SharedBackendConn | null = null;
  /** Locked by the dashboard: requests wait until a later fill unlocks the slot. */
  locked = false;
  /** A fill is waiting for in-flight requests to drain. */
  switching = false;
  /** Replica connections in priority order (same host, same data centre, others). */
  replicaGroups: readonly (readonly SharedBackendConn[])[] = NO_REPLICAS;
  inflight = 0;
  /**
   * Requests sent before the last epoch bump that are still unanswered. A key hold bumps the
   * epoch and waits for these, so no request that could touch the key is still running.
   */
  private epoch = 0;
  private oldInflight = 0;
  backendGroupId = 0;
  migrateGroupId = 0;
  /** While migrating: the dashboard's big-key thresholds, when it sent them. */
  bigKey: BigKeyLimits | null = null;
  method: ForwardMethod = ForwardMethod.Sync;
  /** Set while the proxy's own sentinel watch replaced the dashboard's backend. */
  switched = false;
  readonly held = new Fifo<Request>(4);
  private drainWaiters: (() => void)[] = [];
  private oldWaiters: (() => void)[] = [];
  /** Keys held during a big-key move (`db:key` → requests waiting for it), while migrating. */
  keyHolds: Map<string, Request[]> | null = null;
  /** Clients' own connections that last sent a blocking command for this slot (Blocking.ts). */
  readonly blockers = new Set<BackendConn>();

  constructor(readonly id: number) {}

  get blocked(): boolean {
    return this.locked || this.switching;
  }

  /** The slot routes straight to one backend: no hold, no migration. */
  get plain(): boolean {
    return !this.locked && !this.switching && this.migrate === null && this.backend !== null;
  }

  /** Counts a request as in flight for this slot until it completes. */
  track(req: Request): void {
    this.inflight++;
    req.counter = this;
    req.epoch = this.epoch;
  }

  acquire(): number {
    this.inflight++;
    return this.epoch;
  }

  release(epoch: number): void {
    if (epoch !== this.epoch && --this.oldInflight === 0) this.wake('oldWaiters');
    if (--this.inflight === 0) this.wake('drainWaiters');
  }

  /** Resolves once every request already sent for this slot has been answered. */
  drained(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once the requests in flight now have been answered (later ones do not count). */
  settled(): Promise<void> {
    this.epoch++;
    this.oldInflight = this.inflight;
    if (this.oldInflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.oldWaiters.push(resolve));
  }

  private wake(which: 'drainWaiters' | 'oldWaiters'): void {
    const waiters = this[which];
    if (waiters.length === 0) return;
    this[which] = [];
    for (const w of waiters) w();
  }
}

/** Counts a request that spans several slots (a multi-key command sent to one backend). */
export class SlotSet implements InflightCounter {
  private readonly epochs: number[];
  constructor(private readonly slots: Slot[]) {
    this.epochs = slots.map((s) => s.acquire());
  }
  release(): void {
    for (let i = 0; i < this.slots.length; i++) this.slots[i]!.release(this.epochs[i]!);
  }
}
